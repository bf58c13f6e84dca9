"""Enforcing the policy rules of ``qinling_lite.policies`` on a request's context."""

from typing import Protocol, TypeVar

from oslo_config import cfg
from oslo_policy import policy

from qinling_lite import exceptions, policies
from qinling_lite.db import models

_enforcer = None


def _get_enforcer():
    global _enforcer
    if _enforcer is None:
        _enforcer = policy.Enforcer(cfg.CONF)
        _enforcer.register_defaults(policies.list_rules())
    return _enforcer


def _allowed(ctx, rule, target):
    credentials = {**ctx.to_policy_values(), "is_admin": ctx.is_admin}
    return _get_enforcer().enforce(rule, target, credentials)


def is_admin(ctx):
    """Whether the caller's roles make it an administrator (``context_is_admin``)."""
    return _allowed(ctx, "context_is_admin", {})


def enforce(ctx, rule, target=None):
    """NotAllowed (403) unless ``ctx`` may do ``rule`` on ``target`` (default: its project)."""
    if not _allowed(ctx, rule, target or {"project_id": ctx.project_id}):
        raise exceptions.NotAllowed()


class Owned(Protocol):
    """A row that belongs to a project."""

    project_id: str


Row = TypeVar("Row", bound=Owned)


def authorize(ctx, rule, row: Row) -> Row:
    """``row`` if ``ctx`` may do ``rule`` on it, judged by the row's own project; else 403.

    Lookups by id are confined to the caller's project (``ctx.scope``) unless it is an
    admin, so another project's resource is a 404 before it gets here.
    """
    enforce(ctx, rule, {"project_id": row.project_id})
    return row


def authorize_runtime(ctx, rule, runtime: models.Runtime) -> models.Runtime:
    """``runtime`` if ``ctx`` may do ``rule`` on it, judged by its project and whether it
    is public (a public runtime is every project's to read); else 403."""
    enforce(ctx, rule, {"project_id": runtime.project_id, "is_public": runtime.is_public})
    return runtime
