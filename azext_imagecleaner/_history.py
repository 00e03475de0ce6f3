"""Eraser's history from Azure Monitor (Container Insights), as report rows (pure: text and rows in, rows out).

Eraser's worker pods are deleted about 10 minutes after a run, and their logs with them; Container Insights keeps
the lines in the cluster's Log Analytics workspace (../shared/container-insights.md). The query here reads both
schemas a workspace can hold (§2): ContainerLogV2, whose `LogMessage` is dynamic (a JSON line is kept as an
object, re-serialized by the service, so it is read as an object, never compared as text), and the legacy
ContainerLog, which has no pod name or namespace and is joined with KubePodInventory on ContainerID for them, as
the AKS article's query does. The service gathers each container's lines into one row (`make_list` over input
sorted by time keeps that order, as the make_list reference says), so a fleet's answer holds a row per container
and run instead of one per line, and leaves out the lines no reading uses (`_report.IGNORED_MESSAGES`). The lines
then go through the same reading as live logs (`_report`), one container of one pod at a time.
"""

import datetime
import json
import re

from azext_imagecleaner import _report

WORKER_PREFIXES = ("eraser-aks-", "collector-aks-")
NAMESPACE = "kube-system"
# At most 100 clusters a query. The documented limit of 100 is on the workspaces and resources one query reaches
# (MicrosoftDocs/azure-monitor-docs includes/azure-monitor-limits-log-queries.md); a fleet's query reaches one
# workspace, so this is more than the limit asks, and it keeps each answer smaller. The service stores
# `_ResourceId` in lower case (../shared/container-insights.md).
MAX_RESOURCES_PER_QUERY = 100
COLUMNS = ("_ResourceId", "Computer", "PodName", "ContainerName", "Lines")

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


def query(resource_ids=None):
    """The KQL that finds Eraser's worker log lines in both schemas: a row per container of a worker pod with
    COLUMNS, `Lines` its lines in order (a JSON line of ContainerLogV2 as an object, any other as text), the
    containers in the order of their first line. `resource_ids`: only these clusters' rows (a workspace's query
    for a fleet)."""
    clusters, only = "", ""
    if resource_ids:
        # Named once for the three tables: a third of the text for the service (and the emulator) to parse.
        listed = ", ".join(json.dumps(i.lower()) for i in resource_ids)
        clusters, only = f"let clusters = dynamic([{listed}]);\n", "\n| where _ResourceId in (clusters)"
    workers = " or ".join(f'{{name}} startswith "{p}"' for p in WORKER_PREFIXES)
    ignored = ", ".join(json.dumps(m) for m in sorted(_report.IGNORED_MESSAGES))
    loggers = ", ".join(json.dumps(name) for name in _report.ERASER_LOGGERS)
    # A line is left out only when it is Eraser's (its logger) and says nothing the report reads (its message).
    # Only ContainerLogV2 is filtered: it holds a JSON line as an object. The legacy ContainerLog holds text, which
    # would need a parse_json of every line; its lines all come, and the reading skips the same ones.
    used = "not(tostring({0}.msg) in (ignored) and tostring({0}.logger) in (loggers))"
    per_container = (
        "| order by TimeGenerated asc\n"
        "| summarize Start = min(TimeGenerated), Lines = make_list(Line) by _ResourceId, Computer, PodName, "
        "ContainerName;\n"
    )
    return (
        f"{clusters}"
        f"let ignored = dynamic([{ignored}]);\n"
        f"let loggers = dynamic([{loggers}]);\n"
        f"let v2 = ContainerLogV2{only}\n"
        f'| where PodNamespace == "{NAMESPACE}" and ({workers.format(name="PodName")})\n'
        f"| where {used.format('LogMessage')}\n"
        "| project TimeGenerated, _ResourceId, Computer, PodName, ContainerName, Line = LogMessage\n"
        f"{per_container}"
        f"let pods = KubePodInventory{only}\n"
        f'| where Namespace == "{NAMESPACE}" and ({workers.format(name="Name")})\n'
        "| distinct ContainerID, PodName = Name;\n"
        f"let v1 = ContainerLog{only}\n"
        "| join kind=inner (pods) on ContainerID\n"
        '| project TimeGenerated, _ResourceId, Computer, PodName, ContainerName = tostring(split(Name, "/")[1]), '
        # The text as a dynamic value, as LogMessage is: Kusto's union takes the two lists either way, but the
        # emulator's engine (DuckDB) types a list of text apart from a list of JSON and cannot union them.
        "Line = pack_array(LogEntry)[0]\n"
        f"{per_container}"
        "union isfuzzy=true v1, v2\n"
        "| order by Start asc, _ResourceId asc, PodName asc, ContainerName asc\n"
        f"| project {', '.join(COLUMNS)}"
    )


def chunks(items, size=MAX_RESOURCES_PER_QUERY):
    return [items[i : i + size] for i in range(0, len(items), size)]


def reports(rows):
    """{cluster resource ID (lower case): the report of its lines} from the query's rows, in their order. `Lines`
    comes as the service sends a dynamic value: JSON text."""
    containers = {}  # resource -> (pod, container) -> [node, lines]
    for resource, node, pod, container, lines in rows:
        entry = containers.setdefault((resource or "").lower(), {}).setdefault((pod, container), [node, []])
        entry[1].extend(json.loads(lines) if isinstance(lines, str) else lines or ())
    found = {}
    for resource, logs in containers.items():
        parsed = _report.Parsed()
        for (pod, container), (node, lines) in logs.items():
            _report.parse_lines(lines, node, container, into=parsed, pod=pod)
        result = _report.report(parsed)
        # History reads oldest first across the cluster; live, a node's rows go together.
        result["rows"].sort(key=lambda r: (r["time"] or "", r["node"] or "", r["image"] or ""))
        found[resource] = result
    return found


def by_image(rows):
    """A cluster's rows over the window, one per image and outcome (a failed container: per failure), for a fleet:
    on how many nodes and in how many node runs, first and last time, whether it was found vulnerable in any run,
    and the latest detail. Oldest first."""
    groups = {}
    for row in rows:
        key = (
            row["image"],
            row["digest"],
            row["outcome"],
            row["detail"] if row["outcome"] == _report.RUN_FAILED else None,
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "image": row["image"],
                "digest": row["digest"],
                "outcome": row["outcome"],
                "vulnerable": None,
                "nodes": set(),
                "runs": 0,
                "first": row["time"],
                "last": row["time"],
                "detail": None,
            }
        group["nodes"].add(row["node"])
        group["runs"] += 1
        if row["vulnerable"] is not None and group["vulnerable"] is not True:
            group["vulnerable"] = row["vulnerable"]
        if row["time"] and (group["first"] is None or row["time"] < group["first"]):
            group["first"] = row["time"]
        if row["time"] and (group["last"] is None or row["time"] >= group["last"]):
            group["last"] = row["time"]
            group["detail"] = row["detail"] or group["detail"]
        elif group["detail"] is None:
            group["detail"] = row["detail"]
    found = [dict(g, nodes=len(g["nodes"])) for g in groups.values()]
    return sorted(found, key=lambda g: (g["first"] or "", g["image"] or "", g["outcome"]))


def summary(result):
    """A cluster's history in four figures: images removed, vulnerable ones among them, failures, the last run."""
    rows = result["rows"]
    removed = [r for r in rows if r["outcome"] == _report.REMOVED]
    return {
        "imagesRemoved": len(removed),
        "vulnerableRemoved": sum(1 for r in removed if r.get("vulnerable")),
        "failures": sum(1 for r in rows if r["outcome"] in (_report.FAILED, _report.RUN_FAILED)),
        "lastRun": max((r["time"] for r in rows if r["time"]), default=None),
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


def _toml(text):
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as ex:
        raise ValueError(str(ex)) from ex
