"""The webhooks service on SQLite: auth settings, admitting invocations, rate limits."""

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
    def __init__(self):
        self.started = []

    def create_execution(self, ctxt, execution_id, sync, timeout):
        self.started.append(execution_id)


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
    assert webhooks_service.admit(webhook.id, _invocation()).function.function_id == function.id


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
            webhooks_service.admit(webhook.id, _invocation(headers=headers))
    signed = {"X-Qinling-Signature": webhook_auth.signature(webhook.secret, BODY)}
    assert webhooks_service.admit(webhook.id, _invocation(headers=signed)).webhook_id == webhook.id


def test_token_invocations_need_a_token_allowed_on_the_webhooks_project(conf, config_fixture):
    config_fixture.config(group="api", auth_enable=True)
    webhook = _create(conf, rows.function(), auth="token")
    with pytest.raises(exceptions.NotAuthorized):
        webhooks_service.admit(webhook.id, _invocation(authenticated=False))
    with pytest.raises(exceptions.NotAllowed):
        webhooks_service.admit(
            webhook.id, _invocation(authenticated=True, authorize=rows.Authorizer(allow=False))
        )
    authorize = rows.Authorizer()
    target = webhooks_service.admit(
        webhook.id, _invocation(authenticated=True, authorize=authorize)
    )
    assert authorize.targets == [target.function]
    assert target.function.project_id == rows.P1


def test_the_rate_limit_holds_at_the_window_boundary(conf):
    webhook = _create(conf, rows.function(), rate_limit=2)
    last_second = MINUTE + 59.5
    for _ in range(2):
        webhooks_service.admit(webhook.id, _invocation(received_at=last_second))
    with pytest.raises(exceptions.TooManyRequests, match="2 invocations a minute") as refused:
        webhooks_service.admit(webhook.id, _invocation(received_at=last_second))
    assert refused.value.headers["Retry-After"] == "1"
    # The next minute counts afresh.
    for _ in range(2):
        webhooks_service.admit(webhook.id, _invocation(received_at=MINUTE + 60))
    with pytest.raises(exceptions.TooManyRequests):
        webhooks_service.admit(webhook.id, _invocation(received_at=MINUTE + 119))

    unlimited = webhooks_service.update(
        rows.caller(), conf, webhook, {"rate_limit": 0}, rows.Authorizer()
    )
    assert unlimited.rate_limit is None
    webhooks_service.admit(webhook.id, _invocation(received_at=MINUTE + 119))


def test_a_refused_invocation_records_nothing(conf):
    webhook = _create(conf, rows.function(), auth="hmac", rate_limit=1)
    with pytest.raises(exceptions.NotAuthorized):
        webhooks_service.admit(webhook.id, _invocation())
    assert executions_db.list_all() == []
    signed = {"X-Qinling-Signature": webhook_auth.signature(webhook.secret, BODY)}
    webhooks_service.admit(webhook.id, _invocation(headers=signed))  # not counted before


def test_an_invocation_runs_asynchronously_with_the_data_as_input(conf):
    function = rows.function()
    webhook = _create(conf, function)
    engine = Engine()
    target = webhooks_service.admit(webhook.id, _invocation())
    execution = webhooks_service.invoke(rows.caller(), engine, target, {"alarm": "cpu"})
    assert engine.started == [execution.id]
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
        webhooks_service.admit(webhook.id, _invocation())
    assert executions_db.list_all() == []


def test_a_webhook_of_an_alias_follows_it_past_the_deleted_function(conf):
    old, new = rows.function(), rows.function()
    rows.alias("prod", old)
    webhook = webhooks_service.create(
        rows.caller(), conf, {"function_alias": "prod"}, rows.Authorizer()
    )
    aliases_db.update("prod", {"function_id": new.id}, rows.P1)
    functions_db.delete(old.id, rows.P1)
    assert webhooks_service.admit(webhook.id, _invocation()).function.function_id == new.id
