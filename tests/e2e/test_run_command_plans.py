"""Private clusters at run-command speed: one AKS run-command (one pod start) per command, the same output as
through the API server, and a pod that did not start in time tried again (../shared/aks-access.md §4,
Azure/azure-cli#27776)."""

import json

import pytest

from tests.e2e.test_enterprise_access import body as cluster_body

# What varies here is what the emulator answers (the plans' scripts in its run-command pod, long logs, pods that
# start late): the az and SDK calls under it are those test_enterprise_access.py's private clusters make on every az
# release, so the az-release matrix leaves this module out (scripts/test-matrix.sh).
pytestmark = pytest.mark.same_on_every_az

ALPINE = "docker.io/library/alpine:3.7.3"


def run_commands(emulator):
    return [r for r in emulator.requests() if r["method"] == "POST" and r["path"].lower().endswith("/runcommand")]


@pytest.fixture
def private(make_cluster, emulator):
    cluster = make_cluster(body=cluster_body(private=True))
    emulator.scheduled_run(cluster.subscription, cluster.resource_group, cluster.name)  # worker pods with logs
    emulator.clear_requests()
    return cluster


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["exclusion", "list"],
        ["exclusion", "add", "--images", "docker.io/library/redis:*"],
        ["exclusion", "remove", "--images", "docker.io/library/redis:*"],
        ["logs"],
        ["report"],
        ["run", "--images", ALPINE, "--wait"],
    ],
    ids=" ".join,
)
def test_each_command_takes_one_run_command_on_a_private_cluster(az, emulator, private, command):
    result = az("aks", "image-cleaner", *command, *private.args, "-o", "json")
    assert result.code == 0, result.err
    assert len(run_commands(emulator)) == 1
    assert "going through AKS run-command" in result.err  # the API server cannot be reached: said once


def test_run_wait_waits_in_the_pod_within_the_run_s_duration(az, emulator, private):
    emulator.configure(kube_run_seconds=4)
    result = az("aks", "image-cleaner", "run", *private.args, "--images", ALPINE, "--wait", "-o", "json")
    assert result.code == 0, result.err
    assert result.json["status"]["success"] == 3
    assert len(run_commands(emulator)) == 1
    polls = [r for r in emulator.requests() if "/commandresults/" in r["path"].lower()]
    assert len(polls) <= 8  # the wait happened in the pod: polls of one command, not a pod per poll round


@pytest.fixture
def public(make_cluster, emulator):
    """A public cluster with the worker pods of a scheduled run: either transport reaches it."""
    cluster = make_cluster(image_cleaner=(True, 48))
    emulator.scheduled_run(cluster.subscription, cluster.resource_group, cluster.name)
    emulator.clear_requests()
    return cluster


@pytest.mark.parametrize(
    "command",
    [["status"], ["exclusion", "list"], ["logs"], ["logs", "--container", "remover"], ["report"]],
    ids=" ".join,
)
def test_the_output_is_the_same_through_either_transport(az, emulator, public, command):
    outputs = []
    for transport in ("api-server", "run-command"):
        result = az("aks", "image-cleaner", *command, *public.args, "--transport", transport, "-o", "json")
        assert result.code == 0, result.err
        outputs.append(result.json)
    assert outputs[0] == outputs[1]
    assert len(run_commands(emulator)) == 1


def test_an_edit_is_the_same_through_either_transport(az, emulator, make_cluster):
    twins = [make_cluster(image_cleaner=(True, 48)) for _ in range(2)]
    add = ["exclusion", "add", "--images", "docker.io/library/redis:*", "myregistry.azurecr.io/app:*"]
    remove = ["exclusion", "remove", "--images", "docker.io/library/redis:*", "x.io/nothere:1"]
    outputs, stored = [], []
    for cluster, transport in zip(twins, ("api-server", "run-command"), strict=True):
        for command in (add, remove):
            result = az("aks", "image-cleaner", *command, *cluster.args, "--transport", transport, "-o", "json")
            assert result.code == 0, result.err
            outputs.append((result.json, result.err.count("nothing to remove")))
        configmaps = emulator.kube(cluster.subscription, cluster.resource_group, cluster.name)["configmaps"]
        stored.append(next(c["data"] for c in configmaps if c["metadata"]["name"] == "imagecleaner-exclusions"))
    assert outputs[:2] == outputs[2:]
    assert outputs[1][1] == 1  # x.io/nothere:1 was not in the list: said once
    assert stored[0] == stored[1] == {"excluded.json": '{"excluded":["myregistry.azurecr.io/app:*"]}'}
    assert len(run_commands(emulator)) == 2  # add and remove, one each


def test_a_log_longer_than_one_run_command_s_output_is_read_whole_in_a_few(az, emulator, make_cluster):
    cluster = make_cluster(body=cluster_body(private=True))
    line = json.dumps({"level": "info", "ts": 1.7e9, "logger": "remover", "msg": "image is not on node", "given": "x"})
    big = "".join(f'{line[:-1]}, "n": {i}}}\n' for i in range(9000))  # about 1 MB
    ref = (cluster.subscription, cluster.resource_group, cluster.name)
    emulator.add_pod(*ref, "eraser-aks-nodepool1-0-big", "aks-nodepool1-0", {"remover": big, "collector": "short\n"})
    emulator.clear_requests()
    result = az("aks", "image-cleaner", "logs", *cluster.args, "-o", "json")
    assert result.code == 0, result.err
    logs = {e["container"]: e for e in result.json}
    assert logs["remover"]["log"] == big and logs["remover"]["cut"] is False
    assert logs["collector"]["log"] == "short\n"
    assert 2 <= len(run_commands(emulator)) <= 3  # the first read, then the rest a budget (480 kB) at a time
    assert "longer than AKS run-command can return" not in result.err


def test_a_pod_that_does_not_start_in_time_is_tried_again_with_one_warning(az, emulator, private):
    ref = (private.subscription, private.resource_group, private.name)
    emulator.run_command_fault(*ref, {"start_failures": 2, "code": "KubernetesPerformanceError"})
    result = az("aks", "image-cleaner", "status", *private.args, "-o", "json")
    assert result.code == 0, result.err
    assert result.json["enabled"] is True
    assert len(run_commands(emulator)) == 3
    assert [r["status"] for r in run_commands(emulator)] == [500, 500, 202]
    assert result.err.count("did not start in time (KubernetesPerformanceError") == 1


@pytest.mark.parametrize("status", [500, 400])
def test_a_pod_that_never_starts_is_one_line_once_the_budget_is_spent(az, emulator, private, status):
    ref = (private.subscription, private.resource_group, private.name)
    emulator.run_command_fault(*ref, {"start_failures": 99, "code": "KubernetesOperationError", "status": status})
    result = az("aks", "image-cleaner", "status", *private.args, env={"AZURE_IMAGECLEANER_RETRY_SECONDS": "3"})
    assert result.code != 0
    assert "could not start its pod" in result.err and "AZURE_IMAGECLEANER_RETRY_SECONDS" in result.err
    assert "Traceback" not in result.err
    assert len(run_commands(emulator)) >= 2  # tried again within the budget
