"""Eraser's history from Azure Monitor (Container Insights), read from the answers of `history_query` (pure: rows
in, results out), and the rules around it: --since, and what Container Insights collects.

Eraser's worker pods are deleted about 10 minutes after a run, and their logs with them; Container Insights keeps
the lines in the cluster's Log Analytics workspace (../shared/container-insights.md). The query computes the report
there; an answer's rows are read here by column name, one `Kind` at a time.
"""

import datetime
import re

from azext_imagecleaner.eraser import statements
from azext_imagecleaner.eraser.report import totals
from azext_imagecleaner.eraser.statements import RUN_FAILED
from azext_imagecleaner.monitor import history_query as hq

NAMESPACE = hq.NAMESPACE

_SHORT = re.compile(r"^(?P<amount>[0-9]+)(?P<unit>[hdw])$")
_ISO = re.compile(
    r"^P(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?"
    r"(?:(?P<seconds>[0-9]+)S)?)?$"
)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text, flag="--since"):
    """The window of --since: `12h`, `7d`, `2w`, or an ISO 8601 duration (`P30D`, `PT12H`, `P1DT12H`)."""
    from azure.cli.core.azclierror import InvalidArgumentValueError

    value = (text or "").strip()
    short, iso = _SHORT.match(value.lower()), _ISO.match(value.upper())
    if short:
        window = datetime.timedelta(**{_UNITS[short["unit"]]: int(short["amount"])})
    elif iso and value.upper() not in ("P", "PT") and not value.upper().endswith("T"):
        window = datetime.timedelta(**{k: int(v) for k, v in iso.groupdict().items() if v})
    else:
        window = None
    if not window:
        raise InvalidArgumentValueError(
            f"{flag} {text} is not a window of time: give hours, days or weeks (12h, 7d, 2w) or an ISO 8601 "
            "duration (P30D, PT12H).",
            f"For example: {flag} 30d",
        )
    return window


def _text(value):
    """A string column's value: the service answers an empty string where the report has none."""
    return value if value not in ("", None) else None


def _time(value):
    """A datetime column's value (azure-monitor-query gives a datetime; the text is ISO 8601) as the report's time:
    UTC, to the second."""
    if value in ("", None):
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(value):
    return int(value or 0)


def _cluster(found, row):
    return found.setdefault(
        (row.get("_ResourceId") or "").lower(),
        {"rows": [], "images": [], "byNode": {}, "skippedLines": 0, "summary": None},
    )


def read(rows):
    """{cluster resource ID (lower case): its history} from an answer's rows (dicts by column name), one cluster's
    or a fleet's: `rows` (one cluster), `images` (a fleet), `totals`, `skippedLines` and `summary`."""
    found = {}
    for row in rows:
        kind, cluster = row.get("Kind"), _cluster(found, row)
        if kind == hq.ROW:
            scan = _text(row.get("Scan"))
            cluster["rows"].append(
                {
                    "node": _text(row.get("Node")),
                    "image": _text(row.get("Image")),
                    "digest": _text(row.get("Digest")),
                    "outcome": row.get("Outcome"),
                    "detail": _text(row.get("Detail")),
                    "container": _text(row.get("Container")),
                    "pod": _text(row.get("Pod")),
                    "time": _time(row.get("Time")),
                    "vulnerable": statements.vulnerable(scan),
                    "scan": scan,
                }
            )
        elif kind == hq.IMAGE:
            cluster["images"].append(_image(row))
        elif kind == hq.NODE:
            node = cluster["byNode"].setdefault(_text(row.get("Node")), {})
            node[row.get("Outcome")] = _count(row.get("Count"))
        elif kind == hq.SKIPPED:
            cluster["skippedLines"] = _count(row.get("Count"))
        elif kind == hq.SUMMARY:
            cluster["summary"] = {
                "imagesRemoved": _count(row.get("ImagesRemoved")),
                "vulnerableRemoved": _count(row.get("VulnerableRemoved")),
                "failures": _count(row.get("Failures")),
                "lastRun": _time(row.get("LastRun")),
            }
    return {resource: _finish(cluster) for resource, cluster in found.items()}


def _image(row):
    vulnerable_runs, clean_runs = _count(row.get("VulnerableRuns")), _count(row.get("CleanRuns"))
    return {
        "image": _text(row.get("Image")),
        "digest": _text(row.get("Digest")),
        "outcome": row.get("Outcome"),
        "vulnerable": True if vulnerable_runs else False if clean_runs else None,
        "nodes": _count(row.get("Nodes")),
        "runs": _count(row.get("Runs")),
        "first": _time(row.get("First")),
        "last": _time(row.get("Last")),
        "detail": _text(row.get("Detail")),
        # What combining two parts of a cluster needs (`combine`); not printed.
        "_runs": (vulnerable_runs, clean_runs),
        "_detailPick": float(row.get("DetailPick") if row.get("DetailPick") is not None else -1),
    }


def public(images):
    """The images as printed."""
    return [{k: v for k, v in image.items() if not k.startswith("_")} for image in images]


def combine(a, b):
    """One cluster's history from two parts of its nodes (`history_query`'s parts): every node is in one part, so
    rows, runs and counts add up, and an image's nodes too."""
    images = {}
    for image in a["images"] + b["images"]:
        detail = image["detail"] if image["outcome"] == RUN_FAILED or not (image["image"] or image["digest"]) else None
        key = (image["image"], image["digest"], image["outcome"], detail)
        if key not in images:
            images[key] = dict(image)
            continue
        merged = images[key]
        runs = tuple(x + y for x, y in zip(merged["_runs"], image["_runs"], strict=True))
        merged.update(
            nodes=merged["nodes"] + image["nodes"],
            runs=merged["runs"] + image["runs"],
            first=min((t for t in (merged["first"], image["first"]) if t), default=None),
            last=max((t for t in (merged["last"], image["last"]) if t), default=None),
            vulnerable=True if runs[0] else False if runs[1] else None,
            _runs=runs,
        )
        if image["_detailPick"] > merged["_detailPick"]:
            merged.update(detail=image["detail"], _detailPick=image["_detailPick"])
    by_node = {**a["totals"]["byNode"], **b["totals"]["byNode"]}
    summaries = (a["summary"], b["summary"])
    return _finish(
        {
            "rows": a["rows"] + b["rows"],
            "images": list(images.values()),
            "byNode": by_node,
            "skippedLines": a["skippedLines"] + b["skippedLines"],
            "summary": {
                **{k: sum(s[k] for s in summaries) for k in ("imagesRemoved", "vulnerableRemoved", "failures")},
                "lastRun": max((s["lastRun"] for s in summaries if s["lastRun"]), default=None),
            },
        }
    )


def _oldest_first(row):
    return tuple(row[k] or "" for k in ("time", "node", "image", "pod", "container", "outcome", "detail"))


def _finish(cluster):
    """Rows oldest first across the cluster (live, a node's rows go together); images by their first time."""
    rows = sorted(cluster["rows"], key=_oldest_first)
    if rows:
        found_totals = totals(rows)
    else:
        by_node = {n: dict(sorted(c.items())) for n, c in sorted(cluster["byNode"].items(), key=lambda i: i[0] or "")}
        by_outcome = {}
        for counts in by_node.values():
            for outcome, count in counts.items():
                by_outcome[outcome] = by_outcome.get(outcome, 0) + count
        found_totals = {"byOutcome": dict(sorted(by_outcome.items())), "byNode": by_node}
    images = sorted(cluster["images"], key=lambda g: (g["first"] or "", g["image"] or "", g["outcome"]))
    summary = cluster["summary"] or {"imagesRemoved": 0, "vulnerableRemoved": 0, "failures": 0, "lastRun": None}
    return {
        "rows": rows,
        "images": images,
        "totals": found_totals,
        "skippedLines": cluster["skippedLines"],
        "summary": summary,
    }


# --- what Container Insights collects (../shared/container-insights.md §3) ---------------------------------------

AGENT_CONFIGMAP = "container-azm-ms-agentconfig"
AGENT_SETTINGS_KEY = "log-data-collection-settings"
# "In the absence of this configmap, default value for exclude_namespaces = ["kube-system","gatekeeper-system"]"
# (the agent's ConfigMap template, microsoft/Docker-Provider kubernetes/container-azm-ms-agentconfig.yaml).
DEFAULT_EXCLUDED = ("kube-system", "gatekeeper-system")


def collection_gap(configmap):
    """Why Container Insights does not collect Eraser's logs (in kube-system), or None when it does, from the
    agent's ConfigMap (None: there is none)."""
    if configmap is None:
        return (
            f"ConfigMap {NAMESPACE}/{AGENT_CONFIGMAP} is absent, and without it the monitoring agent leaves "
            f"{NAMESPACE} out, as exclude_namespaces defaults to {list(DEFAULT_EXCLUDED)}"
        )
    text = (configmap.get("data") or {}).get(AGENT_SETTINGS_KEY) or ""
    try:
        settings = _toml(text).get("log_collection_settings") or {}
    except ValueError:
        return f"ConfigMap {NAMESPACE}/{AGENT_CONFIGMAP} cannot be read as TOML under {AGENT_SETTINGS_KEY}"
    problems = []
    for stream in ("stdout", "stderr"):
        setting = settings.get(stream) or {}
        if not setting.get("enabled", True):
            problems.append(f"log_collection_settings.{stream}.enabled is false")
        elif NAMESPACE in setting.get("exclude_namespaces", DEFAULT_EXCLUDED):
            where = "" if "exclude_namespaces" in setting else " (by default, as it is not set)"
            problems.append(f"log_collection_settings.{stream}.exclude_namespaces holds {NAMESPACE}{where}")
    # Eraser's lines are collected when either stream takes kube-system (zap writes to stderr).
    if len(problems) < 2:
        return None
    return f"in ConfigMap {NAMESPACE}/{AGENT_CONFIGMAP}, " + " and ".join(problems)


# The data collection rule's streams that carry container logs: the default group (which holds ContainerLogV2) and
# the log tables' own (azure-cli acs/addonconfiguration.py: "Microsoft-ContainerInsights-Group-Default" by default,
# ContainerInsightsStreams in high log scale mode).
RULE_LOG_STREAMS = (
    "Microsoft-ContainerInsights-Group-Default",
    "Microsoft-ContainerLogV2",
    "Microsoft-ContainerLogV2-HighScale",
    "Microsoft-ContainerLog",
)


def container_insights_rule(rule_id, extensions):
    """The Container Insights part of a data collection rule, from its ID and `properties.dataSources.extensions`
    (ARM's JSON, from `arm.container_insights_rule` or `resource_graph.container_insights_rules`): {"id", "settings":
    the extension's `dataCollectionSettings`, "streams"}, as `rule_gap` takes it."""
    found = next((e for e in extensions or [] if str(e.get("extensionName")).lower() == "containerinsights"), {})
    settings = (found.get("extensionSettings") or {}).get("dataCollectionSettings") or {}
    return {"id": rule_id, "settings": settings, "streams": found.get("streams") or []}


def rule_from_graph(found):
    """(the rule as `rule_gap` takes it, or None; why it is unknown, or None) from one cluster's entry of
    `resource_graph.container_insights_rules`: (rule ID, extensions, None where Resource Graph does not show the
    rule), or None where the cluster has no association (no rule to judge: az makes one on `enable-addons`)."""
    if found is None:
        return None, None
    rule_id, extensions = found
    if extensions is None:
        name = (rule_id or "").rsplit("/", 1)[-1] or "(unnamed)"
        return None, (
            f"Resource Graph does not show data collection rule {name} to this login (it needs 'Monitoring Reader' "
            "or 'Reader' on the rule)"
        )
    return container_insights_rule(rule_id, extensions), None


def rule_gap(rule):
    """Why the cluster's data collection rule (`container_insights_rule`; None: it has none) keeps no
    kube-system logs, or None when it keeps them: its streams, and its namespace filter (`namespaceFilteringMode`
    Off, Exclude or Include, with `namespaces`: learn.microsoft.com/azure/azure-monitor/containers/
    container-insights-data-collection-filter)."""
    if not rule:
        return None
    name = rule["id"].rsplit("/", 1)[-1]
    streams = rule.get("streams") or []
    if streams and not any(s in RULE_LOG_STREAMS for s in streams):
        return f"data collection rule {name} sends no container logs (its streams: {', '.join(streams)})"
    settings = rule.get("settings") or {}
    mode = str(settings.get("namespaceFilteringMode") or "Off")
    namespaces = list(settings.get("namespaces") or [])
    if mode.lower() == "exclude" and NAMESPACE in namespaces:
        return (
            f"data collection rule {name} leaves {NAMESPACE} out (namespaceFilteringMode {mode}, namespaces "
            f"{namespaces})"
        )
    if mode.lower() == "include" and NAMESPACE not in namespaces:
        return f"data collection rule {name} keeps only namespaces {namespaces} (namespaceFilteringMode {mode})"
    return None


def _toml(text):
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as ex:
        raise ValueError(str(ex)) from ex
