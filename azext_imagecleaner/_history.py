"""Eraser's history from Azure Monitor (Container Insights), as report rows (pure: text and rows in, rows out).

Eraser's worker pods are deleted about 10 minutes after a run, and their logs with them; Container Insights keeps
the lines in the cluster's Log Analytics workspace (../shared/container-insights.md). The query here reads both
schemas a workspace can hold (§2): ContainerLogV2, whose `LogMessage` is dynamic (a JSON line comes back
re-serialized by the service, so it is parsed, never compared as text), and the legacy ContainerLog, which has no
pod name or namespace and is joined with KubePodInventory on ContainerID for them, as the AKS article's query
does. The lines then go through the same reading as live logs (`_report`), one container of one pod at a time.
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
COLUMNS = ("_ResourceId", "Computer", "PodName", "ContainerName", "Line")

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
    """The KQL that finds Eraser's worker log lines in both schemas, oldest first: a row per line with
    COLUMNS. `resource_ids`: only these clusters' rows (a workspace's query for a fleet)."""
    only = ""
    if resource_ids:
        listed = ", ".join(json.dumps(i.lower()) for i in resource_ids)
        only = f"\n| where _ResourceId in ({listed})"
    workers = " or ".join(f'{{name}} startswith "{p}"' for p in WORKER_PREFIXES)
    return (
        f"let v2 = ContainerLogV2{only}\n"
        f'| where PodNamespace == "{NAMESPACE}" and ({workers.format(name="PodName")})\n'
        "| project TimeGenerated, _ResourceId, Computer, PodName, ContainerName, Line = tostring(LogMessage);\n"
        f"let pods = KubePodInventory{only}\n"
        f'| where Namespace == "{NAMESPACE}" and ({workers.format(name="Name")})\n'
        "| distinct ContainerID, PodName = Name;\n"
        f"let v1 = ContainerLog{only}\n"
        "| join kind=inner (pods) on ContainerID\n"
        '| project TimeGenerated, _ResourceId, Computer, PodName, ContainerName = tostring(split(Name, "/")[1]), '
        "Line = LogEntry;\n"
        "union isfuzzy=true v1, v2\n"
        "| order by TimeGenerated asc\n"
        f"| project {', '.join(COLUMNS)}"
    )


def chunks(items, size=MAX_RESOURCES_PER_QUERY):
    return [items[i : i + size] for i in range(0, len(items), size)]


def reports(rows):
    """{cluster resource ID (lower case): the report of its lines} from the query's rows, in their order."""
    containers = {}  # resource -> (pod, container) -> [node, lines]
    for resource, node, pod, container, line in rows:
        entry = containers.setdefault((resource or "").lower(), {}).setdefault((pod, container), [node, []])
        entry[1].append(line if isinstance(line, str) else json.dumps(line))
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
