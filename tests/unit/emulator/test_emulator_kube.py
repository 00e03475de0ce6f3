"""The emulator's Kubernetes API conventions and its simulated Eraser controller."""

import json

import pytest

from armemulator.arm.clusters import sample_cluster
from armemulator.eraser.controller import EraserController, matches
from armemulator.kubernetes.objects import KubeCluster, KubeError, label_selector_matches, nodes_for

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az


@pytest.fixture
def logged():
    return []


@pytest.fixture
def past():
    return []


@pytest.fixture
def eraser(clock, logged, past):
    cluster = KubeCluster(nodes_for(sample_cluster(windows_pool=True)), clock, run_seconds=2, pod_ttl_seconds=60)
    controller = EraserController(
        cluster, log_sink=lambda *entry: logged.append(entry), past_sink=lambda *entry: past.append(entry)
    )
    controller.install()
    return controller


@pytest.fixture
def kube(eraser):
    return eraser.cluster


def imagelist(images):
    return {"metadata": {"name": "imagelist"}, "spec": {"images": images}}


def test_resource_version_grows_and_generation_follows_the_spec(kube):
    created = kube.create_imagelist(imagelist(["a:1"]))
    assert created["metadata"]["generation"] == 1
    same = kube.replace_imagelist("imagelist", imagelist(["a:1"]))
    assert same["metadata"]["generation"] == 1
    assert int(same["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    changed = kube.replace_imagelist("imagelist", imagelist(["b:1"]))
    assert changed["metadata"]["generation"] == 2


def test_status_errors(kube):
    with pytest.raises(KubeError) as err:
        kube.get_configmap("kube-system", "nope")
    assert err.value.body()["reason"] == "NotFound" and err.value.code == 404
    kube.create_configmap("kube-system", {"metadata": {"name": "x"}})
    with pytest.raises(KubeError) as err:
        kube.create_configmap("kube-system", {"metadata": {"name": "x"}})
    assert err.value.code == 409 and err.value.reason == "AlreadyExists"
    with pytest.raises(KubeError) as err:
        kube.replace_configmap("kube-system", "x", {"metadata": {"resourceVersion": "1"}, "data": {}})
    assert err.value.reason == "Conflict"


def test_label_selectors():
    labels = {"a": "1", "b": "2"}
    assert label_selector_matches("a=1,b", labels)
    assert label_selector_matches("a==1,c!=3,!d", labels)
    assert not label_selector_matches("a=2", labels)
    assert not label_selector_matches("!a", labels)


def test_exclusion_patterns():
    assert matches("docker.io/library/*", "docker.io/library/alpine:1")
    assert matches("myrepo/app:*", "myrepo/app:2")
    assert not matches("myrepo/app:*", "myrepo/app2:2")
    assert matches("a:1", "a:1") and not matches("a:1", "a:2")


def test_a_new_generation_starts_a_run_on_linux_nodes_only(kube, eraser, clock):
    kube.create_imagelist(imagelist(["docker.io/library/alpine:3.7.3"]))
    eraser.settle()
    workers = [p for p in kube.list_pods("kube-system", "eraser.sh/type")["items"]]
    assert len(workers) == 3 and all(p["status"]["phase"] == "Running" for p in workers)
    assert all([c["name"] for c in p["spec"]["containers"]] == ["remover"] for p in workers)
    clock.now += 2
    eraser.settle()
    status = kube.get_imagelist("imagelist")["status"]
    assert (status["success"], status["failed"], status["skipped"]) == (3, 0, 2)
    clock.now += 60
    eraser.settle()
    assert kube.list_pods("kube-system", "eraser.sh/type")["items"] == []


def test_reapplying_the_same_spec_does_nothing(kube, eraser):
    kube.create_imagelist(imagelist(["a:1"]))
    eraser.settle()
    kube.replace_imagelist("imagelist", imagelist(["a:1"]))
    eraser.settle()
    assert eraser.runs == 1


def test_only_the_list_named_imagelist_is_acted_on(kube, eraser):
    kube.create_imagelist({"metadata": {"name": "other"}, "spec": {"images": ["a:1"]}})
    eraser.settle()
    assert eraser.runs == 0


def test_no_imagelist_resource_without_eraser(clock):
    bare = KubeCluster(nodes_for(sample_cluster()), clock)
    with pytest.raises(KubeError) as err:
        bare.list_imagelists()
    assert err.value.message == "the server could not find the requested resource"


def test_scheduled_run_has_three_containers(kube, eraser, logged):
    eraser.start_scheduled_run()
    (pod, *_) = kube.list_pods("kube-system", "eraser.sh/type")["items"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["collector", "trivy-scanner", "remover"]
    log = kube.pod_log("kube-system", pod["metadata"]["name"], "collector")
    assert '"finalImages:"' in log
    # The same lines go to the log sink (the cluster's monitoring agent), pod by pod.
    assert sorted((entry[0], entry[1]) for entry in logged) == sorted(
        (p["metadata"]["name"], p["spec"]["nodeName"]) for p in kube.list_pods("kube-system", "eraser.sh/type")["items"]
    )
    assert next(entry[2] for entry in logged if entry[0] == pod["metadata"]["name"])["collector"] == log


def test_past_runs_are_logged_at_their_own_times_and_leave_the_nodes_as_they_are(kube, eraser, logged, past):
    before = [dict(images) for images in eraser.node_images.values()]
    now = kube.wall()
    assert eraser.past_runs(days=30, interval_hours=168, now=now) == 4
    ((runs, texts),) = past  # one run's lines, laid at every run's start on every node
    assert logged == []
    assert len(runs) == 4 * 3  # four weekly runs on each of the three Linux nodes
    assert sorted({started for _, _, started in runs}) == [now - week * 168 * 3600 for week in (4, 3, 2, 1)]
    assert all(pod.startswith(f"eraser-{node}-") for pod, node, _ in runs) and len({p for p, _, _ in runs}) == 12
    assert set(texts) == {"collector", "trivy-scanner", "remover"}
    assert json.loads(texts["collector"].splitlines()[0])["ts"] < 1  # from time 0: the sink adds each start
    assert kube.list_pods("kube-system", "eraser.sh/type")["items"] == []  # no pods: they are long gone
    assert [dict(images) for images in eraser.node_images.values()] == before
    assert eraser.past_runs(days=30, interval_hours=168, now=now) == 0  # one past


def test_past_runs_at_real_sizes_write_the_lines_of_each_candidate(eraser, past, kube):
    assert eraser.past_runs(days=8, interval_hours=168, now=kube.wall(), candidates=30, vulnerable=20) == 1
    ((_, texts),) = past
    lines = [json.loads(line) for text in texts.values() for line in text.splitlines()]
    removed = [line for line in lines if line["msg"] == "removed image"]
    assert len(removed) == 20 and len({line["imageID"] for line in removed}) == 20
    assert sum(1 for line in lines if line["msg"] == "scanning image with id") == 30
    assert 100 <= len(lines) <= 130  # about 15 + 2.5 N + 2 V (../shared/container-insights.md §6)


def test_the_kubernetes_objects_do_not_depend_on_the_eraser_acting_on_them():
    import subprocess
    import sys

    probe = (
        "import sys, armemulator.kubernetes.objects; "
        "print(any(m.startswith('armemulator.eraser') for m in sys.modules))"
    )
    assert (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
