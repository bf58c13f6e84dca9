"""Function code kept as an object in Swift (``code.source`` ``swift``), as Qinling has it.

The object is a function package (a ZIP). It is read with a keystoneauth session of one
identity: the caller's at the API (checked and fetched at create and update, fetched
again before a version snapshots it, streamed for ``?download=true``), the owner's
trust-scoped token at the engine. The package store keeps the fetched copy that workers
load; the function's ``code`` records the object's etag and the copy's md5. Before each
execution of the current code the engine compares the object's etag (a HEAD) with the
recorded one and fetches the object again when it changed, so the next execution after
an upload runs the new code.
"""

import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from qinling_lite import exceptions, function_code
from qinling_lite.storage import base

CHUNK = 64 * 1024
_DOT_SEGMENTS = frozenset((".", ".."))
MAX_CONTAINER = 256
MAX_OBJECT = 1024


class SwiftError(exceptions.QinlingLiteError):
    """Swift refused, lacks or could not serve the object; ``status`` is Swift's answer
    (None when Swift was not reached)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class Location(NamedTuple):
    container: str
    object: str


def location(swift: Any) -> Location:
    """The container and object of ``code.swift``; InputError unless both are there,
    as text Swift accepts, and nothing else is."""
    if not isinstance(swift, Mapping):
        raise exceptions.InputError(
            "code.swift must be an object with the container and object of the function's "
            "package in Swift."
        )
    unknown = set(swift) - set(Location._fields)
    if unknown:
        raise exceptions.InputError(
            f"code.swift takes container and object only, not {', '.join(sorted(unknown))}."
        )
    container, name = swift.get("container"), swift.get("object")
    if not isinstance(container, str) or not _text(container, MAX_CONTAINER) or "/" in container:
        raise exceptions.InputError(
            f"code.swift.container is required: a Swift container name of 1 to "
            f"{MAX_CONTAINER} characters without '/'."
        )
    if not isinstance(name, str) or not _text(name, MAX_OBJECT):
        raise exceptions.InputError(
            f"code.swift.object is required: a Swift object name of 1 to {MAX_OBJECT} characters."
        )
    if container in _DOT_SEGMENTS or _DOT_SEGMENTS & set(name.split("/")):
        # HTTP clients resolve them (urllib3 does): the request would leave the
        # container, with the caller's token, for another path of the object store.
        raise exceptions.InputError(
            "code.swift: '.' and '..' are not allowed as the container or as a segment of "
            "the object name."
        )
    return Location(container, name)


def _text(value: str, longest: int) -> bool:
    return 0 < len(value) <= longest and "\x00" not in value


def recorded(code: Mapping[str, Any]) -> Location:
    """The location a stored Swift function's ``code`` records."""
    return Location(code["swift"]["container"], code["swift"]["object"])


class SwiftObjects:
    """Function packages in Swift, as the identity of ``session``."""

    def __init__(self, session: ks_session.Session, conf: cfg.ConfigOpts):
        self._session = session
        self._endpoint = {
            "service_type": "object-store",
            "interface": conf.swift.interface,
            "region_name": conf.swift.region_name,
        }
        self._max_size = conf.storage.max_package_size

    def etag(self, where: Location) -> str:
        """The object's etag, from a HEAD."""
        response = self._request("HEAD", where)
        return response.headers.get("Etag", "").strip('"')

    def fetch(
        self, store: base.PackageStore, project_id: str, function_id: str, where: Location
    ) -> dict[str, Any]:
        """Copy the object into ``store`` as the function's current package (checked as
        an upload is); return the ``code`` that records it."""
        response = self._request("GET", where, stream=True)
        try:
            size = int(response.headers.get("Content-Length") or 0)
            if size > self._max_size:
                raise exceptions.PayloadTooLarge(self._max_size)
            response.raw.decode_content = True
            md5 = store.store(project_id, function_id, response.raw)
        finally:
            response.close()
        return {
            "source": function_code.SWIFT,
            "swift": {**where._asdict(), "etag": response.headers.get("Etag", "").strip('"')},
            "md5sum": md5,
        }

    def refresh(
        self, store: base.PackageStore, project_id: str, function_id: str, code: Mapping
    ) -> dict[str, Any] | None:
        """The new ``code`` when the object changed since ``code`` recorded it (its new
        package stored), else None."""
        where = recorded(code)
        if self.etag(where) == code["swift"].get("etag"):
            return None
        return self.fetch(store, project_id, function_id, where)

    def stream(self, where: Location) -> tuple["ObjectBody", int | None]:
        """The object's bytes in chunks, and its length if Swift says it."""
        response = self._request("GET", where, stream=True)
        length = response.headers.get("Content-Length")
        return ObjectBody(response), int(length) if length else None

    def _request(self, method: str, where: Location, **kwargs: Any) -> Any:
        path = f"{urllib.parse.quote(where.container, safe='')}/{urllib.parse.quote(where.object)}"
        name = f"{where.container}/{where.object}"
        try:
            response = self._session.request(
                path, method, endpoint_filter=self._endpoint, raise_exc=False, **kwargs
            )
        except ks_exceptions.EndpointNotFound:
            raise SwiftError(f"No object-store endpoint in the catalog for {name}.") from None
        except ks_exceptions.ClientException as e:
            raise SwiftError(f"Swift could not be reached for {name}: {e}") from None
        if response.status_code >= 400:
            response.close()
            raise SwiftError(
                f"Swift answered {response.status_code} for {name}.", response.status_code
            )
        return response


class ObjectBody:
    """An object's bytes as a WSGI body: chunks, and ``close`` (called by the server even
    when no chunk was read) ends the request to Swift."""

    def __init__(self, response: Any):
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._response.iter_content(CHUNK))

    def close(self) -> None:
        self._response.close()
