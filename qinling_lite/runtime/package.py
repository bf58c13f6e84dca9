"""A function's package: extracted within a budget, its entry imported."""

import importlib
import io
import os
import shutil
import traceback
import zipfile

from .protocol import MIB, RequestError

# What any package may extract to, whatever the API allowed when it was stored.
MAX_PACKAGE_BYTES = 1024 * MIB
MAX_PACKAGE_ENTRIES = 100_000
EXTRACT_CHUNK_BYTES = 64 * 1024


def extract_package(package, dest, max_bytes=MAX_PACKAGE_BYTES, max_entries=MAX_PACKAGE_ENTRIES):
    """Extract the zip bytes into a fresh ``dest``, refusing members that escape it.

    At most ``max_bytes`` are written, whatever the headers say: the sizes the central
    directory declares must add up to no more (the API checked them against its own,
    lower limit), and no member is written past its declared size, however much its
    data inflates to. An extraction that fails part way leaves no ``dest`` behind.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            members = archive.infolist()
            if len(members) > max_entries:
                raise RequestError(400, f"package has more than {max_entries} entries")
            declared = sum(member.file_size for member in members)
            if declared > max_bytes:
                raise RequestError(413, f"package expands to {declared} bytes, over {max_bytes}")
            root = os.path.realpath(dest)
            targets = []
            for member in members:
                target = os.path.normpath(os.path.join(root, member.filename))
                if os.path.commonpath([root, target]) != root or (
                    target == root and not member.filename.endswith("/")
                ):
                    raise RequestError(400, f"unsafe path in package: {member.filename!r}")
                targets.append(target)
            shutil.rmtree(dest, ignore_errors=True)
            try:
                os.makedirs(root)
                for member, target in zip(members, targets, strict=True):
                    _extract_member(archive, member, target)
            except BaseException:
                shutil.rmtree(dest, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown method.
        raise RequestError(400, f"package is not a valid zip file: {exc}") from None
    except OSError as exc:
        raise RequestError(400, f"package cannot be extracted: {exc.strerror or exc}") from None


def _extract_member(archive, member, target):
    """Write one member at ``target``, refusing data beyond its declared size."""
    if member.filename.endswith("/"):  # not is_dir(), which fails on an empty name
        os.makedirs(target, exist_ok=True)
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    left = member.file_size
    with archive.open(member) as source, open(target, "wb") as out:
        while True:
            try:
                chunk = source.read(min(EXTRACT_CHUNK_BYTES, left + 1))
            except Exception as exc:  # whatever a decompressor raises on corrupt data
                raise RequestError(
                    400, f"package member {member.filename!r} cannot be read: {exc}"
                ) from None
            if not chunk:
                return
            left -= len(chunk)
            if left < 0:
                raise RequestError(
                    400, f"package member {member.filename!r} holds more than it declares"
                )
            out.write(chunk)


def import_entry(entry):
    """Import the entry function (``module.function``); return (function, None) or
    (None, error text)."""
    module, _, attribute = entry.rpartition(".")
    try:
        func = getattr(importlib.import_module(module), attribute)
    except (Exception, SystemExit) as exc:
        return None, "".join(traceback.format_exception_only(exc)).strip()
    if not callable(func):
        return None, f"{module}.{attribute} is not callable"
    return func, None
