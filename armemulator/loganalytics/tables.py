"""The Log Analytics tables Container Insights writes container logs and inventory to, with every documented column
and its type (Azure Monitor table reference, learn.microsoft.com/azure/azure-monitor/reference/tables/<table>, and
the standard columns of every table, log-standard-columns.md; the summary in ../shared/kusto-language-service.md
and ../shared/container-insights.md §2, §7). Kusto.Language judges each query against exactly these
(armemulator/kustolanguage), so a column the real table lacks is refused here as it is there. The agent fills the
columns the extension's queries read; the others stay empty. `_Workspace` is the emulator's own: which workspace
holds a row (queries do not see it; the service's `TenantId` says the same)."""

# Every workspace table has these (log-standard-columns.md).
STANDARD = [
    ("TenantId", "string"),  # the workspace's ID
    ("TimeGenerated", "datetime"),
    ("Type", "string"),
    ("_ResourceId", "string"),  # the cluster's resource ID, in lower case
    ("_SubscriptionId", "string"),
    ("_IsBillable", "string"),
    ("_BilledSize", "real"),
    ("_ItemId", "string"),
    ("_TimeReceived", "datetime"),
]
EMULATOR_ONLY = [("_Workspace", "string")]


def _table(*columns):
    return [*STANDARD, *columns, *EMULATOR_ONLY]


CONTAINER_LOG_V2 = _table(
    ("Computer", "string"),  # the node
    ("ContainerId", "string"),
    ("ContainerName", "string"),
    ("KubernetesMetadata", "dynamic"),
    ("LogLevel", "string"),
    ("LogMessage", "dynamic"),  # a JSON line is kept as an object
    ("LogSource", "string"),  # stdout | stderr
    ("PodName", "string"),
    ("PodNamespace", "string"),
    ("SourceSystem", "string"),
)
CONTAINER_LOG = _table(
    ("Computer", "string"),
    ("ContainerID", "string"),
    ("Image", "string"),
    ("ImageTag", "string"),
    ("LogEntry", "string"),  # the raw line
    ("LogEntrySource", "string"),
    ("Name", "string"),  # PODUid/ContainerName: no pod name, no namespace (join KubePodInventory)
    ("Repository", "string"),
    ("SourceSystem", "string"),
    ("TimeOfCommand", "datetime"),
)
KUBE_POD_INVENTORY = _table(
    ("ClusterId", "string"),
    ("ClusterName", "string"),
    ("Computer", "string"),
    ("ContainerCreationTimeStamp", "datetime"),
    ("ContainerID", "string"),
    ("ContainerLastStatus", "string"),
    ("ContainerName", "string"),  # poduid/containername
    ("ContainerRestartCount", "int"),
    ("ContainerStartTime", "datetime"),
    ("ContainerStatus", "string"),  # waiting, running, terminated
    ("ContainerStatusReason", "string"),  # OOMKilled, ImagePullBackOff, Completed, ...
    ("ControllerKind", "string"),
    ("ControllerName", "string"),
    ("InstanceName", "string"),
    ("Name", "string"),  # the pod's name
    ("Namespace", "string"),
    ("PodCreationTimeStamp", "datetime"),
    ("PodIp", "string"),
    ("PodLabel", "string"),  # JSON text: [{"label": "value", ...}]
    ("PodRestartCount", "int"),
    ("PodStartTime", "datetime"),
    ("PodStatus", "string"),  # the phase: Pending, Running, Succeeded, Failed
    ("PodUid", "string"),
    ("ServiceName", "string"),
    ("SourceSystem", "string"),
)
KUBE_NODE_INVENTORY = _table(
    ("ClusterId", "string"),
    ("ClusterName", "string"),
    ("Computer", "string"),  # the node
    ("CreationTimeStamp", "datetime"),
    ("DockerVersion", "string"),
    ("KubeletVersion", "string"),
    ("KubeProxyVersion", "string"),
    ("KubernetesProviderID", "string"),
    ("Labels", "string"),  # JSON text: [{"kubernetes.io/os": "linux", ...}]
    ("LastTransitionTimeReady", "datetime"),
    ("OperatingSystem", "string"),
    ("SourceSystem", "string"),
    ("Status", "string"),  # Ready, NotReady
)
KUBE_EVENTS = _table(
    ("ClusterId", "string"),
    ("ClusterName", "string"),
    ("Computer", "string"),  # the event's source.host: the node
    ("Count", "real"),  # real, not an integer, in the table reference
    ("FirstSeen", "datetime"),
    ("KubeEventType", "string"),  # Warning (Normal events are not collected by default)
    ("LastSeen", "datetime"),
    ("Message", "string"),
    ("Name", "string"),
    ("Namespace", "string"),
    ("ObjectKind", "string"),
    ("Reason", "string"),
    ("SourceComponent", "string"),
    ("SourceSystem", "string"),
)
TABLES = {
    "ContainerLogV2": CONTAINER_LOG_V2,
    "ContainerLog": CONTAINER_LOG,
    "KubePodInventory": KUBE_POD_INVENTORY,
    "KubeNodeInventory": KUBE_NODE_INVENTORY,
    "KubeEvents": KUBE_EVENTS,
}
HIDDEN = tuple(name for name, _ in EMULATOR_ONLY)


def schema():
    """{table: {column: Kusto type}} as queries see them (what Kusto.Language judges them against)."""
    return {name: {c: t for c, t in columns if c not in HIDDEN} for name, columns in TABLES.items()}
