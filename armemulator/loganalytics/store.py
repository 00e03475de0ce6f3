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
from armemulator.loganalytics import agent, inventory, tables


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

    def set_retention(self, resource_id, days):
        """The workspace's retention (`properties.retentionInDays`, 30 by default; 4 to 730 days for the
        PerGB2018 tier): how far back its tables keep rows."""
        workspace = self.workspace(resource_id)
        with self.lock:
            workspace["properties"]["retentionInDays"] = days
        return workspace

    def customer_ids(self):
        with self.lock:
            return {w["properties"]["customerId"] for w in self.workspaces.values()}

    def collect(self, doc, configmap, pod, node, texts, started, rule=None):
        """What the cluster's agent keeps of a pod's container logs: nothing without the add-on or when its
        settings (the ConfigMap, and `rule`: its data collection rule's settings, None without one) leave kube-system
        out (`agent`)."""
        kept = self._agent(doc, configmap, rule)
        if kept is None:
            return
        customer_id, found = kept
        tables = agent.rows(
            doc["id"], customer_id, found["schema"], pod, node, texts, started, multiline=found["multiline"]
        )
        for table, items in tables.items():
            if items:
                self.database.add(table, items)

    def _agent(self, doc, configmap, rule):
        """(the workspace's customer ID, the agent's settings) where the cluster's agent keeps kube-system's logs."""
        workspace_id = agent.addon_workspace(doc)
        if not workspace_id:
            return None
        found = agent.settings(configmap)
        if not (agent.collects(found, "kube-system") and agent.rule_keeps(rule, "kube-system")):
            return None
        return self.workspace(workspace_id)["properties"]["customerId"], found

    def collect_past(self, doc, configmap, runs, texts, rule=None):
        """`collect` for many pods that logged the same `texts` ({container: text} from time 0), each from its own
        start: [(pod, node, started)]. The agent's rows are made once, for a pod and node to be named, then laid at
        every pod's and start's in one SQL statement per table: the rows `collect` would add pod by pod, in bulk."""
        kept = self._agent(doc, configmap, rule)
        if kept is None or not runs:
            return
        customer_id, found = kept
        template = agent.rows(
            doc["id"], customer_id, found["schema"], _POD, _NODE, texts, 0, multiline=found["multiline"]
        )
        self.database.register(
            "past_runs", [("Pod", "string"), ("Node", "string"), ("Started", "real")], [
                {"Pod": pod, "Node": node, "Started": float(started)} for pod, node, started in runs
            ]
        )  # fmt: skip
        for table, items in template.items():
            if not items:
                continue
            columns = [*tables.TABLES[table], *_TEMPLATE_COLUMNS]
            for item in items:
                item["_Ts"], item["_TsText"] = _template_ts(item)
            self.database.register("past_template", columns, items)
            self.database.insert_select(table, _past_select(table))

    def sample(self, doc, rule, nodes, pods, events, windows, now=None):
        """What the cluster's agent samples of its nodes and pods over `windows` [(start, end)] (and the hour before
        `now`, when given), every interval of its data collection rule (`rule`: its `dataCollectionSettings`, None
        without one: `interval` and the namespaces it lets through, `agent.rule_keeps`), and its Warning events
        (`inventory`). Nothing without the add-on."""
        workspace_id = agent.addon_workspace(doc)
        if not workspace_id:
            return
        customer_id = self.workspace(workspace_id)["properties"]["customerId"]
        interval = 60 * agent.rule_interval_minutes(rule)
        times = set()
        for start, end in [*windows, *([(now - 3600, now)] if now is not None else [])]:
            times.update(inventory.sample_times(start - interval, end, interval))
        namespaces = {pod.namespace for pod in pods}
        excluded = tuple(n for n in namespaces if not agent.rule_keeps(rule, n, agent.INVENTORY_STREAMS))
        found = inventory.rows(doc["id"], customer_id, nodes, pods, sorted(times), excluded)
        found["KubeEvents"] = inventory.event_rows(doc["id"], customer_id, events)
        for table, items in found.items():
            if items:
                self.database.add(table, items)

    def stats(self):
        """{workspace customer ID: {table: {"rows", "bytes"}}}: what each workspace holds, the bytes being the log
        lines' (LogMessage as JSON text, LogEntry): how large an answer of the raw lines would be; for the
        inventory tables, their rows (bytes 0)."""
        self.database.flush()
        found = {}
        tables = [("ContainerLogV2", "CAST(LogMessage AS VARCHAR)"), ("ContainerLog", "LogEntry")]
        tables += [(t, "''") for t in ("KubePodInventory", "KubeNodeInventory", "KubeEvents")]
        for table, line in tables:
            query = f"SELECT _Workspace, count(*), coalesce(sum(length({line})), 0) FROM main.{table} GROUP BY 1"
            for workspace, rows, size in self.database.sql(query):
                found.setdefault(workspace, {})[table] = {"rows": rows, "bytes": int(size)}
        return found

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


_POD, _NODE = "__pod__", "__node__"
_TEMPLATE_COLUMNS = [("_Ts", "real"), ("_TsText", "string")]
_TS = re.compile(r'"ts":\s*([-0-9.eE+]+)')


def _template_ts(row):
    """(the line's `ts`, its text in the raw line) of a template row, or (None, None)."""
    message = row.get("LogMessage")
    if isinstance(message, dict) and isinstance(message.get("ts"), (int, float)):
        return float(message["ts"]), None
    match = _TS.search(row.get("LogEntry") or "")
    return (float(match[1]), match[1]) if match else (None, None)


# The SQL of agent._uid: the SHA-256 of the parts joined by "/", as 8-4-4-4-12 hex digits.
def _uid_sql(expression):
    digest = f"sha256({expression})"
    spans = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    return " || '-' || ".join(f"substr({digest}, {start}, {length})" for start, length in spans)


def _past_select(table):
    """The SELECT laying the template rows of `table` at every past run's pod, node and start (`collect_past`)."""
    pod_uid = _uid_sql("t._ResourceId || '/' || r.Pod")
    container = "t.ContainerName" if table == "ContainerLogV2" else "split_part(t.ContainerName, '/', 2)"
    if table == "ContainerLog":
        container = "split_part(t.Name, '/', 2)"
    container_id = _uid_sql(f"({pod_uid}) || '/' || {container}")
    shifted = "t._Ts + r.Started"
    changed = {
        "TimeGenerated": "t.TimeGenerated + to_microseconds(CAST(round(r.Started * 1e6) AS BIGINT))",
        "Computer": "r.Node",
    }
    if table == "ContainerLogV2":
        changed.update(
            PodName="r.Pod",
            ContainerId=container_id,
            LogMessage=f"CASE WHEN t._Ts IS NULL THEN t.LogMessage "
            f"ELSE json_merge_patch(t.LogMessage, json_object('ts', {shifted})) END",
            KubernetesMetadata=f"json_object('podUid', {pod_uid}, 'podName', r.Pod, "
            "'image', json_extract_string(t.KubernetesMetadata, '$.image'))",
        )
    elif table == "ContainerLog":
        changed.update(
            ContainerID=container_id,
            Name=f"({pod_uid}) || '/' || {container}",
            LogEntry=f"CASE WHEN t._Ts IS NULL THEN t.LogEntry "
            f"ELSE replace(t.LogEntry, '\"ts\":' || t._TsText, '\"ts\":' || printf('%.7f', {shifted})) END",
        )
    else:  # KubePodInventory
        changed.update(
            Name="r.Pod",
            PodUid=pod_uid,
            ContainerID=container_id,
            ContainerName=f"({pod_uid}) || '/' || {container}",
        )
    select = ", ".join(f"{changed.get(c, 't.' + c)} AS {c}" for c, _ in tables.TABLES[table])
    return f"SELECT {select} FROM past_template t CROSS JOIN past_runs r"


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
