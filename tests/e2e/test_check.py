"""`az aks image-cleaner check` through the real az: a healthy cluster passes; each fault users report is found,
with its fix, on a local-account cluster, a managed-AAD cluster and a private one; a Reader's checks that need more
are skipped naming the role; a fleet gets a row per cluster from one query per workspace. The faults are modelled
in the emulator from their sources (armemulator/eraser/controller.py, logs.py; ../shared/image-cleaner-health.md).
"""

import importlib
import json
import uuid

import pytest

from armemulator.kubernetes.auth import CLUSTER_ADMIN, READER
from tests.e2e.test_coverage import agent, cluster_body
from tests.e2e.test_history import COLLECT_KUBE_SYSTEM, LEGACY_SCHEMA, WORKSPACE, log_queries, ref

SHAPES = {
    "local accounts": {},
    "managed AAD": {"aad": True},
    "private": {"private": True},
}
# A fault's finding varies only with what the emulator answers, through the reads every az release already makes
# in the tests left in the az-release matrix (scripts/test-matrix.sh): the healthy cluster, the private one's
# faults (one run-command), the Readers, the fleet, bad input and help.
SAME_ON_EVERY_AZ = pytest.mark.same_on_every_az
EVERY_SHAPE = [pytest.param(s, marks=() if s == "private" else SAME_ON_EVERY_AZ) for s in SHAPES]


@pytest.fixture
def group():
    return f"check-{uuid.uuid4().hex[:8]}"


def check(az, *args, env=None):
    return az("aks", "image-cleaner", "check", *args, "-o", "json", env=env)


def by_name(result):
    return {c["name"]: c for c in result.json["checks"]}


def healthy(emulator, make_cluster, group, workspace="ws-cover", **shape):
    """A cluster with Image Cleaner on, Linux pools only, Container Insights keeping kube-system, 30 days of runs."""
    body = cluster_body(windows=False, virtual=False, monitoring=workspace, **shape)
    cluster = make_cluster(body=body, resource_group=group)
    if shape.get("aad"):
        emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
    agent(emulator, cluster)
    # Images of a team's services, 4 of 10 vulnerable, every one scannable (logs.candidate_images).
    assert emulator.history(*ref(cluster), days=30, candidates=10, vulnerable=4) >= 4
    emulator.clear_requests()
    return cluster


def run_commands(emulator):
    return [r for r in emulator.requests() if r["method"] == "POST" and r["path"].lower().endswith("/runcommand")]


def test_a_healthy_cluster_passes_every_check(az, emulator, make_cluster, group):
    cluster = healthy(emulator, make_cluster, group)
    result = check(az, *cluster.args)
    assert result.code == 0, result.err
    checks = by_name(result)
    assert [c["name"] for c in result.json["checks"]] == [
        "setting", "node-pools", "access", "controller", "image-jobs", "workers", "scanner", "history",
        "exclusion-lists", "version",
    ]  # fmt: skip
    assert {n: c["status"] for n, c in checks.items() if c["status"] != "pass"} == {}
    assert result.json["summary"] == {"pass": 10, "warn": 0, "fail": 0, "skip": 0}
    assert "Every eligible node (8) was cleaned" in checks["workers"]["detail"]
    assert "Kept in Container Insights (in ContainerLogV2) for 30 days" in checks["history"]["detail"]
    # Container Insights: one query on the cluster's resource answers coverage's, the history's and the tables'.
    (query,) = log_queries(emulator)
    assert query["path"].lower() == f"/v1{cluster_id(emulator, cluster)}/query".lower()


def test_a_cut_answer_is_asked_again_apart_and_reads_as_the_whole_one(az, emulator, make_cluster, group):
    cluster = healthy(emulator, make_cluster, group)
    whole = check(az, *cluster.args)
    assert whole.code == 0, whole.err
    # The service's record limit, lowered below the one query's answer (../shared/container-insights.md §4): coverage's
    # and the history's own answers each fit.
    emulator.configure(log_max_records=40)
    emulator.clear_requests()
    cut = check(az, *cluster.args, "--debug")
    assert cut.code == 0, cut.err[-2000:]
    assert "Log Analytics cut its answer" in cut.err and "asking for coverage and history apart" in cut.err
    assert [q["cut"] for q in log_queries(emulator)] == [True, False, False]  # the one query, coverage's, history's
    said, whole_said = by_name(cut), by_name(whole)
    assert said.pop("history")["status"] == whole_said.pop("history")["status"] == "pass"
    assert said == whole_said  # the history's detail names the table only where the one query counted its lines


def sdk_keeps_container_insights():
    """Whether the ManagedCluster model of this az's own API version keeps azureMonitorProfile.containerInsights
    (az 2.76's does not: the field is in its preview API versions only)."""
    from azure.cli.core.profiles import ResourceType
    from azure.cli.core.profiles._shared import AZURE_API_PROFILES

    version = getattr(AZURE_API_PROFILES["latest"][ResourceType.MGMT_CONTAINERSERVICE], "default_api_version", None)
    suffix = f".v{version.replace('-', '_')}" if version else ""
    profile = importlib.import_module(f"azure.mgmt.containerservice{suffix}.models").ManagedClusterAzureMonitorProfile
    if hasattr(profile, "_attribute_map"):  # msrest's models
        return "container_insights" in profile._attribute_map
    return "containerInsights" in profile({"containerInsights": {"enabled": True}})  # a Mapping by REST name


def test_container_insights_through_the_azure_monitor_profile_is_read_as_the_add_on_is(
    az, emulator, make_cluster, group
):
    # Onboarded with az 2.91's --enable-azure-monitor-logs: no omsagent add-on, properties.azureMonitorProfile
    # .containerInsights instead, with managed identity and so a data collection rule (acs _is_monitoring_aad_auth).
    body = cluster_body(windows=False, virtual=False, profile=True)
    assert "omsagent" not in body["properties"]["addonProfiles"]
    cluster = make_cluster(body=body, resource_group=group)
    agent(emulator, cluster)
    assert emulator.history(*ref(cluster), days=30, candidates=10, vulnerable=4) >= 4
    emulator.clear_requests()
    result = check(az, *cluster.args)
    assert result.code == 0, result.err
    checks = by_name(result)
    if not sdk_keeps_container_insights():
        # This az's SDK drops the profile: the cluster reads as unmonitored, as README.md says.
        assert checks["history"]["status"] == "warn" and "No monitoring add-on" in checks["history"]["detail"]
        assert log_queries(emulator) == []
        return
    assert {n: c["status"] for n, c in checks.items() if c["status"] != "pass"} == {}
    assert "Kept in Container Insights (in ContainerLogV2) for 30 days" in checks["history"]["detail"]
    assert len(log_queries(emulator)) == 1
    assert any("/datacollectionrules/" in r["path"].lower() for r in emulator.requests())
    report = az("aks", "image-cleaner", "report", *cluster.args, "--since", "30d", "-o", "json")
    assert report.code == 0, report.err
    assert report.json["summary"]["imagesRemoved"] > 0


def cluster_id(emulator, cluster):
    return emulator.cluster(*ref(cluster))["id"]


@SAME_ON_EVERY_AZ
def test_lines_in_the_legacy_table_warn_that_its_support_ended(az, emulator, make_cluster, group):
    body = cluster_body(windows=False, virtual=False, monitoring="ws-cover")
    cluster = make_cluster(body=body, resource_group=group)
    agent(emulator, cluster, settings=LEGACY_SCHEMA)
    assert emulator.history(*ref(cluster), days=30, candidates=10, vulnerable=4) >= 4
    emulator.clear_requests()
    result = check(az, *cluster.args)
    checks = by_name(result)
    assert (checks["history"]["status"], result.code) == ("warn", 0), checks["history"]
    assert (
        "are in the legacy ContainerLog table, whose support was retired on 30 September 2026"
        in (checks["history"]["detail"])
    )
    assert 'containerlog_schema_version = "v2"' in checks["history"]["fix"]
    assert checks["scanner"]["status"] == "pass"  # the history is read from the legacy table as from the new one
    assert len(log_queries(emulator)) == 1


@pytest.mark.parametrize("shape", EVERY_SHAPE)
def test_each_fault_is_found_with_its_fix(az, emulator, make_cluster, group, shape):
    cluster = healthy(emulator, make_cluster, group, **SHAPES[shape])
    # The controller OOMKilled and restarting, leaving two PodTemplates behind (eraser#487, #1169, #912).
    emulator.restart_controller(*ref(cluster), restarts=3, reason="OOMKilled", orphans=2)
    # An exclusion list Eraser cannot read: its key does not end in .json (../shared/image-cleaner.md).
    emulator.put_configmap(
        *ref(cluster),
        {
            "metadata": {"name": "team-keep", "namespace": "kube-system", "labels": {"eraser.sh/exclude.list": "true"}},
            "data": {"excluded": json.dumps({"excluded": ["docker.io/library/redis:*"]})},
        },
    )
    # A node labelled to be left out.
    emulator.node(*ref(cluster), "aks-nodepool1-2", labels={"eraser.sh/cleanup.filter": ""})
    emulator.clear_requests()
    result = check(az, *cluster.args)
    assert result.code == 1
    checks = by_name(result)
    assert checks["controller"]["status"] == "fail"
    assert "restarted 3 time(s), the last one OOMKilled" in checks["controller"]["detail"]
    assert checks["image-jobs"]["status"] == "warn"
    assert "2 PodTemplate(s) in kube-system outlived their ImageJob" in checks["image-jobs"]["detail"]
    assert checks["image-jobs"]["fix"].startswith("kubectl delete podtemplate -n kube-system imagejob-")
    assert checks["exclusion-lists"]["status"] == "fail"
    assert "team-keep: ignored by Eraser: no data key ends in '.json'" in checks["exclusion-lists"]["detail"]
    assert checks["node-pools"]["status"] == "warn"
    assert checks["node-pools"]["fix"] == "kubectl label node aks-nodepool1-2 eraser.sh/cleanup.filter-"
    assert "2 check(s) failed: controller, exclusion-lists" in result.err
    assert "Traceback" not in result.err
    if shape == "private":
        assert len(run_commands(emulator)) == 1
        assert "AKS run-command" in checks["access"]["detail"]


@SAME_ON_EVERY_AZ
@pytest.mark.parametrize("shape", SHAPES)
def test_kube_system_left_out(az, emulator, make_cluster, group, shape):
    cluster = healthy(emulator, make_cluster, group, **SHAPES[shape])
    agent(emulator, cluster, settings="[log_collection_settings.stdout]\n  enabled = true\n")
    result = check(az, *cluster.args)
    assert result.code == 1
    history = by_name(result)["history"]
    assert history["status"] == "fail"
    assert "exclude_namespaces holds kube-system" in history["detail"]
    assert "container-azm-ms-agentconfig" in history["fix"]
    assert by_name(result)["scanner"]["status"] == "skip"


@SAME_ON_EVERY_AZ
def test_a_data_collection_rule_that_leaves_kube_system_out_fails_history(az, emulator, make_cluster, group):
    cluster = make_cluster(body=cluster_body(windows=False, virtual=False), resource_group=group)
    agent(emulator, cluster)  # the ConfigMap keeps kube-system: the rule alone leaves it out
    excluded = ["kube-system", "gatekeeper-system"]
    emulator.monitoring(*ref(cluster), namespaceFilteringMode="Exclude", namespaces=excluded)
    emulator.history(*ref(cluster), days=30)
    emulator.clear_requests()
    result = check(az, *cluster.args)
    assert result.code == 1
    history = by_name(result)["history"]
    assert history["status"] == "fail", history
    assert (
        f"data collection rule MSCI-eastus-{cluster.name} leaves kube-system out (namespaceFilteringMode Exclude, "
        f"namespaces {excluded})" in history["detail"]
    )
    assert "--data-collection-settings" in history["fix"] and "container-azm-ms-agentconfig" not in history["fix"]
    assert by_name(result)["scanner"]["status"] == "skip"
    # Read from ARM as az writes it: the association named ContainerInsightsExtension, then the rule it names.
    insights = [r["path"].lower() for r in emulator.requests() if "/microsoft.insights/" in r["path"].lower()]
    assert insights == [
        f"{cluster_id(emulator, cluster)}/providers/microsoft.insights/datacollectionruleassociations/"
        "containerinsightsextension".lower(),
        f"/subscriptions/{cluster.subscription}/resourcegroups/{group}/providers/microsoft.insights/"
        f"datacollectionrules/msci-eastus-{cluster.name}".lower(),
    ]


@SAME_ON_EVERY_AZ
def test_a_data_collection_rule_the_caller_cannot_read_is_said_to_be_unknown(az, emulator, make_cluster, group):
    cluster = healthy(emulator, make_cluster, group)
    emulator.add_fault(method="GET", path_contains="/datacollectionrules/", status=403, code="AuthorizationFailed")
    result = check(az, *cluster.args)
    assert result.code == 0, result.err
    history = by_name(result)["history"]
    assert history["status"] == "pass"
    assert history["detail"].endswith(
        " Whether the data collection rule keeps it could not be read: reading it needs the role 'Monitoring Reader' "
        "(or 'Reader') on the data collection rule."
    )
    rule_reads = [r for r in emulator.requests() if "/datacollectionrules/" in r["path"].lower()]
    assert [r["status"] for r in rule_reads] == [403]


@SAME_ON_EVERY_AZ
def test_a_retention_under_two_intervals_warns(az, emulator, make_cluster, group):
    cluster = healthy(emulator, make_cluster, group, workspace=group)  # a workspace of its own: others keep 30 days
    emulator.workspace_retention(WORKSPACE.format(group), 7)
    result = check(az, *cluster.args)
    history = by_name(result)["history"]
    assert (history["status"], result.code) == ("warn", 0)
    assert "keeps 7 days, fewer than two intervals (14 days)" in history["detail"]
    assert history["fix"].startswith("az monitor log-analytics workspace update")


@SAME_ON_EVERY_AZ
@pytest.mark.parametrize("shape", SHAPES)
def test_a_scanner_without_its_database_removes_what_it_could_not_scan(az, emulator, make_cluster, group, shape):
    cluster = make_cluster(body=cluster_body(windows=False, virtual=False, **SHAPES[shape]), resource_group=group)
    if SHAPES[shape].get("aad"):
        emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
    agent(emulator, cluster)
    faults = {f"aks-nodepool1-{n}": "scanner-db-unavailable" for n in range(8)}
    assert emulator.history(*ref(cluster), days=30, faults=faults) >= 4
    result = check(az, *cluster.args)
    scanner = by_name(result)["scanner"]
    assert scanner["status"] == "fail", scanner
    assert "were of images the scanner could not scan" in scanner["detail"]
    assert scanner["fix"].startswith("az aks image-cleaner exclusion add")
    assert result.code == 1


@SAME_ON_EVERY_AZ
@pytest.mark.parametrize(
    "kubernetes, status, words",
    [
        ("1.35.1", "warn", "Eraser v1.4.0 is behind v1.4.0-10, which AKS ships with Kubernetes 1.35"),
        ("1.32.7", "pass", "Eraser v1.4.0, as AKS ships with Kubernetes 1.32 (v1.3.1)"),
        ("1.34.2", "skip", "AKS documents no image-cleaner version for Kubernetes 1.34"),
    ],
)
def test_eraser_s_version_against_what_aks_documents(az, emulator, make_cluster, group, kubernetes, status, words):
    body = cluster_body(windows=False, virtual=False, monitoring=None)
    body["properties"].update(kubernetesVersion=kubernetes, currentKubernetesVersion=kubernetes)
    cluster = make_cluster(body=body, resource_group=group)
    version = by_name(check(az, *cluster.args))["version"]
    assert (version["status"], words in version["detail"]) == (status, True), version


@SAME_ON_EVERY_AZ
def test_image_cleaner_off_fails_with_the_command_that_turns_it_on(az, emulator, make_cluster, group):
    body = cluster_body(windows=True, virtual=False, monitoring=None)
    body["properties"]["securityProfile"]["imageCleaner"] = {"enabled": False, "intervalHours": 48}
    cluster = make_cluster(body=body, resource_group=group)
    result = check(az, *cluster.args)
    assert result.code == 1
    checks = by_name(result)
    assert checks["setting"]["status"] == "fail"
    assert checks["setting"]["fix"] == f"az aks update -g {group} -n {cluster.name} --enable-image-cleaner"
    assert checks["node-pools"]["status"] == "warn"
    assert "Windows node pool(s) win1" in checks["node-pools"]["detail"]
    assert checks["history"]["status"] == "warn"
    assert checks["history"]["fix"] == f"az aks enable-addons -a monitoring -g {group} -n {cluster.name}"


@pytest.mark.parametrize("private", [False, True], ids=["api-server", "run-command"])
def test_a_reader_gets_skips_that_name_the_role(az, emulator, make_cluster, group, private):
    body = cluster_body(windows=False, virtual=False, monitoring=None, aad=True, private=private)
    cluster = make_cluster(body=body, resource_group=group)
    emulator.role_assignments(*ref(cluster), (READER, None))
    emulator.clear_requests()
    result = check(az, *cluster.args)
    checks = by_name(result)
    assert result.code == 0, result.err
    assert len(run_commands(emulator)) == int(private)  # the refused reads did not end the plan
    for name in ("image-jobs", "workers"):  # ImageJobs and nodes: no Reader's (Azure/AKS#3336)
        assert checks[name]["status"] == "skip", checks[name]
        assert "Azure Kubernetes Service RBAC Cluster Admin" in checks[name]["detail"]
    assert checks["controller"]["status"] == "pass"  # a Reader may list kube-system's pods
    assert checks["setting"]["status"] == "pass"


def test_a_reader_of_a_monitored_cluster_gets_the_workers_from_container_insights(az, emulator, make_cluster, group):
    cluster = healthy(emulator, make_cluster, group, aad=True)
    emulator.role_assignments(*ref(cluster), (READER, None))
    emulator.clear_requests()
    result = check(az, *cluster.args)
    checks = by_name(result)
    assert result.code == 0, result.err
    # Nodes cannot be listed live, but Container Insights sampled them: the latest run is judged from there.
    assert checks["workers"]["status"] == "pass", checks["workers"]
    assert "Every eligible node (8) was cleaned" in checks["workers"]["detail"]
    assert checks["image-jobs"]["status"] == "skip"
    assert "Azure Kubernetes Service RBAC Cluster Admin" in checks["image-jobs"]["detail"]


@SAME_ON_EVERY_AZ
def test_a_private_cluster_without_run_command_fails_access_and_skips_the_cluster_side(az, emulator, make_cluster,
                                                                                       group):  # fmt: skip
    body = cluster_body(windows=False, virtual=False, private=True)
    body["properties"]["apiServerAccessProfile"]["disableRunCommand"] = True
    cluster = make_cluster(body=body, resource_group=group)
    result = check(az, *cluster.args)
    assert result.code == 1
    checks = by_name(result)
    assert checks["access"]["status"] == "fail"
    assert checks["access"]["fix"]
    assert all(checks[n]["status"] == "skip" for n in ("controller", "image-jobs", "workers", "version"))
    assert checks["setting"]["status"] == "pass"


def test_a_fleet_gets_a_row_per_cluster_in_one_query_per_workspace(az, emulator, make_cluster, group):
    good = healthy(emulator, make_cluster, group)
    off = make_cluster(image_cleaner=(False, 72), resource_group=group)
    windows = make_cluster(body=cluster_body(windows=True, virtual=False, monitoring=None), resource_group=group)
    emulator.clear_requests()
    result = az("aks", "image-cleaner", "check", "--all", "-g", group, "-o", "json")
    assert result.code == 1
    rows = {r["name"]: r for r in result.json}
    assert (rows[good.name]["fail"], rows[good.name]["warn"]) == ([], []), rows[good.name]
    assert rows[off.name]["fail"] == ["setting"]
    assert rows[windows.name]["warn"] == ["node-pools", "history"]
    assert "controller" in rows[good.name]["notChecked"]
    assert len(log_queries(emulator)) == 1  # one workspace
    assert "1 of 3 cluster(s) fail a check" in result.err


@pytest.mark.parametrize("select", ["--all", "--ids"])
def test_a_fleet_reads_the_data_collection_rules_in_one_resource_graph_query(az, emulator, make_cluster, group, select):
    good = healthy(emulator, make_cluster, group)
    excluding = healthy(emulator, make_cluster, group)
    emulator.monitoring(*ref(excluding), namespaceFilteringMode="Exclude", namespaces=["kube-system"])
    emulator.clear_requests()
    selection = (
        ["--all", "-g", group]
        if select == "--all"
        else ["--ids", *(cluster_id(emulator, c) for c in (good, excluding))]
    )
    result = az("aks", "image-cleaner", "check", *selection, "-o", "json")
    assert result.code == 1
    rows = {r["name"]: r for r in result.json}
    assert (rows[good.name]["fail"], rows[good.name]["warn"]) == ([], []), rows[good.name]
    assert rows[excluding.name]["fail"] == ["history"], rows[excluding.name]
    checks = {c["name"]: c for c in rows[excluding.name]["checks"]}
    assert (
        f"data collection rule MSCI-eastus-{excluding.name} leaves kube-system out (namespaceFilteringMode Exclude"
        in checks["history"]["detail"]
    )
    assert checks["scanner"]["status"] == "skip"
    # The rules come from Resource Graph in one query, not from ARM a cluster at a time.
    rule_queries = [q for q in graph_queries(emulator) if "InsightsResources" in q["body"]["query"]]
    assert len(rule_queries) == 1
    assert rule_queries[0]["body"]["subscriptions"] == [excluding.subscription]
    assert not [r for r in emulator.requests() if "/microsoft.insights/" in r["path"].lower()]


@SAME_ON_EVERY_AZ
def test_a_fleet_whose_rules_resource_graph_refuses_says_they_are_unknown(az, emulator, make_cluster, group):
    cluster = healthy(emulator, make_cluster, group)
    emulator.configure(graph_forbidden=True)  # --ids reads the clusters from ARM; Resource Graph says 403
    result = az("aks", "image-cleaner", "check", "--ids", cluster_id(emulator, cluster), "-o", "json")
    assert result.code == 0, result.err
    (row,) = result.json
    history = {c["name"]: c for c in row["checks"]}["history"]
    assert history["status"] == "pass"
    assert (
        "Whether the data collection rule keeps kube-system could not be read: Resource Graph's query failed"
        in (history["detail"])
    )
    assert "The data collection rules could not be read from Resource Graph" in result.err


@SAME_ON_EVERY_AZ
def test_a_rule_resource_graph_does_not_show_the_login_is_said_to_be_unknown(az, emulator, make_cluster, group):
    cluster = healthy(emulator, make_cluster, group)
    emulator.configure(graph_rules_hidden=True)  # the association is shown, the rule it names is not
    result = az("aks", "image-cleaner", "check", "--all", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    (row,) = result.json
    history = {c["name"]: c for c in row["checks"]}["history"]
    assert history["status"] == "pass"
    assert (
        f"Whether the data collection rule keeps kube-system could not be read: Resource Graph does not show data "
        f"collection rule MSCI-eastus-{cluster.name} to this login (it needs 'Monitoring Reader' or 'Reader' on the "
        "rule)." in history["detail"]
    )


def graph_queries(emulator):
    return [r for r in emulator.requests() if r["path"].lower() == "/providers/microsoft.resourcegraph/resources"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["-g", "rg"], "Give the cluster with --resource-group and --name"),
        (["--all", "--ids", "/subscriptions/x"], "--all"),
        (["-g", "rg", "-n", "c", "--subscriptions", "x"], "--subscriptions and --management-group narrow a fleet"),
    ],
)
def test_bad_input_is_refused_before_any_request(az, emulator, args, message):
    result = az("aks", "image-cleaner", "check", *args)
    assert result.code != 0
    assert message in result.err
    assert "Traceback" not in result.err
    assert emulator.requests() == []


@SAME_ON_EVERY_AZ
def test_collect_kube_system_setting_is_the_one_history_tests_use():
    assert "kube-system" not in COLLECT_KUBE_SYSTEM.split("exclude_namespaces")[-1].split("\n")[0]


def test_help_has_an_example_for_each_way_to_use_it(az):
    result = az("aks", "image-cleaner", "check", "--help")
    assert result.code == 0, result.err
    for text in ("--all --subscriptions Prod Dev", "--transport run-command", "--only-show-errors -o none",
                 "summary.warn", "checks[?status!='pass']"):  # fmt: skip
        assert text in result.out
