"""The AKS article's kubectl workflow, with the real kubectl, interleaved with the extension's commands.

The article (Use Image Cleaner on AKS) drives Eraser with kubectl: an ImageList applied from a heredoc, edited
and deleted; the system exclusion list read as YAML; a user's list created from a file and labelled; the
manager's config described; the worker pods listed and their remover logs read. Each of those steps runs here
against the emulated cluster, and the extension must see what kubectl did, and kubectl what it did.
"""

import json
import os
import stat

import pytest

from tests.e2e.test_cluster_side import ALPINE, NGINX, REDIS

# What varies here is what the real kubectl makes of the emulated API server: the az calls under it are those
# test_cluster_side.py makes on every az release, so the az-release matrix leaves this module out
# (scripts/test-matrix.sh).
pytestmark = pytest.mark.same_on_every_az

IMAGELIST = """apiVersion: eraser.sh/v1
kind: ImageList
metadata:
  name: imagelist
spec:
  images:
    - {image}
"""
KUBE_SYSTEM = ["-n", "kube-system"]


def _kube(emulator, cluster):
    return emulator.kube(cluster.subscription, cluster.resource_group, cluster.name)


def test_the_article_s_workflow(az, emulator, make_cluster, kubectl, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    k = kubectl(cluster)

    nodes = k("get", "nodes")
    assert nodes.code == 0, nodes.err
    assert nodes.out.split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert "aks-nodepool1-0" in nodes.out and "Ready" in nodes.out

    system = k("get", *KUBE_SYSTEM, "configmap", "eraser-system-exclusion", "-o", "yaml")
    assert system.code == 0, system.err
    assert 'eraser.sh/exclude.list: "true"' in system.out and "mcr.microsoft.com/*" in system.out

    described = k("describe", "configmap", *KUBE_SYSTEM, "eraser-manager-config")
    assert described.code == 0, described.err
    assert "Name:         eraser-manager-config" in described.out
    assert "repeatInterval: 168h" in described.out and "Events:" in described.out

    # A user's exclusion list, created from a file and labelled as the article does; the extension lists it.
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"excluded": ["docker.io/library/redis:*"]}))
    created = k("create", "configmap", "excluded", f"--from-file={sample}", "--namespace=kube-system")
    assert created.code == 0 and created.out.strip() == "configmap/excluded created", created.err
    labelled = k("label", "configmap", "excluded", "eraser.sh/exclude.list=true", *KUBE_SYSTEM)
    assert labelled.code == 0 and labelled.out.strip() == "configmap/excluded labeled", labelled.err
    listed = az("aks", "image-cleaner", "exclusion", "list", *cluster.args, "-o", "json")
    assert listed.code == 0, listed.err
    theirs = next(r for r in listed.json if r["configMap"] == "excluded")
    assert theirs["excluded"] == ["docker.io/library/redis:*"] and not theirs.get("problem")

    # The ImageList from a heredoc: the simulated Eraser runs it, and honours the kubectl-made exclusion.
    runs_before = _kube(emulator, cluster)["runs"]
    applied = k("apply", "-f", "-", stdin=IMAGELIST.format(image=REDIS) + f"    - {ALPINE}\n")
    assert applied.code == 0 and applied.out.strip() == "imagelist.eraser.sh/imagelist created", applied.err
    state = _kube(emulator, cluster)
    (imagelist,) = state["imagelists"]
    assert imagelist["spec"]["images"] == [REDIS, ALPINE] and imagelist["metadata"]["generation"] == 1
    assert "kubectl.kubernetes.io/last-applied-configuration" in imagelist["metadata"]["annotations"]
    status = az("aks", "image-cleaner", "status", *cluster.args, "-o", "json")
    assert status.code == 0 and state["runs"] == runs_before + 1, status.err
    assert status.json["lastManualRun"]["images"] == [REDIS, ALPINE]

    pods = k("get", "pods", *KUBE_SYSTEM)
    assert pods.code == 0 and pods.out.split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    worker = next(line.split()[0] for line in pods.out.splitlines() if line.startswith("eraser-aks-"))
    logs = k("logs", *KUBE_SYSTEM, worker, "-c", "remover")
    assert logs.code == 0, logs.err
    assert '"msg":"image is excluded"' in logs.out and '"msg":"removed image"' in logs.out

    report = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    assert report.code == 0, report.err
    outcomes = {(r["image"], r["outcome"]) for r in report.json["rows"]}
    assert outcomes == {(REDIS, "excluded"), (ALPINE, "removed")}

    # kubectl edit with a non-interactive editor: a new spec, a new generation, a new run.
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\nsed -i 's|{ALPINE}|{NGINX}|' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    edited = k("edit", "ImageList", "imagelist", env={"KUBE_EDITOR": str(editor), "EDITOR": str(editor)})
    assert edited.code == 0 and edited.out.strip() == "imagelist.eraser.sh/imagelist edited", edited.err
    state = _kube(emulator, cluster)
    assert state["imagelists"][0]["spec"]["images"] == [REDIS, NGINX]
    assert state["imagelists"][0]["metadata"]["generation"] == 2 and state["runs"] == runs_before + 2

    deleted = k("delete", "ImageList", "imagelist")
    assert deleted.code == 0 and deleted.out.strip() == 'imagelist.eraser.sh "imagelist" deleted', deleted.err
    assert _kube(emulator, cluster)["imagelists"] == []
    assert k("get", "imagelist").err.strip() == "No resources found"


def test_what_the_extension_writes_kubectl_reads(az, emulator, make_cluster, kubectl):
    cluster = make_cluster(image_cleaner=(True, 48))
    added = az("aks", "image-cleaner", "exclusion", "add", *cluster.args, "--images", "docker.io/library/*")
    assert added.code == 0, added.err
    k = kubectl(cluster)
    got = k("get", "configmap", "imagecleaner-exclusions", *KUBE_SYSTEM, "-o", "json")
    assert got.code == 0, got.err
    configmap = json.loads(got.out)
    assert configmap["metadata"]["labels"] == {"eraser.sh/exclude.list": "true"}
    assert json.loads(configmap["data"]["excluded.json"]) == {"excluded": ["docker.io/library/*"]}
    names = k("get", "configmaps", *KUBE_SYSTEM, "-l", "eraser.sh/exclude.list=true", "-o", "name")
    assert names.out.split() == ["configmap/eraser-system-exclusion", "configmap/imagecleaner-exclusions"]

    assert az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait").code == 0
    imagelist = json.loads(k("get", "imagelist", "imagelist", "-o", "json").out)
    assert imagelist["spec"]["images"] == [ALPINE] and imagelist["status"]["success"] == 3


def test_errors_read_as_the_api_server_s(emulator, make_cluster, kubectl, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    k = kubectl(cluster)
    missing = k("get", "configmap", "nope", *KUBE_SYSTEM)
    assert missing.code == 1 and missing.err.strip() == 'Error from server (NotFound): configmaps "nope" not found'
    assert k("create", "configmap", "twice", *KUBE_SYSTEM).code == 0
    again = k("create", "configmap", "twice", *KUBE_SYSTEM)
    # kubectl's own wording around the server's AlreadyExists message, as against a real cluster.
    assert again.err.strip() == 'error: failed to create configmap: configmaps "twice" already exists'

    # A stale resourceVersion is a conflict, as the real optimistic lock answers.
    stale = json.loads(k("get", "configmap", "twice", *KUBE_SYSTEM, "-o", "json").out)
    assert k("label", "configmap", "twice", "a=b", *KUBE_SYSTEM).code == 0
    stale["data"] = {"k": "v"}
    path = tmp_path / "stale.json"
    path.write_text(json.dumps(stale))
    conflict = k("replace", "-f", str(path))
    assert conflict.code == 1 and "Error from server (Conflict)" in conflict.err
    assert "the object has been modified" in conflict.err

    # Server-side field validation (kubectl's default): an unknown field is refused, not dropped.
    typo = IMAGELIST.format(image=ALPINE).replace("  images:", "  imagez:\n    - x\n  images:")
    refused = k("apply", "-f", "-", stdin=typo)
    assert refused.code == 1 and 'strict decoding error: unknown field "spec.imagez"' in refused.err
    assert _kube(emulator, cluster)["imagelists"] == []


def test_kubectl_without_image_cleaner_has_no_imagelist_kind(make_cluster, kubectl):
    cluster = make_cluster(image_cleaner=(False, 48))
    k = kubectl(cluster)
    result = k("get", "imagelist")
    assert result.code == 1 and 'the server doesn\'t have a resource type "imagelist"' in result.err


@pytest.mark.parametrize("output", ["yaml", "json", "name"])
def test_outputs_of_kubectl_get(make_cluster, kubectl, output):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = kubectl(cluster)("get", "configmap", "eraser-manager-config", *KUBE_SYSTEM, "-o", output)
    assert result.code == 0, result.err
    expected = {"yaml": "name: eraser-manager-config", "json": '"name": "eraser-manager-config"', "name": "configmap/"}
    assert expected[output] in result.out
    assert os.linesep in result.out
