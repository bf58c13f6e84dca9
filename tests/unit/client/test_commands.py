"""The plugin's commands, parsed and run against a fake API: the requests they make."""

import hashlib
import importlib.metadata
import io
import json
import types
import zipfile

import pytest
from osc_lib import exceptions
from qinling_lite_client import http
from qinling_lite_client.osc import base, function, function_execution, runtime, waiting, webhook

FID = "6f0b7a3e-5c1d-4d8e-9a2b-3c4d5e6f7a8b"
RID = "0b7a3e6f-5c1d-4d8e-9a2b-3c4d5e6f7a8b"
# Every command of python-qinlingclient 5.1.1.
COMMANDS_5_1_1 = {
    "function_alias_create", "function_alias_delete", "function_alias_list",
    "function_alias_show", "function_alias_update", "function_create", "function_delete",
    "function_detach", "function_download", "function_execution_create",
    "function_execution_delete", "function_execution_list", "function_execution_log_show",
    "function_execution_show", "function_list", "function_scaledown", "function_scaleup",
    "function_show", "function_update", "function_version_create", "function_version_delete",
    "function_version_detach", "function_version_list", "function_version_show",
    "function_worker_list", "job_create", "job_delete", "job_list", "job_show", "job_update",
    "runtime_create", "runtime_delete", "runtime_list", "runtime_pool_show", "runtime_show",
    "webhook_create", "webhook_delete", "webhook_list", "webhook_show", "webhook_update",
}  # fmt: skip


class FakeApi(http.Client):
    """The real client's requests, recorded instead of sent; answers from ``answers`` (a
    path: a list of answers in turn)."""

    def __init__(self, answers=None):
        super().__init__(session=None, endpoint="http://server")
        self.calls = []
        self.answers = answers or {}

    def call(self, method, path, **kwargs):
        self.calls.append((method, path, kwargs))
        queue = self.answers.get(path)
        return queue.pop(0) if queue else {"id": FID}


def run(command_class, *argv, api=None):
    """Parse ``argv`` as the command does and run it; the fake API and the command's result."""
    api = api or FakeApi()
    app = types.SimpleNamespace(
        client_manager=types.SimpleNamespace(function_engine=api), stdout=io.StringIO()
    )
    command = command_class(app, None)
    result = command.take_action(command.get_parser("openstack").parse_args(argv))
    return api, result


def test_every_5_1_1_command_is_registered():
    registered = importlib.metadata.entry_points(group="openstack.function_engine.v1")
    ours = {ep.name for ep in registered if ep.value.startswith("qinling_lite_client.")}
    assert ours == COMMANDS_5_1_1
    for entry_point in registered:
        if entry_point.name in ours:
            entry_point.load()


def test_runtime_create_takes_both_forms():
    old, _ = run(runtime.Create, "--name", "py", "--private", "img")
    guide, _ = run(runtime.Create, "py", "img", "--untrusted")
    assert old.calls[0][2]["json"] == {
        "image": "img",
        "is_public": False,
        "trusted": True,
        "name": "py",
    }
    assert guide.calls[0][2]["json"] == {
        "image": "img",
        "is_public": True,
        "trusted": False,
        "name": "py",
    }
    nameless, _ = run(runtime.Create, "img")
    assert nameless.calls[0][2]["json"] == {"image": "img", "is_public": True, "trusted": True}


def test_runtime_create_wait_fails_on_error_and_timeout(monkeypatch):
    monkeypatch.setattr(waiting, "INTERVAL", 0)
    api = FakeApi(
        {f"/runtimes/{FID}": [{"id": FID, "status": "creating"}, {"id": FID, "status": "error"}]}
    )
    with pytest.raises(exceptions.CommandError, match="is in error"):
        run(runtime.Create, "py", "img", "--wait", api=api)
    api = FakeApi({f"/runtimes/{FID}": [{"id": FID, "status": "creating"}] * 1000})
    with pytest.raises(exceptions.CommandError, match="Timed out after 0 s"):
        run(runtime.Create, "img", "--wait", "--wait-timeout", "0", api=api)


def test_function_create_guide_form_uploads_the_file(tmp_path):
    (source := tmp_path / "test_swift.py").write_text("def stat_object(): pass\n")
    api, _ = run(
        function.Create, "test_swift", RID, '{"source": "package"}',
        "--entry", "test_swift.stat_object", "--file", str(source),
    )  # fmt: skip
    method, path, kwargs = api.calls[0]
    assert (method, path) == ("POST", "/functions")
    data = kwargs["data"]
    assert list(data) == ["runtime_id", "code", "name", "entry", "timeout"]
    assert (data["runtime_id"], data["name"], data["timeout"]) == (RID, "test_swift", "5")
    filename, content = kwargs["files"]["package"]
    assert filename == "test_swift.zip"
    assert json.loads(data["code"]) == {
        "source": "package",
        "md5sum": hashlib.md5(content).hexdigest(),
    }
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.namelist() == ["test_swift.py"]


def test_function_create_swift_from_the_code_argument():
    code = '{"source": "swift", "swift": {"container": "c", "object": "o"}}'
    api, _ = run(function.Create, "f", RID, code, "--entry", "m.main")
    data = api.calls[0][2]["data"]
    assert json.loads(data["code"]) == {
        "source": "swift",
        "swift": {"container": "c", "object": "o"},
    }
    assert api.calls[0][2]["files"] is None  # a form, not multipart


def test_function_update_sends_the_swift_values():
    api, _ = run(function.Update, FID, "--container", "c", "--object", "o")
    data = api.calls[0][2]["data"]
    assert json.loads(data["code"]) == {
        "source": "swift",
        "swift": {"container": "c", "object": "o"},
    }


def test_function_names_are_looked_up():
    api = FakeApi({"/functions": [{"functions": [{"id": FID, "name": "hello"}]}]})
    run(function.Show, "hello", api=api)
    assert [call[:2] for call in api.calls] == [("GET", "/functions"), ("GET", f"/functions/{FID}")]
    with pytest.raises(exceptions.CommandError, match="No Function matching"):
        run(function.Show, "hello", api=FakeApi({"/functions": [{"functions": []}]}))


@pytest.mark.parametrize("command_class", [function_execution.Create, webhook.Create])
def test_execution_and_webhook_take_a_positional_function(command_class):
    guide, _ = run(command_class, FID)
    old, _ = run(command_class, "--function", FID)
    assert guide.calls[0][2]["json"] == old.calls[0][2]["json"]
    assert guide.calls[0][2]["json"]["function_id"] == FID
    by_alias, _ = run(command_class, "--function-alias", "a")
    body = by_alias.calls[0][2]["json"]
    assert (body["function_alias"], body["function_id"], body["function_version"]) == (
        "a",
        None,
        None,
    )


def test_execution_create_body_and_wait(monkeypatch):
    monkeypatch.setattr(waiting, "INTERVAL", 0)
    api = FakeApi({
        "/executions": [{"id": FID, "status": "pending"}],
        f"/executions/{FID}": [{"id": FID, "status": "running"}, {"id": FID, "status": "success"}],
    })  # fmt: skip
    _, (columns, values) = run(
        function_execution.Create, FID, "--input", '{"a": 1}', "--async", "--wait", api=api
    )
    assert api.calls[0][2]["json"] == {
        "function_id": FID, "function_version": 0, "function_alias": None, "sync": False,
        "input": '{"a": 1}',
    }  # fmt: skip
    assert dict(zip(columns, values, strict=True))["status"] == "success"


def test_filters_are_query_parameters():
    args = types.SimpleNamespace(filters=["project_id=p", "status=a=b", "project_id=q"])
    assert base.filters(args) == [("project_id", "p"), ("status", "a=b"), ("project_id", "q")]
    with pytest.raises(exceptions.CommandError, match="Invalid filter"):
        base.filters(types.SimpleNamespace(filters=["nokey"]))
    api, _ = run(runtime.List, "--filter", "k=v w", api=FakeApi({"/runtimes": [{}]}))
    assert api.calls[0][2]["params"] == [("k", "v w")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(FID, True), (FID.upper(), True), (FID.replace("-", ""), True), ("hello", False), ("", False)],
)
def test_is_uuid_like(value, expected):
    assert base.is_uuid_like(value) is expected


class FakeResponse:
    def __init__(self, status, text, reason="Bad"):
        self.status_code, self.text, self.reason = status, text, reason
        self.content = text.encode()

    def json(self):
        return json.loads(self.text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"faultcode": "Client", "faultstring": "Nope.", "debuginfo": null}', "Nope. (HTTP 409)"),
        ("plain text\n", "plain text (HTTP 409)"),
        ('{"other": 1}', '{"other": 1} (HTTP 409)'),
        ("", "Bad (HTTP 409)"),
    ],
)
def test_errors_show_the_faultstring(text, message):
    session = types.SimpleNamespace(request=lambda url, method, **kw: FakeResponse(409, text))
    with pytest.raises(http.ApiError) as error:
        http.Client(session, "http://h:1/prefix/").request("GET", "/runtimes")
    assert str(error.value) == message


def test_the_client_appends_v1_to_the_server_root():
    urls = []

    def request(url, method, **kwargs):
        urls.append(url)
        return FakeResponse(200, '{"runtimes": []}')

    api = http.Client(types.SimpleNamespace(request=request), "http://h:1/prefix/")
    assert api.get("/runtimes") == {"runtimes": []}
    assert urls == ["http://h:1/prefix/v1/runtimes"]
