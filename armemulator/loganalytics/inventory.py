"""What Container Insights samples of a cluster's objects: KubeNodeInventory, KubePodInventory and KubeEvents rows.

Follows ../shared/container-insights.md §7 and microsoft/Docker-Provider's inventory plugins (in_kube_nodes,
in_kube_podinventory, in_kube_events):
- every `interval` of the data collection rule (1 minute by default, 1 to 30 allowed) the agent writes a batch: a
  KubeNodeInventory row per node and a KubePodInventory row per container of each pod, as they are at that moment.
  A pod that lives between two samples is in none of them;
- KubePodInventory: `PodStatus` is the pod's phase, `ContainerStatus` the first key of the container's `state`
  (waiting, running, terminated) and `ContainerStatusReason` its reason, `ControllerKind`/`ControllerName` the
  pod's first owner, `PodLabel` its labels as JSON text in a list;
- the data collection rule can leave namespaces out of the inventory (`namespaceFilteringMode`: Exclude, with
  `namespaces`): their pods are then in no KubePodInventory row;
- KubeEvents: the events that are not Normal, `Computer` being the event's `source.host` and `TimeGenerated` its
  creation time.
The times given here are epoch seconds; a sample time is a multiple of the interval.
"""

import datetime
import json
import math
from typing import NamedTuple

from armemulator.loganalytics.agent import stable_uid


class Pod(NamedTuple):
    """A pod over its life: `states` [(from time, phase, {container: (state, reason)})], gone at `deleted`."""

    name: str
    node: str
    namespace: str
    labels: dict
    owner: tuple | None  # (kind, name)
    created: float
    states: list
    deleted: float


def state_at(pod, at):
    """(phase, containers) of `pod` at time `at`, or None when it does not exist then."""
    if at < pod.created or at >= pod.deleted:
        return None
    current = None
    for since, phase, containers in pod.states:
        if since <= at:
            current = (phase, containers)
    return current


def sample_times(start, end, interval_seconds):
    """The sample times in [start, end], on the interval's grid."""
    first = math.ceil(start / interval_seconds) * interval_seconds
    return (
        [first + k * interval_seconds for k in range(int((end - first) // interval_seconds) + 1)]
        if end >= first
        else []
    )


def _when(epoch):
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=epoch)


def rows(cluster_id, workspace, nodes, pods, times, excluded_namespaces=()):
    """{table: [row]} of the batches at `times`: `nodes` [(name, labels, created, os)] existing from `created`,
    `pods` [Pod]."""
    resource = cluster_id.lower()
    common = {"_ResourceId": resource, "TenantId": workspace, "_Workspace": workspace}
    cluster_name = resource.rsplit("/", 1)[-1]
    node_rows, pod_rows = [], []
    for at in times:
        when = _when(at)
        for name, labels, created, os_name in nodes:
            if created > at:
                continue
            node_rows.append(
                dict(
                    common,
                    TimeGenerated=when,
                    Computer=name,
                    ClusterName=cluster_name,
                    ClusterId=resource,
                    Status="Ready",
                    LastTransitionTimeReady=_when(created),
                    Labels=json.dumps([labels]),
                    KubeletVersion="v1.33.2",
                    OperatingSystem=os_name,
                    CreationTimeStamp=_when(created),
                )
            )
        for pod in pods:
            if pod.namespace in excluded_namespaces:
                continue
            found = state_at(pod, at)
            if found is None:
                continue
            phase, containers = found
            pod_uid = stable_uid(resource, pod.name)
            for container, (state, reason) in containers.items():
                pod_rows.append(
                    dict(
                        common,
                        TimeGenerated=when,
                        Computer=pod.node,
                        Name=pod.name,
                        Namespace=pod.namespace,
                        PodUid=pod_uid,
                        PodStatus=phase,
                        PodLabel=json.dumps([pod.labels]),
                        PodCreationTimeStamp=_when(pod.created),
                        PodStartTime=_when(pod.created),
                        PodRestartCount=0,
                        ContainerID=stable_uid(pod_uid, container),
                        ContainerName=f"{pod_uid}/{container}",
                        ContainerStatus=state,
                        ContainerStatusReason=reason or "",
                        ControllerKind=pod.owner[0] if pod.owner else "",
                        ControllerName=pod.owner[1] if pod.owner else "",
                        ClusterName=cluster_name,
                    )
                )
    return {"KubeNodeInventory": node_rows, "KubePodInventory": pod_rows}


def event_rows(cluster_id, workspace, events):
    """KubeEvents rows of Kubernetes Event objects (the Warnings; Normal ones are not collected by default)."""
    resource = cluster_id.lower()
    found = []
    for event in events:
        if event.get("type") == "Normal":
            continue
        involved = event.get("involvedObject") or {}
        created = event["metadata"]["creationTimestamp"]
        found.append(
            {
                "TimeGenerated": _parse(created),
                "ObjectKind": involved.get("kind"),
                "Namespace": involved.get("namespace"),
                "Name": involved.get("name"),
                "Reason": event.get("reason"),
                "Message": event.get("message"),
                "KubeEventType": event.get("type"),
                "SourceComponent": (event.get("source") or {}).get("component"),
                "Computer": (event.get("source") or {}).get("host"),
                "FirstSeen": _parse(event.get("firstTimestamp") or created),
                "LastSeen": _parse(event.get("lastTimestamp") or created),
                "Count": event.get("count") or 1,
                "ClusterName": resource.rsplit("/", 1)[-1],
                "ClusterId": resource,
                "_ResourceId": resource,
                "TenantId": workspace,
                "_Workspace": workspace,
            }
        )
    return found


def _parse(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
