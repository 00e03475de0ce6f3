"""Service and network errors turned into az errors: the one place they are mapped.

`cli_error_for` is pure (status, code, message in; az error out); `translate`
only pulls those facts out of the exceptions the SDK, azure-core, requests
and MSAL raise.
"""

import re
from contextlib import contextmanager

from azure.cli.core.azclierror import (
    AzureConnectionError,
    AzureInternalError,
    AzureResponseError,
    BadRequestError,
    ClientRequestError,
    ForbiddenError,
    InvalidArgumentValueError,
    ResourceNotFoundError,
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


def kube_error_for(status, reason, message, resource_group, name):
    """The az error for a failed call to the cluster's Kubernetes API."""
    cluster = cluster_text(resource_group, name)
    service = f"{status} {reason}: {message}" if message else f"{status} {reason}"
    if status in (401, 403):
        return ForbiddenError(
            f"The Kubernetes API of the {cluster} refused the request ({service}).",
            "Use --admin for the cluster's admin credentials, check your Kubernetes role bindings, "
            "or give another identity with --kubeconfig/--context.",
        )
    if status == 409:
        return ClientRequestError(
            f"The Kubernetes API of the {cluster} reported a conflict ({service}).",
            "Someone changed the same object: run the command again.",
        )
    return AzureResponseError(f"The Kubernetes API of the {cluster} answered {service}.")


def translate_kube(ex, resource_group, name):
    """The az error for an exception from the kubernetes client, or None to let az report it."""
    import json

    status = getattr(ex, "status", None)
    if isinstance(status, int) and hasattr(ex, "body"):
        try:
            body = json.loads(ex.body or "{}")
        except (TypeError, ValueError):
            body = {}
        return kube_error_for(status, getattr(ex, "reason", ""), body.get("message"), resource_group, name)
    if type(ex).__name__ == "ConfigException":
        return InvalidArgumentValueError(f"The kubeconfig cannot be used: {ex}", "Check --kubeconfig and --context.")
    reason = network_reason(ex)
    if reason:
        return AzureConnectionError(
            f"Could not reach the Kubernetes API of the {cluster_text(resource_group, name)}: {reason}.",
            "Check that the API server is reachable from here (private clusters need a network path), "
            "then run the command again.",
        )
    return None
