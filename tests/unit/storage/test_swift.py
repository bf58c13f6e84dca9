"""SwiftObjects over a fake keystoneauth Session, with the file system package store.

``FakeSession`` stands for keystoneauth's Session in front of one Swift account: it
answers ``request(path, method, endpoint_filter=..., raise_exc=False, **kw)`` from a dict
of objects, as Swift would (etag = md5 of the bytes), and records every call. The
services' and the engine's Swift tests use it too.
"""

import hashlib
import io
import os
import urllib.parse

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from requests import structures

from qinling_lite import exceptions, storage
from qinling_lite.storage import package_check
from qinling_lite.storage import swift as swift_storage
from tests.packages import HELLO_WORLD, make_zip

PROJECT = "project-1"
FUNCTION = "5f0c6e4e-9b7a-4d5e-8a51-7a8f7f0f4a11"
PACKAGE = make_zip({"main.py": HELLO_WORLD})
NEW_PACKAGE = make_zip({"main.py": HELLO_WORLD + "\n# changed\n"})
WHERE = swift_storage.Location("functions", "hello/main.zip")


def md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class FakeResponse:
    """What ``Session.request(..., stream=True)`` returns: a requests Response's parts."""

    def __init__(self, status_code, headers, body):
        self.status_code = status_code
        self.headers = structures.CaseInsensitiveDict(headers)
        self.raw = io.BytesIO(body)
        self.closed = False
        self.chunk_sizes = []

    def iter_content(self, chunk_size):
        self.chunk_sizes.append(chunk_size)
        while chunk := self.raw.read(chunk_size):
            yield chunk

    def close(self):
        self.closed = True


class FakeSession:
    """keystoneauth's Session in front of one Swift account.

    ``objects``: {(container, object): bytes}; ``refusals``: {(container, object): HTTP
    status} answered instead (403 for another project's container, say); ``headers``:
    headers of every 200 answer, replacing Swift's own (None drops one); ``error``: a
    keystoneauth exception every request raises. ``calls`` holds (method, path,
    endpoint_filter, other keyword arguments), ``responses`` every response given.
    """

    def __init__(self, objects=None):
        self.objects = dict(objects or {})
        self.refusals = {}
        self.headers = {}
        self.error = None
        self.calls = []
        self.responses = []

    def put(self, where, body):
        self.objects[tuple(where)] = body

    def request(self, url, method, endpoint_filter=None, raise_exc=True, **kwargs):
        assert raise_exc is False, "SwiftObjects reads Swift's status itself"
        self.calls.append((method, url, endpoint_filter, kwargs))
        if self.error is not None:
            raise self.error
        container, slash, name = url.partition("/")
        assert slash, url
        key = (urllib.parse.unquote(container), urllib.parse.unquote(name))
        status = self.refusals.get(key, 200 if key in self.objects else 404)
        if status >= 400:
            response = FakeResponse(status, {"Content-Length": "12"}, b"<html></html>")
        else:
            body = self.objects[key]
            headers = {"Etag": md5(body), "Content-Length": str(len(body)), **self.headers}
            headers = {k: v for k, v in headers.items() if v is not None}
            response = FakeResponse(200, headers, b"" if method == "HEAD" else body)
        self.responses.append(response)
        return response

    def methods(self):
        return [call[0] for call in self.calls]


@pytest.fixture
def conf(config_fixture, tmp_path):
    config_fixture.config(state_path=str(tmp_path))
    return config_fixture.conf


@pytest.fixture
def store(conf):
    return storage.load(conf)


@pytest.fixture
def session():
    return FakeSession({tuple(WHERE): PACKAGE})


@pytest.fixture
def objects(session, conf):
    return swift_storage.SwiftObjects(session, conf)


def _kept(conf):
    root = conf.storage.file_system_dir
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files
    )


# --- location() ----------------------------------------------------------------------

CONTAINER_MESSAGE = "code.swift.container is required: a Swift container name of 1 to 256"
OBJECT_MESSAGE = "code.swift.object is required: a Swift object name of 1 to 1024"
DOT_MESSAGE = "'.' and '..' are not allowed as the container or as a segment"


@pytest.mark.parametrize(
    ("swift", "message"),
    [
        (None, "code.swift must be an object with the container and object"),
        ("functions/hello.zip", "code.swift must be an object with the container and object"),
        (["functions", "hello.zip"], "code.swift must be an object with the container and"),
        (
            {"container": "c", "object": "o", "etag": "e"},
            "takes container and object only, not etag",
        ),
        ({"container": "c", "object": "o", "url": 1, "b": 2}, "object only, not b, url."),
        ({"object": "o"}, CONTAINER_MESSAGE),
        ({"container": "", "object": "o"}, CONTAINER_MESSAGE),
        ({"container": None, "object": "o"}, CONTAINER_MESSAGE),
        ({"container": 7, "object": "o"}, CONTAINER_MESSAGE),
        ({"container": ["c"], "object": "o"}, CONTAINER_MESSAGE),
        ({"container": "c" * 257, "object": "o"}, CONTAINER_MESSAGE),
        ({"container": "a/b", "object": "o"}, CONTAINER_MESSAGE),
        ({"container": "c\x00", "object": "o"}, CONTAINER_MESSAGE),
        ({"container": "c"}, OBJECT_MESSAGE),
        ({"container": "c", "object": ""}, OBJECT_MESSAGE),
        ({"container": "c", "object": 1}, OBJECT_MESSAGE),
        ({"container": "c", "object": {"name": "o"}}, OBJECT_MESSAGE),
        ({"container": "c", "object": "o" * 1025}, OBJECT_MESSAGE),
        ({"container": "c", "object": "dir/\x00.zip"}, OBJECT_MESSAGE),
        # Dot segments, which urllib3 resolves: out of the container, to other paths.
        ({"container": "..", "object": "v3/auth/tokens"}, DOT_MESSAGE),
        ({"container": ".", "object": "o"}, DOT_MESSAGE),
        ({"container": "c", "object": "../../../v3/auth/tokens"}, DOT_MESSAGE),
        ({"container": "c", "object": "a/./b.zip"}, DOT_MESSAGE),
        ({"container": "c", "object": "a/.."}, DOT_MESSAGE),
    ],
)
def test_a_bad_location_is_an_input_error_that_says_why(swift, message):
    with pytest.raises(exceptions.InputError) as raised:
        swift_storage.location(swift)
    assert message in raised.value.message
    assert raised.value.code == 400


def test_a_good_location_keeps_the_object_path_and_any_text():
    assert swift_storage.location({"container": "functions", "object": "a/b/c.zip"}) == (
        "functions",
        "a/b/c.zip",
    )
    longest = swift_storage.location({"container": "c" * 256, "object": "o" * 1024})
    assert (len(longest.container), len(longest.object)) == (256, 1024)
    assert swift_storage.location({"container": "...", "object": ".a/..b/c..zip"}) == (
        "...",
        ".a/..b/c..zip",
    )
    where = swift_storage.location({"object": "dir/é ?#.zip", "container": "ma boîte"})
    assert where == swift_storage.Location("ma boîte", "dir/é ?#.zip")
    assert swift_storage.recorded({"swift": {**where._asdict(), "etag": "e"}}) == where


# --- fetch ---------------------------------------------------------------------------


def test_fetch_stores_the_object_as_the_current_package(objects, session, store, conf):
    code = objects.fetch(store, PROJECT, FUNCTION, WHERE)

    assert code == {
        "source": "swift",
        "swift": {"container": "functions", "object": "hello/main.zip", "etag": md5(PACKAGE)},
        "md5sum": md5(PACKAGE),
    }
    assert store.read(PROJECT, FUNCTION, md5(PACKAGE)) == PACKAGE
    assert _kept(conf) == [f"{PROJECT}/{FUNCTION}/0_{md5(PACKAGE)}.zip"]
    assert session.calls == [
        (
            "GET",
            "functions/hello/main.zip",
            {"service_type": "object-store", "interface": "public", "region_name": None},
            {"stream": True},
        )
    ]
    assert session.responses[0].closed


def test_the_path_quotes_the_whole_container_and_the_object_but_its_slashes(
    objects, session, store
):
    where = swift_storage.Location("my box/%?#é", "dir/sub dir/a#b?c%d é.zip")
    with pytest.raises(swift_storage.SwiftError):  # "/" is not in a container: 404
        objects.etag(where)
    where = where._replace(container="my box%?#é")
    session.put(where, PACKAGE)

    assert objects.etag(where) == md5(PACKAGE)
    assert [call[1] for call in session.calls] == [
        "my%20box%2F%25%3F%23%C3%A9/dir/sub%20dir/a%23b%3Fc%25d%20%C3%A9.zip",
        "my%20box%25%3F%23%C3%A9/dir/sub%20dir/a%23b%3Fc%25d%20%C3%A9.zip",
    ]
    assert objects.fetch(store, PROJECT, FUNCTION, where)["swift"]["container"] == "my box%?#é"


def test_the_endpoint_is_the_configured_interface_and_region(session, conf, config_fixture):
    config_fixture.config(group="swift", interface="internal", region_name="RegionTwo")
    swift_storage.SwiftObjects(session, conf).etag(WHERE)
    assert session.calls[0][2] == {
        "service_type": "object-store",
        "interface": "internal",
        "region_name": "RegionTwo",
    }
    assert session.calls[0][3] == {}  # a HEAD is not streamed


def test_a_quoted_etag_is_recorded_without_its_quotes(objects, session, store):
    session.headers = {"ETag": f'"{md5(PACKAGE)}"'}
    assert objects.etag(WHERE) == md5(PACKAGE)
    assert objects.fetch(store, PROJECT, FUNCTION, WHERE)["swift"]["etag"] == md5(PACKAGE)


def test_an_object_larger_than_the_limit_is_not_read_nor_stored(session, conf, config_fixture):
    config_fixture.config(group="storage", max_package_size=len(PACKAGE) - 1)
    store = storage.load(conf)
    with pytest.raises(exceptions.PayloadTooLarge) as raised:
        swift_storage.SwiftObjects(session, conf).fetch(store, PROJECT, FUNCTION, WHERE)
    assert raised.value.code == 413
    assert f"limit of {len(PACKAGE) - 1} bytes" in raised.value.message
    assert _kept(conf) == []
    response = session.responses[0]
    assert (response.closed, response.raw.tell()) == (True, 0)


def test_an_object_larger_than_its_content_length_is_refused_by_the_store(
    session, conf, config_fixture
):
    config_fixture.config(group="storage", max_package_size=len(PACKAGE) - 1)
    store = storage.load(conf)
    for length in (None, "10"):  # no Content-Length, or one that lies
        session.headers = {"Content-Length": length}
        with pytest.raises(exceptions.PayloadTooLarge):
            swift_storage.SwiftObjects(session, conf).fetch(store, PROJECT, FUNCTION, WHERE)
        assert session.responses[-1].closed
    assert _kept(conf) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"#!/bin/sh\necho not a zip\n", package_check.NOT_A_ZIP),
        (b"", package_check.NOT_A_ZIP),
        (make_zip({"../escape.py": "x = 1\n"}), "escape.py"),
    ],
)
def test_an_object_the_package_check_refuses_is_not_stored(
    objects, session, store, conf, body, message
):
    session.put(WHERE, body)
    with pytest.raises(exceptions.InputError, match=message.replace(".", r"\.")):
        objects.fetch(store, PROJECT, FUNCTION, WHERE)
    assert _kept(conf) == []
    assert session.responses[0].closed


@pytest.mark.parametrize("status", [401, 403, 404, 500, 503])
def test_a_refusal_of_swift_is_a_swift_error_with_its_status(objects, session, store, conf, status):
    session.refusals[tuple(WHERE)] = status
    for call in (
        lambda: objects.fetch(store, PROJECT, FUNCTION, WHERE),
        lambda: objects.etag(WHERE),
        lambda: objects.stream(WHERE),
    ):
        with pytest.raises(swift_storage.SwiftError) as raised:
            call()
        assert raised.value.status == status
        assert raised.value.message == f"Swift answered {status} for functions/hello/main.zip."
    assert all(response.closed for response in session.responses)
    assert _kept(conf) == []


def test_a_missing_object_is_a_404(objects, store):
    with pytest.raises(swift_storage.SwiftError) as raised:
        objects.fetch(store, PROJECT, FUNCTION, WHERE._replace(object="missing.zip"))
    assert raised.value.status == 404
    assert "functions/missing.zip" in raised.value.message


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            ks_exceptions.EndpointNotFound("no object-store"),
            "No object-store endpoint in the catalog for functions/hello/main.zip.",
        ),
        (
            ks_exceptions.ConnectFailure("Unable to establish connection to swift.example"),
            "Swift could not be reached for functions/hello/main.zip: Unable to establish "
            "connection to swift.example",
        ),
        (
            ks_exceptions.ConnectTimeout("timed out"),
            "Swift could not be reached for functions/hello/main.zip: timed out",
        ),
    ],
)
def test_no_endpoint_or_no_connection_is_a_swift_error_without_status(
    objects, session, store, conf, error, message
):
    session.error = error
    for call in (
        lambda: objects.fetch(store, PROJECT, FUNCTION, WHERE),
        lambda: objects.etag(WHERE),
        lambda: objects.stream(WHERE),
    ):
        with pytest.raises(swift_storage.SwiftError) as raised:
            call()
        assert (raised.value.message, raised.value.status) == (message, None)
        assert raised.value.__cause__ is None
    assert _kept(conf) == []


# --- refresh -------------------------------------------------------------------------


def test_refresh_of_an_unchanged_object_is_one_head(objects, session, store, conf):
    code = objects.fetch(store, PROJECT, FUNCTION, WHERE)
    session.calls.clear()

    assert objects.refresh(store, PROJECT, FUNCTION, code) is None
    assert session.methods() == ["HEAD"]
    assert session.calls[0][1] == "functions/hello/main.zip"
    assert _kept(conf) == [f"{PROJECT}/{FUNCTION}/0_{md5(PACKAGE)}.zip"]


def test_refresh_of_a_changed_object_fetches_it_again(objects, session, store, conf):
    code = objects.fetch(store, PROJECT, FUNCTION, WHERE)
    session.put(WHERE, NEW_PACKAGE)
    session.calls.clear()

    new = objects.refresh(store, PROJECT, FUNCTION, code)

    assert new == {
        "source": "swift",
        "swift": {**WHERE._asdict(), "etag": md5(NEW_PACKAGE)},
        "md5sum": md5(NEW_PACKAGE),
    }
    assert session.methods() == ["HEAD", "GET"]
    assert store.read(PROJECT, FUNCTION, md5(NEW_PACKAGE)) == NEW_PACKAGE
    # The replaced package is the caller's to delete, once the new code is recorded.
    assert store.read(PROJECT, FUNCTION, md5(PACKAGE)) == PACKAGE


def test_refresh_of_a_code_without_etag_fetches_the_object(objects, session, store):
    code = {"source": "swift", "swift": WHERE._asdict(), "md5sum": "0" * 32}
    assert objects.refresh(store, PROJECT, FUNCTION, code)["md5sum"] == md5(PACKAGE)
    assert session.methods() == ["HEAD", "GET"]


def test_refresh_of_a_vanished_object_is_a_swift_error(objects, session, store):
    code = objects.fetch(store, PROJECT, FUNCTION, WHERE)
    del session.objects[tuple(WHERE)]
    with pytest.raises(swift_storage.SwiftError) as raised:
        objects.refresh(store, PROJECT, FUNCTION, code)
    assert raised.value.status == 404


# --- stream --------------------------------------------------------------------------


def test_stream_gives_the_object_in_chunks_and_its_length(objects, session):
    body = os.urandom(2 * swift_storage.CHUNK + 10)
    session.put(WHERE, body)

    chunks, length = objects.stream(WHERE)

    assert length == len(body)
    response = session.responses[0]
    assert session.calls[0][0::3] == ("GET", {"stream": True})
    assert not response.closed  # until the body is read
    received = list(chunks)
    assert [len(chunk) for chunk in received] == [swift_storage.CHUNK, swift_storage.CHUNK, 10]
    assert b"".join(received) == body
    assert response.chunk_sizes == [swift_storage.CHUNK]
    chunks.close()  # as a WSGI server does after the last chunk
    assert response.closed


def test_stream_without_content_length_has_no_length(objects, session):
    session.headers = {"Content-Length": None}
    chunks, length = objects.stream(WHERE)
    assert length is None
    assert b"".join(chunks) == PACKAGE


def test_a_stream_closed_midway_closes_the_response(objects, session):
    session.put(WHERE, bytes(3 * swift_storage.CHUNK))
    chunks, _ = objects.stream(WHERE)
    assert len(next(iter(chunks))) == swift_storage.CHUNK
    chunks.close()  # the WSGI server's close() when the client goes away
    assert session.responses[0].closed


def test_a_stream_never_read_is_closed_by_the_server(objects, session):
    session.put(WHERE, b"PK")
    chunks, _ = objects.stream(WHERE)
    chunks.close()  # a HEAD request, or a client gone before the first chunk
    assert session.responses[0].closed
