"""The run-command transport: the same calls as `api_server.Kube`, as kubectl run by AKS in the cluster.

Each call is one `POST .../runCommand` (`begin_run_command`), then `get_command_result` until it ends, as
`az aks command invoke` does (../shared/aks-access.md §4). On managed AAD the request carries `clusterToken`,
a token for the AKS server app, so the command pod acts as the caller, with the caller's own permissions.
What kubectl runs and how its output is read is in `_kubectl`.
"""

import time

from knack.log import get_logger

from azext_imagecleaner.access import _kubectl

logger = get_logger(__name__)

# Seconds between polls of a command's result: the first come fast, as most commands end within seconds.
POLL_SECONDS = (1, 1, 2, 2, 3, 5)
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
    transport = "run-command"

    def __init__(self, cmd, mc_client, resource_group, name, token=None, timeout=None):
        self._cmd, self._client = cmd, mc_client
        self._resource_group, self._name = resource_group, name
        self._token, self._timeout = token, timeout or DEFAULT_TIMEOUT

    # --- the calls -------------------------------------------------------------------------------------

    def list_configmaps(self, namespace, selector=None):
        args = ["get", "configmaps", "-n", namespace, "-o", "json", *(["-l", selector] if selector else [])]
        return self._json(args)["items"]

    def get_configmap(self, namespace, name):
        return self._json(["get", "configmap", name, "-n", namespace, "-o", "json"])

    def create_configmap(self, namespace, body):
        return self._json(["create", "-f", _kubectl.MANIFEST, "-n", namespace, "-o", "json"], manifest=body)

    def replace_configmap(self, namespace, _name, body):
        # The manifest names the object. replace sends its resourceVersion: a concurrent change answers
        # 409 Conflict, as directly.
        return self._json(["replace", "-f", _kubectl.MANIFEST, "-n", namespace, "-o", "json"], manifest=body)

    def list_pods(self, namespace):
        output = self._run(["get", "pods", "-n", namespace, "-o", f"jsonpath={_kubectl.PODS_JSONPATH}"])
        return _kubectl.pods_from_lines(output)

    def pod_log(self, namespace, name, container):
        """(log, cut): at most _kubectl.LOG_LIMIT bytes, so that the answer fits run-command's output cap."""
        return _kubectl.bounded_log(self._run(_kubectl.log_args(namespace, name, container)))

    def get_imagelist(self, name):
        return self._json(["get", "imagelists.eraser.sh", name, "-o", "json"])

    def create_imagelist(self, body):
        return self._json(["create", "-f", _kubectl.MANIFEST, "-o", "json"], manifest=body)

    def delete_imagelist(self, name):
        # --wait=false: return once the delete is accepted, as the API call does.
        self._run(["delete", "imagelists.eraser.sh", name, "--wait=false"])

    # --- plumbing ---------------------------------------------------------------------------------------

    def _json(self, args, manifest=None):
        import json

        output = self._run(args, manifest)
        try:
            return json.loads(output)
        except ValueError as ex:
            raise RunCommandError("unreadable", command=_shown(args), output=output[-300:]) from ex

    def _run(self, args, manifest=None):
        """kubectl's stdout; KubeCallError when the API server refused, RunCommandError when run-command failed."""
        result = self._invoke(_kubectl.script(args), _kubectl.context_zip(manifest) if manifest else None)
        state = (result.provisioning_state or "").lower()
        if state != "succeeded":
            raise RunCommandError("failed", state=result.provisioning_state, reason=result.reason)
        output = _kubectl.split_output(result.logs)
        if not output.complete and _kubectl.at_cap(result.logs):
            raise RunCommandError("cut", command=_shown(args))
        if not output.complete:  # the pod ended before the script did (killed, evicted)
            raise RunCommandError(
                "exit", command=_shown(args), exit_code=result.exit_code, stderr=(result.logs or "").strip()[-500:]
            )
        if result.exit_code:
            refused = _kubectl.server_error(output.stderr)
            if refused:
                raise KubeCallError(*refused)
            raise RunCommandError(
                "exit", command=_shown(args), exit_code=result.exit_code, stderr=output.stderr.strip()[-500:]
            )
        return output.stdout

    def _invoke(self, command, context):
        """Start the command and wait for its result within the timeout."""
        request_model = self._cmd.get_models(
            "RunCommandRequest", resource_type=_resource_type(), operation_group="managed_clusters"
        )
        request = request_model(command=command, context=context)
        if self._token is not None:
            request.cluster_token = self._token.get()
        started = time.monotonic()
        logger.info("run-command on %s: %s", self._name, command)
        location = self._client.begin_run_command(
            self._resource_group, self._name, request, polling=_started_only()
        ).result()
        command_id = _command_id(location)
        attempt = 0
        while True:
            result = self._client.get_command_result(self._resource_group, self._name, command_id)
            if result is not None and (result.provisioning_state or "").lower() not in ("running", ""):
                return result
            wait = POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)]
            attempt += 1
            if time.monotonic() - started + wait > self._timeout:
                raise RunCommandError("timeout", command_id=command_id, seconds=self._timeout)
            time.sleep(wait)


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
