"""The mapping of ARM and network errors to az errors (pure parts)."""

import json
import ssl

import pytest
from azure.cli.core.azclierror import (
    AzureConnectionError,
    AzureInternalError,
    AzureResponseError,
    BadRequestError,
    ClientRequestError,
    ResourceNotFoundError,
)

from azext_imagecleaner.azure.errors import (
    cli_error_for,
    concurrent_change,
    network_reason,
    operation_failed,
    translate,
)

BUSY = (
    "Operation is not allowed: Another operation (Upgrading) is in progress, please wait for it to finish "
    "before starting a new operation. See https://aka.ms/aks-pending-operation"
)


def test_busy_cluster_names_the_operation_and_what_to_do():
    error = cli_error_for(409, "OperationNotAllowed", BUSY, "rg", "c1")
    assert isinstance(error, ClientRequestError)
    assert "another operation (Upgrading) is in progress" in error.error_msg
    assert "az aks wait -g rg -n c1 --updated" in error.recommendations[0]


def test_feature_flag_error_gives_the_register_commands():
    error = cli_error_for(400, "ImageCleanerFeatureFlagNotEnabled", "not enabled", "rg", "c1")
    assert isinstance(error, BadRequestError)
    hint = error.recommendations[0]
    assert "az feature register --namespace Microsoft.ContainerService --name EnableImageCleanerPreview" in hint
    assert "az provider register --namespace Microsoft.ContainerService" in hint


def test_throttling_says_how_long_it_was_asked_to_wait():
    error = cli_error_for(429, "TooManyRequests", "slow down", "rg", "c1", retry_after="3600")
    assert "asked to wait 3600 s" in error.error_msg
    assert "AZURE_IMAGECLEANER_RETRY_SECONDS" in error.recommendations[0]


def test_user_etag_mismatch_tells_how_to_read_the_current_one():
    error = cli_error_for(412, "PreconditionFailed", "failed", "rg", "c1")
    assert "--if-match" in error.error_msg
    assert "az aks show -g rg -n c1 --query eTag" in error.recommendations[0]


@pytest.mark.parametrize(
    "status, kind", [(404, ResourceNotFoundError), (503, AzureInternalError), (400, AzureResponseError)]
)
def test_other_statuses(status, kind):
    error = cli_error_for(status, "Code", "text", "rg", "c1")
    assert isinstance(error, kind)
    assert "(Code) text" in error.error_msg


def test_failed_operation_carries_the_service_code_and_message():
    error = operation_failed("Failed", "ReconcileError", "pool failed", "rg", "c1")
    assert error.error_msg.endswith("ended Failed: (ReconcileError) pool failed")


def test_concurrent_change_says_nothing_was_changed():
    assert "each of 3 tries was answered 412" in concurrent_change("rg", "c1", 3).error_msg


def chained(*exceptions):
    """Raise each exception from the one before it; return the last, with its chain."""
    previous = None
    for ex in exceptions:
        try:
            raise ex from previous
        except BaseException as raised:  # noqa: BLE001 - building a chain
            previous = raised
    return previous


def test_refused_connection():
    ex = chained(ConnectionRefusedError(111, "Connection refused"), OSError("pool"))
    assert network_reason(ex) == "the connection was refused"


def test_untrusted_certificate():
    ex = chained(ssl.SSLCertVerificationError(1, "certificate verify failed"), OSError("wrapped"))
    assert "not trusted" in network_reason(ex)


def test_dropped_connection():
    from http.client import RemoteDisconnected

    from azure.core.exceptions import ServiceResponseError

    ex = chained(RemoteDisconnected("closed"), ServiceResponseError("aborted"))
    assert network_reason(ex) == "the connection was closed without an answer"


def test_not_a_network_error():
    assert network_reason(ValueError("x")) is None
    assert translate(ValueError("x"), "rg", "c1") is None


def test_network_errors_become_one_connection_error():
    from azure.core.exceptions import ServiceRequestError

    error = translate(chained(ConnectionRefusedError(111, "refused"), ServiceRequestError("x")), "rg", "c1")
    assert isinstance(error, AzureConnectionError)
    assert error.error_msg == (
        "Could not reach Azure for the cluster 'c1' in resource group 'rg': the connection was refused."
    )


PERF = (
    "Failed to run command due to cluster perf issue, container command-3e95f88a67b54ccbb4b0fc5e6b5cb859 in "
    "aks-command namespace did not start within 30s on your cluster, retry may helps. If issue persist, you may need "
    "to tune your cluster with better performance (larger node/paid tier)."
)


@pytest.mark.parametrize("code", ["KubernetesPerformanceError", "KubernetesOperationError"])
@pytest.mark.parametrize("status", [400, 500])
def test_a_run_command_pod_that_did_not_start_is_retried_whatever_its_status(code, status):
    from azext_imagecleaner.azure.arm import run_command_start_failure

    body = json.dumps({"error": {"code": code, "message": PERF}})
    url = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/runCommand?api-version=x"
    assert run_command_start_failure("POST", url, status, body) == code
    assert run_command_start_failure("GET", url, status, body) is None
    assert (
        run_command_start_failure("POST", url.replace("runCommand", "listClusterUserCredential"), status, body) is None
    )
    other = json.dumps({"error": {"code": code, "message": "something else"}})
    assert run_command_start_failure("POST", url, status, other) is None
    assert run_command_start_failure("POST", url, status, "not json") is None


def test_a_run_command_start_failure_past_the_budget_is_one_line():
    error = cli_error_for(500, "KubernetesPerformanceError", PERF, "rg", "c")
    assert "could not start its pod on the cluster 'c'" in error.error_msg
    assert "AZURE_IMAGECLEANER_RETRY_SECONDS" in error.recommendations[0]
