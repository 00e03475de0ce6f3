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
    def __init__(self, cli_ctx, tenant, subscription, clock=time.time):
        self._cli_ctx, self._tenant, self._subscription, self._clock = cli_ctx, tenant, subscription, clock
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

    def _fetch(self):
        from azure.cli.core._profile import Profile

        from azext_imagecleaner import _errors

        # The cluster's own tenant when ARM names it (Azure RBAC needs it to be the subscription's); subscription
        # and tenant cannot both be given.
        scope = {"tenant": self._tenant} if self._tenant else {"subscription": self._subscription}
        try:
            (_, token, entry), _, _ = Profile(cli_ctx=self._cli_ctx).get_raw_token(resource=AKS_SERVER_APP, **scope)
        except Exception as ex:  # MSAL, az and azure-identity raise many kinds; each becomes one line
            raise _errors.token_unavailable(self._tenant, ex) from ex
        return token, float(entry.get("expires_on") or self._clock() + 3000)
