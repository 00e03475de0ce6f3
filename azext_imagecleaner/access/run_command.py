"""The run-command transport: the same plans as `api_server.Kube`, as kubectl run by AKS in the cluster.

A plan is one `POST .../runCommand` (`begin_run_command`), then `get_command_result` until it ends, as
`az aks command invoke` does (../shared/aks-access.md §4): one pod for the whole command, not one per call. On
managed AAD the request carries `clusterToken`, a token for the AKS server app, so the command pod acts as the
caller, with the caller's own permissions. The script and how its output is read are in `_kubectl`.
"""

import secrets
import time

from knack.log import get_logger

from azext_imagecleaner.access import _kubectl, steps

logger = get_logger(__name__)

# Seconds between polls of a command's result. Once the POST has answered, the pod runs (it answers when the pod
# started, see armemulator/arm/runcommand.py): most scripts end within seconds, `run --wait` when the run does. A
# poll a second for the first 10 s, every 2 s to 30 s, then every 5 s as core's `command invoke` polls throughout
# (ARMPolling(5), ../shared/aks-access.md): at most 30 reads in a minute, far inside ARM's read budget.
POLL_SECONDS = (1,) * 10 + (2,) * 10 + (5,)
# Core's `az aks command invoke` waits at most this long for a command (cli 2.76 and 2.91).
DEFAULT_TIMEOUT = 300


class KubeCallError(Exception):
    """The API server refused a call kubectl made, shaped as the `kubernetes` client's ApiException is
    (`status`, `reason`, `body` holding the Status JSON), so both transports fail alike."""

    def __init__(self, status, reason, message):
        import json

        super().__init__(f"({status}) {reason}: {message}")
        self.status, self.reason = status, reason
        self.body = json.dumps({"kind": "Status", "status": "Failure", "reason": reason, "message": message})


class RunCommandError(Exception):
    """run-command could not give kubectl's answer; `kind` says why, `_errors.run_command_error` words it."""

    def __init__(self, kind, **details):
        super().__init__(kind)
        self.kind, self.details = kind, details


class RunCommandKube:
    """The plans of `steps`, each as one script in one AKS run-command (`_kubectl`)."""

    transport = "run-command"
    # Further run-commands that read the rest of logs longer than one run-command's output can hold.
    MORE_LOG_COMMANDS = 4

    def __init__(self, cmd, mc_client, resource_group, name, token=None, timeout=None):
        self._cmd, self._client = cmd, mc_client
        self._resource_group, self._name = resource_group, name
        self._token, self._timeout = token, timeout or DEFAULT_TIMEOUT

    def run(self, plan):
        """One result per step of `plan`, in order, from one run-command (more only for very long logs)."""
        nonce, results = secrets.token_hex(8), []
        outputs = self._outputs(plan, nonce)
        for planned, output in zip(plan, outputs, strict=False):  # a failed step ends the script: it is the last
            permitted = isinstance(planned, steps.Permitted)
            step = planned.step if permitted else planned
            if output.exit_code:
                refused = _kubectl.server_error(output.stderr) if permitted else None
                if refused is None or refused.status not in steps.REFUSED:
                    raise _refusal(output, _describe(step))
                results.append(steps.Denied(*refused))
                continue
            results.append(_decode(step, output, nonce))
            if isinstance(step, steps.PodLogs):
                results[-1] = self._whole_logs(step.namespace, results[-1])
        return results

    def _outputs(self, plan, nonce):
        """Each step's output, from one run-command; RunCommandError when run-command did not give them all."""
        text, manifests = _kubectl.script(plan, nonce)
        waits = sum(getattr(step, "wait_seconds", None) or getattr(step, "seconds", 0) or 0 for step in plan)
        result = self._invoke(text, _kubectl.context_zip(manifests) if manifests else None, plan, waits)
        state = (result.provisioning_state or "").lower()
        if state != "succeeded":
            raise RunCommandError("failed", state=result.provisioning_state, reason=result.reason)
        outputs, complete = _kubectl.split_output(result.logs, nonce, len(plan))
        if not complete and not (outputs and outputs[-1].exit_code):
            shown = _describe(plan[len(outputs)])
            if _kubectl.at_cap(result.logs):
                raise RunCommandError("cut", command=shown)
            # The pod ended before the script did (killed, evicted).
            raise RunCommandError(
                "exit", command=shown, exit_code=result.exit_code, stderr=(result.logs or "").strip()[-500:]
            )
        return outputs

    def _whole_logs(self, namespace, entries):
        """The logs the first read cut to fit the output cap, completed by further run-commands, a budget's worth
        each, up to MORE_LOG_COMMANDS of them; what is still missing then stays cut (the command says so)."""
        for _ in range(self.MORE_LOG_COMMANDS):
            pending = [e for e in entries if e["have"] < e["size"]]
            if not pending:
                break
            chunks, budget = [], _kubectl.LOG_BUDGET
            for entry in pending:
                length = min(entry["size"] - entry["have"], budget)
                if length <= 0:
                    break
                chunks.append((entry["pod"], entry["container"], entry["have"], length))
                budget -= length
            nonce = secrets.token_hex(8)
            output = self._outputs([_kubectl.LogChunks(namespace, tuple(chunks))], nonce)[0]
            if output.exit_code:
                raise _refusal(output, "kubectl logs")
            found = _kubectl.read_chunks(output.stdout, nonce)
            for entry in pending:
                for pod, container, offset, length in chunks:
                    if (pod, container) == (entry["pod"], entry["container"]):
                        text = found.get((pod, container, offset))
                        if text is None:  # the pod was deleted meanwhile: keep what was read
                            entry["size"] = entry["have"]
                        else:
                            entry["log"] += text
                            entry["have"] += length
        return [
            {k: e[k] for k in ("pod", "node", "phase", "container", "log")} | {"cut": e["have"] < e["size"]}
            for e in entries
        ]

    def _invoke(self, command, context, plan, waits):
        """Start the command and wait for its result within the timeout (and the waits the plan asks for)."""
        request_model = self._cmd.get_models(
            "RunCommandRequest", resource_type=_resource_type(), operation_group="managed_clusters"
        )
        request = request_model(command=command, context=context)
        if self._token is not None:
            request.cluster_token = self._token.get()
        started = time.monotonic()
        logger.info("run-command on %s: %s", self._name, "; ".join(_describe(step) for step in plan))
        logger.debug("run-command script:\n%s", command)
        location = self._client.begin_run_command(
            self._resource_group, self._name, request, polling=_started_only()
        ).result()
        command_id = _command_id(location)
        attempt, limit = 0, self._timeout + waits
        while True:
            result = self._client.get_command_result(self._resource_group, self._name, command_id)
            if result is not None and (result.provisioning_state or "").lower() not in ("running", ""):
                return result
            wait = POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)]
            attempt += 1
            if time.monotonic() - started + wait > limit:
                raise RunCommandError("timeout", command_id=command_id, seconds=int(limit))
            time.sleep(wait)


def _decode(step, output, nonce):
    import json

    text = output.stdout
    if isinstance(step, steps.Read):
        return json.loads(text) if text.strip() else None
    if isinstance(step, steps.ListConfigMaps):
        return json.loads(text)["items"]
    if isinstance(step, steps.Pods):
        return _kubectl.pods_from_lines(text)
    if isinstance(step, steps.PodLogs):
        entries = _kubectl.read_logs(text, nonce)
        for entry in entries:
            entry["have"] = entry.pop("shown")
        return entries
    try:
        return json.loads(text)
    except ValueError as ex:
        raise RunCommandError("unreadable", command=_describe(step), output=text[-300:]) from ex


def _refusal(output, command):
    """The error of a step that failed: the API server's refusal, shaped as the API transport raises it, or
    kubectl's own failure."""
    refused = _kubectl.server_error(output.stderr)
    if refused:
        return KubeCallError(*refused)
    return RunCommandError("exit", command=command, exit_code=output.exit_code, stderr=output.stderr.strip()[-500:])


def _describe(step):
    """A step in a few words, for errors and --verbose: "read configmaps kube-system/eraser-manager-config"."""
    if isinstance(step, steps.Permitted):
        return _describe(step.step)
    kind = type(step).__name__
    if isinstance(step, steps.Read):
        return f"read {step.resource} {step.namespace + '/' if step.namespace else ''}{step.name}"
    if isinstance(step, (steps.Pods, steps.PodLogs, steps.ListConfigMaps, _kubectl.LogChunks)):
        return f"{kind} in {step.namespace}"
    if isinstance(step, steps.List):
        return f"list {step.resource}" + (f" in {step.namespace}" if step.namespace else "")
    if isinstance(step, steps.EditJsonList):
        return f"edit configmap {step.namespace}/{step.name}"
    return f"{kind} {step.resource}"


def _started_only_class():
    from azure.core.polling import PollingMethod

    class StartedOnly(PollingMethod):
        """Ends at the POST's 202 (empty body) with its `Location`: the results are polled with
        get_command_result, so this command controls the interval and the timeout and knows the command's id."""

        def __init__(self):
            self._location = None

        def initialize(self, client, initial_response, deserialization_callback):
            self._location = initial_response.http_response.headers.get("Location")

        def run(self):
            return None

        def status(self):
            return "Succeeded"

        def finished(self):
            return True

        def resource(self):
            return self._location

    return StartedOnly


def _started_only():
    """An instance of the class made on first use, so azure-core is imported only when run-command is."""
    return _started_only_class()()


def _command_id(location):
    """The id in `.../commandResults/{id}?api-version=...`, as core's `az aks command invoke --no-wait` reads it."""
    import re

    match = re.search(r"commandResults/(\w+)", location or "", re.IGNORECASE)
    if not match:
        raise RunCommandError("no-location", location=location)
    return match.group(1)


def _resource_type():
    from azure.cli.core.profiles import ResourceType

    return ResourceType.MGMT_CONTAINERSERVICE


def _shown(args):
    return "kubectl " + " ".join(args)
