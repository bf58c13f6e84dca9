"""The service user that function owners' trusts delegate to, [trustee]."""

import copy

from keystoneauth1 import loading as ks_loading

GROUP = "trustee"
# The trustee logs in with a password, always scoped to a trust: no project options.
_LOGIN = (
    "auth_url",
    "user_id",
    "username",
    "user_domain_id",
    "user_domain_name",
    "password",
)


def list_opts():
    """The trustee's password login options and its TLS settings, as new copies.

    Trusts are used when ``username`` or ``user_id`` is set (and ``[api] auth_enable``).
    """
    login = [
        copy.copy(opt) for opt in ks_loading.get_auth_plugin_conf_options("password")
        if opt.dest in _LOGIN
    ]  # fmt: skip
    for opt in login:
        opt.required = False  # trusts are optional
    return login + ks_loading.get_session_conf_options()


def register_opts(conf):
    conf.register_opts(list_opts(), group=GROUP)
