"""AKS run-command: `POST .../runCommand` and `GET .../commandResults/{id}`, running a real kubectl.

As ../shared/aks-access.md §4 and the recordings (../shared/recorded-arm/test_aks_run_command.*) describe:
- the POST answers 202 Accepted with no body and `Location` pointing at commandResults;
- commandResults answers 202 with `{"id", "properties": {"provisioningState": "Running"}}` (and `Location`)
  while the command runs, then 200 with `exitCode`, `startedAt`, `finishedAt` and `logs`, or a failed state
  with `reason` (the specification's example: "ImagePullBackoff");
- AKS runs the command in a pod (`command-<id>` in namespace `aks-command`) that has kubectl, with the
  request's `context` zip as its working folder. Here the command runs in `sh` with the real kubectl on this
  machine against the emulator's own Kubernetes API for the cluster. On managed AAD the pod acts as the caller,
  with the request's `clusterToken`; elsewhere with credentials of its own;
- the output is capped at 512 kB (documented; where a longer output is cut is not, so the first 512 kB are kept);
- starting the pod takes time, and the POST answers only once it started: a pod that does not start in time is
  the POST's own error, "(KubernetesPerformanceError) Failed to run command due to cluster perf issue, container
  command-<id> in aks-command namespace did not start within 30s ..." (raised by `_run_command_initial` in the
  traceback of Azure/azure-cli#27776; KubernetesOperationError with the same text in #23203). `start_seconds` is
  the time a pod takes to start here (configurable: small in tests, realistic in benchmarks); the fault
  `{"start_failures": N, "code": ...}` makes the next N POSTs fail so. Its HTTP status is in none of the sources:
  500 here by default (`status` in the fault changes it);
- `apiServerAccessProfile.disableRunCommand` turns it off. The service's error text for that case is not
  recorded anywhere we found; the one here is ours.
"""

import base64
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile

import yaml

from armemulator.arm.credentials import facts
from armemulator.arm.errors import ArmError
from armemulator.kubernetes.auth import RUN_COMMAND_TOKEN

OUTPUT_CAP = 512 * 1024
COMMAND_SECONDS = 120


def kubectl_binary():
    """The kubectl a pod would have: the one on PATH, else the pinned one scripts/setup.sh puts in .venv."""
    return shutil.which("kubectl") or shutil.which("kubectl", path=os.path.dirname(sys.executable))


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class RunCommands:
    def __init__(self, ca_path):
        self.ca_path = ca_path
        self.lock = threading.Lock()
        self.results = {}  # id -> RunCommandResult as the service answers it
        # cluster id (lower case) -> {"state", "reason"}, {"exitCode", "logs"} or {"hang": True}
        self.faults = {}
        self.start_seconds = 0.0  # how long a command pod takes to start

    def start(self, doc, body, kube_server):
        """Start the command for the cluster `doc`; the command's id."""
        cluster = facts(doc)
        if cluster["run_command_disabled"]:
            raise ArmError(
                400,
                "BadRequest",
                "Run command is disabled for this cluster (apiServerAccessProfile.disableRunCommand).",
            )
        if not isinstance(body, dict) or not body.get("command"):
            raise ArmError(400, "InvalidParameter", "The value of parameter command is invalid.")
        command_id = uuid.uuid4().hex
        time.sleep(self.start_seconds)  # the POST answers once the pod started
        with self.lock:
            fault = self.faults.get(doc["id"].lower())
            if fault and fault.get("start_failures", 0) > 0:
                fault["start_failures"] -= 1
                raise ArmError(
                    int(fault.get("status", 500)),
                    fault.get("code", "KubernetesPerformanceError"),
                    "Failed to run command due to cluster perf issue, container "
                    f"command-{command_id} in aks-command namespace did not start within 30s on your cluster, retry "
                    "may helps. If issue persist, you may need to tune your cluster with better performance (larger "
                    "node/paid tier).",
                )
            if fault and "start_failures" in fault:
                fault = None  # used up: the pods start again
            self.results[command_id] = {"id": command_id, "properties": {"provisioningState": "Running"}}
        if fault and fault.get("hang"):
            return command_id
        if fault and "exitCode" in fault:  # the pod ended on its own: killed, evicted, out of memory
            now = _now()
            properties = {"provisioningState": "Succeeded", "startedAt": now, "finishedAt": now}
            self._finish(command_id, properties | {"exitCode": fault["exitCode"], "logs": fault.get("logs", "")})
            return command_id
        if fault:
            self._finish(command_id, {"provisioningState": fault.get("state", "Failed"), "reason": fault["reason"]})
            return command_id
        token = body.get("clusterToken") if cluster["aad_managed"] else RUN_COMMAND_TOKEN
        threading.Thread(
            target=self._run, args=(command_id, body, kube_server, token), name=f"command-{command_id}", daemon=True
        ).start()
        return command_id

    def result(self, command_id):
        with self.lock:
            result = self.results.get(command_id)
        if result is None:
            raise ArmError(404, "NotFound", f"Command result {command_id} was not found.")
        return result

    def set_fault(self, cluster_id, fault):
        with self.lock:
            if fault:
                self.faults[cluster_id.lower()] = fault
            else:
                self.faults.pop(cluster_id.lower(), None)

    def clear_faults(self):
        with self.lock:
            self.faults.clear()

    def _finish(self, command_id, properties):
        with self.lock:
            self.results[command_id] = {"id": command_id, "properties": properties}

    def _run(self, command_id, body, kube_server, token):
        started = _now()
        kubectl = kubectl_binary()
        if not kubectl:
            self._finish(command_id, {"provisioningState": "Failed", "reason": "emulator: no kubectl on this machine"})
            return
        with tempfile.TemporaryDirectory(prefix=f"command-{command_id}-") as folder:
            workdir = os.path.join(folder, "context")
            os.makedirs(workdir)
            if body.get("context"):
                with zipfile.ZipFile(io.BytesIO(base64.b64decode(body["context"]))) as archive:
                    archive.extractall(workdir)
            kubeconfig = os.path.join(folder, "kubeconfig")
            with open(kubeconfig, "w", encoding="utf-8") as f:
                yaml.safe_dump(self._kubeconfig(kube_server, token), f)
            env = {
                "PATH": os.pathsep.join([os.path.dirname(kubectl), "/usr/bin", "/bin"]),
                "KUBECONFIG": kubeconfig,
                "HOME": folder,
            }
            try:
                completed = subprocess.run(
                    ["sh", "-c", body["command"]],
                    cwd=workdir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    timeout=COMMAND_SECONDS,
                    check=False,
                )
                output, exit_code = completed.stdout, completed.returncode
            except subprocess.TimeoutExpired as ex:
                output, exit_code = ex.stdout or b"", 124
        self._finish(
            command_id,
            {
                "provisioningState": "Succeeded",
                "exitCode": exit_code,
                "startedAt": started,
                "finishedAt": _now(),
                "logs": output[:OUTPUT_CAP].decode("utf-8", errors="replace"),
            },
        )

    def _kubeconfig(self, server, token):
        with open(self.ca_path, "rb") as f:
            ca = base64.b64encode(f.read()).decode()
        user = {"token": token} if token else {}
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "cluster", "cluster": {"server": server, "certificate-authority-data": ca}}],
            "contexts": [{"name": "pod", "context": {"cluster": "cluster", "user": "pod"}}],
            "current-context": "pod",
            "users": [{"name": "pod", "user": user}],
        }
