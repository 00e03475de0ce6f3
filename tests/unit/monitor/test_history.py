"""The history query and its rows (monitor/history_rows.py), run through the emulator's KQL engine (duckdb-kql)
over rows of both Container Insights schemas, and the rules around it: --since, chunks, the agent's settings."""

import datetime
import json
import time

import pytest
from azure.cli.core.azclierror import InvalidArgumentValueError

from armemulator.eraser import logs as eraser_logs
from armemulator.eraser.controller import NODE_IMAGES, matches
from armemulator.loganalytics import agent, endpoint
from armemulator.loganalytics.store import LogStore
from azext_imagecleaner.eraser.report import Parsed, parse_lines, report
from azext_imagecleaner.monitor import history_query as hq
from azext_imagecleaner.monitor import history_rows

# The emulator's engine and the extension's pure rows: no az command runs here, so the az-release matrix
# (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az

WORKSPACE = "/subscriptions/s/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/ws"
CLUSTER = "/subscriptions/s/resourcegroups/RG/providers/Microsoft.ContainerService/managedClusters/c{}"


def doc(number):
    return {
        "id": CLUSTER.format(number),
        "properties": {
            "addonProfiles": {"omsagent": {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE}}}
        },
    }


def settings(schema=None, excluded=("gatekeeper-system",)):
    text = "".join(
        f"[log_collection_settings.{stream}]\nenabled = true\nexclude_namespaces = {json.dumps(list(excluded))}\n"
        for stream in ("stdout", "stderr")
    )
    if schema:
        text += f'[log_collection_settings.schema]\ncontainerlog_schema_version = "{schema}"\n'
    return {"data": {agent.SETTINGS_KEY: text}}


def scheduled_run(store, number, configmap, node="aks-nodepool1-0", started=None):
    started = started or time.time() - 3600
    ticks = iter(range(10_000))
    texts, _ = eraser_logs.scheduled_run(
        node,
        json.loads(json.dumps(NODE_IMAGES)),
        ["mcr.microsoft.com/*"],
        matches,
        lambda: started + next(ticks) / 1000,
    )
    store.collect(doc(number), configmap, f"eraser-aks-run{number}", node, texts, started)
    return texts


@pytest.fixture
def store():
    return LogStore()


def workspace_id(store):
    return store.workspace(WORKSPACE)["properties"]["customerId"]


def answer(store, text, timespan="P1D", **scope):
    """The query's answer on the emulator's engine, as the extension reads it: rows as dicts by column name."""
    result = store.query(text, timespan, **scope)
    names = [name for name, _ in result.columns]
    return [dict(zip(names, row, strict=True)) for row in result.rows]


def live_report(pods, node="aks-nodepool1-0"):
    """The live reading of {pod: {container: [line]}}, in process."""
    live = Parsed()
    for pod, texts in pods.items():
        for container, lines in texts.items():
            parse_lines([line for line in lines if line.strip()], node, container, live, pod)
    return report(live)


def test_both_schemas_give_the_rows_the_live_logs_give(store):
    texts = scheduled_run(store, 1, settings())
    scheduled_run(store, 2, settings("v1"))
    found = history_rows.read(answer(store, hq.query(), workspace=workspace_id(store)))
    assert set(found) == {CLUSTER.format(1).lower(), CLUSTER.format(2).lower()}
    expected = live_report({"eraser-aks-run1": {c: t.splitlines() for c, t in texts.items()}})
    for number, result in enumerate(found.values(), start=1):
        assert result["rows"] == [dict(r, pod=f"eraser-aks-run{number}") for r in expected["rows"]]
        assert result["totals"] == expected["totals"]
        assert result["skippedLines"] == expected["skippedLines"] == 0


def test_the_answer_is_what_is_printed_not_the_log(store):
    texts = scheduled_run(store, 1, settings())
    rows = answer(store, hq.query(), workspace=workspace_id(store))
    written = sum(len(t.splitlines()) for t in texts.values())
    assert {r["Kind"] for r in rows} == {"row", "summary"}  # no line was skipped: no "skipped" row
    assert len([r for r in rows if r["Kind"] == "row"]) == 5 < written  # the five images the remover was given
    assert not any("{" in str(v) for r in rows for v in r.values() if isinstance(v, str) and v.startswith("{"))
    fleet = answer(store, hq.query([CLUSTER.format(1)], fleet=True), workspace=workspace_id(store))
    assert {r["Kind"] for r in fleet} == {"image", "node", "summary"}


def _with_times(lines, start):
    """The lines with a millisecond between them, as a run writes them (Container Insights orders by time)."""
    out = []
    for number, line in enumerate(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        out.append(json.dumps(dict(entry, ts=start + number / 1000)))
    return out


def statement_pods():
    """{pod: {container: [line]}}: every statement of Eraser v1.0 to v1.4.1 in one pod, each real excerpt in one,
    and a scheduled run whose scanner panics."""
    from tests.unit.eraser import test_report_statements as statements

    containers = {}
    for _, container, logger_name, level, msg, fields, _ in statements.STATEMENTS:
        containers.setdefault(container, []).append(statements.zap(logger_name, msg, level, **fields))
    pods = {
        "eraser-aks-statements": containers,
        "eraser-aks-real1107": {"remover": [statements.REAL_REMOVER_1107]},
        "eraser-aks-real594": {"collector": statements.REAL_COLLECTOR_594[1:]},  # [0] is kubectl's banner
        "eraser-aks-real760b": {"trivy-scanner": statements.REAL_SCANNER_760B},
    }
    ticks = iter(range(10_000))
    panic, _ = eraser_logs.scheduled_run(
        "aks-nodepool1-0", json.loads(json.dumps(NODE_IMAGES)), [], matches, lambda: 1.7e9 + next(ticks) / 1000,
        eraser_logs.SCANNER_PANIC,
    )  # fmt: skip
    pods["eraser-aks-panic"] = {c: text.splitlines() for c, text in panic.items()}
    started = time.time() - 3600
    return {pod: {c: _with_times(lines, started) for c, lines in texts.items()} for pod, texts in pods.items()}


def collect(store, pods, schema, number=1, node="aks-nodepool1-0"):
    started = time.time() - 3600
    for pod, texts in pods.items():
        store.collect(doc(number), settings(None if schema == "v2" else "v1"), pod, node,
                      {c: "\n".join(lines) + "\n" for c, lines in texts.items()}, started)  # fmt: skip


def _key(row):
    return json.dumps(row, sort_keys=True)


@pytest.mark.parametrize("schema", ["v2", "v1"])
def test_every_eraser_statement_reads_from_history_as_it_reads_live(store, schema):
    """One set of rules, two engines: each statement of Eraser v1.0 to v1.4.1, the real excerpts and a Go panic,
    read live in process and by the history's query on the emulator's KQL engine: the same rows, totals and lines
    skipped."""
    pods = statement_pods()
    collect(store, pods, schema)
    expected = live_report(pods)
    (found,) = history_rows.read(answer(store, hq.query(), workspace=workspace_id(store))).values()
    assert sorted(found["rows"], key=_key) == sorted(expected["rows"], key=_key)
    assert len(found["rows"]) > 40 and {r["outcome"] for r in found["rows"]} >= {"other", "run failed", "removed"}
    assert (found["totals"], found["skippedLines"]) == (expected["totals"], expected["skippedLines"])


def by_image(rows):
    """The fleet's row per image and outcome, restated from its definition, for comparing with the query's."""
    groups = {}
    for row in rows:
        own = row["outcome"] == "run failed" or not (row["image"] or row["digest"])
        key = (row["image"], row["digest"], row["outcome"], row["detail"] if own else None)
        groups.setdefault(key, []).append(row)
    found = []
    for (image, digest, outcome, _), members in groups.items():
        times = [r["time"] for r in members if r["time"]]
        with_detail = [r for r in members if r["detail"]]
        latest = max((r["time"] or "" for r in with_detail), default=None)
        verdicts = [r["vulnerable"] for r in members if r["vulnerable"] is not None]
        found.append(
            {
                "image": image,
                "digest": digest,
                "outcome": outcome,
                "vulnerable": True if True in verdicts else False if verdicts else None,
                "nodes": len({r["node"] for r in members}),
                "runs": len(members),
                "first": min(times, default=None),
                "last": max(times, default=None),
                # The latest row's detail: any of them where rows of one second differ.
                "detail": sorted({r["detail"] for r in with_detail if (r["time"] or "") == latest}),
            }
        )
    return sorted(found, key=_key)


def matches_by_image(images, expected):
    """The query's images are `expected` (by_image), one for one, each detail one of those its definition allows."""
    left = list(expected)
    for image in images:
        same = [e for e in left if {**e, "detail": None} == {**image, "detail": None}]
        allowed = next((e for e in same if image["detail"] in (e["detail"] or [None])), None)
        assert allowed is not None, (image, same)
        left.remove(allowed)
    assert left == []


@pytest.mark.parametrize("schema", ["v2", "v1"])
def test_the_fleet_query_gives_the_live_rows_per_image_and_outcome(store, schema):
    pods = statement_pods()
    collect(store, pods, schema)
    for node in ("aks-nodepool1-1", "aks-nodepool1-2"):
        scheduled_run(store, 1, settings(None if schema == "v2" else "v1"), node=node)
    rows = answer(store, hq.query(), workspace=workspace_id(store))
    (single,) = history_rows.read(rows).values()
    (fleet,) = history_rows.read(
        answer(store, hq.query([CLUSTER.format(1)], fleet=True), workspace=workspace_id(store))
    ).values()
    matches_by_image(history_rows.public(fleet["images"]), by_image(single["rows"]))
    assert fleet["totals"] == single["totals"] and fleet["skippedLines"] == single["skippedLines"]
    assert fleet["summary"] == single["summary"]
    removed = [r for r in single["rows"] if r["outcome"] == "removed"]
    assert single["summary"] == {
        "imagesRemoved": len(removed),
        "vulnerableRemoved": sum(1 for r in removed if r["vulnerable"]),
        "failures": sum(1 for r in single["rows"] if r["outcome"] in ("removal failed", "run failed")),
        "lastRun": max(r["time"] for r in single["rows"] if r["time"]),
    }


@pytest.mark.parametrize("fleet", [False, True], ids=["rows", "per image"])
def test_the_parts_of_a_cluster_s_nodes_add_up_to_the_whole(store, fleet):
    for node in ("aks-nodepool1-0", "aks-nodepool1-1", "aks-nodepool1-2", "aks-nodepool1-3"):
        scheduled_run(store, 1, settings(), node=node)
    collect(store, statement_pods(), "v2")
    ids = [CLUSTER.format(1)]
    (whole,) = history_rows.read(answer(store, hq.query(ids, fleet=fleet), workspace=workspace_id(store))).values()
    parts = []
    for part in ((0, 4), (1, 4), (2, 4), (3, 4)):
        found = history_rows.read(answer(store, hq.query(ids, fleet=fleet, part=part), workspace=workspace_id(store)))
        parts += found.values()
    assert len(parts) >= 2  # the nodes fell into more than one part
    combined = parts[0]
    for part in parts[1:]:
        combined = history_rows.combine(combined, part)
    if fleet:
        (rows,) = history_rows.read(answer(store, hq.query(ids), workspace=workspace_id(store))).values()
        matches_by_image(history_rows.public(combined.pop("images")), by_image(rows["rows"]))
        matches_by_image(history_rows.public(whole.pop("images")), by_image(rows["rows"]))
    assert combined == whole


def test_the_fleet_query_names_its_clusters_in_lower_case_and_sees_only_them(store):
    scheduled_run(store, 1, settings())
    scheduled_run(store, 2, settings())
    text = hq.query([CLUSTER.format(2)], fleet=True)
    assert CLUSTER.format(2).lower() in text and CLUSTER.format(2) not in text
    assert set(history_rows.read(answer(store, text, workspace=workspace_id(store)))) == {CLUSTER.format(2).lower()}


def test_a_resource_centric_query_sees_only_its_resource_and_the_timespan_bounds_it(store):
    scheduled_run(store, 1, settings(), started=time.time() - 10 * 86400)
    scheduled_run(store, 2, settings())
    assert answer(store, hq.query(), "P7D", resource=CLUSTER.format(1)) == []
    assert set(history_rows.read(answer(store, hq.query(), "P15D", resource=CLUSTER.format(1)))) == {
        CLUSTER.format(1).lower()
    }


def test_an_agent_that_leaves_kube_system_out_writes_nothing(store):
    scheduled_run(store, 1, settings(excluded=("kube-system",)))
    scheduled_run(store, 2, None)  # no ConfigMap: the template's default leaves kube-system out
    assert answer(store, hq.query(), workspace=workspace_id(store)) == []


def test_a_part_of_the_nodes_is_a_set_of_buckets_and_the_parts_cover_them_once():
    for n in (1, 2, 3, 16, 256):
        parts = [set(hq.part_buckets((k, n))) for k in range(n)]
        assert sorted(b for p in parts for b in p) == [f"{b:02x}" for b in range(256)]
    assert "buckets" not in hq.query(part=(0, 1)) and "hash_sha256(Computer)" in hq.query(part=(1, 2))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", datetime.timedelta(hours=12)),
        ("7d", datetime.timedelta(days=7)),
        ("2w", datetime.timedelta(weeks=2)),
        ("P30D", datetime.timedelta(days=30)),
        ("pt12h", datetime.timedelta(hours=12)),
        ("P1DT12H", datetime.timedelta(days=1, hours=12)),
    ],
)
def test_since(text, expected):
    assert history_rows.parse_since(text) == expected


@pytest.mark.parametrize(
    "window, words, timespan",
    [
        (datetime.timedelta(days=30), "30 days", "PT2592000S"),
        (datetime.timedelta(days=1), "day", "PT86400S"),
        (datetime.timedelta(hours=12), "12 hours", "PT43200S"),  # not "0 days"
        (datetime.timedelta(hours=1), "hour", "PT3600S"),
        (datetime.timedelta(days=1, hours=12), "36 hours", "PT129600S"),
    ],
)
def test_a_window_in_words_and_as_the_query_s_timespan(window, words, timespan):
    from azext_imagecleaner.monitor import fanout

    assert (fanout.window_words(window), fanout.timespan(window)) == (words, timespan)


@pytest.mark.parametrize("text", ["", "7", "0d", "P", "PT", "P1Y", "1.5d", "-7d", "P1M", "30 days"])
def test_a_bad_since_names_the_flag_and_the_value(text):
    with pytest.raises(InvalidArgumentValueError) as err:
        history_rows.parse_since(text)
    assert err.value.error_msg.startswith(f"--since {text} is not a window of time")


def test_a_cut_plan_halves_its_clusters_then_one_cluster_s_nodes():
    from azext_imagecleaner.monitor.fanout import Plan

    plan = Plan("workspace w", "customer", None, ("a", "b", "c"))
    assert [p.members for p in plan.halves()] == [("a",), ("b", "c")]
    one = Plan("cluster c", None, "a", ("a",))
    assert [p.part for p in one.halves()] == [(0, 2), (1, 2)]
    assert [p.part for p in one._replace(part=(1, 2)).halves()] == [(1, 4), (3, 4)]
    assert one._replace(part=(5, 256)).halves() == ()  # one bucket of nodes: no smaller part


@pytest.mark.parametrize(
    ("configmap", "gap"),
    [
        (None, "is absent"),
        (settings(excluded=("kube-system",)), "stderr.exclude_namespaces holds kube-system"),
        ({"data": {agent.SETTINGS_KEY: "[log_collection_settings.stdout]\nenabled = true\n"}}, "(by default"),
        ({"data": {agent.SETTINGS_KEY: "[[[ not toml"}}, "cannot be read as TOML"),
        (settings(), None),
        (
            {"data": {agent.SETTINGS_KEY: "[log_collection_settings.stderr]\nexclude_namespaces = []\n"}},
            None,  # one stream takes kube-system: Eraser's lines are collected
        ),
    ],
)
def test_collection_gap_names_the_setting(configmap, gap):
    found = history_rows.collection_gap(configmap)
    assert (found is None) if gap is None else (gap in found)


def test_the_extension_and_the_emulated_agent_agree_on_what_is_collected():
    for configmap in (None, settings(), settings(excluded=("kube-system",)), settings("v1")):
        assert (history_rows.collection_gap(configmap) is None) == agent.collects(
            agent.settings(configmap), "kube-system"
        )


RULE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/dataCollectionRules/MSCI-eastus-c1"
RULES = [
    # (the rule's dataCollectionSettings, its streams, what the gap says or None)
    ({"enableContainerLogV2": True}, ["Microsoft-ContainerInsights-Group-Default"], None),
    ({"namespaceFilteringMode": "Off", "namespaces": ["kube-system"]}, [], None),
    (
        {"namespaceFilteringMode": "Exclude", "namespaces": ["kube-system", "gatekeeper-system"]},
        [],
        "leaves kube-system out",
    ),
    ({"namespaceFilteringMode": "Exclude", "namespaces": ["gatekeeper-system"]}, [], None),
    ({"namespaceFilteringMode": "Include", "namespaces": ["default", "team-a"]}, [], "keeps only namespaces"),
    ({"namespaceFilteringMode": "Include", "namespaces": ["kube-system"]}, [], None),
    ({}, ["Microsoft-KubePodInventory", "Microsoft-Perf"], "sends no container logs"),
    ({}, ["Microsoft-ContainerLogV2-HighScale", "Microsoft-KubeEvents"], None),
]


@pytest.mark.parametrize(("settings_", "streams", "gap"), RULES)
def test_rule_gap_names_the_rule_and_its_setting(settings_, streams, gap):
    found = history_rows.rule_gap({"id": RULE_ID, "settings": settings_, "streams": streams})
    assert (found is None) if gap is None else (gap in found and "MSCI-eastus-c1" in found)


def test_no_rule_is_no_gap():
    assert history_rows.rule_gap(None) is None


def extensions(settings_, streams):
    # As az writes a rule (azure-cli acs/addonconfiguration.py), beside another extension of the same rule.
    return [
        {"name": "Other", "extensionName": "OtherExtension", "streams": ["Microsoft-Perf"]},
        {
            "name": "ContainerInsightsExtension",
            "extensionName": "ContainerInsights",
            "streams": streams,
            "extensionSettings": {"dataCollectionSettings": settings_},
        },
    ]


@pytest.mark.parametrize(("settings_", "streams", "gap"), RULES)
def test_a_rule_read_from_arm_or_resource_graph_is_judged_by_its_container_insights_extension(settings_, streams, gap):
    rule = history_rows.container_insights_rule(RULE_ID, extensions(settings_, streams))
    assert rule == {"id": RULE_ID, "settings": settings_, "streams": streams}
    assert history_rows.rule_from_graph((RULE_ID, extensions(settings_, streams))) == (rule, None)
    assert (history_rows.rule_gap(rule) is None) == (gap is None)


def test_a_rule_without_the_container_insights_extension_keeps_nothing_back():
    assert history_rows.container_insights_rule(RULE_ID, None) == {"id": RULE_ID, "settings": {}, "streams": []}
    assert history_rows.rule_gap(history_rows.container_insights_rule(RULE_ID, [])) is None


def test_resource_graph_without_the_rule_makes_it_unknown_not_absent():
    assert history_rows.rule_from_graph(None) == (None, None)  # no association: nothing to judge
    rule, why = history_rows.rule_from_graph((RULE_ID, None))
    assert rule is None
    assert "does not show data collection rule MSCI-eastus-c1" in why and "'Monitoring Reader'" in why


def test_the_extension_and_the_emulated_agent_agree_on_what_a_rule_lets_through():
    for settings_, streams, _ in RULES:
        rule = {**settings_, **({"streams": streams} if streams else {})}
        assert (history_rows.rule_gap({"id": RULE_ID, "settings": settings_, "streams": streams}) is None) == (
            agent.rule_keeps(rule, "kube-system")
        )


def test_the_query_api_takes_only_a_token_for_its_own_endpoint():
    endpoint.check_token({"aud": "https://127.0.0.1:1234/"}, "https://127.0.0.1:1234")
    for claims in (None, {"aud": "https://management.core.windows.net/"}, {"aud": "6dae42f8"}):
        with pytest.raises(endpoint.QueryError) as err:
            endpoint.check_token(claims, "https://127.0.0.1:1234")
        assert err.value.status == 401
