"""The Log Analytics tables Container Insights writes container logs and inventory to, with the columns the
extension's queries read (Azure Monitor table reference, learn.microsoft.com/azure/azure-monitor/reference/tables/;
the summary in ../shared/container-insights.md §2, §7). `_Workspace` is the emulator's own: which workspace holds a
row (queries do not see it; the service's `TenantId` says the same)."""

CONTAINER_LOG_V2 = [
    ("TimeGenerated", "datetime"),
    ("Computer", "string"),  # the node
    ("ContainerId", "string"),
    ("ContainerName", "string"),
    ("PodName", "string"),
    ("PodNamespace", "string"),
    ("LogSource", "string"),  # stdout | stderr
    ("LogLevel", "string"),
    ("LogMessage", "dynamic"),  # a JSON line is kept as an object
    ("KubernetesMetadata", "dynamic"),
    ("_ResourceId", "string"),  # the cluster's resource ID, in lower case
    ("TenantId", "string"),  # the workspace's ID
    ("_Workspace", "string"),
]
CONTAINER_LOG = [
    ("TimeGenerated", "datetime"),
    ("Computer", "string"),
    ("ContainerID", "string"),
    ("Image", "string"),
    ("LogEntry", "string"),  # the raw line
    ("LogEntrySource", "string"),
    ("Name", "string"),  # PODUid/ContainerName: no pod name, no namespace (join KubePodInventory)
    ("_ResourceId", "string"),
    ("TenantId", "string"),
    ("_Workspace", "string"),
]
KUBE_POD_INVENTORY = [
    ("TimeGenerated", "datetime"),
    ("Computer", "string"),
    ("Name", "string"),  # the pod's name
    ("Namespace", "string"),
    ("PodUid", "string"),
    ("PodStatus", "string"),  # the phase: Pending, Running, Succeeded, Failed
    ("PodLabel", "string"),  # JSON text: [{"label": "value", ...}]
    ("PodCreationTimeStamp", "datetime"),
    ("PodStartTime", "datetime"),
    ("PodRestartCount", "int"),
    ("ContainerID", "string"),
    ("ContainerName", "string"),  # poduid/containername
    ("ContainerStatus", "string"),  # waiting, running, terminated
    ("ContainerStatusReason", "string"),  # OOMKilled, ImagePullBackOff, Completed, ...
    ("ControllerKind", "string"),
    ("ControllerName", "string"),
    ("ClusterName", "string"),
    ("_ResourceId", "string"),
    ("TenantId", "string"),
    ("_Workspace", "string"),
]
KUBE_NODE_INVENTORY = [
    ("TimeGenerated", "datetime"),
    ("Computer", "string"),  # the node
    ("ClusterName", "string"),
    ("ClusterId", "string"),
    ("Status", "string"),  # Ready, NotReady
    ("LastTransitionTimeReady", "datetime"),
    ("Labels", "string"),  # JSON text: [{"kubernetes.io/os": "linux", ...}]
    ("KubeletVersion", "string"),
    ("OperatingSystem", "string"),
    ("CreationTimeStamp", "datetime"),
    ("_ResourceId", "string"),
    ("TenantId", "string"),
    ("_Workspace", "string"),
]
KUBE_EVENTS = [
    ("TimeGenerated", "datetime"),
    ("ObjectKind", "string"),
    ("Namespace", "string"),
    ("Name", "string"),
    ("Reason", "string"),
    ("Message", "string"),
    ("KubeEventType", "string"),  # Warning (Normal events are not collected by default)
    ("SourceComponent", "string"),
    ("Computer", "string"),  # the event's source.host: the node
    ("FirstSeen", "datetime"),
    ("LastSeen", "datetime"),
    ("Count", "int"),
    ("ClusterName", "string"),
    ("ClusterId", "string"),
    ("_ResourceId", "string"),
    ("TenantId", "string"),
    ("_Workspace", "string"),
]
TABLES = {
    "ContainerLogV2": CONTAINER_LOG_V2,
    "ContainerLog": CONTAINER_LOG,
    "KubePodInventory": KUBE_POD_INVENTORY,
    "KubeNodeInventory": KUBE_NODE_INVENTORY,
    "KubeEvents": KUBE_EVENTS,
}
HIDDEN = ("_Workspace",)
