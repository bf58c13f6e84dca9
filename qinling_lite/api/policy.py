"""Enforcing the policy rules of ``qinling_lite.policies`` on a request's context."""

from oslo_config import cfg
from oslo_policy import policy

from qinling_lite import exceptions, policies

_enforcer = None


def _get_enforcer():
    global _enforcer
    if _enforcer is None:
        _enforcer = policy.Enforcer(cfg.CONF)
        _enforcer.register_defaults(policies.list_rules())
    return _enforcer


def enforce(ctx, rule, target=None):
    """NotAllowed (403) unless ``ctx`` may do ``rule`` on ``target`` (default: its project)."""
    credentials = {**ctx.to_policy_values(), "is_admin": ctx.is_admin}
    target = target or {"project_id": ctx.project_id}
    if not _get_enforcer().enforce(rule, target, credentials):
        raise exceptions.NotAllowed()
