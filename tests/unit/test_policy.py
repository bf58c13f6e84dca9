"""Policy defaults in code, their generated sample, and enforcement on contexts."""

import contextlib
import pathlib
import subprocess
import sys

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
