"""The Log Analytics tables Container Insights writes container logs to, with the columns a query of Eraser's logs
reads (Azure Monitor table reference, learn.microsoft.com/azure/azure-monitor/reference/tables/; the summary in
../shared/container-insights.md §2). `_Workspace` is the emulator's own: which workspace holds a row (queries do
not see it; the service's `TenantId` says the same)."""

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
    ("PodStatus", "string"),
    ("ContainerID", "string"),
    ("ContainerName", "string"),  # poduid/containername
    ("ClusterName", "string"),
    ("_ResourceId", "string"),
    ("TenantId", "string"),
    ("_Workspace", "string"),
]
TABLES = {"ContainerLogV2": CONTAINER_LOG_V2, "ContainerLog": CONTAINER_LOG, "KubePodInventory": KUBE_POD_INVENTORY}
HIDDEN = ("_Workspace",)
