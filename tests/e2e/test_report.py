"""`az aks image-cleaner report` through the real az, on the emulator's simulated Eraser pods."""

import json

import pytest

from tests.e2e.test_cluster_side import ALPINE, NGINX, REDIS

# What varies here is what the emulator answers (every log shape Eraser writes, read through the extension's own
# kubernetes client): the az calls under it are those test_cluster_side.py makes on every az release, so the
# az-release matrix leaves this module out (scripts/test-matrix.sh).
pytestmark = pytest.mark.same_on_every_az

LOCKED = "docker.io/library/locked:1.0"
UNSCANNABLE = "myregistry.azurecr.io/legacy/report:0.9"

NODES = {"aks-nodepool1-0", "aks-nodepool1-1", "aks-nodepool1-2"}


def test_report_after_a_manual_run_node_by_node(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    assert (
        az("aks", "image-cleaner", "exclusion", "add", *cluster.args, "--images", "docker.io/library/redis:*").code == 0
    )
    assert az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, NGINX, REDIS, "--wait").code == 0
    result = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    assert result.code == 0, result.err
    rows = result.json["rows"]
    assert {(r["node"], r["image"], r["outcome"]) for r in rows} == {
        (node, image, outcome)
        for node in NODES
        for image, outcome in ((ALPINE, "removed"), (NGINX, "running"), (REDIS, "excluded"))
    }
    assert all(r["digest"].startswith("sha256:") and r["time"] for r in rows)
    assert all(r["vulnerable"] is None for r in rows)  # no scanner in a manual run
    assert result.json["totals"]["byOutcome"] == {"excluded": 3, "removed": 3, "running": 3}
    assert result.json["totals"]["byNode"]["aks-nodepool1-1"] == {"excluded": 1, "removed": 1, "running": 1}
    assert result.json["skippedLines"] == 0


def test_report_table_has_a_footer(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait")
    table = az("aks", "image-cleaner", "report", *cluster.args, "-o", "table").out.splitlines()
    assert table[0].split()[:4] == ["Node", "Image", "Digest", "Outcome"]
    footer = [line for line in table if "(total)" in line]
    assert len(footer) == 4  # one per node, one for all nodes
    assert footer[-1].startswith("all nodes") and "removed 3" in footer[-1]


def test_scheduled_run_shows_names_and_what_the_scanner_found(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    emulator.scheduled_run(cluster.subscription, cluster.resource_group, cluster.name)
    # What the simulated Eraser wrote is v1.4.1's scheduled shape: `given` is the image ID, the name is in `name`.
    remover_logs = [p["logs"]["remover"] for p in _workers(emulator, cluster)]
    removed_line = next(json.loads(line) for line in remover_logs[0].splitlines() if '"removed image"' in line)
    assert removed_line["given"] == removed_line["imageID"] and removed_line["given"].startswith("sha256:")
    assert set(removed_line["name"]) == {"image_id", "names", "digests"}
    result = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    assert result.code == 0, result.err
    rows = result.json["rows"]
    assert all(not (r["image"] or "").startswith("sha256:") for r in rows)
    by_image = {(r["image"], r["outcome"], r["scan"]) for r in rows}
    assert by_image == {
        (ALPINE, "removed", "vulnerable"),
        (REDIS, "removed", "vulnerable"),
        ("myregistry.azurecr.io/payments/api:2.3.1", "removed", "vulnerable"),
        # trivy could not scan it; deleteFailedImages sends it to the remover all the same
        (UNSCANNABLE, "removed", "scan failed"),
        (LOCKED, "removal failed", "vulnerable"),
    }
    assert len(rows) == 5 * len(NODES)  # one row per node and image
    failed = [r for r in rows if r["outcome"] == "removal failed"]
    assert {r["node"] for r in failed} == NODES and all("in use by a stopped container" in r["detail"] for r in failed)
    assert all(r["vulnerable"] is None for r in rows if r["image"] == UNSCANNABLE)
    assert result.json["skippedLines"] == 0


def test_node_failures_are_rows_of_their_own_live_and_saved(az, emulator, make_cluster, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    ids = (cluster.subscription, cluster.resource_group, cluster.name)
    emulator.node_fault(*ids, "aks-nodepool1-1", "runtime-unreachable")
    emulator.node_fault(*ids, "aks-nodepool1-2", "scanner-panic")
    emulator.scheduled_run(*ids)
    live = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    assert live.code == 0, live.err
    failures = {(r["node"], r["container"]) for r in live.json["rows"] if r["outcome"] == "run failed"}
    assert failures == {
        ("aks-nodepool1-1", "collector"),
        ("aks-nodepool1-1", "trivy-scanner"),
        ("aks-nodepool1-1", "remover"),
        ("aks-nodepool1-2", "trivy-scanner"),
    }
    unreachable = next(r for r in live.json["rows"] if r["node"] == "aks-nodepool1-1" and r["container"] == "remover")
    assert unreachable["detail"].startswith("remover: failed to get image client: rpc error: code = Unavailable")
    assert "stacktrace" not in unreachable["detail"] and "/workspace/" not in unreachable["detail"]
    panic = next(r for r in live.json["rows"] if r["node"] == "aks-nodepool1-2")
    assert panic["detail"].startswith("trivy-scanner: panic: runtime error")
    # The healthy node still reports its images; the failed ones report none.
    assert {r["node"] for r in live.json["rows"] if r["image"]} == {"aks-nodepool1-0"}
    assert "The run failed on node aks-nodepool1-1: collector: failed to get image client: rpc error" in live.err
    assert "The run failed on node aks-nodepool1-2: trivy-scanner: panic: runtime error" in live.err
    assert live.json["skippedLines"] == 0  # the goroutine dump belongs to the panic
    assert az("aks", "image-cleaner", "logs", *cluster.args, "--output-dir", str(tmp_path)).code == 0
    saved = az("aks", "image-cleaner", "report", *cluster.args, "--from-dir", str(tmp_path), "-o", "json")
    assert saved.code == 0 and saved.json["rows"] == live.json["rows"]


def test_prune_run_with_a_failure_collapses_aliases(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    assert (
        az("aks", "image-cleaner", "exclusion", "add", *cluster.args, "--images", "docker.io/library/redis:*").code == 0
    )
    assert az("aks", "image-cleaner", "run", *cluster.args, "--all", "--wait").code == 0
    result = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    assert result.code == 0, result.err
    rows = [r for r in result.json["rows"] if r["node"] == "aks-nodepool1-0"]
    # Eraser logs an excluded or failing image once per alias (3 lines each): one row each here.
    assert sorted((r["image"] or "-", r["outcome"]) for r in rows if r["outcome"] != "removed") == [
        ("*", "removal failed"),
        (LOCKED, "removal failed"),
        (REDIS, "excluded"),
    ]
    # Prune's `removed image` carries only the digest; with no collector in a manual run there is no name.
    removed = [r for r in rows if r["outcome"] == "removed"]
    assert len(removed) == 4 and all(r["image"] is None and r["digest"].startswith("sha256:") for r in removed)
    table = az("aks", "image-cleaner", "report", *cluster.args, "-o", "table").out
    assert "sha256:" in table and LOCKED in table


def _workers(emulator, cluster):
    kube = emulator.kube(cluster.subscription, cluster.resource_group, cluster.name)
    return [p for p in kube["pods"] if p["metadata"]["name"].startswith("eraser-aks-")]


def test_report_from_saved_logs_matches_the_live_one_and_skips_garbage(az, emulator, make_cluster, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, NGINX, "--wait")
    live = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json").json
    assert az("aks", "image-cleaner", "logs", *cluster.args, "--output-dir", str(tmp_path)).code == 0
    index = json.loads((tmp_path / "index.json").read_text())["logs"]
    with open(index[0]["file"], "a") as f:
        f.write("half a line, not json\n" + json.dumps({"logger": "kubelet", "msg": "foreign"}) + "\n")
    saved = az("aks", "image-cleaner", "report", *cluster.args, "--from-dir", str(tmp_path), "-o", "json")
    assert saved.code == 0, saved.err
    assert saved.json["rows"] == live["rows"]
    assert saved.json["skippedLines"] == 2
    assert "Skipped 2 line(s)" in saved.err


def test_report_from_dir_needs_no_cluster_access(az, emulator, make_cluster, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait")
    az("aks", "image-cleaner", "logs", *cluster.args, "--output-dir", str(tmp_path))
    emulator.clear_requests()
    saved = az("aks", "image-cleaner", "report", *cluster.args, "--from-dir", str(tmp_path), "-o", "json")
    assert len(saved.json["rows"]) == 3
    assert not [r for r in emulator.requests() if "/k8s/" in r["path"]]


def test_missing_folder(az, make_cluster, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "image-cleaner", "report", *cluster.args, "--from-dir", str(tmp_path / "nope"))
    assert result.code != 0 and "is not a folder" in result.err and "Traceback" not in result.err


def test_no_worker_pods(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    assert result.code == 0 and result.json["rows"] == []
    assert "report --since 30d" in result.err


def test_a_manual_run_after_a_scheduled_one_has_no_verdicts_of_its_own(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    emulator.scheduled_run(cluster.subscription, cluster.resource_group, cluster.name)
    busybox = "docker.io/library/busybox:1.31.0"
    assert az("aks", "image-cleaner", "run", *cluster.args, "--images", busybox, "--wait").code == 0
    rows = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json").json["rows"]
    manual = [r for r in rows if r["image"] == busybox]
    assert len(manual) == 3 and all(r["outcome"] == "removed" and r["scan"] is None for r in manual)
    assert all(r["scan"] == "vulnerable" for r in rows if r["image"] == ALPINE)  # the scheduled run's verdicts
