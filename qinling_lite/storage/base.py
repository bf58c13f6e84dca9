"""The interface of a package store: where function packages live between upload and run.

A package is one ZIP file per function version, named by its project, function, version
(0: the function's current package) and md5. The API stores, snapshots, streams back and
deletes packages; the engine reads them. A store is used from many threads at once.
"""

import abc
from typing import BinaryIO

from oslo_config import cfg


class PackageStore(abc.ABC):
    """Function packages, each checked by ``package_check`` before it is kept."""

    @abc.abstractmethod
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        """Built once per process (API, engine) from the service's config."""

    @abc.abstractmethod
    def store(
        self,
        project_id: str,
        function_id: str,
        stream: BinaryIO,
        md5: str | None = None,
        version: int = 0,
    ) -> str:
        """Keep the package read from ``stream`` and return its md5 (hex).

        Raises PayloadTooLarge above ``[storage] max_package_size``, InputError when the
        bytes do not match a given ``md5``, and what ``package_check.check`` raises; a
        refused package leaves nothing behind.
        """

    @abc.abstractmethod
    def open(self, project_id: str, function_id: str, md5: str, version: int = 0) -> BinaryIO:
        """The package as a binary file at its start, for the caller to close; a real file
        (``fileno``), which the API streams with its size. NotFound if there is none."""

    def read(self, project_id: str, function_id: str, md5: str, version: int = 0) -> bytes:
        """The package's bytes. NotFound if there is none."""
        with self.open(project_id, function_id, md5, version) as package:
            return package.read()

    @abc.abstractmethod
    def snapshot(self, project_id: str, function_id: str, md5: str, version: int) -> None:
        """Keep the current package (version 0, ``md5``) as package ``version`` too, once it
        passes ``package_check`` (it may have been stored before the current rules)."""

    @abc.abstractmethod
    def delete(self, project_id: str, function_id: str, md5: str, version: int = 0) -> None:
        """Remove one package; a missing one is not an error."""

    @abc.abstractmethod
    def delete_all(self, project_id: str, function_id: str) -> None:
        """Remove every package of a function, every version's."""
