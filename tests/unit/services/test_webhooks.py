"""The webhooks service on SQLite: auth settings, admitting invocations, rate limits,
synchronous invocations and ``[webhook] require_auth``."""

import pytest

from qinling_lite import config, exceptions, status
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import executions as executions_db
from qinling_lite.db import functions as functions_db
from qinling_lite.services import webhook_auth
from qinling_lite.services import webhooks as webhooks_service
from tests.unit.services import rows

BODY = b'{"alarm": "cpu"}'
MINUTE = 29_000_000 * 60.0  # the start of a rate window


@pytest.fixture
def conf(config_fixture):
    config_fixture.config(group="api", auth_enable=False)
    return config.CONF


class Engine:
    """An engine client that records what it is handed; a sync call finishes the
    execution with ``outcome`` and ``output`` as an engine would, or raises ``fail``."""

    def __init__(self, outcome=status.SUCCESS, output="Hello, Qinling", fail=None):
        self.outcome = outcome
        self.output = output
        self.fail = fail
        self.started = []

    def create_execution(self, ctxt, execution_id, sync, timeout):
        self.started.append((execution_id, sync, timeout))
        if self.fail:
            raise self.fail
        if sync:
            executions_db.claim(execution_id, "engine-1", 30)
            result = {"duration": 0.1, "output": self.output}
            executions_db.finish(execution_id, "engine-1", self.outcome, result, "")


def _create(conf, function, **values):
    return webhooks_service.create(
        rows.caller(function.project_id),
        conf,
        {"function_id": function.id, **values},
        rows.Authorizer(),
    )


def _invocation(authenticated=False, headers=None, body=BODY, received_at=MINUTE, authorize=None):
    return webhook_auth.Invocation(
        authenticated=authenticated,
        headers=headers or {},
        body=body,
        authorize=authorize or rows.Authorizer(),
        received_at=received_at,
    )


def test_every_method_is_registered_by_its_name():
    assert list(webhook_auth.METHODS) == ["none", "token", "hmac"]
    with pytest.raises(exceptions.InputError):
        webhook_auth.method("password")


def test_hmac_webhooks_get_a_secret_that_switching_away_clears(conf):
    function = rows.function()
    webhook = _create(conf, function, auth="hmac", secret="chosen-by-the-caller")
    assert webhook.auth == "hmac" and len(webhook.secret) >= 43
    assert webhook.secret != "chosen-by-the-caller"
    kept = webhooks_service.update(
        rows.caller(), conf, webhook, {"description": "d"}, rows.Authorizer()
    )
    assert kept.secret == webhook.secret
    plain = webhooks_service.update(rows.caller(), conf, kept, {"auth": "none"}, rows.Authorizer())
    assert (plain.auth, plain.secret) == ("none", None)


def test_token_webhooks_need_keystone(conf, config_fixture):
    function = rows.function()
    with pytest.raises(exceptions.InputError, match="auth_enable"):
        _create(conf, function, auth="token")
    config_fixture.config(group="api", auth_enable=True)
    assert _create(conf, function, auth="token").auth == "token"


def test_a_webhook_of_an_alias_keeps_the_alias_only(conf):
    function = rows.function()
    rows.alias("prod", function)
    webhook = webhooks_service.create(
        rows.caller(), conf, {"function_alias": "prod"}, rows.Authorizer()
    )
    assert (webhook.function_id, webhook.function_version) == (None, None)
    assert (
        webhooks_service.admit(conf, webhook.id, _invocation()).function.function_id == function.id
    )


def test_another_projects_function_cannot_be_the_target(conf):
    victim = rows.function(rows.P1)
    with pytest.raises(exceptions.NotFound):
        webhooks_service.create(
            rows.caller(rows.P2), conf, {"function_id": victim.id}, rows.Authorizer()
        )
    own = _create(conf, rows.function(rows.P2))
    with pytest.raises(exceptions.NotFound):
        webhooks_service.update(
            rows.caller(rows.P2), conf, own, {"function_id": victim.id}, rows.Authorizer()
        )


def test_hmac_invocations_need_the_bodys_signature(conf):
    webhook = _create(conf, rows.function(), auth="hmac")
    for headers in (
        {},
        {"X-Qinling-Signature": webhook_auth.signature("not-the-secret", BODY)},
        {"X-Qinling-Signature": webhook_auth.signature(webhook.secret, BODY + b" ")},
    ):
        with pytest.raises(exceptions.NotAuthorized, match="X-Qinling-Signature"):
            webhooks_service.admit(conf, webhook.id, _invocation(headers=headers))
    signed = {"X-Qinling-Signature": webhook_auth.signature(webhook.secret, BODY)}
    assert (
        webhooks_service.admit(conf, webhook.id, _invocation(headers=signed)).webhook_id
        == webhook.id
    )


def test_token_invocations_need_a_token_allowed_on_the_webhooks_project(conf, config_fixture):
    config_fixture.config(group="api", auth_enable=True)
    webhook = _create(conf, rows.function(), auth="token")
    with pytest.raises(exceptions.NotAuthorized):
        webhooks_service.admit(conf, webhook.id, _invocation(authenticated=False))
    with pytest.raises(exceptions.NotAllowed):
        webhooks_service.admit(
            conf,
            webhook.id,
            _invocation(authenticated=True, authorize=rows.Authorizer(allow=False)),
        )
    authorize = rows.Authorizer()
    target = webhooks_service.admit(
        conf, webhook.id, _invocation(authenticated=True, authorize=authorize)
    )
    assert authorize.targets == [target.function]
    assert target.function.project_id == rows.P1


def test_the_rate_limit_holds_at_the_window_boundary(conf):
    webhook = _create(conf, rows.function(), rate_limit=2)
    last_second = MINUTE + 59.5
    for _ in range(2):
        webhooks_service.admit(conf, webhook.id, _invocation(received_at=last_second))
    with pytest.raises(exceptions.TooManyRequests, match="2 invocations a minute") as refused:
        webhooks_service.admit(conf, webhook.id, _invocation(received_at=last_second))
    assert refused.value.headers["Retry-After"] == "1"
    # The next minute counts afresh.
    for _ in range(2):
        webhooks_service.admit(conf, webhook.id, _invocation(received_at=MINUTE + 60))
    with pytest.raises(exceptions.TooManyRequests):
        webhooks_service.admit(conf, webhook.id, _invocation(received_at=MINUTE + 119))

    unlimited = webhooks_service.update(
        rows.caller(), conf, webhook, {"rate_limit": 0}, rows.Authorizer()
    )
    assert unlimited.rate_limit is None
    webhooks_service.admit(conf, webhook.id, _invocation(received_at=MINUTE + 119))


def test_a_refused_invocation_records_nothing(conf):
    webhook = _create(conf, rows.function(), auth="hmac", rate_limit=1)
    with pytest.raises(exceptions.NotAuthorized):
        webhooks_service.admit(conf, webhook.id, _invocation())
    assert executions_db.list_all() == []
    signed = {"X-Qinling-Signature": webhook_auth.signature(webhook.secret, BODY)}
    webhooks_service.admit(conf, webhook.id, _invocation(headers=signed))  # not counted before


def test_an_invocation_runs_asynchronously_with_the_data_as_input(conf):
    function = rows.function()
    webhook = _create(conf, function)
    engine = Engine()
    target = webhooks_service.admit(conf, webhook.id, _invocation())
    execution = webhooks_service.invoke(rows.caller(), engine, target, {"alarm": "cpu"})
    assert engine.started == [(execution.id, False, 5)]
    stored = executions_db.get(execution.id, rows.P1)
    assert (stored.status, stored.sync, stored.input) == (status.PENDING, False, {"alarm": "cpu"})
    assert stored.description == f"Created by Webhook {webhook.id}"


def test_a_webhook_outlives_no_function(conf):
    function = rows.function()
    webhook = _create(conf, function)
    with pytest.raises(exceptions.NotAllowed):
        functions_db.delete(function.id, rows.P1)  # refused while the webhook points at it
    webhooks_service.delete(webhook)
    functions_db.delete(function.id, rows.P1)
    with pytest.raises(exceptions.NotFound):
        webhooks_service.admit(conf, webhook.id, _invocation())
    assert executions_db.list_all() == []


def test_a_webhook_of_an_alias_follows_it_past_the_deleted_function(conf):
    old, new = rows.function(), rows.function()
    rows.alias("prod", old)
    webhook = webhooks_service.create(
        rows.caller(), conf, {"function_alias": "prod"}, rows.Authorizer()
    )
    aliases_db.update("prod", {"function_id": new.id}, rows.P1)
    functions_db.delete(old.id, rows.P1)
    assert webhooks_service.admit(conf, webhook.id, _invocation()).function.function_id == new.id


def _invoke_sync(conf, engine, function=None, **values):
    webhook = _create(conf, function or rows.function(), sync=True, **values)
    target = webhooks_service.admit(conf, webhook.id, _invocation())
    return webhook, webhooks_service.invoke_sync(
        rows.caller(), engine, target, {"name": "Qinling"}, timeout_margin=10
    )


def test_webhooks_are_asynchronous_unless_made_sync(conf):
    function = rows.function()
    webhook = _create(conf, function, sync=None)
    assert webhook.sync is False
    assert webhooks_service.admit(conf, webhook.id, _invocation()).sync is False
    made = webhooks_service.update(rows.caller(), conf, webhook, {"sync": True}, rows.Authorizer())
    assert made.sync is True
    assert webhooks_service.admit(conf, webhook.id, _invocation()).sync is True


def test_a_sync_invocation_waits_for_the_output(conf):
    engine = Engine()
    webhook, execution = _invoke_sync(conf, engine)
    assert engine.started == [(execution.id, True, 5 + 10)]  # the function timeout + margin
    assert (execution.status, execution.result["output"]) == (status.SUCCESS, "Hello, Qinling")
    stored = executions_db.get(execution.id, rows.P1)
    assert (stored.sync, stored.input) == (True, {"name": "Qinling"})
    assert stored.description == f"Created by Webhook {webhook.id}"


@pytest.mark.parametrize(
    ("outcome", "output", "error", "code", "text"),
    [
        (status.FAILED, "no such thing", exceptions.FunctionFailed, 502, ": no such thing"),
        (status.FAILED, {"why": 1}, exceptions.FunctionFailed, 502, ': {"why": 1}'),
        (status.FAILED, "Function execution timeout.", exceptions.FunctionTimedOut, 504, "5 s"),
        (status.ERROR, "Package storage failed.", exceptions.ExecutionUnfinished, 503, "could"),
    ],
)
def test_a_sync_invocation_that_did_not_succeed_names_its_execution(
    conf, outcome, output, error, code, text
):
    with pytest.raises(error) as raised:
        _invoke_sync(conf, Engine(outcome, output))
    (execution,) = executions_db.list_all()
    assert (raised.value.code, raised.value.execution_id) == (code, execution.id)
    assert text in raised.value.message and execution.id in raised.value.message
    assert "Retry-After" not in raised.value.headers
    assert execution.status == outcome


def test_a_sync_invocation_no_engine_answered_is_503_and_still_runs(conf):
    with pytest.raises(exceptions.ExecutionUnfinished) as raised:
        _invoke_sync(conf, Engine(fail=exceptions.EngineUnavailable()))
    (execution,) = executions_db.list_all()
    assert execution.status == status.PENDING  # the engines' sweep runs it
    assert (raised.value.code, raised.value.execution_id) == (503, execution.id)
    assert raised.value.headers["Retry-After"] == str(webhooks_service.BUSY_RETRY_AFTER)
    assert "will still run" in raised.value.message


def test_a_sync_invocation_of_an_unavailable_runtime_is_busy_and_records_nothing(conf):
    engine = Engine()
    with pytest.raises(exceptions.Busy) as raised:
        _invoke_sync(conf, engine, rows.function(runtime_status=status.CREATING))
    assert raised.value.code == 503 and raised.value.headers["Retry-After"]
    assert "is not available" in raised.value.message
    assert (engine.started, executions_db.list_all()) == ([], [])


def test_sync_slots_refuse_at_once_beyond_the_limit_and_free_up():
    slots = webhooks_service.SyncSlots(1)
    with slots.hold():
        with pytest.raises(exceptions.Busy) as raised, slots.hold():
            pass
        assert raised.value.headers["Retry-After"] == str(webhooks_service.BUSY_RETRY_AFTER)
    with pytest.raises(RuntimeError), slots.hold():
        raise RuntimeError("the invocation broke")
    with slots.hold():  # the slot came back both times
        pass


@pytest.fixture
def require_auth(conf, config_fixture):
    config_fixture.config(group="webhook", require_auth=True)
    return conf


def test_require_auth_refuses_anonymous_webhooks_and_says_what_to_choose(conf, require_auth):
    function = rows.function()
    for values in ({}, {"auth": None}, {"auth": "none"}):
        with pytest.raises(exceptions.InputError, match="require_auth.*choose auth 'hmac'"):
            _create(conf, function, **values)
    assert webhooks_service.list_all(None, {}) == []
    webhook = _create(conf, function, auth="hmac")
    with pytest.raises(exceptions.InputError, match="instead of 'none'"):
        webhooks_service.update(rows.caller(), conf, webhook, {"auth": "none"}, rows.Authorizer())
    assert webhooks_service.get(webhook.id, rows.P1).auth == "hmac"


def test_require_auth_offers_token_only_with_keystone(conf, require_auth, config_fixture):
    config_fixture.config(group="api", auth_enable=True)
    with pytest.raises(exceptions.InputError, match="choose auth 'token' or 'hmac'"):
        _create(conf, rows.function())
    assert _create(conf, rows.function(), auth="token").auth == "token"


def test_require_auth_locks_out_existing_anonymous_webhooks_and_counts_nothing(
    conf, config_fixture
):
    webhook = _create(conf, rows.function(), rate_limit=1)
    config_fixture.config(group="webhook", require_auth=True)
    with pytest.raises(exceptions.NotAuthorized, match="require_auth"):
        webhooks_service.admit(conf, webhook.id, _invocation())
    # Its owner can still change it, and a webhook that authenticates is admitted.
    signed = webhooks_service.update(
        rows.caller(), conf, webhook, {"auth": "hmac"}, rows.Authorizer()
    )
    headers = {"X-Qinling-Signature": webhook_auth.signature(signed.secret, BODY)}
    # The first counted invocation under the limit of 1: the refused one did not count.
    target = webhooks_service.admit(conf, webhook.id, _invocation(headers=headers))
    assert target.webhook_id == webhook.id
    assert executions_db.list_all() == []
    config_fixture.config(group="webhook", require_auth=False)
    plain = webhooks_service.update(
        rows.caller(), conf, signed, {"auth": "none"}, rows.Authorizer()
    )
    assert plain.auth == "none"


TEMPLATE = {"container": "trait:container", "object": "trait:object"}
UPLOAD = {
    "alarm_id": "a",
    "reason_data": {
        "type": "event",
        "event": {
            "event_type": "objectstorage.object.upload",
            "traits": [["container", 1, "photos"], ["object", 1, "cat.png"]],
        },
    },
}


def test_an_input_template_is_checked_kept_changed_and_cleared(conf):
    function = rows.function()
    assert _create(conf, function).input_template is None
    with pytest.raises(exceptions.InputError, match="entry 'context'"):
        _create(conf, function, input_template={"context": "/a"})
    webhook = _create(conf, function, input_template=TEMPLATE)
    assert webhook.input_template == TEMPLATE
    assert webhooks_service.get(webhook.id, rows.P1).input_template == TEMPLATE

    def update(changes):
        return webhooks_service.update(rows.caller(), conf, webhook, changes, rows.Authorizer())

    assert update({"description": "d"}).input_template == TEMPLATE
    with pytest.raises(exceptions.InputError, match="entry 'name': 'name' is neither"):
        update({"input_template": {"name": "name"}})
    assert webhooks_service.get(webhook.id, rows.P1).input_template == TEMPLATE
    assert update({"input_template": {"name": "/name"}}).input_template == {"name": "/name"}
    assert update({"input_template": None}).input_template is None
    assert webhooks_service.admit(conf, webhook.id, _invocation()).input_template is None


def test_an_invocation_of_a_templated_webhook_runs_with_the_mapped_input(conf):
    webhook = _create(conf, rows.function(), input_template=TEMPLATE)
    target = webhooks_service.admit(conf, webhook.id, _invocation())
    assert target.input_template == TEMPLATE
    data = webhooks_service.mapped_input(conf, target.input_template, UPLOAD)
    assert data == {"container": "photos", "object": "cat.png"}
    execution = webhooks_service.invoke(rows.caller(), Engine(), target, data)
    assert executions_db.get(execution.id, rows.P1).input == data


def test_a_body_the_template_cannot_map_is_refused_before_anything_is_recorded(conf):
    webhook = _create(conf, rows.function(), input_template=TEMPLATE)
    target = webhooks_service.admit(conf, webhook.id, _invocation())
    with pytest.raises(exceptions.InputError) as raised:
        webhooks_service.mapped_input(conf, TEMPLATE, {"alarm_id": "a"})
    assert raised.value.message == (
        "input_template cannot map the body: container (trait:container), object (trait:object)"
    )
    assert target.input_template == TEMPLATE and executions_db.list_all() == []


def test_a_mapped_input_is_no_larger_than_a_webhook_body(conf, config_fixture):
    config_fixture.config(group="api", max_webhook_body_size=100)
    body = {"text": "é" * 40}  # 80 bytes of UTF-8
    assert webhooks_service.mapped_input(conf, {"a": "/text"}, body) == {"a": "é" * 40}
    with pytest.raises(exceptions.InputError, match="more than 100 bytes"):
        webhooks_service.mapped_input(conf, {"a": "/text", "b": "/text"}, body)
