"""The Container Insights agent of one cluster: whether it collects a container's log lines, and how it writes them.

Follows ../shared/container-insights.md, each rule from the source it names:
- §1: the monitoring add-on is `addonProfiles.omsagent`, with `config.logAnalyticsWorkspaceResourceID`;
- §3: collection is set by the ConfigMap kube-system/container-azm-ms-agentconfig, key
  `log-data-collection-settings` (TOML): `[log_collection_settings.stdout]` and `[...stderr]`, each with
  `enabled` (default true) and `exclude_namespaces`. The agent's template (microsoft/Docker-Provider,
  kubernetes/container-azm-ms-agentconfig.yaml) says that without the ConfigMap, or without the setting,
  exclude_namespaces is ["kube-system", "gatekeeper-system"]: Eraser's pods, in kube-system, are then not
  collected. Newer onboardings may differ (a data collection rule, "log collection profiles"); the model follows
  the template, the state the extension must explain;
- §3: `[log_collection_settings.schema] containerlog_schema_version = "v1"` writes the legacy ContainerLog (with
  KubePodInventory for the pod); otherwise ContainerLogV2, the default for new onboardings (§2), whose
  `LogMessage` is dynamic: a JSON line is kept as an object and comes back re-serialized (here: keys sorted), not
  as the bytes written;
- §2: containerd writes a line longer than 16 KB (`max_container_log_line_size`, 16384 by default; AgentBaker does
  not change it) as partial lines. Without multi-line logging (`[log_collection_settings.enable_multiline_logs]
  enabled`, off unless the ConfigMap turns it on, and for ContainerLogV2 only) each part is a row of its own, as
  text; with it, the parts are stitched and the result cut at 64 KB (MicrosoftDocs/azure-docs
  container-insights-logs-schema.md, "Multi-line logging"; the template's comment: "if enabled will also stitch
  together container logs split by docker/cri due to size limits(16KB per log line)"). Multi-line logging also
  keeps a Go panic's dump as one entry (its Go stack trace parser); here from the `panic: ` line to the end of the
  container's log, which the panic ends;
- Eraser's workers log through zap's production logger, which writes to stderr.
"""

import datetime
import hashlib
import json

import tomllib

CONFIGMAP = "container-azm-ms-agentconfig"
SETTINGS_KEY = "log-data-collection-settings"
DEFAULT_EXCLUDED = ("kube-system", "gatekeeper-system")
ERASER_STREAM = "stderr"
PART_BYTES = 16384
STITCHED_BYTES = 65536


def addon_workspace(doc):
    """The workspace resource ID the cluster's Container Insights sends to, or None when it is off: the Azure
    Monitor profile's containerInsights (az 2.91's `--enable-azure-monitor-logs`), else the monitoring add-on
    (azure-cli acs/managed_cluster_decorator.py, `_is_monitoring_enabled_on_mc`)."""
    properties = doc.get("properties") or {}
    insights = (properties.get("azureMonitorProfile") or {}).get("containerInsights") or {}
    if insights.get("enabled") and insights.get("logAnalyticsWorkspaceResourceId"):
        return insights["logAnalyticsWorkspaceResourceId"]
    return addon_setting(monitoring_addon(doc), "logAnalyticsWorkspaceResourceID")


def addon_setting(config, name):
    """A setting of the add-on's config, whose keys ARM gives back in any case; None without it or the add-on."""
    return next((v for k, v in (config or {}).items() if k.lower() == name.lower()), None)


def monitoring_addon(doc):
    """The enabled monitoring add-on's config (`omsagent`), or None."""
    for key, addon in ((doc.get("properties") or {}).get("addonProfiles") or {}).items():
        if key.lower() == "omsagent" and (addon or {}).get("enabled"):
            return addon.get("config") or {}
    return None


def settings(configmap):
    """{"stdout": (enabled, excluded namespaces), "stderr": (...), "schema": "v1" | "v2"} from the ConfigMap (or
    None when there is none)."""
    text = ((configmap or {}).get("data") or {}).get(SETTINGS_KEY) or ""
    try:
        collection = tomllib.loads(text).get("log_collection_settings") or {}
    except tomllib.TOMLDecodeError:
        collection = {}
    streams = {}
    for stream in ("stdout", "stderr"):
        setting = collection.get(stream) or {}
        streams[stream] = (
            bool(setting.get("enabled", True)),
            tuple(setting.get("exclude_namespaces", DEFAULT_EXCLUDED)),
        )
    version = str((collection.get("schema") or {}).get("containerlog_schema_version") or "v2").lower()
    multiline = str((collection.get("enable_multiline_logs") or {}).get("enabled", False)).lower() == "true"
    schema = "v1" if version == "v1" else "v2"
    return {**streams, "schema": schema, "multiline": multiline and schema == "v2"}


def collects(found, namespace, stream=ERASER_STREAM):
    enabled, excluded = found[stream]
    return enabled and namespace not in excluded


# --- the data collection rule (DCR) of a cluster onboarded with managed identity ---------------------------------
# az creates it as MSCI-<workspace region>-<cluster> with one Container Insights extension whose
# `extensionSettings.dataCollectionSettings` are what `--data-collection-settings` gives, `{"enableContainerLogV2":
# true}` by default, and whose streams are ["Microsoft-ContainerInsights-Group-Default"] unless those settings name
# streams (azure-cli acs/addonconfiguration.py, `ensure_container_insights_for_monitoring`). The rule filters the
# namespaces of container logs and of the inventory: `namespaceFilteringMode` Off (every namespace), Exclude (all
# but `namespaces`) or Include (only `namespaces`) (learn.microsoft.com/azure/azure-monitor/containers/
# container-insights-data-collection-filter). Where the ConfigMap also leaves a namespace out, its logs are not kept:
# the model keeps a line only where both let it through (which one wins is not documented).
DEFAULT_RULE_SETTINGS = {"enableContainerLogV2": True}
DEFAULT_STREAMS = ("Microsoft-ContainerInsights-Group-Default",)
# The streams that carry container logs (the group holds ContainerLogV2; acs ContainerInsightsStreams).
LOG_STREAMS = (
    "Microsoft-ContainerInsights-Group-Default",
    "Microsoft-ContainerLogV2",
    "Microsoft-ContainerLogV2-HighScale",
    "Microsoft-ContainerLog",
)
INVENTORY_STREAMS = ("Microsoft-ContainerInsights-Group-Default", "Microsoft-KubePodInventory")


def rule_keeps(settings, namespace, streams_wanted=LOG_STREAMS):
    """Whether the rule's `dataCollectionSettings` (None: the cluster has no rule) let `namespace` through to the
    tables of `streams_wanted`."""
    if settings is None:
        return True
    streams = settings.get("streams") or DEFAULT_STREAMS
    if not any(s in streams_wanted for s in streams):
        return False
    mode = str(settings.get("namespaceFilteringMode") or "Off").lower()
    namespaces = settings.get("namespaces") or []
    if mode == "exclude":
        return namespace not in namespaces
    if mode == "include":
        return namespace in namespaces
    return True


def rule_interval_minutes(settings):
    """The inventory's sampling interval: `interval`, "1m" to "30m", 1 minute by default."""
    text = str((settings or {}).get("interval") or "1m")
    return float(text.rstrip("m") or 1)


def entries(text, multiline):
    """A container's log as the agent keeps it: each line, in parts past 16 KB, or, with multi-line logging, whole up
    to 64 KB and a panic's dump as one entry."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if multiline and found and found[-1].startswith("panic: "):
            found[-1] += "\n" + line
            continue
        data = line.encode()
        if len(data) <= PART_BYTES:
            found.append(line)
        elif multiline:
            found.append(data[:STITCHED_BYTES].decode(errors="ignore"))
        else:
            found += [data[i : i + PART_BYTES].decode(errors="ignore") for i in range(0, len(data), PART_BYTES)]
    return found


def rows(
    cluster_id, workspace, schema, pod, node, texts, started, namespace="kube-system", image_tag="v1.4.0",
    multiline=False,
):  # fmt: skip
    """{table: [row]} for the lines of each container of `pod` ({container: text})."""
    resource = cluster_id.lower()
    pod_uid = stable_uid(resource, pod)
    common = {"Computer": node, "_ResourceId": resource, "TenantId": workspace, "_Workspace": workspace}
    tables = {"ContainerLogV2": [], "ContainerLog": [], "KubePodInventory": []}
    for container, text in texts.items():
        container_id = stable_uid(pod_uid, container)
        image = f"mcr.microsoft.com/oss/eraser/{container}:{image_tag}"
        if schema == "v1":
            tables["KubePodInventory"].append(
                dict(
                    common,
                    TimeGenerated=_when(started),
                    Name=pod,
                    Namespace=namespace,
                    PodUid=pod_uid,
                    PodStatus="Running",
                    ContainerID=container_id,
                    ContainerName=f"{pod_uid}/{container}",
                    ClusterName=resource.rsplit("/", 1)[-1],
                )
            )
        # TimeGenerated is "the timestamp (UTC) when the log was generated" (the ContainerLogV2 table reference,
        # learn.microsoft.com azure-monitor/reference/tables/containerlogv2): Eraser's own `ts` where the line has
        # one, and for a line without (a Go panic, a stack) a microsecond after the line before it. In whole
        # microseconds, as the column keeps them, so that two lines never round to one time.
        last = round(float(started) * 1e6)
        for line in entries(text, multiline):
            parsed = _json_object(line)
            ts = parsed.get("ts") if parsed else None
            last = round(float(ts) * 1e6) if isinstance(ts, (int, float)) else last + 1
            when = _when_micros(last)
            if schema == "v1":
                tables["ContainerLog"].append(
                    dict(
                        common,
                        TimeGenerated=when,
                        ContainerID=container_id,
                        Image=image,
                        LogEntry=line,
                        LogEntrySource=ERASER_STREAM,
                        Name=f"{pod_uid}/{container}",
                    )
                )
            else:
                tables["ContainerLogV2"].append(
                    dict(
                        common,
                        TimeGenerated=when,
                        ContainerId=container_id,
                        ContainerName=container,
                        PodName=pod,
                        PodNamespace=namespace,
                        LogSource=ERASER_STREAM,
                        LogLevel=(parsed or {}).get("level") or "unknown",
                        # Re-serialized as the service keeps a dynamic value: keys in its own order.
                        LogMessage=json.loads(json.dumps(parsed, sort_keys=True)) if parsed is not None else line,
                        KubernetesMetadata={"podUid": pod_uid, "podName": pod, "image": image},
                    )
                )
    return tables


def _json_object(line):
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _when(epoch):
    return _when_micros(round(float(epoch) * 1e6))


def _when_micros(micros):
    """UTC, naive, as the tables keep it."""
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=micros)


def stable_uid(*parts):
    """A UID made of `parts`: a pod's the same in its log rows and in the inventory's (inventory.py)."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
