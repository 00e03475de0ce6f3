"""`az aks image-cleaner set` and the clusters' long-running operations, through the real az (issue 34).

The emulator's operations take seconds here instead of AKS's 2 minutes (azure-cli's recording
test_aks_update_with_image_cleaner); what is asserted is the order of the requests it saw, not the time.
"""

import json
import os
import pty
import select
import subprocess
import uuid

import pytest

from tests.e2e.conftest import AZ, stored_image_cleaner

# Not arm_writes: what is tested here is the wait after the PUT, which ETags do not change (test_fleet.py runs
# set with them).


@pytest.fixture
def group():
    return f"ops-{uuid.uuid4().hex[:8]}"


def cluster_id(cluster):
    return (
        f"/subscriptions/{cluster.subscription}/resourceGroups/{cluster.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{cluster.name}"
    )


def cluster_ref(cluster):
    return cluster.subscription, cluster.resource_group, cluster.name


def by_name(rows):
    return {r["name"]: r for r in rows}


def operation_polls(emulator):
    return [r for r in emulator.requests() if r["method"] == "GET" and "/operations/" in r["path"].lower()]


def test_every_change_is_sent_before_the_first_operation_ends(az, emulator, make_cluster, group):
    """Two at a time, six clusters, 6 s operations without Retry-After (as AKS answers): all six PUTs go out
    before the first operation ends, then the operations are polled from one place, first after 5 s."""
    clusters = [make_cluster(image_cleaner=(False, 72), resource_group=group) for _ in range(6)]
    emulator.configure(operation_seconds=6, operation_retry_after=None)
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "--max-parallel", "2", "-o", "json")
    assert result.code == 0, result.err
    assert [r["result"] for r in result.json] == ["changed"] * 6
    puts = [r for r in emulator.requests() if r["method"] == "PUT"]
    assert len(puts) == 6
    assert max(p["time"] for p in puts) - min(p["time"] for p in puts) < 6
    polls = operation_polls(emulator)
    # Each operation is polled after 5 s (no Retry-After: POLL_INTERVALS), then at 15 s, where it has ended.
    assert len(polls) == 12
    assert min(p["time"] for p in polls) - min(p["time"] for p in puts) >= 5
    assert all(r["operation"] and "/operations/" in r["operation"] for r in result.json)
    assert "done," not in result.err  # no progress where stderr is no terminal, as in a CI log
    for cluster in clusters:
        assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 72}


def test_no_wait_returns_once_accepted_and_az_aks_wait_follows_the_operations(
    az, core_az, emulator, make_cluster, group
):
    clusters = [make_cluster(image_cleaner=(False, 48), resource_group=group) for _ in range(3)]
    emulator.configure(operation_seconds=8, operation_retry_after=None)
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, "--no-wait", "-o", "json")
    assert result.code == 0, result.err
    rows = result.json
    assert [r["result"] for r in rows] == ["accepted"] * 3
    assert operation_polls(emulator) == []  # returned without waiting
    assert all("/operations/" in r["operation"] for r in rows)
    for cluster in clusters:  # still running when the command returned
        assert emulator.cluster(*cluster_ref(cluster))["properties"]["provisioningState"] == "Updating"
    assert "Follow them with 'az aks image-cleaner list" in result.err
    # The convention that follows them: list shows each cluster's provisioningState, az aks wait waits.
    listed = az(
        "aks", "image-cleaner", "list", "-g", group, "--query", "[?provisioningState!='Succeeded'].name", "-o", "json"
    )
    assert listed.code == 0, listed.err
    assert sorted(listed.json) == sorted(c.name for c in clusters)
    for cluster in clusters:
        waited = core_az("aks", "wait", "--updated", "--interval", "1", *cluster.args)
        assert waited.code == 0, waited.err
        assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 48}
    listed = az(
        "aks", "image-cleaner", "list", "-g", group, "--query", "[?provisioningState!='Succeeded'].name", "-o", "json"
    )
    assert listed.json == []


def test_a_failed_operation_is_listed_and_exits_1_after_the_rows(az, emulator, make_cluster, group, tmp_path):
    good = make_cluster(image_cleaner=(False, 72), resource_group=group)
    bad = make_cluster(image_cleaner=(False, 72), resource_group=group)
    emulator.configure(operation_seconds=2)
    emulator.add_fault(
        method="PUT",
        path_contains=f"/{bad.name}",
        times=1,
        action="fail_operation",
        code="VMExtensionProvisioningError",
        message="The node image could not be updated.",
    )
    failures = tmp_path / "failed.txt"
    result = az(
        "aks", "image-cleaner", "set", "--enable", "-g", group, "--output-failures", str(failures), "-o", "json"
    )
    assert result.code == 1
    rows = by_name(result.json)
    assert rows[good.name]["result"] == "changed"
    assert rows[bad.name]["result"] == "failed"
    assert (
        "ended Failed: (VMExtensionProvisioningError) The node image could not be updated." in rows[bad.name]["error"]
    )
    assert "1 of 2 clusters failed" in result.err
    assert "Traceback" not in result.err
    assert failures.read_text().split() == [cluster_id(bad)]


def test_an_operation_still_running_at_the_timeout_is_no_success(az, emulator, make_cluster, group, tmp_path):
    slow = make_cluster(image_cleaner=(False, 72), resource_group=group)
    emulator.configure(operation_seconds=120, operation_retry_after=1)
    failures = tmp_path / "failed.txt"
    result = az(
        "aks", "image-cleaner", "set", "--enable", "-g", group, "--timeout", "4",
        "--output-failures", str(failures), "-o", "json",
    )  # fmt: skip
    assert result.code == 1
    [row] = result.json
    assert row["result"] == "still running"
    assert "still running at --timeout (4 s)" in row["error"]
    assert row["operation"]
    assert "were still running their operation at --timeout (4 s)" in result.err
    assert "az aks wait --updated -g RG -n NAME" in result.err
    assert failures.read_text().split() == [cluster_id(slow)]
    assert len(operation_polls(emulator)) >= 2  # it was followed, with Retry-After: 1, until the timeout


@pytest.mark.parametrize(
    "args, message",
    [(["--timeout", "0"], "--timeout 0 must be 1 or more seconds"), (["--timeout", "x"], "invalid int value")],
)
def test_a_bad_timeout_is_refused_before_any_request(az, emulator, group, args, message):
    result = az("aks", "image-cleaner", "set", "--enable", "-g", group, *args)
    assert result.code != 0
    assert message in result.err
    assert emulator.requests() == []


def run_on_a_terminal(env, *args):
    """az with its stderr on a pseudo-terminal (as a user's shell gives it); (exit code, stdout, stderr as seen)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([AZ, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    out = process.stdout.read().decode()
    process.wait(timeout=60)
    os.close(leader)
    return process.returncode, out, seen.decode(errors="replace")


def test_progress_on_a_terminal_and_none_with_only_show_errors(az_env, emulator, make_cluster, group):
    for _ in range(3):
        make_cluster(image_cleaner=(False, 72), resource_group=group)
    emulator.configure(operation_seconds=3, operation_retry_after=1)
    code, out, err = run_on_a_terminal(az_env, "aks", "image-cleaner", "set", "--enable", "-g", group, "-o", "json")
    assert code == 0, err
    assert "3/3 done" in err
    assert "running" in err
    emulator.configure(operation_seconds=3)
    code, out, err = run_on_a_terminal(
        az_env, "aks", "image-cleaner", "set", "--disable", "-g", group, "-o", "json", "--only-show-errors"
    )
    assert code == 0, err
    assert "done" not in err
    assert [r["result"] for r in json.loads(out)] == ["changed"] * 3


def test_help_names_the_wait_its_end_and_the_command_that_follows(az):
    result = az("aks", "image-cleaner", "set", "--help")
    assert result.code == 0, result.err
    for text in ("--no-wait", "--timeout", "still running", "provisioningState!='Succeeded'", "--timeout 900"):
        assert text in result.out
