"""No credential in any output: every command of the extension with --debug, on each kind of cluster.

The emulator makes its credentials anew in each process and says which it handed out (its control API's
`secrets`): the local accounts' tokens, client keys and certificates, and every Azure AD token its token
endpoint issued (for ARM, and for the AKS server app, which is what a clusterToken holds). Each command's
stdout, stderr and the files it writes are searched for each of them, as written and inside every base64 run
decoded. The debug output must stay useful: the URLs and status codes are still there.
"""

import base64
import binascii
import re

import pytest

from armemulator.arm.clusters import sample_cluster
from tests.e2e.test_enterprise_access import CLUSTER_ADMIN

ALPINE = "docker.io/library/alpine:3.7.3"
KINDS = {
    "local accounts": {},
    "managed AAD": {"aad": True},
    "private": {"private": True},
    "private + managed AAD": {"aad": True, "private": True},
}
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def body(aad=False, private=False):
    doc = sample_cluster(image_cleaner=(True, 48))
    properties = doc["properties"]
    if aad:
        properties["aadProfile"] = {"managed": True, "enableAzureRBAC": True}
        properties["disableLocalAccounts"] = True
    properties["apiServerAccessProfile"] = {"enablePrivateCluster": private}
    return doc


def decoded_runs(text):
    """`text` and the text of every base64 (or base64url) run in it that decodes."""
    found = [text]
    for run in _BASE64_RUN.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                found.append(decode(run + "=" * (-len(run) % 4)).decode("utf-8", errors="ignore"))
            except (binascii.Error, ValueError):
                continue
    return "\n".join(found)


def leaked(texts, secrets):
    searched = decoded_runs("\n".join(texts))
    return [s[:16] + "…" for s in secrets if s and s in searched]


@pytest.mark.parametrize("kind", list(KINDS))
def test_no_command_prints_or_writes_a_credential(az, emulator, make_cluster, tmp_path, kind):
    cluster = make_cluster(body=body(**KINDS[kind]))
    if KINDS[kind].get("aad"):
        emulator.role_assignments(cluster.subscription, cluster.resource_group, cluster.name, (CLUSTER_ADMIN, None))
    logs_dir, failures = tmp_path / "logs", tmp_path / "failures.txt"
    cluster_id = (
        f"/subscriptions/{cluster.subscription}/resourceGroups/{cluster.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{cluster.name}"
    )
    commands = [
        ["aks", "image-cleaner", "status", *cluster.args],
        ["aks", "image-cleaner", "exclusion", "add", *cluster.args, "--images", "docker.io/library/redis:*"],
        ["aks", "image-cleaner", "exclusion", "remove", *cluster.args, "--images", "docker.io/library/redis:*"],
        ["aks", "image-cleaner", "exclusion", "list", *cluster.args],
        ["aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait"],
        ["aks", "image-cleaner", "logs", *cluster.args, "--output-dir", str(logs_dir)],
        ["aks", "image-cleaner", "report", *cluster.args],
        ["aks", "image-cleaner", "coverage", *cluster.args],  # no monitoring add-on: the live cluster
        ["aks", "image-cleaner", "check", *cluster.args],  # every check's Kubernetes reads in one plan
        ["aks", "update", *cluster.args, "--image-cleaner-interval-hours", "72"],
        ["aks", "image-cleaner", "set", "--disable", "--ids", cluster_id, "--output-failures", str(failures)],
        ["aks", "image-cleaner", "list", "-g", cluster.resource_group],
    ]
    outputs = []
    for command in commands:
        result = az(*command, "--debug")
        assert result.code == 0, f"az {' '.join(command)}: {result.err[-2000:]}"
        outputs += [result.out, result.err]
        # Still useful: the requests are traced, with their URLs and answers.
        assert "Request URL:" in result.err and "Response status: 200" in result.err
    written = [p.read_text() for p in logs_dir.iterdir()] + [failures.read_text()]
    secrets = emulator.secrets()
    assert secrets["issued"]  # az's own ARM tokens at least, and the AKS tokens on AAD clusters
    assert leaked(outputs + written, secrets["static"] + secrets["issued"]) == []
    if KINDS[kind].get("private"):
        assert any("runCommand" in text and '"clusterToken"' in text for text in outputs) == bool(
            KINDS[kind].get("aad")
        )
    if not KINDS[kind].get("aad") and not KINDS[kind].get("private"):
        # The local-account kubeconfig is traced decoded, its secrets masked.
        assert any('"client-key-data": "*****"' in text for text in outputs)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_history_prints_no_credential(az, emulator, make_cluster, kind):
    """`report --since`, `coverage` and `check` on one cluster and on a fleet (Log Analytics tokens; `check` also
    the add-on's data collection rule and the workspace from ARM), and `report` on a
    cluster whose agent leaves kube-system out (the agent's ConfigMap read through the cluster access: run-command
    on a private cluster)."""
    from tests.e2e.test_history import COLLECT_KUBE_SYSTEM, LEAVE_KUBE_SYSTEM_OUT, WORKSPACE, ref

    def monitored(settings, days):
        doc = body(**KINDS[kind])
        doc["properties"]["addonProfiles"]["omsagent"] = {
            "enabled": True,
            # managed identity, so `check` also reads the add-on's data collection rule
            "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE.format("ws-debug"), "useAADAuth": "true"},
        }
        cluster = make_cluster(body=doc, resource_group=group)
        if KINDS[kind].get("aad"):
            emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
        configmap = {
            "metadata": {"name": "container-azm-ms-agentconfig", "namespace": "kube-system"},
            "data": {"schema-version": "v1", "log-data-collection-settings": settings},
        }
        emulator.put_configmap(*ref(cluster), configmap)
        if days:
            emulator.history(*ref(cluster), days=days)
        return cluster

    group = f"debug-hist-{kind.replace(' ', '').replace('+', '-')}"
    kept, excluded = monitored(COLLECT_KUBE_SYSTEM, 30), monitored(LEAVE_KUBE_SYSTEM_OUT, 0)
    outputs = []
    for command, code in (
        (["report", *kept.args, "--since", "30d"], 0),
        (["report", "--all", "-g", group, "--since", "30d"], 0),
        (["coverage", *kept.args], 0),
        (["coverage", "--all", "-g", group], 0),
        (["check", *kept.args], 0),
        (["check", "--all", "-g", group], 0),
        (["report", *excluded.args, "--since", "30d"], 1),
    ):
        result = az("aks", "image-cleaner", *command, "--debug")
        assert result.code == code, f"{command}: {result.err[-2000:]}"
        outputs += [result.out, result.err]
        assert "/v1/" in result.err and "Request URL:" in result.err  # the Log Analytics queries are traced
    assert "exclude_namespaces holds kube-system" in outputs[-1]  # read through the cluster access
    assert any("/dataCollectionRules/" in text for text in outputs)  # check's ARM reads are traced too
    secrets = emulator.secrets()
    assert secrets["issued"]
    assert leaked(outputs, secrets["static"] + secrets["issued"]) == []
