"""The emulator's Azure AD: the tokens its token endpoint issues, and checking them where a service would.

A token is JWT-shaped, as az needs (`az login --identity` decodes it, unverified, to find `tid`), and signed
with a key only this emulator process holds, so a service here can tell its tokens from anything else: the
Kubernetes API of an AAD cluster accepts only a token for the AKS server app issued here (../shared/aks-access.md
§1), as the real one accepts only Entra ID's.
"""

import base64
import collections
import hashlib
import hmac
import json
import os
import time

# The managed identity az logs in with (offline-az.md); role assignments in tests name this object ID.
CALLER_OBJECT_ID = "11111111-1111-1111-1111-111111111111"
# The AKS AAD server app, "the same in all environments" (aks-access.md §1, kubelogin docs, core az's comment).
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
TOKEN_SECONDS = 3600


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    # The tokens issued last, for tests that check no output holds one.
    KEEP_ISSUED = 10000

    def __init__(self, key=None):
        self._key = key or os.urandom(32)
        self.issued = collections.deque(maxlen=self.KEEP_ISSUED)

    def issue(self, tenant, resource, seconds=TOKEN_SECONDS, now=None):
        now = int(time.time() if now is None else now)
        header = {"typ": "JWT", "alg": "HS256", "kid": "armemulator"}
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
            "tid": tenant,
            "oid": CALLER_OBJECT_ID,
            "sub": CALLER_OBJECT_ID,
            "appid": "22222222-2222-2222-2222-222222222222",
            "xms_mirid": "/subscriptions/sandbox/resourcegroups/sandbox/providers/Microsoft.ManagedIdentity/sandbox",
        }
        signed = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        token = f"{signed}.{_b64url(self._sign(signed))}"
        self.issued.append(token)
        return token

    def _sign(self, text):
        return hmac.new(self._key, text.encode(), hashlib.sha256).digest()

    def verify(self, token, now=None):
        """The token's claims when this emulator issued it and it has not expired; else None."""
        parts = (token or "").split(".")
        if len(parts) != 3:
            return None
        try:
            signature = _unb64url(parts[2])
            claims = json.loads(_unb64url(parts[1]))
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{parts[0]}.{parts[1]}")):
            return None
        if not isinstance(claims, dict) or claims.get("exp", 0) <= (time.time() if now is None else now):
            return None
        return claims
