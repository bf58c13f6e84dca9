"""Policy defaults in code, their generated sample, and enforcement on contexts."""

import contextlib
import pathlib
import subprocess
import sys
import types

import pytest
from oslo_config import cfg

from qinling_lite import config, context, exceptions
from qinling_lite.api import policy

ROOT = pathlib.Path(__file__).parents[2]


@pytest.fixture(autouse=True)
def conf():
    # Other tests may have registered keystonemiddleware's options, some required: the
    # configuration is parsed all the same, only their check fails.
    with contextlib.suppress(cfg.RequiredOptError):
        config.CONF([], project="qinling-lite")


def _ctx(roles=(), is_admin=False, project_id="p1"):
    return context.RequestContext(
        project_id=project_id, roles=list(roles), is_admin=is_admin, overwrite=False
    )


@pytest.mark.parametrize(
    "rule",
    [
        "runtime:create",
        "runtime:update",
        "runtime:delete",
        "runtime_pool:get_all",
        "function:detach",
        "function:scale_up",
        "function:scale_down",
        "function_worker:get_all",
        "execution:get_all:all_projects",
        "function_alias:get_all:all_projects",
    ],
)
def test_admin_calls_are_for_admins(rule):
    with pytest.raises(exceptions.NotAllowed):
        policy.enforce(_ctx(roles=["member", "reader"]), rule)
    policy.enforce(_ctx(roles=["admin"]), rule)
    policy.enforce(_ctx(is_admin=True), rule)  # the service itself, or auth disabled


def test_owner_rule_checks_the_target_project():
    policy.enforce(_ctx(roles=["member"]), "admin_or_owner", {"project_id": "p1"})
    with pytest.raises(exceptions.NotAllowed):
        policy.enforce(_ctx(roles=["member"]), "admin_or_owner", {"project_id": "p2"})
    policy.enforce(_ctx(roles=["admin"]), "admin_or_owner", {"project_id": "p2"})


def row(project_id, **extra):
    return types.SimpleNamespace(project_id=project_id, **extra)


@pytest.mark.parametrize("resource", ["function", "execution", "job", "webhook"])
def test_owned_resources_are_judged_by_their_own_project(resource):
    member = _ctx(roles=["member"])
    assert policy.authorize(member, f"{resource}:delete", row("p1")).project_id == "p1"
    with pytest.raises(exceptions.NotAllowed):
        policy.authorize(member, f"{resource}:delete", row("p2"))
    policy.authorize(_ctx(roles=["admin"]), f"{resource}:delete", row("p2"))


def test_public_runtimes_are_readable_by_every_project():
    member = _ctx(roles=["member"])
    policy.authorize_runtime(member, "runtime:get", row("p2", is_public=True))
    with pytest.raises(exceptions.NotAllowed):
        policy.authorize_runtime(member, "runtime:get", row("p2", is_public=False))
    policy.authorize_runtime(member, "runtime:get", row("p1", is_public=False))


def test_admin_status_comes_from_the_roles():
    assert policy.is_admin(_ctx(roles=["admin", "member"]))
    assert not policy.is_admin(_ctx(roles=["member", "reader"]))


def test_admins_look_up_every_project_and_members_their_own():
    assert _ctx(roles=["admin"], is_admin=True).scope is None
    assert _ctx(roles=["member"]).scope == "p1"
    assert context.RequestContext.anonymous_admin().scope is None
    anonymous = context.RequestContext.anonymous()
    assert not anonymous.is_admin
    with pytest.raises(exceptions.NotAuthorized):
        anonymous.scope  # noqa: B018


def test_policy_sample_is_current(tmp_path):
    generated = tmp_path / "policy.yaml.sample"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from oslo_policy import generator; generator.generate_sample()",
            "--config-file",
            str(ROOT / "etc" / "qinling-lite-policy-generator.conf"),
            "--output-file",
            str(generated),
        ],
        check=True,
        capture_output=True,
    )
    sample = (ROOT / "etc" / "qinling-lite.policy.yaml.sample").read_text()
    assert generated.read_text() == sample, "run: tox -e genpolicy"
