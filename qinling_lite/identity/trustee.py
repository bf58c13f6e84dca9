"""The trustee: the service user that function owners delegate to through trusts.

At function create the API makes a trust from the caller to the trustee (with the
caller's own token, as Keystone requires), impersonating the caller with its roles in its
project; it is deleted with the function. The engine logs in as the trustee scoped to a
function's trust and gives the worker only the resulting token, which Keystone expires
and which dies with the trust: workers never see the trustee's password.
"""

import collections
import threading

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1.identity import access as ks_access
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client
from oslo_log import log as logging

from qinling_lite import config, exceptions

LOG = logging.getLogger(__name__)

# Trust-scoped logins kept per engine, each reused until its token is close to expiry.
MAX_CACHED_TRUSTS = 1024


class Trustee:
    """Trust creation, deletion and trust-scoped tokens, from ``[trustee]``."""

    def __init__(self, conf):
        self._opts = conf[config.TRUSTEE_GROUP]
        self._conf = conf
        self._user_id = self._opts.user_id
        self._logins = collections.OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self):
        """Whether functions get trusts: authentication on and a trustee configured."""
        return bool(self._conf.api.auth_enable and (self._opts.username or self._opts.user_id))

    def session(self, auth):
        """A keystoneauth session of ``auth`` with ``[trustee]``'s TLS settings."""
        return ks_loading.load_session_from_conf_options(
            self._conf, config.TRUSTEE_GROUP, auth=auth
        )

    def trust_session(self, trust_id):
        """A session as the owner of ``trust_id``: its trust-scoped token and catalog."""
        access = self.access(trust_id)
        return self.session(ks_access.AccessInfoPlugin(access, auth_url=self._opts.auth_url))

    def _password(self, **scope):
        opts = self._opts
        return v3.Password(
            auth_url=opts.auth_url,
            user_id=opts.user_id,
            username=opts.username,
            user_domain_id=opts.user_domain_id,
            user_domain_name=opts.user_domain_name,
            password=opts.password,
            **scope,
        )

    def user_id(self):
        """The trustee's user id (configured, or looked up once with an unscoped login)."""
        if self._user_id is None:
            self._user_id = _keystone_call("Logging in as the trustee", lambda: (
                self.session(self._password(unscoped=True)).get_user_id()
            ))  # fmt: skip
        return self._user_id

    def create_trust(self, ctx, caller_auth):
        """A trust from the caller (``caller_auth``: its keystonemiddleware plugin)."""
        keystone = ks_client.Client(session=self.session(caller_auth), interface="public")
        trust = _keystone_call("Creating a trust for the function", lambda: (
            keystone.trusts.create(
                trustor_user=ctx.user_id,
                trustee_user=self.user_id(),
                project=ctx.project_id,
                role_names=ctx.roles,
                impersonation=True,
            )
        ))  # fmt: skip
        return trust.id

    def delete_trust(self, trust_id, caller_auth):
        """Delete a trust with the caller's token; failures are only logged."""
        self.forget(trust_id)
        keystone = ks_client.Client(session=self.session(caller_auth), interface="public")
        try:
            keystone.trusts.delete(trust_id)
        except ks_exceptions.NotFound:
            pass
        except ks_exceptions.ClientException as e:
            LOG.warning("Trust %s was not deleted: %s", trust_id, e)

    def access(self, trust_id):
        """The trustee's login scoped to ``trust_id`` (keystoneauth ``AccessInfo``)."""
        with self._lock:
            login = self._logins.pop(trust_id, None)
            if login is None:
                login = self.session(self._password(trust_id=trust_id))
            self._logins[trust_id] = login
            while len(self._logins) > MAX_CACHED_TRUSTS:
                self._logins.popitem(last=False)
        try:
            return _keystone_call(
                f"Logging in through trust {trust_id}", lambda: login.auth.get_access(login)
            )
        except exceptions.QinlingLiteError:
            self.forget(trust_id)
            raise

    def worker_credentials(self, trust_id):
        """What a worker builds ``context['os_session']`` from: a trust-scoped token,
        its expiry, owner and service catalog. No password."""
        access = self.access(trust_id)
        return {
            "auth_url": self._opts.auth_url,
            "token": access.auth_token,
            "expires_at": access.expires.isoformat(),
            "user_id": access.user_id,
            "project_id": access.project_id,
            "catalog": access.service_catalog.catalog if access.has_service_catalog() else [],
        }

    def forget(self, trust_id):
        with self._lock:
            self._logins.pop(trust_id, None)


def _keystone_call(what, call):
    """``call()``; Keystone refusing it is a 403, Keystone unreachable a 503."""
    try:
        return call()
    except ks_exceptions.HttpError as e:
        if e.http_status and e.http_status < 500:
            raise exceptions.NotAllowed(f"{what} failed: Keystone answered {e}") from e
        raise exceptions.IdentityUnavailable(f"{what} failed: {e}") from e
    except ks_exceptions.ClientException as e:
        raise exceptions.IdentityUnavailable(f"{what} failed: {e}") from e
