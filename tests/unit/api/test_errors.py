"""The JSON error shape: the WSGI middleware, ``errors.wsexpose`` and the ErrorHook."""

import json

import pecan
import pytest
import webob
import webob.exc
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions
from qinling_lite.api import errors, hooks

SECRET = "password=hunter2 at db.internal"


def _call(app, path="/", method="GET", json_body=None, **kwargs):
    if json_body is not None:
        kwargs.update(body=json.dumps(json_body).encode(), content_type="application/json")
    return webob.Request.blank(path, method=method, **kwargs).get_response(app)


def _assert_json_error(resp, code, faultstring):
    assert resp.status_int == code
    assert resp.content_type == "application/json"
    assert resp.content_length == len(resp.body)
    assert json.loads(resp.body) == {
        "faultcode": "Client" if code < 500 else "Server",
        "faultstring": faultstring,
        "debuginfo": None,
    }


class TestJsonErrorMiddleware:
    def test_webob_html_404_becomes_json(self):
        app = errors.JsonErrorMiddleware(webob.exc.HTTPNotFound())
        resp = _call(app, headers={"Accept": "text/html"})
        _assert_json_error(resp, 404, "Not Found.")
        assert b"<html" not in resp.body

    def test_plain_text_500_becomes_server_fault(self):
        app = errors.JsonErrorMiddleware(webob.exc.HTTPInternalServerError(detail=SECRET))
        resp = _call(app)
        _assert_json_error(resp, 500, "Internal Server Error.")
        assert SECRET.encode() not in resp.body

    def test_405_keeps_allow_header_only(self):
        inner = webob.exc.HTTPMethodNotAllowed(
            headers=[("Allow", "GET, POST"), ("X-Other", "dropped")]
        )
        resp = _call(errors.JsonErrorMiddleware(inner), method="DELETE")
        _assert_json_error(resp, 405, "Method Not Allowed.")
        assert resp.headers["Allow"] == "GET, POST"
        assert "X-Other" not in resp.headers
        assert resp.headers.getall("Content-Type") == ["application/json"]
        assert resp.headers.getall("Content-Length") == [str(len(resp.body))]

    def test_success_passes_through_untouched(self):
        def ok(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain"), ("X-Kept", "yes")])
            return [b"hello ", b"world"]

        resp = _call(errors.JsonErrorMiddleware(ok))
        assert resp.status == "200 OK"
        assert resp.body == b"hello world"
        assert resp.content_type == "text/plain"
        assert resp.headers["X-Kept"] == "yes"

    def test_redirect_passes_through(self):
        app = errors.JsonErrorMiddleware(webob.exc.HTTPFound(location="http://x/y"))
        resp = _call(app)
        assert resp.status_int == 302
        assert resp.location == "http://x/y"

    def test_json_error_passes_through_untouched(self):
        payload = json.dumps({"faultcode": "Client", "faultstring": "custom", "x": 1}).encode()

        def conflict(environ, start_response):
            start_response(
                "409 Conflict",
                [
                    ("Content-Type", "application/json; charset=UTF-8"),
                    ("Content-Length", str(len(payload))),
                    ("X-Kept", "yes"),
                ],
            )
            return [payload]

        resp = _call(errors.JsonErrorMiddleware(conflict))
        assert resp.status == "409 Conflict"
        assert resp.body == payload
        assert resp.headers["X-Kept"] == "yes"

    @pytest.mark.parametrize(
        "payload",
        [
            b'{"code": 406, "title": "Not Acceptable", "description": null}',  # pecan's
            b'["faultstring"]',
            b"not json",
        ],
    )
    def test_json_error_in_another_shape_is_replaced(self, payload):
        def pecan_406(environ, start_response):
            start_response(
                "406 Not Acceptable",
                [("Content-Type", "application/json"), ("X-Other", "dropped")],
            )
            return [payload]

        resp = _call(errors.JsonErrorMiddleware(pecan_406), headers={"Accept": "application/json"})
        _assert_json_error(resp, 406, "Not Acceptable.")
        assert "X-Other" not in resp.headers

    def test_replaced_body_iterable_is_closed(self):
        closed = []

        class Body(list):
            def close(self):
                closed.append(True)

        def teapot(environ, start_response):
            start_response("418 I'm a teapot", [("Content-Type", "text/html")])
            return Body([b"<p>short and stout</p>"])

        resp = _call(errors.JsonErrorMiddleware(teapot))
        _assert_json_error(resp, 418, "I'm a teapot.")
        assert closed == [True]


class Item(wtypes.Base):
    name = wtypes.text
    size = int


class ItemsController(rest.RestController):
    @errors.wsexpose(Item, wtypes.text)
    def get_one(self, id):
        if id == "missing":
            raise exceptions.NotFound("Item", id=id)
        if id == "conflict":
            raise exceptions.Conflict("Item is busy.")
        if id == "storage":
            raise exceptions.StorageError()
        if id == "boom":
            raise ValueError(SECRET)
        if id == "keyerror":
            return {}["nope"]
        return Item(name=id, size=len(id))

    @errors.wsexpose(Item, body=Item, status_code=201)
    def post(self, body):
        return Item(name=body.name, size=body.size)

    @errors.wsexpose(None, wtypes.text, status_code=204)
    def delete(self, id):
        if id == "boom":
            raise RuntimeError(SECRET)


class PlainController(rest.RestController):
    """Plain pecan endpoints: errors rendered by the ErrorHook."""

    @pecan.expose("json")
    def get_one(self, id):
        if id == "denied":
            raise exceptions.NotAllowed()
        if id == "boom":
            raise ValueError(SECRET)
        if id == "webob":
            pecan.abort(404)
        return {"id": id}


class RootController:
    items = ItemsController()
    plain = PlainController()


@pytest.fixture(scope="module")
def pecan_app():
    return pecan.make_app(
        RootController(),
        hooks=[hooks.ErrorHook()],
        force_canonical=False,
        guess_content_type_from_ext=False,
    )


@pytest.fixture(scope="module")
def app(pecan_app):
    return errors.JsonErrorMiddleware(pecan_app)


class TestWsexpose:
    def test_success(self, pecan_app):
        resp = _call(pecan_app, "/items/abc")
        assert resp.status_int == 200
        assert resp.json == {"name": "abc", "size": 3}

    @pytest.mark.parametrize(
        ("item", "code", "faultstring"),
        [
            ("missing", 404, "Item not found [id=missing]"),
            ("conflict", 409, "Item is busy."),
            ("storage", 500, errors.INTERNAL_ERROR),  # every 500 is generic
        ],
    )
    def test_qinling_lite_error_keeps_code_and_client_message(
        self, pecan_app, item, code, faultstring
    ):
        _assert_json_error(_call(pecan_app, f"/items/{item}"), code, faultstring)

    @pytest.mark.parametrize("item", ["boom", "keyerror"])
    def test_unexpected_error_is_hidden_as_500(self, pecan_app, item):
        resp = _call(pecan_app, f"/items/{item}")
        _assert_json_error(resp, 500, errors.INTERNAL_ERROR)
        assert b"hunter2" not in resp.body
        assert b"nope" not in resp.body

    def test_unexpected_error_in_204_endpoint_is_hidden(self, pecan_app):
        resp = _call(pecan_app, "/items/boom", method="DELETE")
        _assert_json_error(resp, 500, errors.INTERNAL_ERROR)
        assert b"hunter2" not in resp.body
        assert _call(pecan_app, "/items/fine", method="DELETE").status_int == 204

    def test_body_is_parsed(self, pecan_app):
        resp = _call(pecan_app, "/items", method="POST", json_body={"name": "n", "size": 7})
        assert resp.status_int == 201
        assert resp.json == {"name": "n", "size": 7}

    def test_unknown_attribute_in_body_is_400(self, pecan_app):
        resp = _call(pecan_app, "/items", method="POST", json_body={"name": "n", "colour": "red"})
        _assert_json_error(resp, 400, json.loads(resp.body)["faultstring"])
        assert "colour" in resp.json["faultstring"]

    def test_wrong_type_in_body_is_400(self, pecan_app):
        resp = _call(pecan_app, "/items", method="POST", json_body={"size": "big"})
        _assert_json_error(resp, 400, json.loads(resp.body)["faultstring"])
        assert "size" in resp.json["faultstring"]

    def test_invalid_json_body_is_400(self, pecan_app):
        resp = _call(
            pecan_app,
            "/items",
            method="POST",
            body=b"{not json",
            content_type="application/json",
        )
        assert resp.status_int == 400
        assert resp.content_type == "application/json"
        assert set(resp.json) == {"faultcode", "faultstring", "debuginfo"}


class TestErrorHook:
    def test_qinling_lite_error(self, pecan_app):
        _assert_json_error(_call(pecan_app, "/plain/denied"), 403, "Operation not allowed.")

    def test_unexpected_error_is_hidden(self, pecan_app):
        resp = _call(pecan_app, "/plain/boom")
        _assert_json_error(resp, 500, errors.INTERNAL_ERROR)
        assert b"hunter2" not in resp.body

    def test_success(self, pecan_app):
        assert _call(pecan_app, "/plain/x").json == {"id": "x"}

    @pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
    def test_webob_error_left_to_the_middleware(self, pecan_app, app, accept):
        headers = {"Accept": accept} if accept else {}
        _assert_json_error(_call(app, "/plain/webob", headers=headers), 404, "Not Found.")


class TestWholeStack:
    @pytest.mark.parametrize("accept", [None, "application/json", "text/plain"])
    def test_unknown_path_is_json_404(self, app, accept):
        headers = {"Accept": accept} if accept else {}
        _assert_json_error(_call(app, "/nowhere", headers=headers), 404, "Not Found.")

    @pytest.mark.parametrize("accept", [None, "application/json", "text/plain"])
    def test_wrong_method_is_json_405_with_allow(self, app, accept):
        headers = {"Accept": accept} if accept else {}
        resp = _call(app, "/plain/x", method="PUT", headers=headers)
        _assert_json_error(resp, 405, "Method Not Allowed.")
        assert "GET" in resp.headers["Allow"]

    def test_wsme_errors_go_through_unchanged(self, app):
        _assert_json_error(_call(app, "/items/missing"), 404, "Item not found [id=missing]")
        _assert_json_error(_call(app, "/items/boom"), 500, errors.INTERNAL_ERROR)
