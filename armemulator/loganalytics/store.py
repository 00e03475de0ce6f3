"""Log Analytics workspaces of the emulator: their container log tables, and queries in a workspace's scope or a
resource's (../shared/container-insights.md §4).

A workspace comes into being when a cluster's monitoring add-on names it (its resource ID); its customer ID, the
GUID the workspace query API takes, is made from that ID. Rows come from the clusters' agents (`agent.rows`) as
their pods log; every row goes to the workspace the cluster sent it to, with the cluster's resource ID in lower
case in `_ResourceId`, as the service stores it.
"""

import datetime
import re
import threading
import uuid

from armemulator import kusto
from armemulator.loganalytics import agent, tables


class LogStore:
    def __init__(self):
        self.database = kusto.Database(tables.TABLES, hidden=tables.HIDDEN)
        self.lock = threading.Lock()
        self.workspaces = {}  # resource ID (lower case) -> workspace document

    def workspace(self, resource_id):
        """The workspace document for `resource_id`, made on first use: {"id", "name", "location", "properties"}."""
        key = resource_id.lower()
        with self.lock:
            if key not in self.workspaces:
                parts = resource_id.split("/")
                self.workspaces[key] = {
                    "id": resource_id,
                    "name": parts[-1],
                    "type": "Microsoft.OperationalInsights/workspaces",
                    "location": "eastus",
                    "properties": {
                        "customerId": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
                        "provisioningState": "Succeeded",
                        "retentionInDays": 30,
                        "sku": {"name": "PerGB2018"},
                    },
                }
            return self.workspaces[key]

    def customer_ids(self):
        with self.lock:
            return {w["properties"]["customerId"] for w in self.workspaces.values()}

    def collect(self, doc, configmap, pod, node, texts, started):
        """What the cluster's agent keeps of a pod's container logs: nothing without the add-on or when its
        settings leave kube-system out (`agent`)."""
        workspace_id = agent.addon_workspace(doc)
        if not workspace_id:
            return
        found = agent.settings(configmap)
        if not agent.collects(found, "kube-system"):
            return
        customer_id = self.workspace(workspace_id)["properties"]["customerId"]
        for table, items in agent.rows(doc["id"], customer_id, found["schema"], pod, node, texts, started).items():
            if items:
                self.database.add(table, items)

    def query(self, text, timespan, workspace=None, resource=None, now=None):
        """KQL over one workspace's rows (by customer ID) or one resource's (by resource ID, in any workspace),
        within `timespan` (ISO 8601, as the query API's body gives it; None: no bound)."""
        start, end = parse_timespan(timespan, now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None))
        conditions, parameters = [], []
        if workspace is not None:
            conditions.append("_Workspace = ?")
            parameters.append(workspace)
        if resource is not None:
            conditions.append("_ResourceId = ?")
            parameters.append(resource.lower())
        if start is not None:
            conditions.append("TimeGenerated >= ? AND TimeGenerated <= ?")
            parameters += [start, end]
        return self.database.query(text, " AND ".join(conditions) or None, parameters)


_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text):
    match = _DURATION.match(text or "")
    if not match or text in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return datetime.timedelta(**parts)


def _moment(text):
    return (
        datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        .astimezone(datetime.timezone.utc)
        .replace(tzinfo=None)
    )


def parse_timespan(text, now):
    """(start, end) of the query API's `timespan`: a duration before now (what the SDK sends for a timedelta,
    "PT2592000.0S"), "start/end", or "start/duration"; (None, None) without one."""
    if not text:
        return None, None
    first, _, second = text.partition("/")
    if not second:
        return now - parse_duration(first), now
    start = _moment(first)
    end = start + parse_duration(second) if second.startswith("P") else _moment(second)
    return start, end
