"""Cluster access: the one seam between the cluster-side commands and a cluster's Kubernetes API.

`connect` yields an object whose `run(plan)` takes the Kubernetes calls a command makes as a list of `steps` and
gives one result per step (objects as plain dicts). Behind it, two transports:
- `api_server`: the Kubernetes API directly, with an Azure AD token from az's own login on managed-AAD clusters
  (no kubelogin), the local-account credential elsewhere (or the admin one with --admin), or --kubeconfig;
- `run_command`: kubectl run by AKS in the cluster through ARM, the way into a private cluster from outside
  its VNet: the whole plan in one run-command, so one pod start per command.
`--transport auto` uses the API server when a connection to it opens within a short bound, else run-command.
Every failure on the way, of ARM, Azure AD, Kubernetes, the network or run-command, leaves as one az error
worded in `azure.errors`.
"""

from contextlib import contextmanager

from knack.log import get_logger

from azext_imagecleaner.access._plan import TRANSPORTS, AccessOptions  # noqa: F401 - the seam's public names

logger = get_logger(__name__)

# How long a connection to the API server may take to open before `auto` goes through run-command instead.
PROBE_SECONDS = 5


def not_found(ex):
    """Whether a Kubernetes call failed with 404, on either transport."""
    return getattr(ex, "status", None) == 404


@contextmanager
def connect(cmd, mc_client, resource_group, name, options, mc=None):
    """`mc`: the cluster's ARM document when the caller has read it already."""
    from azext_imagecleaner.azure import errors

    state = {}  # what is known so far, for wording an error: the cluster's facts and the AAD token source
    with errors.mapped(resource_group, name):
        try:
            state["facts"] = _facts(mc_client, resource_group, name, options, mc)
            # The caller's `with` exits this generator, and so `_open`'s context too.
            opened = _open(cmd, mc_client, resource_group, name, options, state)
            with opened as kube:  # pylint: disable=contextmanager-generator-missing-cleanup
                yield kube
        except Exception as ex:
            token = state.get("token")
            mapped = errors.translate_cluster_access(
                ex, resource_group, name, state.get("facts"), token.object_id() if token else None
            )
            if mapped is None:
                raise
            raise mapped from ex


def _facts(mc_client, resource_group, name, options, mc):
    from azext_imagecleaner.access._plan import facts_of

    if options.kubeconfig:
        return None  # the user's kubeconfig decides everything; ARM is not asked
    return facts_of(mc if mc is not None else mc_client.get(resource_group, name))


@contextmanager
def _open(cmd, mc_client, resource_group, name, options, state):
    from azext_imagecleaner.access import _plan, api_server
    from azext_imagecleaner.azure import errors

    facts = state["facts"]
    if facts is None:
        if options.transport == "run-command":
            raise errors.access_refused("kubeconfig-with-run-command", resource_group, name)
        with api_server.open_kube(None, options.context, kubeconfig_file=options.kubeconfig) as kube:
            yield kube
        return
    credential = _plan.credential(facts, options)
    if isinstance(credential, _plan.Refusal):
        raise errors.access_refused(credential.kind, resource_group, name)
    token = state["token"] = _aad_token(cmd, facts) if credential == "aad" else None
    fetched = {}  # the kubeconfig from ARM, fetched once, when the probe or the API-server transport needs it
    reason = None

    def document():
        if "kubeconfig" not in fetched:
            admin = credential == "admin"
            fetched["kubeconfig"] = api_server.kubeconfig_from_arm(mc_client, resource_group, name, admin)
        return fetched["kubeconfig"]

    def reachable():
        nonlocal reason
        server = api_server.cluster_entry(document(), options.context).get("server")
        reason = api_server.unreachable_reason(server, PROBE_SECONDS)
        return reason is None

    transport = _plan.transport(facts, options, reachable)
    if isinstance(transport, _plan.Refusal):
        raise errors.access_refused(transport.kind, resource_group, name, reason=reason)
    if transport == "run-command":
        from azext_imagecleaner.access.run_command import RunCommandKube

        if reason:
            logger.warning(
                "The API server of %s cannot be reached from here (%s); going through AKS run-command.", name, reason
            )
        yield RunCommandKube(cmd, mc_client, resource_group, name, token, options.timeout)
        return
    with api_server.open_kube(document(), options.context, token=token) as kube:
        yield kube


def _aad_token(cmd, facts):
    # Not `_token`: importing the submodule access._token binds that name in this package, in place of a function.
    from azext_imagecleaner.access._token import from_az_login

    return from_az_login(cmd.cli_ctx, facts.tenant, facts.subscription)
