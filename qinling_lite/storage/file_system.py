"""The package store ``file_system``: packages on a local (or shared) file system.

Layout: ``<file_system_dir>/<project_id>/<function_id>/<version>_<md5>.zip``. A package
is written to a temporary file, checked (``package_check``), then renamed into place, so
a failed upload leaves nothing behind.
"""

import contextlib
import hashlib
import os
import shutil
import tempfile
from typing import BinaryIO

from qinling_lite import exceptions
from qinling_lite.storage import base, package_check

_CHUNK = 64 * 1024


class FileSystemStorage(base.PackageStore):
    """Packages under ``[storage] file_system_dir``, which the API and engines share."""

    def __init__(self, conf):
        self.root = conf.storage.file_system_dir
        self.max_size = conf.storage.max_package_size
        self.limits = package_check.Limits.from_conf(conf.storage)

    def _dir(self, project_id, function_id):
        return os.path.join(self.root, project_id, function_id)

    def _path(self, project_id, function_id, version, md5):
        return os.path.join(self._dir(project_id, function_id), f"{version}_{md5}.zip")

    def store(
        self,
        project_id: str,
        function_id: str,
        stream: BinaryIO,
        md5: str | None = None,
        version: int = 0,
    ) -> str:
        directory = self._dir(project_id, function_id)
        os.makedirs(directory, exist_ok=True)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".new")
        try:
            with os.fdopen(fd, "w+b") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > self.max_size:
                        raise exceptions.PayloadTooLarge(self.max_size)
                    digest.update(chunk)
                    out.write(chunk)
                actual = digest.hexdigest()
                if md5 and md5.lower() != actual:
                    raise exceptions.InputError("Package md5 mismatch.")
                package_check.check(out, self.limits)
            os.replace(tmp, self._path(project_id, function_id, version, actual))
        except BaseException:
            os.unlink(tmp)
            self._remove_if_empty(project_id, function_id)
            raise
        return actual

    def open(self, project_id: str, function_id: str, md5: str, version: int = 0) -> BinaryIO:
        try:
            return open(self._path(project_id, function_id, version, md5), "rb")  # noqa: SIM115
        except FileNotFoundError as e:
            raise exceptions.NotFound("Package", function_id=function_id, version=version) from e

    def snapshot(self, project_id: str, function_id: str, md5: str, version: int) -> None:
        with self.open(project_id, function_id, md5) as current:
            package_check.check(current, self.limits)
            current.seek(0)
            target = self._path(project_id, function_id, version, md5)
            try:
                with open(target, "wb") as out:
                    shutil.copyfileobj(current, out)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
                raise

    def delete(self, project_id: str, function_id: str, md5: str, version: int = 0) -> None:
        try:
            os.unlink(self._path(project_id, function_id, version, md5))
        except FileNotFoundError:
            pass
        self._remove_if_empty(project_id, function_id)

    def delete_all(self, project_id: str, function_id: str) -> None:
        shutil.rmtree(self._dir(project_id, function_id), ignore_errors=True)

    def _remove_if_empty(self, project_id, function_id):
        try:
            os.rmdir(self._dir(project_id, function_id))
        except OSError:
            pass
