"""Faults and concurrency: no lost updates, clear errors, nothing dropped (issue: faults and bad input)."""

import copy
import itertools
import shutil
import socket

import pytest

from armemulator.arm.clusters import sample_cluster
from tests.e2e.conftest import cluster_requests, image_cleaner_of, stored_image_cleaner
from tests.e2e.test_update import differences

# Writes clusters through ARM: scripts/test.sh runs these again with ETags (IMAGECLEANER_E2E_ETAGS=spec).
pytestmark = pytest.mark.arm_writes

NO_TRACEBACK = "Traceback"


def puts(emulator, cluster):
    return cluster_requests(emulator, cluster, "PUT")


def stored(emulator, cluster):
    return emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)


def someone_else_changes(emulator, cluster, times, tags):
    """After each of the next `times` GETs of the cluster, another client writes to it."""
    emulator.add_fault(
        method="AFTER-GET", path_contains=f"{cluster.resource_group}/{cluster.name}", times=times, patch={"tags": tags}
    )


# --- no lost updates -----------------------------------------------------------------------------


def test_update_sends_if_match_with_the_etag_it_read(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72), etags=True)
    etag = stored(emulator, cluster)["eTag"]
    assert az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none").code == 0
    (put,) = puts(emulator, cluster)
    assert put["headers"]["if-match"].strip('"') == etag
    assert "if-none-match" not in put["headers"]


def test_a_change_between_read_and_write_is_kept_and_the_update_retried(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72), etags=True)
    someone_else_changes(emulator, cluster, times=1, tags={"changed-by": "pipeline-b"})
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none")
    assert result.code == 0, result.err
    assert "reading it again (try 2 of 3)" in result.err
    first, second = puts(emulator, cluster)
    assert (first["status"], second["status"]) == (412, 200)
    assert first["headers"]["if-match"] != second["headers"]["if-match"]
    after = stored(emulator, cluster)
    assert after["tags"] == {"changed-by": "pipeline-b"}  # the other writer's change survived
    assert image_cleaner_of(after) == {"enabled": True, "intervalHours": 72}
    assert second["body"]["tags"] == {"changed-by": "pipeline-b"}


def test_a_cluster_that_keeps_changing_fails_cleanly(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72), etags=True)
    someone_else_changes(emulator, cluster, times=10, tags={"busy": "yes"})
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner")
    assert result.code == 1
    assert "kept changing while this command updated it" in result.err
    assert NO_TRACEBACK not in result.err
    assert [p["status"] for p in puts(emulator, cluster)] == [412, 412, 412]
    assert stored_image_cleaner(emulator, cluster) == {"enabled": False, "intervalHours": 72}


def test_user_if_match_is_sent_as_given_and_not_retried(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72), etags=True)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "--if-match", "stale-etag")
    assert result.code == 1
    assert "no longer matches the ETag given with --if-match" in result.err
    (put,) = puts(emulator, cluster)
    assert put["status"] == 412 and put["headers"]["if-match"].strip('"') == "stale-etag"
    good = stored(emulator, cluster)["eTag"]
    assert az("aks", "update", *cluster.args, "--enable-image-cleaner", "--if-match", good, "-o", "none").code == 0
    assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 72}


def test_without_an_etag_the_update_is_unconditional_and_says_so(az, emulator, make_cluster):
    """What the live service answers (no eTag, no ETag header): no empty or invented If-Match, the update works,
    and --verbose says that a concurrent change cannot be detected. Nothing sound against ARM's contract can
    detect it without an ETag: the other writer's change is overwritten, as with core az."""
    cluster = make_cluster(image_cleaner=(False, 72), etags=False)
    assert "eTag" not in stored(emulator, cluster)
    someone_else_changes(emulator, cluster, times=1, tags={"changed-by": "pipeline-b"})
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none", "--verbose")
    assert result.code == 0, result.err
    assert "returned no ETag" in result.err and "cannot be detected" in result.err
    (put,) = puts(emulator, cluster)
    assert "if-match" not in put["headers"] and "if-none-match" not in put["headers"]
    assert put["status"] == 200
    after = stored(emulator, cluster)
    assert image_cleaner_of(after) == {"enabled": True, "intervalHours": 72}
    assert after.get("tags") != {"changed-by": "pipeline-b"}  # lost: the condition no client can check here


def test_create_sends_if_none_match_star(az, emulator):
    result = az(
        "aks", "create", "-g", "e2e-rg", "-n", "guarded-create", "--no-ssh-key", "--enable-image-cleaner", "-o", "none"
    )
    assert result.code == 0, result.err
    (put,) = [r for r in emulator.requests() if r["method"] == "PUT" and r["path"].endswith("/guarded-create")]
    assert put["headers"]["if-none-match"] == "*"
    assert "if-match" not in put["headers"]


# --- busy, throttled, failed ---------------------------------------------------------------------


def test_busy_cluster_names_the_operation_and_what_to_do(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    emulator.start_operation(cluster.subscription, cluster.resource_group, cluster.name, seconds=60, kind="Upgrading")
    result = az("aks", "update", *cluster.args, "--image-cleaner-interval-hours", "72")
    assert result.code == 1
    assert "is busy: another operation (Upgrading) is in progress" in result.err
    assert f"az aks wait -g {cluster.resource_group} -n {cluster.name} --updated" in result.err
    assert NO_TRACEBACK not in result.err
    assert [p["status"] for p in puts(emulator, cluster)] == [409]
    assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 48}


@pytest.mark.parametrize("method, status", [("GET", 429), ("PUT", 503)])
def test_throttling_and_transient_errors_are_retried_after_retry_after(az, emulator, make_cluster, method, status):
    cluster = make_cluster(image_cleaner=(False, 72))
    emulator.add_fault(method=method, path_contains=cluster.name, status=status, retry_after=1, times=2)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none")
    assert result.code == 0, result.err
    tries = [r for r in cluster_requests(emulator, cluster, method)][:3]
    assert [r["status"] for r in tries] == [status, status, 200]
    assert all(b["time"] - a["time"] >= 0.9 for a, b in itertools.pairwise(tries))  # Retry-After: 1 was honoured
    assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 72}


def test_a_retry_after_past_the_budget_fails_at_once_instead_of_hanging(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72))
    emulator.add_fault(method="GET", path_contains=cluster.name, status=429, retry_after=3600, times=1)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", timeout=60)
    assert result.code == 1
    assert "throttling requests for this subscription" in result.err
    assert "asked to wait 3600 s" in result.err
    assert len(cluster_requests(emulator, cluster, "GET")) == 1
    assert puts(emulator, cluster) == []


def test_throttling_past_the_time_budget(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72))
    emulator.add_fault(method="GET", path_contains=cluster.name, status=429, retry_after=1, times=100)
    result = az(
        "aks",
        "update",
        *cluster.args,
        "--enable-image-cleaner",
        env={"AZURE_IMAGECLEANER_RETRY_SECONDS": "3"},
        timeout=60,
    )
    assert result.code == 1
    assert "throttling requests" in result.err
    assert 2 <= len(cluster_requests(emulator, cluster, "GET")) <= 5
    assert puts(emulator, cluster) == []


@pytest.mark.parametrize("action, status", [("fail_operation", "Failed"), ("cancel_operation", "Canceled")])
def test_failed_or_canceled_operation(az, emulator, make_cluster, action, status):
    cluster = make_cluster(image_cleaner=(False, 72))
    emulator.add_fault(
        method="PUT",
        path_contains=cluster.name,
        action=action,
        code="ReconcileError",
        message="Agent pool nodepool1 failed to reconcile.",
    )
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner")
    assert result.code == 1
    assert f"ended {status}: (ReconcileError) Agent pool nodepool1 failed to reconcile." in result.err
    assert NO_TRACEBACK not in result.err
    assert stored(emulator, cluster)["properties"]["provisioningState"] == status


def test_feature_not_registered_gives_the_commands_to_run(az, emulator, make_cluster):
    emulator.configure(feature_registered=False)
    cluster = make_cluster(image_cleaner=None)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner")
    assert result.code == 1
    assert "ImageCleanerFeatureFlagNotEnabled" in result.err
    assert "az feature register --namespace Microsoft.ContainerService --name EnableImageCleanerPreview" in result.err
    assert "az provider register --namespace Microsoft.ContainerService" in result.err
    assert stored_image_cleaner(emulator, cluster) is None


# --- network faults ------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dropped_connection(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72))
    emulator.add_fault(method="PUT", path_contains=cluster.name, action="drop", times=10)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner")
    assert result.code == 1
    assert "the connection was closed without an answer" in result.err
    assert NO_TRACEBACK not in result.err
    assert {p["status"] for p in puts(emulator, cluster)} == {"dropped"}


def test_connection_refused_by_the_token_endpoint(az, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72))
    result = az(
        "aks",
        "update",
        *cluster.args,
        "--enable-image-cleaner",
        env={"IDENTITY_ENDPOINT": f"https://127.0.0.1:{free_port()}/msi/token"},
    )
    assert result.code == 1
    assert "the connection was refused" in result.err
    assert NO_TRACEBACK not in result.err


def test_connection_refused_by_resource_manager(az, az_env, emulator, make_cluster, tmp_path):
    cluster = make_cluster(image_cleaner=(False, 72))
    config = tmp_path / "config"
    shutil.copytree(az_env["AZURE_CONFIG_DIR"], config)
    clouds = config / "clouds.config"
    port = emulator.url.rsplit(":", 1)[1]
    clouds.write_text(
        clouds.read_text().replace(
            f"endpoint_resource_manager = https://127.0.0.1:{port}/",
            f"endpoint_resource_manager = https://127.0.0.1:{free_port()}/",
        )
    )
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", env={"AZURE_CONFIG_DIR": str(config)})
    assert result.code == 1
    assert "Could not reach Azure" in result.err and "the connection was refused" in result.err
    assert NO_TRACEBACK not in result.err
    assert cluster_requests(emulator, cluster) == []


def test_untrusted_tls_certificate(az, make_cluster):
    import certifi

    cluster = make_cluster(image_cleaner=(False, 72))
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", env={"REQUESTS_CA_BUNDLE": certifi.where()})
    assert result.code == 1
    assert "certificate" in result.err.lower()
    assert NO_TRACEBACK not in result.err


# --- limitations and nothing dropped -------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, text",
    [({"windows_pool": True}, "Windows node pools"), ({"virtual_node": True}, "does not clean virtual nodes")],
)
def test_enabling_warns_about_nodes_that_are_not_cleaned(az, emulator, make_cluster, shape, text):
    cluster = make_cluster(image_cleaner=None, **shape)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none")
    assert result.code == 0, result.err
    assert f"WARNING: {text}" in result.err or text in result.err
    assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 168}


def rich_cluster():
    body = sample_cluster(image_cleaner=(False, 72), windows_pool=True, tags={"env": "prod", "cost-center": "42"})
    props = body["properties"]
    props["addonProfiles"] = {
        "omsagent": {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": "/subscriptions/x/ws"}},
        "azureKeyvaultSecretsProvider": {"enabled": True, "config": {"enableSecretRotation": "true"}},
    }
    props["autoScalerProfile"] = {"scan-interval": "20s", "expander": "least-waste"}
    props["apiServerAccessProfile"] = {"authorizedIPRanges": ["10.0.0.0/8"], "enablePrivateCluster": False}
    props["aadProfile"] = {"managed": True, "enableAzureRBAC": True, "tenantID": "t"}
    props["securityProfile"]["defender"] = {
        "logAnalyticsWorkspaceResourceId": "/subscriptions/x/ws",
        "securityMonitoring": {"enabled": True},
    }
    props["securityProfile"]["workloadIdentity"] = {"enabled": True}
    props["oidcIssuerProfile"] = {"enabled": True}
    props["storageProfile"] = {"diskCSIDriver": {"enabled": True}, "fileCSIDriver": {"enabled": False}}
    props["workloadAutoScalerProfile"] = {"keda": {"enabled": True}}
    props["autoUpgradeProfile"] = {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    props["disableLocalAccounts"] = True
    # Fields no SDK version knows yet: they must come back untouched.
    props["futureFeatureProfile"] = {"enabled": True, "mode": "Preview", "nested": {"list": [1, 2, 3]}}
    props["securityProfile"]["imageCleaner"]["futureKnob"] = "keep-me"
    body["kind"] = "Base"
    return body


def test_nothing_but_image_cleaner_changes_in_a_rich_document(az, emulator, make_cluster):
    cluster = make_cluster(body=rich_cluster())
    before = stored(emulator, cluster)
    result = az(
        "aks", "update", *cluster.args, "--enable-image-cleaner", "--image-cleaner-interval-hours", "96", "-o", "none"
    )
    assert result.code == 0, result.err
    (put,) = puts(emulator, cluster)
    assert differences(before, put["body"]) == [
        ("properties.securityProfile.imageCleaner.enabled", False, True),
        ("properties.securityProfile.imageCleaner.intervalHours", 72, 96),
    ]
    expected = copy.deepcopy(before["properties"]["securityProfile"]["imageCleaner"])
    expected.update(enabled=True, intervalHours=96)
    assert stored(emulator, cluster)["properties"]["securityProfile"]["imageCleaner"] == expected
