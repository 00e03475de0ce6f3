"""A client of the emulator's control API, for tests and the sandbox (standard library only)."""

import json
import ssl
import urllib.request


class Emulator:
    def __init__(self, url, ca_path):
        self.url = url.rstrip("/")
        self.ca_path = ca_path
        self._context = ssl.create_default_context(cafile=ca_path)

    def _call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, context=self._context, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def health(self):
        return self._call("GET", "health")

    def requests(self):
        return self._call("GET", "requests")["value"]

    def secrets(self):
        """{"static": the local-account credentials handed out, "issued": the AAD tokens issued so far}."""
        return self._call("GET", "secrets")

    def clear_requests(self):
        self._call("DELETE", "requests")

    def reset(self):
        self._call("POST", "reset")

    def add_fault(self, **fault):
        return self._call("POST", "faults", fault)

    def throttle(self, kind, rate, burst=1, subscription=None):
        """ARM's budget for reads or writes: every subscription's, or one subscription's."""
        self._call("POST", "throttle", {"kind": kind, "rate": rate, "burst": burst, "subscription": subscription})

    def configure(self, **settings):
        self._call("PUT", "config", settings)

    def put_cluster(self, subscription, resource_group, name, body):
        return self._call("PUT", f"clusters/{subscription}/{resource_group}/{name}", body)

    def cluster(self, subscription, resource_group, name):
        return self._call("GET", f"clusters/{subscription}/{resource_group}/{name}")

    def patch_cluster(self, subscription, resource_group, name, patch):
        return self._call("PATCH", f"clusters/{subscription}/{resource_group}/{name}", patch)

    def delete_cluster(self, subscription, resource_group, name):
        self._call("DELETE", f"clusters/{subscription}/{resource_group}/{name}")

    def start_operation(self, subscription, resource_group, name, seconds, kind="Updating"):
        return self._call(
            "POST", f"clusters/{subscription}/{resource_group}/{name}/operation", {"seconds": seconds, "kind": kind}
        )

    def add_pod(self, subscription, resource_group, name, pod, node, logs):
        """A pod in kube-system whose containers logged `logs` ({container: text})."""
        self._call(
            "POST", f"clusters/{subscription}/{resource_group}/{name}/pods", {"name": pod, "node": node, "logs": logs}
        )

    def history(self, subscription, resource_group, name, days=30, candidates=None, vulnerable=None, faults=None,
                stopped_days=0):  # fmt: skip
        """Image Cleaner's scheduled runs of the last `days` (every intervalHours), logged and sampled at their own
        times; with `candidates` images a node and run, `vulnerable` of them, at real sizes; `faults` ({node: fault})
        in the latest run; `stopped_days`: the controller stopped that many days ago."""
        body = {"days": days, "candidates": candidates, "vulnerable": vulnerable, "faults": faults,
                "stopped_days": stopped_days}  # fmt: skip
        return self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/history", body, timeout=600)["runs"]

    def scheduled_run(self, subscription, resource_group, name, candidates=None, vulnerable=None):
        """A scheduled run now; with `candidates` images a node, `vulnerable` of them, at real sizes."""
        body = {"candidates": candidates, "vulnerable": vulnerable}
        self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/scheduled-run", body)

    def set_etags(self, subscription, resource_group, name, enabled):
        """ETags on this cluster (the API specification) or none (the live service's recorded answers)."""
        return self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/etags", {"enabled": enabled})

    def node_fault(self, subscription, resource_group, name, node, fault):
        """Make Eraser fail on one node in the next run: in its logs ("runtime-unreachable", "scanner-panic"), or as
        its worker pod goes ("down", "outofcpu", "imagepull", "oomkilled", "preempt": armemulator/eraser/pods.py);
        None heals it."""
        self._call(
            "POST", f"clusters/{subscription}/{resource_group}/{name}/node-fault", {"node": node, "fault": fault}
        )

    def restart_controller(self, subscription, resource_group, name, restarts=1, reason="OOMKilled", orphans=0):
        """The Eraser controller restarted `restarts` times, the last for `reason`, leaving `orphans` PodTemplates
        whose ImageJob is gone (eraser-dev/eraser#912)."""
        body = {"restarts": restarts, "reason": reason, "orphans": orphans}
        self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/controller-restart", body)

    def workspace_retention(self, workspace_id, days):
        return self._call("POST", "workspace-retention", {"id": workspace_id, "days": days})

    def monitoring(self, subscription, resource_group, name, **settings):
        """The `dataCollectionSettings` of the cluster's data collection rule: interval ("30m"),
        namespaceFilteringMode and namespaces, enableContainerLogV2, streams (armemulator/loganalytics/agent.py)."""
        return self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/monitoring", settings)

    def node(self, subscription, resource_group, name, node, os="linux", labels=None, hours_ago=0):
        """A node that joined `hours_ago`, or new `labels` on a node there."""
        body = {"name": node, "os": os, "labels": labels or {}, "hours_ago": hours_ago}
        return self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/nodes", body)

    def kube(self, subscription, resource_group, name):
        return self._call("GET", f"clusters/{subscription}/{resource_group}/{name}/kube")

    def put_configmap(self, subscription, resource_group, name, configmap):
        return self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/configmaps", configmap)

    def role_assignments(self, subscription, resource_group, name, *assignments):
        """The caller's Azure RBAC roles on the cluster, replacing earlier ones: (role, namespace or None)..."""
        body = {"assignments": [{"role": role, "namespace": namespace} for role, namespace in assignments]}
        return self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/role-assignments", body)

    def reject_tokens(self, subscription, resource_group, name, enabled=True):
        """Make the cluster's API server answer 401 to every AAD token, as Conditional Access can."""
        self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/token-rejection", {"enabled": enabled})

    def run_command_fault(self, subscription, resource_group, name, fault):
        """Make run-command end {"state": "Failed", "reason": ...}, end with the pod's own {"exitCode", "logs"},
        never end ({"hang": True}), or fail to start its pod the next N times ({"start_failures": N, "code",
        "status"}); None heals."""
        self._call("POST", f"clusters/{subscription}/{resource_group}/{name}/run-command-fault", {"fault": fault})

    def seed_fleet(self, subscriptions, per_subscription, **spec):
        """Many clusters, shaped by a recorded document: per_subscription in each of `subscriptions`."""
        body = {"subscriptions": list(subscriptions), "per_subscription": per_subscription, **spec}
        return self._call("POST", "fleet", body, timeout=600)

    def logs(self):
        """{workspace customer ID: {table: {"rows", "bytes"}}}: what each Log Analytics workspace holds."""
        return self._call("GET", "logs")

    def management_groups(self, groups):
        """{"name": [subscription IDs]}: the management groups Resource Graph knows."""
        self._call("PUT", "management-groups", groups)
