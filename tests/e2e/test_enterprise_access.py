"""The cluster side on enterprise clusters, through the real az: managed AAD with Azure RBAC and local accounts
disabled (no kubelogin), and private API servers reached through AKS run-command (with the real kubectl run by
the emulator, as AKS runs it in a pod)."""

import json
import os
import stat

import pytest

from armemulator.arm.clusters import sample_cluster
from armemulator.identity import AKS_SERVER_APP, CALLER_OBJECT_ID

ALPINE = "docker.io/library/alpine:3.7.3"
CLUSTER_ADMIN = "Azure Kubernetes Service RBAC Cluster Admin"
WRITER = "Azure Kubernetes Service RBAC Writer"
READER = "Azure Kubernetes Service RBAC Reader"
OTHER_TENANT = "99999999-9999-9999-9999-999999999999"


def body(aad=False, rbac=True, local_accounts=True, private=False, run_command=True, tenant=None, legacy=False):
    doc = sample_cluster(image_cleaner=(True, 48))
    properties = doc["properties"]
    if aad or legacy:
        properties["aadProfile"] = {"managed": not legacy, "enableAzureRBAC": rbac and not legacy}
        if tenant:
            properties["aadProfile"]["tenantID"] = tenant
        if legacy:
            properties["aadProfile"].update(serverAppID="00000000-aaaa-0000-0000-000000000000", clientAppID="x")
    properties["disableLocalAccounts"] = not local_accounts
    properties["apiServerAccessProfile"] = {"enablePrivateCluster": private, "disableRunCommand": not run_command}
    return doc


@pytest.fixture
def no_kubelogin_path(tmp_path):
    """A PATH whose first folder has a `kubelogin` that records each run: the tests assert it never ran."""
    folder = tmp_path / "bin"
    folder.mkdir()
    marker = tmp_path / "kubelogin-ran"
    script = folder / "kubelogin"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{marker}"\nexit 1\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}, marker


def ref(cluster):
    return cluster.subscription, cluster.resource_group, cluster.name


def kube_requests(emulator, cluster):
    prefix = f"/k8s/{cluster.subscription}/{cluster.resource_group}/{cluster.name}/"
    return [r for r in emulator.requests() if r["path"].startswith(prefix)]


def arm_requests(emulator, cluster, suffix):
    return [r for r in emulator.requests() if r["path"].lower().endswith(f"/managedclusters/{cluster.name}/{suffix}")]


def stored_images(emulator, cluster):
    (imagelist,) = emulator.kube(*ref(cluster))["imagelists"]
    return imagelist["spec"]["images"]


def token_claims(token):
    import base64

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def one_line_error(result):
    assert result.code != 0
    assert "Traceback" not in result.err
    return result.err


# --- managed AAD + Azure RBAC, local accounts disabled ----------------------------------------------------


def test_aad_cluster_runs_with_a_token_from_az_login_and_no_kubelogin(az, emulator, make_cluster, no_kubelogin_path):
    env, marker = no_kubelogin_path
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
    result = az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait", "-o", "json", env=env)
    assert result.code == 0, result.err
    assert result.json["status"]["success"] == 3
    assert not marker.exists(), "kubelogin ran"
    calls = kube_requests(emulator, cluster)
    assert calls and all(c["caller"]["audience"] == AKS_SERVER_APP and not c["caller"]["local"] for c in calls)
    assert any(c["method"] == "POST" and c["path"].endswith("/imagelists") for c in calls)
    tokens = [r for r in emulator.requests() if r["path"] == "/msi/token"]
    assert AKS_SERVER_APP in {r["query"].get("resource") for r in tokens}
    assert not arm_requests(emulator, cluster, "listclusteradmincredential")
    assert stored_images(emulator, cluster) == [ALPINE]


def test_the_token_is_renewed_during_a_long_run_wait(az, emulator, make_cluster):
    """Tokens that last 4 s, a run that takes 9 s: the wait keeps going on fresh tokens, with no 401."""
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
    emulator.configure(token_seconds=4, kube_run_seconds=9)
    result = az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait", "-o", "json")
    assert result.code == 0, result.err
    assert result.json["status"]["success"] == 3
    calls = kube_requests(emulator, cluster)
    assert all(c["status"] != 401 for c in calls)
    assert len({c["caller"]["expires"] for c in calls}) > 1, "one token served the whole wait"


def test_aad_status_exclusions_and_logs_work_with_cluster_admin(az, emulator, make_cluster):
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
    added = az("aks", "image-cleaner", "exclusion", "add", *cluster.args, "--images", ALPINE, "-o", "json")
    assert added.code == 0, added.err
    assert ALPINE in added.json["excluded"]
    emulator.clear_requests()
    status = az("aks", "image-cleaner", "status", *cluster.args, "-o", "json")
    assert status.code == 0, status.err
    assert status.json["enabled"] is True
    # The cluster is read from ARM once: the setting and the way in come from the same document.
    reads = [r for r in emulator.requests() if r["method"] == "GET" and r["path"].lower().endswith(f"/{cluster.name}")]
    assert len(reads) == 1


def test_admin_on_a_cluster_without_local_accounts_is_one_line_and_sends_nothing(az, emulator, make_cluster):
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    result = az("aks", "image-cleaner", "status", *cluster.args, "--admin")
    err = one_line_error(result)
    assert "Local accounts are disabled" in err and "Leave out --admin" in err
    assert not arm_requests(emulator, cluster, "listclusteradmincredential")
    assert not kube_requests(emulator, cluster)


def test_the_service_refuses_admin_credentials_when_local_accounts_are_disabled(az, make_cluster):
    """What core's own `get-credentials --admin` gets from the emulator: the service's 400 and message."""
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    result = az("aks", "get-credentials", *cluster.args, "--admin", "--file", "-")
    assert result.code != 0
    assert "Getting static credential is not allowed because this cluster is set to disable local accounts" in (
        result.err
    )


def test_user_credential_of_an_aad_cluster_is_the_kubelogin_exec_kubeconfig(az, make_cluster):
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    result = az("aks", "get-credentials", *cluster.args, "--file", "-")
    assert result.code == 0, result.err
    assert "command: kubelogin" in result.out and "devicecode" in result.out and AKS_SERVER_APP in result.out


@pytest.mark.parametrize(
    ("role", "command", "needed"),
    [
        (WRITER, ["run", "--images", ALPINE], CLUSTER_ADMIN),
        (READER, ["logs"], WRITER),
        (READER, ["exclusion", "add", "--images", ALPINE], WRITER),
    ],
)
def test_azure_rbac_denial_names_the_role_and_the_assignment_command(az, emulator, make_cluster, role, command, needed):
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    emulator.scheduled_run(*ref(cluster))  # worker pods, whose logs `logs` reads
    emulator.role_assignments(*ref(cluster), (role, None))
    err = one_line_error(az("aks", "image-cleaner", *command, *cluster.args))
    assert f"needs the role '{needed}'" in err
    cluster_id = emulator.cluster(*ref(cluster))["id"]
    assert f'az role assignment create --role "{needed}" --assignee {CALLER_OBJECT_ID} --scope {cluster_id}' in err
    assert "User does not have access to the resource in Azure" in err


def test_reader_can_list_exclusions(az, emulator, make_cluster):
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    emulator.role_assignments(*ref(cluster), (READER, None))
    result = az("aks", "image-cleaner", "exclusion", "list", *cluster.args, "-o", "json")
    assert result.code == 0, result.err
    assert any(row["configMap"] == "eraser-system-exclusion" for row in result.json)


def test_a_401_on_an_aad_cluster_suggests_login_for_the_aks_scope(az, emulator, make_cluster):
    cluster = make_cluster(body=body(aad=True, local_accounts=False))
    emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
    emulator.reject_tokens(*ref(cluster))
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args))
    assert "refused the Azure AD token" in err
    assert f"az login --scope {AKS_SERVER_APP}/.default" in err


def test_a_token_that_cannot_be_had_names_the_login_to_run(az, emulator, make_cluster):
    """The login is a managed identity of another tenant than the cluster's: az cannot get the token."""
    cluster = make_cluster(body=body(aad=True, local_accounts=False, tenant=OTHER_TENANT))
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args))
    assert f"Could not get an Azure AD token for the cluster's API server in tenant {OTHER_TENANT}" in err
    assert f"az login --tenant {OTHER_TENANT} --scope {AKS_SERVER_APP}/.default" in err
    assert not kube_requests(emulator, cluster)


def test_legacy_aad_gets_one_line_pointing_to_kubeconfig(az, emulator, make_cluster):
    cluster = make_cluster(body=body(legacy=True))
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args))
    assert "legacy Azure AD integration" in err and "--kubeconfig" in err
    assert not kube_requests(emulator, cluster)


def test_local_account_clusters_keep_working_with_admin(az, emulator, make_cluster):
    cluster = make_cluster(body=body())
    result = az("aks", "image-cleaner", "status", *cluster.args, "--admin", "-o", "json")
    assert result.code == 0, result.err
    assert all(c["caller"]["local"] for c in kube_requests(emulator, cluster))


# --- private clusters: AKS run-command ---------------------------------------------------------------------


def run_commands(emulator, cluster):
    return arm_requests(emulator, cluster, "runcommand")


def test_private_cluster_goes_through_run_command_with_the_same_output(az, emulator, make_cluster):
    cluster = make_cluster(body=body(private=True))
    public = make_cluster(body=body())
    for target in (cluster, public):
        added = az("aks", "image-cleaner", "exclusion", "add", *target.args, "--images", ALPINE, "-o", "json")
        assert added.code == 0, added.err
    private_status = az("aks", "image-cleaner", "exclusion", "list", *cluster.args, "-o", "json")
    public_status = az("aks", "image-cleaner", "exclusion", "list", *public.args, "-o", "json")
    assert private_status.code == 0, private_status.err
    assert private_status.json == public_status.json
    assert "cannot be reached from here" in private_status.err and "going through AKS run-command" in private_status.err
    posts = run_commands(emulator, cluster)
    assert posts and all("kubectl" in p["body"]["command"] for p in posts)
    assert all("clusterToken" not in p["body"] for p in posts)  # no AAD: the pod has its own credentials


def test_private_cluster_run_wait_and_status_through_run_command(az, emulator, make_cluster):
    cluster = make_cluster(body=body(private=True))
    result = az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait", "-o", "json")
    assert result.code == 0, result.err
    assert result.json["status"]["success"] == 3
    assert stored_images(emulator, cluster) == [ALPINE]
    creates = [p for p in run_commands(emulator, cluster) if "create" in p["body"]["command"]]
    assert creates and all(p["body"].get("context") for p in creates)  # the manifest goes in the context zip
    status = az("aks", "image-cleaner", "status", *cluster.args, "-o", "json")
    assert status.code == 0, status.err
    assert status.json["lastManualRun"]["state"] == "finished"


def test_private_aad_cluster_sends_the_callers_token_as_cluster_token(az, emulator, make_cluster, no_kubelogin_path):
    env, marker = no_kubelogin_path
    cluster = make_cluster(body=body(aad=True, local_accounts=False, private=True))
    emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
    result = az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait", "-o", "json", env=env)
    assert result.code == 0, result.err
    posts = run_commands(emulator, cluster)
    assert posts and all(token_claims(p["body"]["clusterToken"])["aud"] == AKS_SERVER_APP for p in posts)
    # The pod's kubectl acted as the caller: every call it made carried the caller's token, none a local account.
    assert all(c["caller"]["audience"] == AKS_SERVER_APP for c in kube_requests(emulator, cluster))
    assert not marker.exists()


def test_private_aad_cluster_denial_through_run_command_names_the_role(az, emulator, make_cluster):
    cluster = make_cluster(body=body(aad=True, local_accounts=False, private=True))
    emulator.role_assignments(*ref(cluster), (WRITER, None))
    err = one_line_error(az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE))
    assert f"needs the role '{CLUSTER_ADMIN}'" in err and "az role assignment create" in err


def test_forced_run_command_on_a_public_cluster_gives_the_same_logs(az, emulator, make_cluster):
    cluster = make_cluster(body=body())
    emulator.scheduled_run(*ref(cluster))
    direct = az("aks", "image-cleaner", "logs", *cluster.args, "--transport", "api-server", "-o", "json")
    through = az("aks", "image-cleaner", "logs", *cluster.args, "--transport", "run-command", "-o", "json")
    assert direct.code == 0 and through.code == 0, direct.err + through.err
    assert [(e["pod"], e["container"], e["log"]) for e in direct.json] == [
        (e["pod"], e["container"], e["log"]) for e in through.json
    ]
    assert len(direct.json) == 9


def test_unreachable_api_server_with_run_command_disabled_names_both_ways_in(az, emulator, make_cluster):
    cluster = make_cluster(body=body(private=True, run_command=False))
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args))
    assert "cannot be reached from here" in err and "run command is disabled" in err
    assert "virtual network" in err and "--enable-run-command" in err
    assert not run_commands(emulator, cluster)


def test_forcing_run_command_where_it_is_disabled_is_one_line(az, emulator, make_cluster):
    cluster = make_cluster(body=body(run_command=False))
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args, "--transport", "run-command"))
    assert "Run command is disabled" in err and "--enable-run-command" in err
    assert not run_commands(emulator, cluster)


def test_run_command_failed_state_shows_its_reason(az, emulator, make_cluster):
    cluster = make_cluster(body=body(private=True))
    emulator.run_command_fault(*ref(cluster), {"state": "Failed", "reason": "KubernetesPerformanceError"})
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args))
    assert "AKS run-command ended Failed" in err and "KubernetesPerformanceError" in err


def test_run_command_poll_past_timeout_is_one_line_with_the_command_id(az, emulator, make_cluster):
    cluster = make_cluster(body=body(private=True))
    emulator.run_command_fault(*ref(cluster), {"hang": True})
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args, "--timeout", "3"))
    assert "did not finish within 3 s" in err and "az aks command result" in err and "--command-id" in err


def test_run_command_pod_that_ends_early_is_one_line_with_its_exit_code(az, emulator, make_cluster):
    cluster = make_cluster(body=body(private=True))
    emulator.run_command_fault(*ref(cluster), {"exitCode": 137, "logs": "Killed\n"})
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args))
    assert "kubectl exited 137 in AKS run-command" in err and "Killed" in err


def test_run_command_output_over_the_cap_is_one_line(az, emulator, make_cluster):
    cluster = make_cluster(body=body(private=True))
    huge = {"images.json": json.dumps([f"docker.io/library/x{i:06d}:1" for i in range(30000)])}
    emulator.put_configmap(
        *ref(cluster),
        {
            "metadata": {"name": "big-list", "namespace": "kube-system", "labels": {"eraser.sh/exclude.list": "true"}},
            "data": huge,
        },
    )
    err = one_line_error(az("aks", "image-cleaner", "exclusion", "list", *cluster.args))
    assert "512 kB cap" in err and "--transport api-server" in err


def test_kubectl_failing_in_run_command_maps_like_the_api(az, emulator, make_cluster):
    """A 404 for the ImageList CRD (Image Cleaner off): the same error as through the API server."""
    doc = body(private=True)
    doc["properties"]["securityProfile"]["imageCleaner"] = {"enabled": False, "intervalHours": 48}
    cluster = make_cluster(body=doc)
    err = one_line_error(az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE))
    assert "Image Cleaner is not enabled there" in err


def test_forcing_the_api_server_of_a_private_cluster_is_one_line_naming_run_command(az, emulator, make_cluster):
    cluster = make_cluster(body=body(private=True))
    err = one_line_error(az("aks", "image-cleaner", "status", *cluster.args, "--transport", "api-server"))
    assert "Could not reach the Kubernetes API" in err and "--transport run-command" in err
    assert not run_commands(emulator, cluster)
