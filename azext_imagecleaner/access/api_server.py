"""The API-server transport: the cluster's Kubernetes API through the official `kubernetes` client.

Credentials: the kubeconfig ARM returns stays in memory (never written to ~/.kube/config). On a managed-AAD
cluster its `exec` user (kubelogin) is not run: only its `server` and CA are used, with a token from az's own
login (`_token`). --kubeconfig/--context use the user's file as it is. Every call has a bounded timeout, so an
API server that stops answering ends in an error, not a hang. The `kubernetes` package is imported in this
module only, and only when a command uses it.
"""

import base64
import json
import os
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from azext_imagecleaner.access import steps

CUSTOM_RESOURCES = {
    "imagelists": {"group": "eraser.sh", "version": "v1", "plural": "imagelists"},
    "imagejobs": {"group": "eraser.sh", "version": "v1", "plural": "imagejobs"},
}
# The kubernetes client's name of each core kind a `steps.List` reads (list_namespaced_<name>).
_SINGULAR = {"pods": "pod", "events": "event", "configmaps": "config_map", "podtemplates": "pod_template"}
# What the API server answers for a resource type it does not have (the ImageList CRD missing).
TYPE_MISSING = "could not find the requested resource"


def _message(ex):
    """The Status message of a refusal the client raised, else its text."""
    body = getattr(ex, "body", None) or ""
    try:
        return json.loads(body).get("message") or str(ex)
    except (ValueError, AttributeError, TypeError):
        return str(ex)


def _type_missing(ex):
    """Whether `ex` is the API server's 404 for a resource type it does not serve (not for a missing object). The
    client's ApiException holds the body as text, or as bytes where the answer was read raw (`_json`)."""
    body = getattr(ex, "body", None) or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return getattr(ex, "status", None) == 404 and TYPE_MISSING in body


# (connect, read) seconds for each call.
REQUEST_TIMEOUT = (10, 120)


def kubeconfig_from_arm(mc_client, resource_group, name, admin):
    import yaml

    if admin:
        credentials = mc_client.list_cluster_admin_credentials(resource_group, name)
    else:
        credentials = mc_client.list_cluster_user_credentials(resource_group, name)
    value = credentials.kubeconfigs[0].value  # bytes in SDK 41, bytearray in SDK 38 (az 2.76)
    return yaml.safe_load(bytes(value).decode("utf-8") if isinstance(value, (bytes, bytearray)) else value)


def _named(entries, name):
    return next((e for e in entries or [] if e.get("name") == name), None) or {}


def cluster_entry(document, context=None):
    """The `cluster` entry (server, CA) the kubeconfig's context points at."""
    context_name = context or document.get("current-context")
    entry = _named(document.get("contexts"), context_name) or ((document.get("contexts") or [{}])[0])
    cluster_name = (entry.get("context") or {}).get("cluster")
    return (_named(document.get("clusters"), cluster_name) or (document.get("clusters") or [{}])[0]).get(
        "cluster"
    ) or {}


def unreachable_reason(server, timeout):
    """Why the API server at `server` cannot be reached from here within `timeout` seconds, or None when a TCP
    connection opens. Name resolution runs in a thread, so a slow resolver cannot stretch the bound."""
    url = urlsplit(server or "")
    host, port = url.hostname, url.port or 443
    if not host:
        return "the kubeconfig has no server address"
    found = {}

    def resolve():
        try:
            found["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as ex:
            found["error"] = ex

    resolver = threading.Thread(target=resolve, daemon=True)
    resolver.start()
    resolver.join(timeout)
    if resolver.is_alive():
        return f"resolving {host} took longer than {timeout} s"
    if "error" in found:
        return f"{host} does not resolve from here"
    family, kind, proto, _, address = found["addresses"][0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
    except OSError as ex:
        return f"no connection to {host}:{port} within {timeout} s ({ex.__class__.__name__})"
    return None


@contextmanager
def open_kube(document, context, token=None, kubeconfig_file=None):
    """A Kube on the API server: with the user's kubeconfig file, or ARM's document (with an AAD `token`
    source on managed-AAD clusters, in place of the document's kubelogin user)."""
    from kubernetes import client, config

    ca_files = []
    if kubeconfig_file:
        api_client = config.new_client_from_config(config_file=kubeconfig_file, context=context)
    elif token is not None:
        cluster = cluster_entry(document, context)
        configuration = client.Configuration()
        configuration.host = cluster.get("server")
        if cluster.get("insecure-skip-tls-verify"):
            configuration.verify_ssl = False
        elif cluster.get("certificate-authority-data"):
            # The CA is public; the client takes it as a file only. The token never touches disk.
            with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as f:
                f.write(base64.b64decode(cluster["certificate-authority-data"]))
            ca_files.append(f.name)
            configuration.ssl_ca_cert = f.name
        configuration.api_key_prefix = {"authorization": "Bearer"}
        configuration.api_key = {"authorization": token.get()}
        # Called before each request: a token about to expire is replaced.
        configuration.refresh_api_key_hook = lambda c: c.api_key.update(authorization=token.get())
        api_client = client.ApiClient(configuration)
    else:
        api_client = config.new_client_from_config_dict(document, context=context)
    try:
        yield Kube(api_client)
    finally:
        api_client.close()
        for path in ca_files:
            os.unlink(path)


class Kube:
    """The plans of `steps`, one call at a time, through the `kubernetes` client; objects as plain dicts."""

    transport = "api-server"

    def __init__(self, api_client, clock=time.monotonic, sleep=time.sleep):
        from kubernetes import client

        self._api_client = api_client
        self._core = client.CoreV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self._clock, self._sleep = clock, sleep

    def run(self, plan):
        """One result per step of `plan`, in order; the first failure raises (an ApiException)."""
        kinds = {
            steps.Read: self._read,
            steps.ListConfigMaps: self._list_configmaps,
            steps.List: self._list,
            steps.Pods: self._pods,
            steps.PodLogs: self._pod_logs,
            steps.EditJsonList: self._edit_json_list,
            steps.Recreate: self._recreate,
            steps.WaitFor: self._wait_for,
        }
        return [self._run_step(kinds, step) for step in plan]

    @staticmethod
    def _run_step(kinds, step):
        if not isinstance(step, steps.Permitted):
            return kinds[type(step)](step)
        try:
            return kinds[type(step.step)](step.step)
        except Exception as ex:
            status = getattr(ex, "status", None)
            if status not in steps.REFUSED:
                raise
            return steps.Denied(status, getattr(ex, "reason", None) or "Forbidden", _message(ex))

    def _plain(self, obj):
        return self._api_client.sanitize_for_serialization(obj)

    @staticmethod
    def _json(call, *args, **options):
        """A list's answer as the API server sent it, not as the client's models: they refuse an object that leaves
        out a field this client release holds required (a Node's nodeInfo.architecture, an owner reference's uid),
        and building them costs more than the list itself."""
        return json.loads(call(*args, _preload_content=False, **options).data)

    # --- the steps ----------------------------------------------------------------------------------------

    def _read(self, step):
        try:
            if step.resource == "configmaps":
                return self._plain(
                    self._core.read_namespaced_config_map(step.name, step.namespace, _request_timeout=REQUEST_TIMEOUT)
                )
            return self._custom.get_cluster_custom_object(
                name=step.name, _request_timeout=REQUEST_TIMEOUT, **CUSTOM_RESOURCES[step.resource]
            )
        except Exception as ex:
            if getattr(ex, "status", None) == 404:
                return None
            raise

    def _list_configmaps(self, step):
        answer = self._core.list_namespaced_config_map(
            step.namespace, label_selector=step.selector, _request_timeout=REQUEST_TIMEOUT
        )
        return self._plain(answer)["items"]

    def _list(self, step):
        options = {"_request_timeout": REQUEST_TIMEOUT}
        if step.selector:
            options["label_selector"] = step.selector
        if step.field_selector:
            options["field_selector"] = step.field_selector
        try:
            if step.resource in CUSTOM_RESOURCES:
                answer = self._custom.list_cluster_custom_object(**CUSTOM_RESOURCES[step.resource], **options)
            elif step.resource == "nodes":
                answer = self._json(self._core.list_node, **options)
            elif step.namespace is None:
                answer = self._json(
                    getattr(self._core, f"list_{_SINGULAR[step.resource]}_for_all_namespaces"), **options
                )
            else:
                answer = self._json(
                    getattr(self._core, f"list_namespaced_{_SINGULAR[step.resource]}"), step.namespace, **options
                )
        except Exception as ex:
            if _type_missing(ex):
                return None
            raise
        tree = steps.field_tree(step.fields)
        return [steps.project(item, tree) for item in answer.get("items") or []]

    def _pods(self, step):
        pods = self._json(self._core.list_namespaced_pod, step.namespace, _request_timeout=REQUEST_TIMEOUT)["items"]
        return [p for p in pods if p["metadata"]["name"].startswith(tuple(step.prefixes) or ("",))]

    def _pod_logs(self, step):
        entries = []
        for pod in self._pods(steps.Pods(step.namespace, step.prefixes)):
            if step.node and pod["spec"].get("nodeName") != step.node:
                continue
            for spec in pod["spec"]["containers"]:
                if step.container and spec["name"] != step.container:
                    continue
                try:
                    # The raw bytes: with its content preloaded, the client parses a log that is one JSON line (a
                    # collector's `images collected`) into a dict and hands back its Python repr, not JSON.
                    response = self._core.read_namespaced_pod_log(
                        pod["metadata"]["name"],
                        step.namespace,
                        container=spec["name"],
                        _preload_content=False,
                        _request_timeout=REQUEST_TIMEOUT,
                    )
                except Exception as ex:
                    if getattr(ex, "status", None) == 404:  # the pod was deleted since it was listed
                        continue
                    raise
                entries.append(
                    {
                        "pod": pod["metadata"]["name"],
                        "node": pod["spec"].get("nodeName"),
                        "phase": (pod.get("status") or {}).get("phase"),
                        "container": spec["name"],
                        "log": response.data.decode("utf-8", errors="replace"),
                        "cut": False,
                    }
                )
        return entries

    def _edit_json_list(self, step):
        for attempt in range(steps.EDIT_ATTEMPTS):
            current = self._read(steps.Read("configmaps", step.namespace, step.name))
            body, missing = steps.edit_json_list(current, step)
            try:
                if current is None:
                    written = self._core.create_namespaced_config_map(
                        step.namespace, body, _request_timeout=REQUEST_TIMEOUT
                    )
                else:
                    written = self._core.replace_namespaced_config_map(
                        step.name, step.namespace, body, _request_timeout=REQUEST_TIMEOUT
                    )
                return {"configmap": self._plain(written), "missing": missing}
            except Exception as ex:
                if getattr(ex, "status", None) != 409 or attempt == steps.EDIT_ATTEMPTS - 1:
                    raise
        return None

    def _recreate(self, step):
        name = step.body["metadata"]["name"]
        try:
            self._custom.get_cluster_custom_object(
                name=name, _request_timeout=REQUEST_TIMEOUT, **CUSTOM_RESOURCES[step.resource]
            )
            replaced = True
        except Exception as ex:
            # Only the object missing; a resource type the server does not have fails the step, as it should.
            if getattr(ex, "status", None) != 404 or _type_missing(ex):
                raise
            replaced = False
        if replaced:
            self._custom.delete_cluster_custom_object(
                name=name, _request_timeout=REQUEST_TIMEOUT, **CUSTOM_RESOURCES[step.resource]
            )
        for attempt in range(steps.RECREATE_ATTEMPTS):
            try:
                created = self._custom.create_cluster_custom_object(
                    body=step.body, _request_timeout=REQUEST_TIMEOUT, **CUSTOM_RESOURCES[step.resource]
                )
                break
            except Exception as ex:  # a deleted one may linger a moment (finalizers)
                if getattr(ex, "status", None) != 409 or attempt == steps.RECREATE_ATTEMPTS - 1:
                    raise
                self._sleep(1)
        result = {"replaced": replaced, "created": created}
        if step.wait_seconds is not None:
            uid = created["metadata"]["uid"]
            result.update(self._wait_for(steps.WaitFor(step.resource, name, uid, step.wait_seconds)))
        return result

    def _wait_for(self, step):
        deadline = self._clock() + step.seconds
        while True:
            found = self._read(steps.Read(step.resource, None, step.name))
            state = steps.wait_state(found, step.uid)
            if state is None and self._clock() >= deadline:
                state = "waiting"
            if state is not None:
                return {"final": found, "state": state}
            self._sleep(steps.POLL_SECONDS)
