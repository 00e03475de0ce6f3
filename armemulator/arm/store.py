"""The emulator's state: subscriptions, resource groups, clusters, operations, faults, the request log.

All of it sits behind one lock; handlers call the methods below, which raise
ArmError for the answers ARM gives as errors. Time is read through `clock`
so long-running operations settle when their time has come, on any access.
"""

import copy
import json
import math
import os
import threading
import time
import uuid

from armemulator.arm import clusters
from armemulator.arm.errors import ArmError, not_found
from armemulator.eraser.controller import CONTROLLER_POD, EraserController, epoch
from armemulator.kubernetes.objects import KubeCluster, KubeError, nodes_for
from armemulator.loganalytics import agent
from armemulator.loganalytics.inventory import Pod
from armemulator.loganalytics.store import LogStore

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
RUNNING = "InProgress"


def _rule_settings(entry):
    """The `dataCollectionSettings` of the cluster's data collection rule, or None where it has none: a rule comes
    with the monitoring add-on onboarded with managed identity (`useAADAuth`: az's
    `--enable-msi-auth-for-monitoring`, on by default)."""
    workspace = agent.addon_workspace(entry["doc"])
    config = agent.monitoring_addon(entry["doc"])
    # Without the add-on, the Azure Monitor profile onboards with managed identity only (acs `_is_monitoring_aad_auth`).
    msi = config is None or str(agent.addon_setting(config, "useAADAuth")).lower() == "true"
    if not (workspace and msi):
        return None
    return {**agent.DEFAULT_RULE_SETTINGS, **(entry.get("monitoring") or {})}


def _key(*parts):
    return tuple(p.lower() for p in parts)


class TokenBucket:
    """ARM's per-subscription request budget: `rate` a second, at most `burst` at once."""

    def __init__(self, rate, burst, clock):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = float(burst), clock()

    def take(self):
        """Seconds to wait before a token is free (0: one was taken)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return max(1, math.ceil((1 - self.tokens) / self.rate))


class Store:
    def __init__(self, operation_seconds=0.0, state_file=None, clock=time.monotonic, tenant=DEFAULT_TENANT):
        self.lock = threading.RLock()
        self.clock = clock
        self.tenant = tenant
        self.operation_seconds = float(operation_seconds)
        # Retry-After on a long-running operation's answers, or None for none. AKS sends none: in azure-cli's
        # recording test_aks_update_with_image_cleaner the PUT and every poll of its Azure-AsyncOperation come
        # without one, and az polls every 30 s (azure-core's default), each update taking about 2 minutes
        # (12:02:53 to 12:04:54). 1 by default, so that tests of short operations are not held 30 s a poll.
        self.operation_retry_after = 1
        self.state_file = state_file
        self.subscriptions = {}
        self.resource_groups = {}
        self.clusters = {}  # key -> {"doc", "etag", "operation"}; "etag" None: a cluster the service gives no ETag
        # Whether new clusters get ETags. The live service's recorded answers (../shared/recorded-arm, 2021 to
        # 2025) carry no eTag and no ETag header, so by default they get none; the API specification describes
        # eTag with If-Match/If-None-Match and 412, which a cluster gets with set_etags(..., True).
        self.etags_default = False
        self.operations = {}  # id -> {"status", "ends_at", "cluster", "kind", "outcome", "error", "doc"}
        self.requests = []
        self.faults = []
        # ("read"/"write", subscription or "*") -> {"rate", "burst"}: ARM's budget per subscription
        self.throttle = {}
        self._buckets = {}
        self.feature_registered = True
        self.kube = {}  # cluster key -> KubeCluster
        self.eraser = {}  # cluster key -> EraserController, the simulated Eraser acting on it
        self.logs = LogStore()  # Azure Monitor Logs: the workspaces the clusters' monitoring add-ons send to
        # Azure RBAC role assignments of the caller per cluster: key -> [(built-in role, namespace or None)]
        self.role_assignments = {}
        # Clusters whose API server refuses every AAD token (as Conditional Access makes it: a 401)
        self.rejecting_tokens = set()
        self.token_seconds = 3600  # how long the tokens of the token endpoint last
        self.management_groups = {}  # name (lower case) -> subscription IDs under it
        # How long a change takes to show in Resource Graph, which "can lag behind ARM by a short time"
        self.graph_lag_seconds = 0.0
        self.kube_run_seconds = 2.0
        self.kube_pod_ttl_seconds = 600.0
        if state_file and os.path.exists(state_file):
            self._load(state_file)
        if not self.subscriptions:
            self.add_subscription(DEFAULT_SUBSCRIPTION, "Sandbox subscription")

    # --- subscriptions and resource groups --------------------------------------------------

    def add_subscription(self, subscription_id, display_name):
        with self.lock:
            self.subscriptions[subscription_id.lower()] = {
                "id": f"/subscriptions/{subscription_id}",
                "subscriptionId": subscription_id,
                "tenantId": self.tenant,
                "displayName": display_name,
                "state": "Enabled",
            }
            self._save()

    def subscription(self, subscription_id):
        with self.lock:
            found = self.subscriptions.get(subscription_id.lower())
            if not found:
                raise ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found.")
            return found

    def put_resource_group(self, subscription, name, location, tags=None):
        with self.lock:
            self.subscription(subscription)
            key = _key(subscription, name)
            existing = self.resource_groups.get(key)
            group = {
                "id": f"/subscriptions/{subscription}/resourceGroups/{name}",
                "name": existing["name"] if existing else name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": existing["location"] if existing else location,
                "tags": tags or {},
                "properties": {"provisioningState": "Succeeded"},
            }
            self.resource_groups[key] = group
            self._save()
            return group, existing is None

    def resource_group(self, subscription, name):
        with self.lock:
            self.subscription(subscription)
            found = self.resource_groups.get(_key(subscription, name))
            if not found:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
            return found

    def list_resource_groups(self, subscription):
        with self.lock:
            self.subscription(subscription)
            return [g for k, g in self.resource_groups.items() if k[0] == subscription.lower()]

    # --- clusters --------------------------------------------------------------------------------

    def get_cluster(self, subscription, resource_group, name):
        with self.lock:
            self._settle()
            self.resource_group(subscription, resource_group)
            entry = self.clusters.get(_key(subscription, resource_group, name))
            if not entry:
                raise not_found(clusters.TYPE, name, resource_group)
            return self._view(entry)

    def _remember(self, entry):
        """Keep the document as written, for Resource Graph's view of it (the last few versions are enough)."""
        entry["history"] = [*entry.get("history", [])[-3:], (self.clock(), copy.deepcopy(entry["doc"]))]

    def graph_documents(self, subscriptions=None, management_groups=None):
        """The clusters Resource Graph shows for the scope, as they were `graph_lag_seconds` ago."""
        with self.lock:
            self._settle()
            if management_groups:
                scope = {s.lower() for g in management_groups for s in self.management_groups.get(g.lower(), [])}
            elif subscriptions:
                scope = {s.lower() for s in subscriptions}
            else:
                scope = set(self.subscriptions)
            seen_at = self.clock() - self.graph_lag_seconds
            documents = []
            for key, entry in sorted(self.clusters.items()):
                if key[0] not in scope:
                    continue
                history = entry.get("history") or [(float("-inf"), entry["doc"])]
                if self.graph_lag_seconds <= 0:
                    visible = entry["doc"]
                else:
                    visible = next((doc for at, doc in reversed(history) if at <= seen_at), None)
                if visible is not None:
                    documents.append(copy.deepcopy(visible))
            return documents

    def list_clusters(self, subscription, resource_group=None):
        with self.lock:
            self._settle()
            if resource_group is not None:
                self.resource_group(subscription, resource_group)
            else:
                self.subscription(subscription)
            return [
                self._view(entry)
                for key, entry in sorted(self.clusters.items())
                if key[0] == subscription.lower() and (resource_group is None or key[1] == resource_group.lower())
            ]

    def put_cluster(self, subscription, resource_group, name, body, *, if_match=None, if_none_match=None, outcome=None):
        """Accept a PUT: returns (document as answered, created, operation id)."""
        with self.lock:
            self._settle()
            self.resource_group(subscription, resource_group)
            key = _key(subscription, resource_group, name)
            entry = self.clusters.get(key)
            _check_preconditions(entry, if_match, if_none_match)
            if entry and entry["operation"]:
                kind = self.operations[entry["operation"]]["kind"]
                raise ArmError(
                    409,
                    "OperationNotAllowed",
                    f"Operation is not allowed: Another operation ({kind}) is in progress, please wait for it "
                    "to finish before starting a new operation. See https://aka.ms/aks-pending-operation",
                )
            clusters.validate_put(body, entry["doc"] if entry else None)
            if not self.feature_registered and clusters.image_cleaner_enabled(body):
                raise ArmError(
                    400,
                    "ImageCleanerFeatureFlagNotEnabled",
                    "ImageCleaner is not enabled for this subscription. Please register the feature "
                    "Microsoft.ContainerService/EnableImageCleanerPreview.",
                )
            kind = "Updating" if entry else "Creating"
            doc = clusters.stored_document(
                subscription,
                resource_group,
                name,
                body,
                existing=entry["doc"] if entry else None,
                provisioning_state=kind,
                tenant=self.tenant,
            )
            etag = self._next_etag(entry)
            if entry is None:
                entry = self.clusters[key] = {"doc": doc, "etag": None, "operation": None}
            entry["doc"], entry["etag"] = doc, etag
            self._remember(entry)
            answer = self._view(entry)
            operation_id = self._start_operation(key, kind, outcome)
            return answer, kind == "Creating", operation_id

    def delete_cluster(self, subscription, resource_group, name):
        with self.lock:
            self._settle()
            self.resource_group(subscription, resource_group)
            key = _key(subscription, resource_group, name)
            entry = self.clusters.get(key)
            if not entry:
                return None
            if entry["operation"]:
                raise ArmError(
                    409,
                    "OperationNotAllowed",
                    "Operation is not allowed: Another operation is in "
                    "progress, please wait for it to finish before starting a new operation.",
                )
            entry["doc"]["properties"]["provisioningState"] = "Deleting"
            return self._start_operation(key, "Deleting", None)

    def seed_cluster(self, subscription, resource_group, name, body, location="eastus"):
        """Store a cluster as if it had been created earlier (no operation, state Succeeded)."""
        with self.lock:
            if _key(subscription, resource_group) not in self.resource_groups:
                self.put_resource_group(subscription, resource_group, location)
            key = _key(subscription, resource_group, name)
            entry = self.clusters.get(key)
            doc = clusters.stored_document(
                subscription,
                resource_group,
                name,
                body,
                existing=entry["doc"] if entry else None,
                provisioning_state="Succeeded",
                tenant=self.tenant,
            )
            self.clusters[key] = {"doc": doc, "etag": self._next_etag(entry), "operation": None}
            # Seeded clusters exist "from before": Resource Graph has them whatever its lag.
            self.clusters[key]["history"] = [(float("-inf"), copy.deepcopy(doc))]
            self._save()
            return self._view(self.clusters[key])

    def _next_etag(self, entry):
        """The ETag after a write: a fresh one where the cluster has ETags (a new cluster: where new clusters get
        them), none where it has none."""
        with_etag = bool(entry["etag"]) if entry else self.etags_default
        return clusters.new_etag() if with_etag else None

    def set_etags(self, subscription, resource_group, name, enabled):
        """Give the cluster ETags (as the API specification describes) or none (as the live service answers)."""
        with self.lock:
            entry = self.clusters.get(_key(subscription, resource_group, name))
            if not entry:
                raise not_found(clusters.TYPE, name, resource_group)
            entry["etag"] = clusters.new_etag() if enabled else None
            self._save()
            return self._view(entry)

    def patch_cluster(self, subscription, resource_group, name, patch):
        """Someone else's change: merge `patch` into the stored document and give it a new ETag."""
        with self.lock:
            entry = self.clusters.get(_key(subscription, resource_group, name))
            if not entry:
                raise not_found(clusters.TYPE, name, resource_group)
            _merge(entry["doc"], patch)
            entry["etag"] = self._next_etag(entry)
            self._remember(entry)
            self._save()
            return self._view(entry)

    def start_foreign_operation(self, subscription, resource_group, name, seconds, kind="Updating"):
        """Another client's operation in progress on the cluster, for `seconds`."""
        with self.lock:
            key = _key(subscription, resource_group, name)
            if key not in self.clusters:
                raise not_found(clusters.TYPE, name, resource_group)
            self.clusters[key]["doc"]["properties"]["provisioningState"] = kind
            return self._start_operation(key, kind, None, seconds=seconds)

    # --- the clusters' Kubernetes side -----------------------------------------------------------

    def kube_cluster(self, subscription, resource_group, name):
        """The cluster's Kubernetes API state, with Eraser installed once Image Cleaner is on in ARM."""
        self._settle()
        key = _key(subscription, resource_group, name)
        entry = self.clusters.get(key)
        if entry is None:
            raise KubeError(503, "ServiceUnavailable", f"the cluster {name} does not exist")
        kube = self.kube.get(key)
        if kube is None:
            kube = self.kube[key] = KubeCluster(nodes_for(entry["doc"]), self.clock)
            # Eraser's workers log to their pods and, through the cluster's monitoring agent, to Log Analytics.
            self.eraser[key] = EraserController(
                kube,
                log_sink=lambda *logged: self._collect(key, *logged),
                past_sink=lambda runs, texts: self._collect_past(key, runs, texts),
                inventory_sink=lambda pods, events, windows: self._sample(key, pods, events, windows),
            )
        kube.run_seconds, kube.pod_ttl_seconds = self.kube_run_seconds, self.kube_pod_ttl_seconds
        eraser = self.eraser[key]
        if clusters.image_cleaner_enabled(entry["doc"]):
            eraser.install()
        eraser.settle()
        return kube

    def eraser_of(self, subscription, resource_group, name):
        """The simulated Eraser of the cluster (settled, as kube_cluster leaves it)."""
        self.kube_cluster(subscription, resource_group, name)
        return self.eraser[_key(subscription, resource_group, name)]

    def _collect(self, key, pod, node, texts, started):
        entry, kube = self.clusters.get(key), self.kube.get(key)
        if entry is not None and kube is not None:
            configmap = kube.configmaps.get(("kube-system", agent.CONFIGMAP))
            self.logs.collect(entry["doc"], configmap, pod, node, texts, started, _rule_settings(entry))

    def _collect_past(self, key, runs, texts):
        entry, kube = self.clusters.get(key), self.kube.get(key)
        if entry is not None and kube is not None:
            configmap = kube.configmaps.get(("kube-system", agent.CONFIGMAP))
            self.logs.collect_past(entry["doc"], configmap, runs, texts, _rule_settings(entry))

    def _sample(self, key, pods, events, windows):
        """What the cluster's Container Insights agent samples of a run's pods, its nodes and the controller."""
        entry, kube = self.clusters.get(key), self.kube.get(key)
        if entry is None or kube is None:
            return
        now = time.time()
        past = max((end for _, end in windows), default=now) <= now and min(s for s, _ in windows) < now - 3600
        nodes = [
            (n, dict(o["metadata"].get("labels") or {}), epoch(o["metadata"]["creationTimestamp"]),
             o["status"]["nodeInfo"]["operatingSystem"])
            for n, o in sorted(kube.nodes.items())
        ]  # fmt: skip
        controller = kube.pods.get(("kube-system", CONTROLLER_POD))
        if controller is not None:
            since = min([s for s, _ in windows] + [now]) - 86400
            running = [(since, "Running", {"manager": ("running", "")})]
            labels = controller["object"]["metadata"].get("labels") or {}
            owner = ("ReplicaSet", CONTROLLER_POD.rsplit("-", 1)[0])
            node = controller["object"]["spec"]["nodeName"]
            pods = [*pods, Pod(CONTROLLER_POD, node, "kube-system", labels, owner, since, running, float("inf"))]
        self.logs.sample(entry["doc"], _rule_settings(entry), nodes, pods, events, windows, now if past else None)

    def sample_now(self, subscription, resource_group, name):
        """The agent's latest sample of the cluster's nodes and pods, now."""
        now = time.time()
        self._sample(_key(subscription, resource_group, name), [], [], [(now, now)])

    def set_monitoring(self, subscription, resource_group, name, settings):
        """The `dataCollectionSettings` of the cluster's data collection rule, as `az aks enable-addons -a monitoring
        --data-collection-settings` takes them: "interval" ("1m" to "30m"), "namespaceFilteringMode" (Off, Exclude,
        Include), "namespaces", "enableContainerLogV2", "streams" (loganalytics/agent.py)."""
        with self.lock:
            entry = self.clusters.get(_key(subscription, resource_group, name))
            if entry is None:
                raise not_found(clusters.TYPE, name, resource_group)
            entry["monitoring"] = dict(settings)
            return entry["monitoring"]

    def data_collection_rule(self, subscription, resource_group, name):
        """The cluster's Container Insights data collection rule and its association, as az creates them for a
        cluster onboarded with managed identity (`useAADAuth`; azure-cli acs/addonconfiguration.py,
        `ensure_container_insights_for_monitoring`, `create_or_delete_dcr_association`): (rule, association), or
        None where the cluster has none."""
        entry = self.clusters.get(_key(subscription, resource_group, name))
        settings = _rule_settings(entry) if entry else None
        if settings is None:
            return None
        doc = entry["doc"]
        workspace = agent.addon_workspace(doc)
        location = self.logs.workspace(workspace)["location"].replace(" ", "").lower()
        rule_name = f"MSCI-{location}-{doc['name']}"[:64]
        rule_id = (
            f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Insights/"
            f"dataCollectionRules/{rule_name}"
        )
        streams = list(settings.get("streams") or agent.DEFAULT_STREAMS)
        rule = {
            "id": rule_id,
            "name": rule_name,
            "type": "Microsoft.Insights/dataCollectionRules",
            "location": location,
            "kind": "Linux",
            "properties": {
                "dataSources": {
                    "extensions": [
                        {
                            "name": "ContainerInsightsExtension",
                            "streams": streams,
                            "extensionName": "ContainerInsights",
                            "extensionSettings": {"dataCollectionSettings": dict(settings)},
                        }
                    ]
                },
                "dataFlows": [{"streams": streams, "destinations": ["la-workspace"]}],
                "destinations": {"logAnalytics": [{"workspaceResourceId": workspace, "name": "la-workspace"}]},
                "provisioningState": "Succeeded",
            },
        }
        association = {
            "id": f"{doc['id']}/providers/Microsoft.Insights/dataCollectionRuleAssociations/ContainerInsightsExtension",
            "name": "ContainerInsightsExtension",
            "type": "Microsoft.Insights/dataCollectionRuleAssociations",
            "properties": {
                "dataCollectionRuleId": rule_id,
                "description": "associates dataCollectionRule to the AKS",
                "provisioningState": "Succeeded",
            },
        }
        return rule, association

    def past_runs(self, subscription, resource_group, name, days, candidates=None, vulnerable=None, faults=None,
                  stopped_days=0):  # fmt: skip
        """Image Cleaner's schedule over the last `days`, run at its past times, into the cluster's logs; each run
        with the emulator's node images, or `candidates` images of which `vulnerable` are (Eraser at real sizes)."""
        doc = self.get_cluster(subscription, resource_group, name)
        cleaner = ((doc.get("properties") or {}).get("securityProfile") or {}).get("imageCleaner") or {}
        eraser = self.eraser_of(subscription, resource_group, name)
        return eraser.past_runs(
            days, cleaner.get("intervalHours") or 168, candidates=candidates, vulnerable=vulnerable, faults=faults,
            stopped_days=stopped_days,
        )  # fmt: skip

    def graph_rules(self, documents):
        """The data collection rules of the clusters `graph_documents` shows, and their associations: (rules, for
        Resource Graph's Resources table; associations, for InsightsResources). A rule is in its cluster's resource
        group, so in the same scope."""
        rules, associations = [], []
        with self.lock:
            for doc in documents:
                parts = doc["id"].split("/")
                found = self.data_collection_rule(parts[2], parts[4], parts[8])
                if found:
                    rules.append(found[0])
                    associations.append(found[1])
        return rules, associations

    def workspaces(self, subscriptions=None):
        """The Log Analytics workspaces the clusters send to, as Resource Graph shows them (in scope)."""
        found = [dict(w) for w in self.logs.workspaces.values()]
        if subscriptions:
            scope = {s.lower() for s in subscriptions}
            found = [w for w in found if w["id"].split("/")[2].lower() in scope]
        return found

    # --- long-running operations -----------------------------------------------------------------

    def _start_operation(self, cluster_key, kind, outcome, seconds=None):
        operation_id = str(uuid.uuid4())
        outcome = outcome or {"status": "Succeeded"}
        self.operations[operation_id] = {
            "status": RUNNING,
            "kind": kind,
            "cluster": cluster_key,
            "started_at": self.clock(),
            "ends_at": self.clock() + (self.operation_seconds if seconds is None else seconds),
            "outcome": outcome,
        }
        self.clusters[cluster_key]["operation"] = operation_id
        self._save()
        return operation_id

    def operation(self, operation_id):
        with self.lock:
            self._settle()
            found = self.operations.get(operation_id.lower())
            if not found:
                raise ArmError(404, "NotFound", f"Operation {operation_id} was not found.")
            body = {"name": operation_id, "status": found["status"], "startTime": _iso(found["started_at"])}
            if found["status"] != RUNNING:
                body["endTime"] = _iso(found["ends_at"])
                if found["status"] != "Succeeded":
                    body["error"] = {
                        "code": found["outcome"].get("code", "InternalOperationError"),
                        "message": found["outcome"].get("message", "The operation failed."),
                    }
            return body

    def _settle(self):
        """Finish every operation whose time has come."""
        now = self.clock()
        changed = False
        for op in self.operations.values():
            if op["status"] != RUNNING or op["ends_at"] > now:
                continue
            op["status"] = op["outcome"]["status"]
            entry = self.clusters.get(op["cluster"])
            changed = True
            if entry is None:
                continue
            entry["operation"] = None
            if op["kind"] == "Deleting" and op["status"] == "Succeeded":
                del self.clusters[op["cluster"]]
                continue
            final = "Succeeded" if op["status"] == "Succeeded" else op["status"]
            entry["doc"]["properties"]["provisioningState"] = final
            for pool in entry["doc"]["properties"].get("agentPoolProfiles") or []:
                pool["provisioningState"] = final  # each pool's state ends with the operation, as in GETs after it
        if changed:
            self._save()

    # --- throttling, faults and the request log ------------------------------------------------

    def set_throttle(self, kind, rate, burst, subscription=None):
        """Every subscription's budget for `kind`, or one subscription's (which then wins over the general one)."""
        key = (kind, (subscription or "*").lower())
        with self.lock:
            if rate:
                self.throttle[key] = {"rate": float(rate), "burst": int(burst or 1)}
            else:
                self.throttle.pop(key, None)
            self._buckets = {k: v for k, v in self._buckets.items() if k[0] != kind}

    def throttled(self, kind, subscription):
        """(seconds to wait when the subscription's budget for `kind` is spent, else 0; requests left in it).

        Without a budget set, what is left reads 11999, the value ARM's older per-hour limits report."""
        with self.lock:
            limit = self.throttle.get((kind, subscription.lower())) or self.throttle.get((kind, "*"))
            if not limit:
                return 0, 11999
            bucket = self._buckets.get((kind, subscription.lower()))
            if bucket is None:
                bucket = self._buckets[(kind, subscription.lower())] = TokenBucket(
                    limit["rate"], limit["burst"], self.clock
                )
            wait = bucket.take()
            return wait, int(bucket.tokens)

    def add_fault(self, fault):
        with self.lock:
            fault = dict(fault)
            fault.setdefault("times", 1)
            fault.setdefault("skip", 0)
            fault["id"] = str(uuid.uuid4())
            fault["hits"] = 0
            self.faults.append(fault)
            return fault

    def take_fault(self, method, path):
        """The first armed fault matching this request, used up by one; None when there is none."""
        with self.lock:
            for fault in self.faults:
                if fault["times"] == 0:
                    continue
                if fault.get("method") and fault["method"].upper() != method.upper():
                    continue
                if fault.get("path_contains") and fault["path_contains"].lower() not in path.lower():
                    continue
                if fault["skip"] > 0:
                    fault["skip"] -= 1
                    continue
                fault["times"] -= 1
                fault["hits"] += 1
                return dict(fault)
            return None

    def log(self, entry):
        with self.lock:
            entry["seq"] = len(self.requests) + 1
            self.requests.append(entry)

    def snapshot_requests(self):
        with self.lock:
            return list(self.requests)

    def clear_requests(self):
        with self.lock:
            self.requests.clear()

    def reset(self):
        """Forget the request log, faults and throttling (the clusters stay)."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.throttle.clear()
            self._buckets.clear()
            self.feature_registered = True

    # --- views and persistence -----------------------------------------------------------------

    @staticmethod
    def _view(entry):
        doc = copy.deepcopy(entry["doc"])
        if entry["etag"]:
            doc["eTag"] = entry["etag"]
        return doc

    def _save(self):
        if not self.state_file:
            return
        state = {
            "subscriptions": list(self.subscriptions.values()),
            "resource_groups": list(self.resource_groups.values()),
            "clusters": [
                {"subscription": k[0], "resource_group": k[1], "doc": e["doc"], "etag": e["etag"]}
                for k, e in self.clusters.items()
            ],
        }
        tmp = f"{self.state_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, self.state_file)

    def _load(self, path):
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        for sub in state.get("subscriptions", []):
            self.subscriptions[sub["subscriptionId"].lower()] = sub
        for group in state.get("resource_groups", []):
            subscription = group["id"].split("/")[2]
            self.resource_groups[_key(subscription, group["name"])] = group
        for item in state.get("clusters", []):
            doc = item["doc"]
            if doc["properties"].get("provisioningState") != "Deleting":
                doc["properties"]["provisioningState"] = "Succeeded"
            key = _key(item["subscription"], item["resource_group"], doc["name"])
            self.clusters[key] = {"doc": doc, "etag": item["etag"], "operation": None}


def _unquote(tag):
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


def _check_preconditions(entry, if_match, if_none_match):
    """If-Match / If-None-Match as HTTP and ARM define them; a mismatch is 412."""
    failed = None
    if if_match is not None:
        tags = [_unquote(t) for t in if_match.split(",")]
        if entry is None or ("*" not in tags and entry["etag"] not in tags):
            failed = f"The specified precondition 'If-Match = {if_match}' failed."
    if if_none_match is not None:
        tags = [_unquote(t) for t in if_none_match.split(",")]
        if entry is not None and ("*" in tags or entry["etag"] in tags):
            failed = f"The specified precondition 'If-None-Match = {if_none_match}' failed."
    if failed:
        raise ArmError(412, "PreconditionFailed", failed)


def _merge(target, patch):
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _iso(monotonic_seconds):
    # Operation times are kept on the monotonic clock; report them on the wall clock.
    wall = time.time() - (time.monotonic() - monotonic_seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + "Z"
