"""Which way into a cluster, decided from what ARM says about it (pure: no I/O, no az imports at load)."""

from typing import NamedTuple

# The AKS AAD server app: the audience of every managed-AAD cluster's API server, "the same in all environments"
# (../shared/aks-access.md §1; core az sends a token for it as run-command's clusterToken).
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"

TRANSPORTS = ("auto", "api-server", "run-command")


class AccessOptions(NamedTuple):
    """How the user asked to reach the cluster (the `Kubernetes access` arguments)."""

    admin: bool = False
    kubeconfig: str | None = None
    context: str | None = None
    transport: str = "auto"
    timeout: int | None = None


class ClusterFacts(NamedTuple):
    """What ARM says about the cluster that decides how to reach its Kubernetes API."""

    id: str
    subscription: str
    aad_managed: bool = False
    aad_legacy: bool = False
    azure_rbac: bool = False
    tenant: str | None = None
    local_accounts_disabled: bool = False
    private: bool = False
    run_command_disabled: bool = False


def facts_of(mc):
    """ClusterFacts from a ManagedCluster model (any SDK generation: missing attributes read as unset)."""
    aad = getattr(mc, "aad_profile", None)
    access = getattr(mc, "api_server_access_profile", None)
    cluster_id = getattr(mc, "id", None) or ""
    parts = cluster_id.split("/")
    return ClusterFacts(
        id=cluster_id,
        subscription=parts[2] if len(parts) > 2 else "",
        aad_managed=bool(aad and getattr(aad, "managed", False)),
        aad_legacy=bool(aad and not getattr(aad, "managed", False)),
        azure_rbac=bool(aad and getattr(aad, "managed", False) and getattr(aad, "enable_azure_rbac", False)),
        tenant=getattr(aad, "tenant_id", None) if aad else None,
        local_accounts_disabled=bool(getattr(mc, "disable_local_accounts", False)),
        private=bool(access and getattr(access, "enable_private_cluster", False)),
        run_command_disabled=bool(access and getattr(access, "disable_run_command", False)),
    )


class Refusal(NamedTuple):
    """Why the cluster cannot be reached as asked; `_errors.access_refused` words it."""

    kind: str


def credential(facts, options):
    """Which credential the API-server transport uses: "kubeconfig", "admin", "aad" or "user"; or a Refusal."""
    if options.kubeconfig:
        return "kubeconfig"
    if options.admin:
        return Refusal("local-accounts-disabled") if facts.local_accounts_disabled else "admin"
    if facts.aad_legacy:
        return Refusal("legacy-aad")
    return "aad" if facts.aad_managed else "user"


def transport(facts, options, reachable):
    """ "api-server" or "run-command", or a Refusal. `reachable`: a function telling whether the API server
    answers from here, called only when the choice depends on it."""
    if options.kubeconfig:
        if options.transport == "run-command":
            return Refusal("kubeconfig-with-run-command")
        return "api-server"
    if options.transport == "api-server":
        return "api-server"
    if options.transport == "run-command":
        return Refusal("run-command-disabled") if facts.run_command_disabled else "run-command"
    if reachable():
        return "api-server"
    return Refusal("unreachable-run-command-disabled") if facts.run_command_disabled else "run-command"
