"""Code packages for ``function create/update``: a zip file given, or one made of a file."""

import hashlib
import io
import os
import zipfile

from osc_lib import exceptions

MAX_SIZE = 50 * 1024 * 1024


def read(package=None, file=None):
    """``(filename, bytes)`` of the package to upload: ``package`` as it is, or ``file``
    zipped alone (stored, under its own name) as ``<stem>.zip``."""
    if package:
        if not zipfile.is_zipfile(package):
            raise exceptions.CommandError(f"Package {package} is not a valid ZIP file.")
        with open(package, "rb") as source:
            content = source.read()
        name = os.path.basename(package)
    else:
        if not os.path.isfile(file):
            raise exceptions.CommandError(f"File {file} does not exist.")
        content = _zip_one(file)
        name = os.path.splitext(os.path.basename(file))[0] + ".zip"
    if len(content) > MAX_SIZE:
        raise exceptions.CommandError(f"Package must be no more than {MAX_SIZE // 2**20} MiB.")
    return name, content


def md5(content):
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def _zip_one(path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.write(path, os.path.basename(path))
    return buffer.getvalue()
