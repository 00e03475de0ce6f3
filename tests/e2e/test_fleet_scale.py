"""Fleet commands at scale, through the real az: discovery on Azure Resource Graph (every subscription of the
login, a management group, paging, its quota, its lag, the ARM fallback), pacing by ARM's throttling per
subscription, "changed, not confirmed", and re-running exactly the failures."""

import time
import uuid

import pytest

from tests.e2e.conftest import stored_image_cleaner

# Writes clusters through ARM: scripts/test.sh runs these again with ETags (IMAGECLEANER_E2E_ETAGS=spec).
# What varies here is what the emulator answers (Resource Graph's paging, quota and refusal, through the
# extension's own SDK; ARM's throttling per subscription): the az calls under it are those test_fleet.py makes on
# every az release, so the az-release matrix leaves this module out (scripts/test-matrix.sh).
pytestmark = [pytest.mark.arm_writes, pytest.mark.same_on_every_az]

SECOND_SUBSCRIPTION = "00000000-0000-0000-0000-000000000002"


@pytest.fixture
def group():
    return f"scale-{uuid.uuid4().hex[:8]}"


def cluster_id(cluster):
    return (
        f"/subscriptions/{cluster.subscription}/resourceGroups/{cluster.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{cluster.name}"
    )


def graph_queries(emulator):
    return [r for r in emulator.requests() if r["path"].lower() == "/providers/microsoft.resourcegraph/resources"]


def test_list_without_subscriptions_finds_every_subscription_of_the_login(az, emulator, make_cluster, group):
    here = make_cluster(image_cleaner=(True, 48), resource_group=group)
    there = make_cluster(image_cleaner=None, resource_group=group, subscription=SECOND_SUBSCRIPTION)
    result = az("aks", "image-cleaner", "list", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    assert {(r["name"], r["subscription"]) for r in result.json} == {
        (here.name, here.subscription),
        (there.name, SECOND_SUBSCRIPTION),
    }
    (query,) = graph_queries(emulator)
    assert query["body"].get("subscriptions") is None  # Resource Graph's tenant scope: all the login can see


def test_list_by_management_group(az, emulator, make_cluster, group):
    make_cluster(image_cleaner=(True, 48), resource_group=group)
    there = make_cluster(image_cleaner=(False, 72), resource_group=group, subscription=SECOND_SUBSCRIPTION)
    emulator.management_groups({"platform": [SECOND_SUBSCRIPTION]})
    result = az("aks", "image-cleaner", "list", "-g", group, "--management-group", "platform", "-o", "json")
    assert result.code == 0, result.err
    assert [(r["name"], r["enabled"], r["intervalHours"]) for r in result.json] == [(there.name, False, 72)]
    (query,) = graph_queries(emulator)
    assert query["body"]["managementGroups"] == ["platform"]


def test_management_group_without_resource_graph_is_one_line(az, emulator):
    emulator.configure(graph_forbidden=True)
    result = az("aks", "image-cleaner", "list", "--management-group", "platform")
    assert result.code != 0 and "Traceback" not in result.err
    assert "--management-group needs Resource Graph" in result.err


def test_set_by_management_group_enables_only_its_clusters(az, emulator, make_cluster, group):
    outside = make_cluster(image_cleaner=None, resource_group=group)
    inside = make_cluster(image_cleaner=None, resource_group=group, subscription=SECOND_SUBSCRIPTION)
    emulator.management_groups({"platform": [SECOND_SUBSCRIPTION]})
    result = az("aks", "image-cleaner", "set", "--enable", "--all", "-m", "platform", "-o", "json")
    assert result.code == 0, result.err
    assert stored_image_cleaner(emulator, inside) == {"enabled": True, "intervalHours": 168}
    assert stored_image_cleaner(emulator, outside) is None


def test_resource_graph_quota_is_waited_for_between_pages(az, emulator, make_cluster, group):
    for _ in range(4):
        make_cluster(image_cleaner=None, resource_group=group)
    emulator.configure(graph_page_cap=2, graph_quota=1)
    started = time.monotonic()
    result = az("aks", "image-cleaner", "list", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    assert len(result.json) == 4
    pages = graph_queries(emulator)
    assert [p["status"] for p in pages] == [200, 200]  # the second page waited for the window, never a 429
    assert time.monotonic() - started >= 3


def test_set_reads_arm_because_resource_graph_lags(az, emulator, make_cluster, group):
    """Resource Graph still shows the cluster off; ARM says it is on: set reads ARM and changes nothing."""
    cluster = make_cluster(image_cleaner=(False, 72), resource_group=group)
    emulator.configure(graph_lag_seconds=60)
    enabled = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none")
    assert enabled.code == 0, enabled.err
    emulator.clear_requests()
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    assert [(r["name"], r["result"]) for r in result.json] == [(cluster.name, "unchanged")]
    assert not [r for r in emulator.requests() if r["method"] == "PUT"]


def test_a_429_storm_in_one_subscription_does_not_stall_the_other(az, emulator, make_cluster, group):
    slow = [make_cluster(image_cleaner=None, resource_group=group) for _ in range(6)]
    fast = [make_cluster(image_cleaner=None, resource_group=group, subscription=SECOND_SUBSCRIPTION) for _ in range(6)]
    emulator.throttle("read", rate=2, burst=3, subscription=slow[0].subscription)
    # Its own clusters by ID, in both subscriptions: --all would also take every cluster earlier tests left in the
    # session's emulator, at 2 reads a second (test_list_* cover --all's discovery).
    ids = [cluster_id(c) for c in slow + fast]
    result = az("aks", "image-cleaner", "set", "--enable", "--ids", *ids, "-o", "json", timeout=300)
    assert result.code == 0, result.err
    ours = [(r["name"], r["result"], r["error"]) for r in result.json if r["resourceGroup"] == group]
    assert len(ours) == 12 and all(result == "changed" for _, result, _ in ours), result.err[-3000:]
    for cluster in slow + fast:
        assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 168}
    requests = [r for r in emulator.requests() if f"/resourcegroups/{group}/" in r["path"].lower()]
    throttled = [r for r in requests if r["status"] == 429]
    assert throttled and all(slow[0].subscription in r["path"] for r in throttled)
    last_put = {
        sub: max(r["time"] for r in requests if r["method"] == "PUT" and sub in r["path"])
        for sub in (slow[0].subscription, SECOND_SUBSCRIPTION)
    }
    assert last_put[SECOND_SUBSCRIPTION] < last_put[slow[0].subscription]


def test_failures_file_reruns_exactly_the_failed_clusters(az, emulator, make_cluster, group, tmp_path):
    fine = make_cluster(image_cleaner=None, resource_group=group)
    failing = make_cluster(image_cleaner=None, resource_group=group)
    # The service refuses this cluster's PUT once (a policy, say): it fails, the other one is changed.
    emulator.add_fault(
        method="PUT", path_contains=f"/{failing.name}", times=1, status=400, code="RequestDisallowedByPolicy"
    )
    failures = tmp_path / "failed.txt"
    first = az(
        "aks", "image-cleaner", "set", "--enable", "-g", group, "--output-failures", str(failures), "-o", "json",
    )  # fmt: skip
    assert first.code == 1
    assert {r["name"]: r["result"] for r in first.json} == {fine.name: "changed", failing.name: "failed"}
    assert failures.read_text().split() == [cluster_id(failing)]
    assert f"--ids @{failures}" in first.err
    emulator.clear_requests()
    again = az("aks", "image-cleaner", "set", "--enable", "--ids", f"@{failures}", "--output-failures", str(failures))
    assert again.code == 0, again.err
    assert stored_image_cleaner(emulator, failing) == {"enabled": True, "intervalHours": 168}
    assert failures.read_text() == ""
    touched = {r["path"].rsplit("/", 1)[-1] for r in emulator.requests() if "/managedclusters/" in r["path"].lower()}
    assert touched == {failing.name}
    empty = az("aks", "image-cleaner", "set", "--enable", "--ids", f"@{failures}")
    assert empty.code == 0 and "nothing to do" in empty.err


def test_a_write_accepted_but_not_confirmed_is_not_failed(az, emulator, make_cluster, group):
    cluster = make_cluster(image_cleaner=None, resource_group=group)
    emulator.configure(operation_seconds=2)
    # Every poll of the operation is throttled for longer than the command waits.
    emulator.add_fault(method="GET", path_contains="/operations/", times=1000, status=429, retry_after=30)
    result = az(
        "aks", "image-cleaner", "set", "--enable", "-g", group, "-o", "json",
        env={"AZURE_IMAGECLEANER_RETRY_SECONDS": "3"},
    )  # fmt: skip
    assert result.code == 0, result.err
    assert [r["result"] for r in result.json] == ["changed, not confirmed"]
    assert "accepted the change but their final state could not be read" in result.err
    time.sleep(2)
    assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 168}


def test_resource_graph_out_of_reach_is_one_line(az, emulator):
    emulator.add_fault(method="POST", path_contains="/providers/microsoft.resourcegraph", action="drop", times=100)
    result = az("aks", "image-cleaner", "list")
    assert result.code != 0 and "Traceback" not in result.err
    assert "Could not reach Azure Resource Graph to find the clusters" in result.err
