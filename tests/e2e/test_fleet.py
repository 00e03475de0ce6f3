"""`az aks image-cleaner list | set` across many clusters, through the real az against the emulator."""

import uuid

import pytest

from tests.e2e.conftest import ETAG_MODE, stored_image_cleaner

# Writes clusters through ARM: scripts/test.sh runs these again with ETags (IMAGECLEANER_E2E_ETAGS=spec).
pytestmark = pytest.mark.arm_writes

SECOND_SUBSCRIPTION = "00000000-0000-0000-0000-000000000002"


@pytest.fixture
def group():
    return f"fleet-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def fleet(make_cluster, group):
    """Four clusters in their own resource group, in four states."""
    return {
        "none": make_cluster(image_cleaner=None, resource_group=group),
        "off72": make_cluster(image_cleaner=(False, 72), resource_group=group),
        "on48": make_cluster(image_cleaner=(True, 48), resource_group=group),
        "on168win": make_cluster(image_cleaner=(True, 168), resource_group=group, windows_pool=True),
    }


def puts(emulator):
    return [r for r in emulator.requests() if r["method"] == "PUT"]


def by_name(rows):
    return {r["name"]: r for r in rows}


def test_list_shows_every_cluster_of_the_group(az, fleet, group):
    result = az("aks", "image-cleaner", "list", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    rows = by_name(result.json)
    assert set(rows) == {c.name for c in fleet.values()}
    assert (rows[fleet["none"].name]["enabled"], rows[fleet["none"].name]["intervalHours"]) == (False, None)
    assert (rows[fleet["off72"].name]["enabled"], rows[fleet["off72"].name]["intervalHours"]) == (False, 72)
    assert rows[fleet["on168win"].name]["windowsPools"] is True
    assert rows[fleet["on48"].name]["windowsPools"] is False
    assert all(r["resourceGroup"] == group and r["subscription"] for r in rows.values())


def graph_queries(emulator):
    return [r for r in emulator.requests() if r["path"].lower() == "/providers/microsoft.resourcegraph/resources"]


def test_list_is_one_resource_graph_query_paged_with_skip_token(az, emulator, fleet, group):
    emulator.configure(graph_page_cap=3)
    result = az("aks", "image-cleaner", "list", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    assert {r["name"] for r in result.json} == {c.name for c in fleet.values()}
    pages = graph_queries(emulator)
    assert len(pages) == 2
    assert "$skipToken" not in (pages[0]["body"]["options"] or {}) and pages[1]["body"]["options"]["$skipToken"]
    assert "managedclusters" in pages[0]["body"]["query"] and f"resourceGroup =~ '{group}'" in pages[0]["body"]["query"]
    # Discovery reads nothing from ARM itself.
    assert not [r for r in emulator.requests() if "/managedclusters" in r["path"].lower()]


def test_list_falls_back_to_arm_when_resource_graph_refuses(az, emulator, fleet, group):
    emulator.configure(graph_forbidden=True, page_size=3)
    result = az("aks", "image-cleaner", "list", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    assert {r["name"] for r in result.json} == {c.name for c in fleet.values()}
    assert "Resource Graph refused the query" in result.err and "one subscription at a time" in result.err
    listed = [r for r in emulator.requests() if r["method"] == "GET" and r["path"].lower().endswith("/managedclusters")]
    # Every subscription of the login is asked; the one with the group answers two pages (the pager follows
    # nextLink), the other one 404 for a group it does not have.
    pages = [r for r in listed if r["status"] == 200]
    assert len(pages) == 2 and "$skiptoken" in pages[1]["query"]
    assert [r["status"] for r in listed if r["status"] != 200] == [404]


def test_list_across_subscriptions(az, make_cluster, group):
    here = make_cluster(image_cleaner=(True, 48), resource_group=group)
    there = make_cluster(image_cleaner=(False, 96), resource_group=group, subscription=SECOND_SUBSCRIPTION)
    result = az(
        "aks",
        "image-cleaner",
        "list",
        "-g",
        group,
        "--subscriptions",
        here.subscription,
        SECOND_SUBSCRIPTION,
        "-o",
        "json",
    )
    assert result.code == 0, result.err
    assert {(r["name"], r["subscription"]) for r in result.json} == {
        (here.name, here.subscription),
        (there.name, SECOND_SUBSCRIPTION),
    }
    table = az("aks", "image-cleaner", "list", "-g", group, "-o", "table").out
    assert "WindowsPools" in table.splitlines()[0] and here.name in table


def test_set_enable_changes_only_what_needs_it(az, emulator, fleet, group):
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    rows = by_name(result.json)
    assert rows[fleet["none"].name]["result"] == "changed" and rows[fleet["none"].name]["after"] == "on, 168 h"
    assert rows[fleet["off72"].name]["result"] == "changed" and rows[fleet["off72"].name]["after"] == "on, 72 h"
    # Resource Graph's filter left out the clusters already on: they are not even read from ARM.
    assert set(rows) == {fleet["none"].name, fleet["off72"].name}
    (query,) = graph_queries(emulator)
    assert "tobool(properties.securityProfile.imageCleaner.enabled) != true" in query["body"]["query"]
    read = {r["path"].rsplit("/", 1)[-1] for r in emulator.requests() if r["method"] == "GET"}
    assert fleet["on48"].name not in read and fleet["on168win"].name not in read
    sent = puts(emulator)
    # If-Match with the ETag read, where the service gave one; never an empty or invented one where it gave none.
    assert len(sent) == 2 and all(bool(p["headers"].get("if-match")) == (ETAG_MODE == "spec") for p in sent)
    assert stored_image_cleaner(emulator, fleet["off72"]) == {"enabled": True, "intervalHours": 72}
    assert stored_image_cleaner(emulator, fleet["on48"]) == {"enabled": True, "intervalHours": 48}


def test_set_with_an_interval(az, emulator, fleet, group):
    result = az("aks", "image-cleaner", "set", "--enable", "--interval-hours", "48", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    assert fleet["on48"].name not in {r["name"] for r in result.json}  # already on, 48 h: filtered out
    assert len(puts(emulator)) == 3
    assert all(stored_image_cleaner(emulator, c) == {"enabled": True, "intervalHours": 48} for c in fleet.values())


def test_set_sends_the_update_to_a_failed_cluster_already_in_the_wanted_state(az, emulator, fleet, group):
    # AKS reconciles a failed cluster on the next PUT: it is not "unchanged" (the rule of `aks update`).
    failed = fleet["on48"]
    emulator.patch_cluster(
        failed.subscription, failed.resource_group, failed.name, {"properties": {"provisioningState": "Failed"}}
    )
    emulator.clear_requests()
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    rows = by_name(result.json)
    assert rows[failed.name]["result"] == "changed" and rows[failed.name]["after"] == "on, 48 h"
    assert fleet["on168win"].name not in rows  # succeeded and already on: still filtered out
    assert len(puts(emulator)) == 3
    assert (
        emulator.cluster(failed.subscription, failed.resource_group, failed.name)["properties"]["provisioningState"]
        == "Succeeded"
    )


def test_dry_run_changes_nothing(az, emulator, fleet, group):
    result = az("aks", "image-cleaner", "set", "--disable", "-g", group, "--dry-run", "-o", "json")
    assert result.code == 0, result.err
    results = {r["name"]: (r["result"], r["before"], r["after"]) for r in result.json}
    assert results[fleet["on48"].name] == ("would change", "on, 48 h", "off, 48 h")
    assert fleet["off72"].name not in results
    assert puts(emulator) == []


def test_ids_still_read_every_cluster_and_report_unchanged_ones(az, emulator, fleet):
    ids = [
        f"/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{c.name}"
        for c in fleet.values()
    ]
    result = az("aks", "image-cleaner", "set", "--disable", "--ids", *ids, "--dry-run", "-o", "json")
    assert result.code == 0, result.err
    assert by_name(result.json)[fleet["off72"].name]["result"] == "unchanged"
    assert graph_queries(emulator) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--disable", "--interval-hours", "48", "--all"], "--disable cannot be used with --interval-hours"),
        (["--enable", "--interval-hours", "0", "--all"], "--interval-hours 0 is out of range"),
        (["--enable", "--disable", "--all"], "--enable and --disable cannot be used together"),
        (["--all"], "Say what to do"),
        (["--enable"], "Choose the clusters: --ids, --resource-group or --all"),
        (["--enable", "--all", "-g", "rg"], "Choose the clusters one way only"),
        (["--enable", "--ids", "/subscriptions/x/resourceGroups/rg"], "is not a managed cluster resource ID"),
        (["--enable", "--all", "--max-parallel", "0"], "--max-parallel 0 must be from 1 to 100"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(az, emulator, args, message):
    result = az("aks", "image-cleaner", "set", *args)
    assert result.code != 0
    assert message in result.err
    assert "Traceback" not in result.err
    assert emulator.requests() == []


def test_set_by_ids_across_subscriptions(az, emulator, make_cluster, group):
    a = make_cluster(image_cleaner=(False, 72), resource_group=group)
    b = make_cluster(image_cleaner=None, resource_group=group, subscription=SECOND_SUBSCRIPTION)
    ids = [
        f"/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{c.name}"
        for c in (a, b)
    ]
    result = az("aks", "image-cleaner", "set", "--enable", "--ids", *ids, "-o", "json")
    assert result.code == 0, result.err
    assert [r["result"] for r in result.json] == ["changed", "changed"]
    assert stored_image_cleaner(emulator, b) == {"enabled": True, "intervalHours": 168}


def test_throttled_fleet_run_loses_nothing(az, emulator, make_cluster, group):
    clusters = [make_cluster(image_cleaner=(False, 24 + i), resource_group=group) for i in range(8)]
    emulator.throttle("write", rate=2, burst=2)
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "--max-parallel", "8", "-o", "json")
    assert result.code == 0, result.err
    assert [r["result"] for r in result.json] == ["changed"] * 8
    statuses = [p["status"] for p in puts(emulator)]
    assert 429 in statuses and statuses.count(200) == 8
    for i, cluster in enumerate(clusters):
        assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 24 + i}


def test_a_busy_cluster_in_the_middle_is_waited_for(az, emulator, fleet, group):
    busy = fleet["off72"]
    # Longer than az takes to start and find the clusters on a loaded CI machine.
    emulator.start_operation(busy.subscription, busy.resource_group, busy.name, seconds=10)
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    assert by_name(result.json)[busy.name]["result"] == "changed"
    assert [p["status"] for p in puts(emulator) if p["path"].endswith(busy.name)] == [409, 200]
    assert "is busy with another operation; waiting" in result.err


def test_a_cluster_busy_too_long_fails_alone_and_the_exit_code_says_so(az, emulator, fleet, group):
    busy = fleet["none"]
    emulator.start_operation(busy.subscription, busy.resource_group, busy.name, seconds=120)
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "--busy-timeout", "0", "-o", "json")
    assert result.code == 1
    rows = by_name(result.json)  # the summary is printed all the same
    assert rows[busy.name]["result"] == "failed"
    assert "is busy: another operation (Updating) is in progress" in rows[busy.name]["error"]
    assert rows[fleet["off72"].name]["result"] == "changed"
    assert "1 of 2 clusters failed" in result.err
    assert "Traceback" not in result.err


def test_a_concurrent_change_is_not_lost(az, emulator, fleet, group):
    """Where the service gives an ETag (test_faults.py shows what happens where it gives none)."""
    target = fleet["off72"]
    emulator.set_etags(target.subscription, target.resource_group, target.name, True)
    emulator.add_fault(
        method="AFTER-GET",
        path_contains=f"{group}/{target.name}",
        times=1,
        patch={"tags": {"changed-by": "someone-else"}},
    )
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    stored = emulator.cluster(target.subscription, target.resource_group, target.name)
    assert stored["tags"] == {"changed-by": "someone-else"}
    assert stored["properties"]["securityProfile"]["imageCleaner"] == {"enabled": True, "intervalHours": 72}


def test_summary_table(az, fleet, group):
    table = az("aks", "image-cleaner", "set", "--enable", "-g", group, "-o", "table").out.splitlines()
    assert table[0].split() == ["Name", "ResourceGroup", "Result", "Before", "After", "Error"]
    assert sum("changed" in line and "unchanged" not in line for line in table) == 2
