"""Who may call an emulated cluster's Kubernetes API, and what Azure RBAC lets them do.

Authentication follows ../shared/aks-access.md:
- §1: on a managed-AAD cluster the API server takes an Entra ID token for the AKS server app from the cluster's
  tenant; anything else (no token, another audience, a token not issued here, an expired one) is 401;
- §2: static (local-account) credentials fail once local accounts are disabled; on an AAD cluster the user
  credential is never a static one;
- a run-command pod on a cluster without AAD runs with credentials of its own (RUN_COMMAND_TOKEN here).
Authorization on Azure RBAC clusters follows §3: each request is checked against the caller's built-in role,
and a denial is the 403 Status with the "...in Azure. Update role assignment..." message. Kubernetes RBAC
(bindings for AAD users on clusters without Azure RBAC) is not modelled: such users are allowed.
"""

import re
import secrets

from armemulator.arm.credentials import STATIC_TOKENS
from armemulator.identity import AKS_SERVER_APP
from armemulator.kubernetes.api import RESOURCES
from armemulator.kubernetes.objects import KubeError

RUN_COMMAND_TOKEN = f"run-command-pod-{secrets.token_hex(16)}"

CLUSTER_ADMIN = "Azure Kubernetes Service RBAC Cluster Admin"
ADMIN = "Azure Kubernetes Service RBAC Admin"
WRITER = "Azure Kubernetes Service RBAC Writer"
READER = "Azure Kubernetes Service RBAC Reader"
ROLES = (CLUSTER_ADMIN, ADMIN, WRITER, READER)

READ_VERBS = {"get", "list", "watch"}
# What the Writer and Reader roles' data actions name, among the kinds this API serves (aks-access.md §3 table,
# from the built-in roles page): no custom resources, no nodes; Reader has no pods/log and no secrets. Both list
# podtemplates/read among their data actions (the same page).
_WRITER_RESOURCES = {"configmaps", "pods", "pods/log", "events", "secrets", "podtemplates"}
_READER_RESOURCES = {"configmaps", "pods", "events", "podtemplates"}


class Identity:
    def __init__(self, name, object_id=None, local=False, audience=None, expires=None):
        self.name, self.object_id, self.local, self.audience, self.expires = name, object_id, local, audience, expires


def authenticate(authorization, cluster, tokens, rejects_tokens=False):
    """The caller, or KubeError 401. `cluster` is credentials.facts() of the cluster's ARM document."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme != "Bearer" or not token:
        raise _unauthorized()
    if token in STATIC_TOKENS.values() or token == RUN_COMMAND_TOKEN:
        if cluster["local_accounts_disabled"]:
            raise _unauthorized()
        if cluster["aad_managed"] and token != STATIC_TOKENS["clusterAdmin"]:
            raise _unauthorized()
        return Identity("masterclient" if token != RUN_COMMAND_TOKEN else "aks-command", local=True)
    claims = tokens.verify(token)
    if (
        claims is None
        or rejects_tokens
        or not cluster["aad_managed"]
        or claims.get("aud") != AKS_SERVER_APP
        or claims.get("tid") != cluster["tenant"]
    ):
        raise _unauthorized()
    return Identity(
        claims.get("upn") or claims["oid"], object_id=claims["oid"], audience=claims["aud"], expires=claims["exp"]
    )


def _unauthorized():
    return KubeError(401, "Unauthorized", "Unauthorized")


_REQUEST = re.compile(
    r"/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[a-z]+)"
    r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[a-z]+))?"
)


def request_attributes(method, path, query):
    """(verb, resource, group, namespace, name), or None for discovery and other non-resource paths."""
    match = _REQUEST.fullmatch(path)
    if not match or match["resource"] not in RESOURCES:
        return None
    resource = match["resource"] + (f"/{match['sub']}" if match["sub"] else "")
    if method == "GET":
        verb = "watch" if query.get("watch") in ("true", "1") else ("get" if match["name"] else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "get")
    return verb, resource, match["group"] or "", match["ns"], match["name"]


def allowed(role, scope_namespace, verb, resource, namespace):  # noqa: PLR0911 - one answer per role
    """Whether a built-in role, assigned at the cluster (scope_namespace None) or one namespace, allows this."""
    if scope_namespace is not None and namespace != scope_namespace:
        return False  # a namespace-scoped assignment cannot reach cluster-scoped objects or other namespaces
    if role == CLUSTER_ADMIN:
        return True
    if role == ADMIN:
        return not (resource in ("namespaces", "resourcequotas") and verb in ("create", "update", "patch", "delete"))
    if namespace is None and resource != "namespaces":
        return False
    if role == WRITER:
        return resource in _WRITER_RESOURCES or (resource == "namespaces" and verb in READ_VERBS)
    if role == READER:
        return verb in READ_VERBS and (resource in _READER_RESOURCES or resource == "namespaces")
    return False


def authorize(identity, cluster, assignments, method, path, query):
    """Nothing when allowed; KubeError 403 as Azure RBAC denies. `assignments`: [(role, namespace or None)]."""
    if identity.local or not cluster["azure_rbac"]:
        return
    attributes = request_attributes(method, path, query)
    if attributes is None:
        return  # discovery, /version, /openapi: any authenticated caller
    verb, resource, group, namespace, name = attributes
    if any(allowed(role, scope, verb, resource, namespace) for role, scope in assignments):
        return
    base = resource.split("/")[0]
    qualified = f"{base}.{group}" if group else base
    subject = f'{qualified} "{name}"' if name else qualified
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{identity.name}" cannot {verb} resource "{resource}" in API group '
        f'"{group}" {where}: User does not have access to the resource in Azure. Update role assignment to allow '
        "access."
    )
    details = {"kind": base, **({"name": name} if name else {}), **({"group": group} if group else {})}
    raise KubeError(403, "Forbidden", message, details)
