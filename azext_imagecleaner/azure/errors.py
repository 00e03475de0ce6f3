"""Service and network errors turned into az errors: the one place they are mapped.

`cli_error_for` is pure (status, code, message in; az error out); `translate`
only pulls those facts out of the exceptions the SDK, azure-core, requests
and MSAL raise.
"""

import re
from contextlib import contextmanager

from azure.cli.core.azclierror import (
    AuthenticationError,
    AzureConnectionError,
    AzureInternalError,
    AzureResponseError,
    BadRequestError,
    ClientRequestError,
    ForbiddenError,
    InvalidArgumentValueError,
    MutuallyExclusiveArgumentError,
    ResourceNotFoundError,
    UnauthorizedError,
)

FEATURE_HINT = (
    "Register the feature, wait until it shows 'Registered', then refresh the provider:\n"
    "  az feature register --namespace Microsoft.ContainerService --name EnableImageCleanerPreview\n"
    "  az feature show --namespace Microsoft.ContainerService --name EnableImageCleanerPreview "
    "--query properties.state\n"
    "  az provider register --namespace Microsoft.ContainerService"
)

_BUSY = re.compile(r"Another operation \((?P<kind>[^)]*)\) is in progress")


def cluster_text(resource_group, name):
    return f"cluster '{name}' in resource group '{resource_group}'"


def cli_error_for(status, code, message, resource_group, name, *, retry_after=None):  # noqa: PLR0911
    """The az error for an ARM error answer about the cluster."""
    cluster = cluster_text(resource_group, name)
    service = f"({code}) {message}" if code else message
    wait = f"az aks wait -g {resource_group} -n {name} --updated"
    if code == "OperationNotAllowed" and _BUSY.search(message or ""):
        kind = _BUSY.search(message).group("kind")
        return ClientRequestError(
            f"The {cluster} is busy: another operation ({kind}) is in progress, so nothing was changed.",
            f"Wait for it to finish ('{wait}'), then run the command again.",
        )
    if code in ("KubernetesPerformanceError", "KubernetesOperationError") and "did not start" in (message or ""):
        return AzureResponseError(
            f"AKS run-command could not start its pod on the {cluster}, also after trying again for the whole retry "
            f"budget: {service}",
            "The cluster is busy: run the command again later, give it more time with "
            "AZURE_IMAGECLEANER_RETRY_SECONDS, or reach the API server from inside its network with "
            "--transport api-server.",
        )
    if code == "ImageCleanerFeatureFlagNotEnabled":
        return BadRequestError(f"Image Cleaner is not enabled for this subscription: {service}", FEATURE_HINT)
    if status == 412:
        return AzureResponseError(
            f"The {cluster} no longer matches the ETag given with --if-match/--if-none-match: {service}",
            f"Read it again ('az aks show -g {resource_group} -n {name} --query eTag'), then retry with that ETag.",
        )
    if status == 429:
        after = f" It asked to wait {retry_after} s, longer than this command waits." if retry_after else ""
        return AzureResponseError(
            f"Azure Resource Manager is throttling requests for this subscription: {service}.{after}",
            "Run the command again later; to let it wait longer, set AZURE_IMAGECLEANER_RETRY_SECONDS.",
        )
    if status == 404:
        return ResourceNotFoundError(service, "Check the resource group and cluster name ('az aks list -o table').")
    if status is not None and status >= 500:
        return AzureInternalError(
            f"Azure answered {status} for the {cluster}, also after retrying: {service}",
            "This is usually temporary: run the command again in a few minutes.",
        )
    return AzureResponseError(service)


def operation_outcome(ex, resource_group, name):
    """The az error for a long-running operation that ended Failed or Canceled, read from the last poll."""
    try:
        body = ex.response.json()
    except (AttributeError, ValueError):
        return None
    status = body.get("status") if isinstance(body, dict) else None
    if status not in ("Failed", "Canceled"):
        return None
    error = body.get("error") or {}
    return operation_failed(status, error.get("code"), error.get("message"), resource_group, name)


@contextmanager
def failed_operations(resource_group, name):
    """While waiting for a long-running operation: its Failed or Canceled end as one az error."""
    from azure.core.exceptions import HttpResponseError

    try:
        yield
    except HttpResponseError as ex:
        failed = operation_outcome(ex, resource_group, name)
        if failed is None:
            raise
        raise failed from ex


def operation_failed(status, code, message, resource_group, name):
    """The az error for a long-running operation that ended Failed or Canceled."""
    return AzureResponseError(
        f"The operation on the {cluster_text(resource_group, name)} ended {status}: ({code}) {message}",
        f"See the cluster's state with 'az aks show -g {resource_group} -n {name} --query provisioningState'.",
    )


def concurrent_change(resource_group, name, attempts):
    return AzureResponseError(
        f"The {cluster_text(resource_group, name)} kept changing while this command updated it: each of "
        f"{attempts} tries was answered 412 Precondition Failed, so nothing was changed.",
        "Someone else is changing the cluster right now: run the command again when they are done.",
    )


def _chain(ex):
    """`ex` and every exception behind it: causes, contexts, and what urllib3 and azure-core keep inside."""
    seen, pending, chain = set(), [ex], []
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        chain.append(current)
        pending += [current.__cause__, current.__context__, *current.args]
        pending += [getattr(current, "reason", None), getattr(current, "inner_exception", None)]
    return chain


def network_reason(ex):
    """A few words on why no answer came, read from the exception chain; None when it is not a network error."""
    import ssl

    chain = _chain(ex)
    texts = " ".join(f"{type(e).__name__} {e}" for e in chain)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "CERTIFICATE_VERIFY_FAILED" in texts:
        reason = "the server's TLS certificate is not trusted (certificate verify failed)"
    elif any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in texts:
        reason = "the connection was refused"
    elif any(n in texts for n in ("RemoteDisconnected", "ConnectionResetError", "ServiceResponseError")):
        reason = "the connection was closed without an answer"
    elif "Timeout" in texts:
        reason = "no answer came in time"
    elif any(n in texts for n in ("ServiceRequestError", "ConnectionError", "NewConnectionError", "MaxRetryError")):
        reason = "the connection failed"
    else:
        reason = None
    return reason


def translate(ex, resource_group, name):
    """The az error for `ex`, or None to let az report it as it is."""
    from azure.core.exceptions import HttpResponseError

    if isinstance(ex, HttpResponseError) and ex.response is not None and not _is_network(ex):
        error = getattr(ex, "error", None)
        code = getattr(error, "code", None) or _code_from_text(str(ex))
        message = getattr(error, "message", None) or ex.message or str(ex)
        retry_after = ex.response.headers.get("Retry-After") if ex.response.headers else None
        return cli_error_for(ex.status_code, code, message, resource_group, name, retry_after=retry_after)
    reason = network_reason(ex)
    if reason:
        return AzureConnectionError(
            f"Could not reach Azure for the {cluster_text(resource_group, name)}: {reason}.",
            "Check the network, proxy and REQUESTS_CA_BUNDLE settings, then run the command again; "
            "nothing was changed unless 'az aks show' says otherwise.",
        )
    return None


@contextmanager
def mapped(resource_group_name, name):
    """Turn service and network failures into one clear az error; leave az's own errors alone."""
    from azure.cli.core.azclierror import AzCLIError

    try:
        yield
    except Exception as ex:
        if isinstance(ex, AzCLIError) and not _wraps_http_error(ex):
            raise
        original = _wraps_http_error(ex) or ex
        error = translate(original, resource_group_name, name)
        if error is None:
            raise
        raise error from original


def _wraps_http_error(ex):
    """Core's create maps SDK errors itself (`raise`, no `from`); the SDK error it came from, to map it like the rest.

    The extension's own errors are raised `from` their cause and are left as they are.
    """
    from azure.cli.core.azclierror import AzCLIError
    from azure.core.exceptions import HttpResponseError

    if isinstance(ex, AzCLIError) and ex.__cause__ is None and isinstance(ex.__context__, HttpResponseError):
        return ex.__context__
    return None


def _is_network(ex):
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    return isinstance(ex, (ServiceRequestError, ServiceResponseError))


def _code_from_text(text):
    match = re.match(r"\((?P<code>\w+)\)", text or "")
    return match.group("code") if match else None


# Azure RBAC: the built-in role that allows each kind of call the commands make (../shared/aks-access.md §3).
CLUSTER_ADMIN_ROLE = "Azure Kubernetes Service RBAC Cluster Admin"
ADMIN_ROLE = "Azure Kubernetes Service RBAC Admin"
WRITER_ROLE = "Azure Kubernetes Service RBAC Writer"
READER_ROLE = "Azure Kubernetes Service RBAC Reader"
_DENIED = re.compile(r'cannot (?P<verb>\w+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"')
_READS = ("get", "list", "watch")
AKS_SERVER_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"


def role_for(verb, resource, group):
    """(built-in role, what the call is, in words) for a call Azure RBAC denied (pure)."""
    base = resource.split("/")[0]
    if group or base == "nodes":
        what = f"{verb} {base}.{group}" if group else f"{verb} {base}"
        if base == "imagelists":
            what = {"create": "start a manual run (create the ImageList)", "delete": "replace the last manual run"}.get(
                verb, f"read the ImageList ({verb} imagelists.eraser.sh)"
            )
        return CLUSTER_ADMIN_ROLE, what
    if resource == "pods/log":
        return WRITER_ROLE, "read pod logs (pods/log)"
    if verb in _READS:
        return READER_ROLE, f"{verb} {resource}"
    return WRITER_ROLE, f"{verb} {resource}"


def azure_rbac_denied(message, resource_group, name, cluster_id, assignee):
    """The az error for a 403 from Azure RBAC: what was denied, the role that allows it, the command to assign it."""
    denied = _DENIED.search(message or "")
    verb, resource, group = denied.group("verb", "resource", "group") if denied else ("use", "the cluster", "")
    role, what = role_for(verb, resource, group)
    also = f" (or '{ADMIN_ROLE}' assigned at the cluster scope)" if role == CLUSTER_ADMIN_ROLE else ""
    return ForbiddenError(
        f"Azure RBAC denied this on the {cluster_text(resource_group, name)}: {what} needs the role '{role}'{also}. "
        f"The API server said: {message}",
        f'Ask an owner of the cluster to run: az role assignment create --role "{role}" '
        f"--assignee {assignee or '<your object ID>'} --scope {cluster_id}\n"
        "New role assignments take up to 5 minutes to apply.",
    )


def kube_error_for(status, reason, message, resource_group, name, facts=None, assignee=None):
    """The az error for a failed call to the cluster's Kubernetes API. `facts`: what ARM says about the cluster
    (access._plan.ClusterFacts), None with --kubeconfig; `assignee`: the caller's object ID, when known."""
    cluster = cluster_text(resource_group, name)
    service = f"{status} {reason}: {message}" if message else f"{status} {reason}"
    if status == 403 and facts is not None and facts.azure_rbac and "in Azure" in (message or ""):
        return azure_rbac_denied(message, resource_group, name, facts.id, assignee)
    if status == 401 and facts is not None and facts.aad_managed:
        return UnauthorizedError(
            f"The Kubernetes API of the {cluster} refused the Azure AD token of your az login ({service}).",
            "Conditional Access may require signing in for the AKS server app itself: "
            f"az login --scope {AKS_SERVER_SCOPE}",
        )
    if status in (401, 403):
        admin = "" if facts is not None and facts.local_accounts_disabled else "Use --admin for the cluster's admin "
        admin += "credentials, " if admin else ""
        return ForbiddenError(
            f"The Kubernetes API of the {cluster} refused the request ({service}).",
            f"{admin}check your Kubernetes role bindings, or give another identity with --kubeconfig/--context.",
        )
    if status == 409:
        return ClientRequestError(
            f"The Kubernetes API of the {cluster} reported a conflict ({service}).",
            "Someone changed the same object: run the command again.",
        )
    return AzureResponseError(f"The Kubernetes API of the {cluster} answered {service}.")


def access_refused(kind, resource_group, name, reason=None):
    """The az error for a cluster that cannot be reached the way asked (access._plan.Refusal kinds)."""
    cluster = cluster_text(resource_group, name)
    enable = f"az aks update -g {resource_group} -n {name} --enable-run-command"
    if kind == "local-accounts-disabled":
        return BadRequestError(
            f"Local accounts are disabled on the {cluster}, so there are no admin credentials: --admin cannot be used.",
            "Leave out --admin: the Azure AD credential of your az login is used.",
        )
    if kind == "legacy-aad":
        return BadRequestError(
            f"The {cluster} uses legacy Azure AD integration (aadProfile.managed is false), which this command "
            "cannot sign in to.",
            "Pass --kubeconfig with a kubeconfig you converted for it (kubelogin convert-kubeconfig), or move the "
            f"cluster to managed Azure AD: az aks update -g {resource_group} -n {name} --enable-aad",
        )
    if kind == "kubeconfig-with-run-command":
        return MutuallyExclusiveArgumentError(
            "--transport run-command goes through Azure Resource Manager and cannot use --kubeconfig.",
            "Leave out --kubeconfig/--context, or use --transport api-server.",
        )
    if kind == "run-command-disabled":
        return BadRequestError(
            f"Run command is disabled on the {cluster} (apiServerAccessProfile.disableRunCommand).",
            f"Enable it ({enable}), or reach the API server from inside the cluster's network with "
            "--transport api-server.",
        )
    return AzureConnectionError(
        f"The API server of the {cluster} cannot be reached from here ({reason}), and run command is disabled on it.",
        "Run the command from inside the cluster's virtual network (or a peered one, a VPN or ExpressRoute), "
        f"or enable run command: {enable}",
    )


def token_unavailable(tenant, ex):
    """The az error for an Azure AD token for the AKS server app that az's login could not get."""
    reason = first_line(ex)
    where = f" in tenant {tenant}" if tenant else ""
    tenant_arg = f" --tenant {tenant}" if tenant else ""
    return AuthenticationError(
        f"Could not get an Azure AD token for the cluster's API server{where} from your az login: {reason}",
        recommendation=f"Log in to the cluster's tenant: az login{tenant_arg} --scope {AKS_SERVER_SCOPE} "
        "(a managed identity gets tokens only in its own tenant).",
    )


def run_command_error(kind, details, resource_group, name):
    """The az error for an AKS run-command that did not give kubectl's answer."""
    cluster = cluster_text(resource_group, name)
    troubleshoot = (
        "See https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/resolve-az-aks-command-invoke-failures"
    )
    if kind == "failed":
        return AzureResponseError(
            f"AKS run-command ended {details.get('state')} on the {cluster}: "
            f"{details.get('reason') or 'no reason given'}.",
            troubleshoot,
        )
    if kind == "cut":
        return AzureResponseError(
            f"The output of '{details['command']}' passed AKS run-command's 512 kB cap on the {cluster}, "
            "so it was cut.",
            "Run the command from inside the cluster's network with --transport api-server, which has no cap.",
        )
    if kind == "exit":
        return AzureResponseError(
            f"kubectl exited {details['exit_code']} in AKS run-command on the {cluster}: "
            f"{details.get('stderr') or 'no error text'}",
            troubleshoot,
        )
    if kind == "timeout":
        return AzureResponseError(
            f"AKS run-command did not finish within {details['seconds']} s on the {cluster}; it may still run there.",
            f"See its result with 'az aks command result -g {resource_group} -n {name} --command-id "
            f"{details['command_id']}', or give it more time with --timeout.",
        )
    return AzureResponseError(f"AKS run-command gave an answer that cannot be read on the {cluster}: {details}.")


def translate_cluster_access(ex, resource_group, name, facts=None, assignee=None):
    """The az error for a failure while reaching the cluster's Kubernetes API, or None to leave it as it is
    (az's own errors, and ARM's, which `mapped` words)."""
    import json

    from azure.cli.core.azclierror import AzCLIError
    from azure.core.exceptions import HttpResponseError

    if isinstance(ex, (AzCLIError, HttpResponseError)):
        return None
    if type(ex).__name__ == "RunCommandError":
        return run_command_error(ex.kind, ex.details, resource_group, name)
    status = getattr(ex, "status", None)
    if isinstance(status, int) and hasattr(ex, "body"):
        try:
            body = json.loads(ex.body or "{}")
        except (TypeError, ValueError):
            body = {}
        message = body.get("message") if isinstance(body, dict) else None
        return kube_error_for(status, getattr(ex, "reason", ""), message, resource_group, name, facts, assignee)
    if type(ex).__name__ == "ConfigException":
        return InvalidArgumentValueError(f"The kubeconfig cannot be used: {ex}", "Check --kubeconfig and --context.")
    reason = network_reason(ex)
    if reason:
        return AzureConnectionError(
            f"Could not reach the Kubernetes API of the {cluster_text(resource_group, name)}: {reason}.",
            "Check that the API server is reachable from here, or go through AKS run-command with "
            "--transport run-command, then run the command again.",
        )
    return None


def first_line(ex):
    """The first line of a service error's message, without azure-core's prefixes."""
    message = getattr(getattr(ex, "error", None), "message", None) or getattr(ex, "message", None) or str(ex)
    return (str(message).strip().splitlines() or [type(ex).__name__])[0]


def graph_failed(ex):
    """The az error for a Resource Graph query that failed other than by a 403."""
    return AzureResponseError(
        f"Azure Resource Graph could not answer the query for the clusters ({ex.status_code}): {first_line(ex)}",
        "Run the command again; to list clusters without Resource Graph, name them with --ids.",
    )


def graph_unreachable(ex):
    return AzureConnectionError(
        f"Could not reach Azure Resource Graph to find the clusters: {network_reason(ex) or first_line(ex)}.",
        "Check the network, proxy and REQUESTS_CA_BUNDLE settings, then run the command again; nothing was changed.",
    )


def graph_refused_for_management_group(group, ex):
    return ForbiddenError(
        f"Azure Resource Graph refused the query for management group '{group}': {first_line(ex)}",
        "--management-group needs Resource Graph (Microsoft.ResourceGraph/resources/read); without it, name the "
        "subscriptions with --subscriptions.",
    )


# --- Azure Monitor Logs (report --since) -------------------------------------------------------------------------


def logs_query_failed(ex, what):
    """The az error for a Log Analytics query that failed (after the retries its status allows)."""
    status = getattr(ex, "status_code", None)
    service = first_line(ex)
    if status == 504:
        return AzureResponseError(
            f"Log Analytics stopped the query for {what} at its time limit (504): {service}",
            "Ask for a shorter window, for example --since 7d, and put the results together.",
        )
    if status == 403:
        return ForbiddenError(
            f"Log Analytics refused the query for {what} (403): {service}",
            "Reading a cluster's history needs read access to the cluster (a resource-centric query) or to its "
            "workspace (for example 'Log Analytics Reader').",
        )
    if status == 429:
        return AzureResponseError(
            f"Log Analytics is throttling queries for {what}, also after retrying within the budget: {service}",
            "Run the command again later; to let it wait longer, set AZURE_IMAGECLEANER_RETRY_SECONDS.",
        )
    if status == 404:
        return ResourceNotFoundError(f"Log Analytics found no workspace or resource for {what}: {service}")
    return AzureResponseError(f"Log Analytics answered {status} for {what}: {service}")


def logs_unreachable(ex, what):
    return AzureConnectionError(
        f"Could not reach Log Analytics for {what}: {network_reason(ex) or first_line(ex)}.",
        "Check the network, proxy and REQUESTS_CA_BUNDLE settings, then run the command again.",
    )


def nothing_kept(resource_group, name):
    """The az error for a cluster whose Eraser logs were never collected: it has no monitoring add-on."""
    return ResourceNotFoundError(
        f"Nothing was kept of Image Cleaner's runs on the {cluster_text(resource_group, name)}: Container Insights "
        "(the monitoring add-on) is off there, so Eraser's logs vanished with its pods.",
        f"Turn it on with 'az aks enable-addons -a monitoring -g {resource_group} -n {name}'; the history starts "
        "from then on.",
    )


def image_cleaner_off(resource_group, name):
    """The az error for a coverage of a cluster where Image Cleaner is off: no run is due, so none can be judged."""
    return ResourceNotFoundError(
        f"Image Cleaner is off on the {cluster_text(resource_group, name)}: no run is due, so no node is cleaned.",
        f"Turn it on with 'az aks update -g {resource_group} -n {name} --enable-image-cleaner'.",
    )


def not_collected(resource_group, name, window, gap):
    """The az error for a cluster whose monitoring agent leaves Eraser's namespace out."""
    return AzureResponseError(
        f"No Eraser log was kept for the {cluster_text(resource_group, name)} in the last {window}: Container "
        f"Insights does not collect kube-system there: {gap}.",
        "Let it collect kube-system: in ConfigMap kube-system/container-azm-ms-agentconfig, remove kube-system from "
        "exclude_namespaces under [log_collection_settings.stdout] and [log_collection_settings.stderr] "
        "(kubectl edit configmap -n kube-system container-azm-ms-agentconfig); the history starts from then on. "
        "Collecting kube-system adds its logs to the workspace's ingestion, and to its cost.",
    )
