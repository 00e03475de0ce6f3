"""An Azure AD token for a managed-AAD cluster's API server, from az's own login: no kubelogin, nothing on disk.

It is the token kubelogin's `azurecli` mode would get (it runs `az account get-access-token --resource` for the
same app), obtained the way core az gets run-command's clusterToken: `Profile.get_raw_token(resource=...)`
(../shared/aks-access.md §1; the same signature on az 2.76 and 2.91). It works for user, service principal and
managed identity logins. Tokens last about an hour; `get` fetches a new one when the held one has less than
REFRESH_SECONDS left, so a long `run --wait` or log read keeps working.
"""

import time

from azext_imagecleaner.access._plan import AKS_SERVER_APP

REFRESH_SECONDS = 300


class AadToken:
    """The held token and when it expires; `fetch()` gives a new (token, expires_on epoch seconds)."""

    def __init__(self, fetch, clock=time.time):
        self._fetch, self._clock = fetch, clock
        self._token, self._expires_on = None, 0

    def get(self):
        if self._token is None or self._expires_on - self._clock() < REFRESH_SECONDS:
            self._token, self._expires_on = self._fetch()
        return self._token

    def object_id(self):
        """The caller's object ID from the token held (its `oid` claim, read unverified), or None."""
        import base64
        import json

        try:
            payload = self._token.split(".")[1]
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("oid")
        except (AttributeError, IndexError, ValueError):
            return None


def token_scope(cluster_tenant, login_tenant, subscription):
    """How to ask az for the token (pure): by the cluster's subscription when the cluster's tenant is the one az
    is logged in to for it (or ARM names none); by tenant only when they differ. az 2.76 refuses any tenant for a
    managed identity ("Tenant shouldn't be specified for managed identity account"); 2.91 refuses only another
    one; neither takes subscription and tenant together."""
    if not cluster_tenant or (login_tenant or "").lower() == cluster_tenant.lower():
        return {"subscription": subscription}
    return {"tenant": cluster_tenant}


def from_az_login(cli_ctx, tenant, subscription):
    """An AadToken fed by az's login, for the cluster's tenant (Azure RBAC needs it to be the subscription's)."""

    def fetch():
        from azure.cli.core._profile import Profile

        from azext_imagecleaner.azure import errors

        profile = Profile(cli_ctx=cli_ctx)
        try:
            login_tenant = profile.get_subscription(subscription).get("tenantId")
        except Exception:  # noqa: BLE001 - a subscription az does not know: ask by tenant, az says what is wrong
            login_tenant = None
        scope = token_scope(tenant, login_tenant, subscription)
        try:
            (_, token, entry), _, _ = profile.get_raw_token(resource=AKS_SERVER_APP, **scope)
        except Exception as ex:  # MSAL, az and azure-identity raise many kinds; each becomes one line
            raise errors.token_unavailable(tenant, ex) from ex
        return token, float(entry["expires_on"])

    return AadToken(fetch)
