"""Credentials masked out of what --debug prints (pure).

az's network trace prints every request and response body at debug level, and CI logs are kept. The bodies the
extension's commands exchange with ARM hold credentials: listClusterUserCredential and
listClusterAdminCredential answer a kubeconfig (base64) with a token or a client key and certificate, and a
runCommand request on managed AAD carries the caller's AKS token as `clusterToken`. Here those values become
MASK and the rest stays readable: a kubeconfig is shown decoded (server, CA, user names), without its secrets.
"""

import base64
import binascii
import json
import re

MASK = "*****"
# Keys whose value is a credential, wherever they appear (compared in lower case).
SECRET_KEYS = frozenset(
    {
        "clustertoken",
        "token",
        "access_token",
        "accesstoken",
        "access-token",
        "refresh_token",
        "refreshtoken",
        "refresh-token",
        "id_token",
        "client-key-data",
        "client-certificate-data",
        "password",
        "adminpassword",
        "secret",
        "client_secret",
    }
)
# A JWT anywhere in a text (AAD tokens are JWTs): header.payload.signature, base64url.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def redact(value):
    """`value` (parsed JSON or YAML) with every credential masked; kubeconfigs in `kubeconfigs` decoded."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if str(key).lower() in SECRET_KEYS and item not in (None, ""):
                out[key] = MASK
            elif str(key).lower() == "kubeconfigs" and isinstance(item, list):
                out[key] = [_kubeconfig_entry(entry) for entry in item]
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _JWT.sub(MASK, value)
    return value


def _kubeconfig_entry(entry):
    """{"name", "value": base64 kubeconfig} with the kubeconfig decoded and redacted; masked whole if unreadable."""
    if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
        return redact(entry)
    import yaml

    try:
        document = yaml.safe_load(base64.b64decode(entry["value"], validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, yaml.YAMLError):
        document = None
    if not isinstance(document, dict):
        return dict(redact({k: v for k, v in entry.items() if k != "value"}), value=MASK)
    return dict(redact({k: v for k, v in entry.items() if k != "value"}), value=redact(document))


def redact_text(text):
    """A body as text: JSON with its credentials masked (and shown compact), else the text with JWTs masked."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        return _JWT.sub(MASK, text)
    return json.dumps(redact(parsed))
