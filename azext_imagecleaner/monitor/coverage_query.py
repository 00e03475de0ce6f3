"""The coverage's query: what Container Insights sampled of a cluster's nodes and worker pods, reduced by Log Analytics
to a row per node with what `_coverage.judge` decides on (pure: text out).

The inventory tables (../shared/container-insights.md §7): KubeNodeInventory (a row per node and sample),
KubePodInventory (a row per container of a pod and sample: its phase, its container's state and reason, its owner)
and KubeEvents (Warnings: OutOfcpu, Preempting, BackOff...), and the worker logs of ContainerLogV2 where kube-system
is collected. A scheduled run is the pods of one ImageJob (their owner: a PodTemplate named like the job) labelled
`eraser.sh/type=collector`; it began when its first pod was created (../shared/image-cleaner-coverage.md).

The answer: `Kind` "node" (one per node in the latest sample: its labels, when it joined, its pod in the cluster's
latest run and what became of it, the runs that reached it), "cluster" (the latest run, the inventory's interval
and whether kube-system is in it, whether the workers' logs are collected, how long its worker pods were seen) and
"preempted" (a workload pod the kubelet evicted on a node while a run's worker pod started there).
"""

import json

from azext_imagecleaner.eraser import statements as st

NODE, CLUSTER, PREEMPTED = "node", "cluster", "preempted"
# How long after a run began a workload pod's preemption on its node is the run's doing: its pods start in seconds.
PREEMPTION_MINUTES = 10


def _s(value):
    return json.dumps(value)


def query(resource_ids=None):
    """The KQL text; `resource_ids`: only these clusters (a workspace's query for a fleet, in lower case)."""
    lets, answer = statements(resource_ids)
    return f"{lets}\n{answer}"


def statements(resource_ids=None):
    """(the `let` statements, the answer's expression): `query` in two, for a query that answers more than this
    one (`monitor.check_query`)."""
    lets, only = [], ""
    if resource_ids:
        lets.append(f"let clusters = dynamic([{', '.join(_s(i.lower()) for i in resource_ids)}]);")
        only = "\n| where _ResourceId in (clusters)"
    workers = " or ".join(f"Name startswith {_s(p)}" for p in st.WORKER_PREFIXES)
    log_workers = workers.replace("Name startswith", "PodName startswith")
    text = "\n".join(
        [
            *lets,
            # The nodes of the latest sample; the interval from the samples of the last hour.
            f"let nodeRows = KubeNodeInventory{only}",
            "| project TimeGenerated, _ResourceId, Node = Computer, Labels, CreationTimeStamp;",
            "let lastSample = nodeRows | summarize LastSample = max(TimeGenerated) by _ResourceId;",
            "let sampling = nodeRows | join kind=inner (lastSample) on _ResourceId",
            "| where TimeGenerated > LastSample - 1h",
            "| summarize Batches = dcount(bin(TimeGenerated, 1m)) by _ResourceId",
            # (max_of and min_of take arguments of one type: "all arguments must be of the same type")
            "| extend IntervalMinutes = max_of(1.0, min_of(30.0, round(60.0 / Batches)));",
            "let current = nodeRows | join kind=inner (lastSample) on _ResourceId",
            "| where TimeGenerated >= LastSample - 2m",
            "| summarize arg_max(TimeGenerated, Labels, CreationTimeStamp) by _ResourceId, Node",
            "| extend NodeLabels = parse_json(Labels)[0]",
            '| extend Os = tostring(NodeLabels["kubernetes.io/os"]), Virtual = tostring(NodeLabels.type) == '
            '"virtual-kubelet", Filtered = isnotnull(NodeLabels["eraser.sh/cleanup.filter"]), '
            "Joined = CreationTimeStamp",
            "| project _ResourceId, Node, Os, Virtual, Filtered, Joined;",
            # The worker pods of scheduled runs, each as its last sample left it.
            f"let podRows = KubePodInventory{only}",
            f"| where Namespace == {_s(st.NAMESPACE)};",
            "let kubeSystem = podRows | summarize KubeSystemRows = count() by _ResourceId;",
            "let workers = podRows",
            f'| where ({workers}) and ControllerKind == "PodTemplate"',
            '| where tostring(parse_json(PodLabel)[0]["eraser.sh/type"]) == "collector"',
            "| summarize arg_max(TimeGenerated, PodStatus), Created = min(PodCreationTimeStamp), "
            "Reasons = make_set(ContainerStatusReason) "
            "by _ResourceId, Node = Computer, Pod = Name, Run = ControllerName",
            "| extend Span = (TimeGenerated - Created) / 1m;",
            "let runs = workers | summarize Start = min(Created) by _ResourceId, Run;",
            "let latestRun = runs | summarize arg_max(Start, Run), RunCount = count() by _ResourceId;",
            # The workers' logs: a pod the inventory did not sample still logged, where kube-system is collected.
            f"let logged = ContainerLogV2{only}",
            f"| where PodNamespace == {_s(st.NAMESPACE)} and ({log_workers})",
            "| summarize FirstLine = min(TimeGenerated) by _ResourceId, Node = Computer, Pod = PodName;",
            "let inLatest = workers | join kind=inner (latestRun | project _ResourceId, Run, Start) on _ResourceId, Run"
            "| project _ResourceId, Node, Pod, PodStatus, Reasons, Created;",
            "let loggedInLatest = logged | join kind=inner (latestRun) on _ResourceId",
            "| where FirstLine >= Start and FirstLine < Start + 1h",
            "| summarize LoggedPods = dcount(Pod) by _ResourceId, Node;",
            "let events = KubeEvents" + only,
            '| where KubeEventType == "Warning";',
            f"let podEvents = events | where Namespace == {_s(st.NAMESPACE)}",
            "| summarize EventReasons = make_set(Reason) by _ResourceId, Pod = Name;",
            "let perNode = workers | summarize Runs = dcount(Run), "
            'LastRun = max(iff(PodStatus == "Succeeded", Created, datetime(null))) by _ResourceId, Node;',
            # A row per node of the latest sample.
            "let nodes = current",
            "| join kind=leftouter (inLatest) on _ResourceId, Node",
            "| join kind=leftouter (podEvents) on _ResourceId, Pod",
            "| join kind=leftouter (perNode) on _ResourceId, Node",
            "| join kind=leftouter (loggedInLatest) on _ResourceId, Node",
            "| project _ResourceId, Node, Os, Virtual, Filtered, Joined, Pod, PodStatus, PodCreated = Created, "
            "Reasons, EventReasons, Runs, LastRun, LoggedPods",
            f'| extend Kind = "{NODE}";',
            # What the cluster's evidence is worth: the latest run, the interval, kube-system, the logs.
            "let clusterRows = lastSample",
            "| join kind=leftouter (sampling) on _ResourceId",
            "| join kind=leftouter (latestRun) on _ResourceId",
            "| join kind=leftouter (kubeSystem) on _ResourceId",
            "| join kind=leftouter (logged | summarize LoggedPods = dcount(Pod) by _ResourceId) on _ResourceId",
            "| join kind=leftouter (workers | summarize PodSpanMinutes = min(Span) by _ResourceId) on _ResourceId",
            "| project _ResourceId, LastSample, IntervalMinutes, LatestStart = Start, LatestRun = Run, RunCount, "
            "KubeSystemRows, LoggedPods, PodSpanMinutes",
            f'| extend Kind = "{CLUSTER}";',
            # Workload pods the kubelet evicted to admit a run's worker pod on their node.
            "let preempted = events",
            '| where Reason == "Preempting"',
            "| join kind=inner (workers | project _ResourceId, Computer = Node, Created) on _ResourceId, Computer",
            # (an event's time is to the second, a pod's creation finer)
            f"| where TimeGenerated >= Created - 1m and TimeGenerated < Created + {PREEMPTION_MINUTES}m",
            "| summarize Time = min(TimeGenerated) by _ResourceId, Namespace, Name, Node = Computer",
            f'| extend Kind = "{PREEMPTED}";',
        ]
    )
    return text, "union nodes, clusterRows, preempted"
