"""The API-server transport: the cluster's Kubernetes API through the official `kubernetes` client.

Credentials: the kubeconfig ARM returns stays in memory (never written to ~/.kube/config). On a managed-AAD
cluster its `exec` user (kubelogin) is not run: only its `server` and CA are used, with a token from az's own
login (`_token`). --kubeconfig/--context use the user's file as it is. Every call has a bounded timeout, so an
API server that stops answering ends in an error, not a hang. The `kubernetes` package is imported in this
module only, and only when a command uses it.
"""

import base64
import os
import socket
import tempfile
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

IMAGELIST = {"group": "eraser.sh", "version": "v1", "plural": "imagelists"}
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
    """The calls the image-cleaner commands make, returning plain dicts."""

    transport = "api-server"

    def __init__(self, api_client):
        from kubernetes import client

        self._api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    def _plain(self, obj):
        return self._api_client.sanitize_for_serialization(obj)

    # ConfigMaps
    def list_configmaps(self, namespace, selector=None):
        answer = self.core.list_namespaced_config_map(
            namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT
        )
        return self._plain(answer)["items"]

    def get_configmap(self, namespace, name):
        return self._plain(self.core.read_namespaced_config_map(name, namespace, _request_timeout=REQUEST_TIMEOUT))

    def create_configmap(self, namespace, body):
        return self._plain(self.core.create_namespaced_config_map(namespace, body, _request_timeout=REQUEST_TIMEOUT))

    def replace_configmap(self, namespace, name, body):
        return self._plain(
            self.core.replace_namespaced_config_map(name, namespace, body, _request_timeout=REQUEST_TIMEOUT)
        )

    # Pods
    def list_pods(self, namespace):
        return self._plain(self.core.list_namespaced_pod(namespace, _request_timeout=REQUEST_TIMEOUT))["items"]

    def pod_log(self, namespace, name, container):
        """(log, cut): the whole log is read here, so it is never cut."""
        # The raw bytes: with its content preloaded, the client parses a log that is one JSON line (a collector's
        # `images collected`) into a dict and hands back its Python repr, which is no longer JSON.
        response = self.core.read_namespaced_pod_log(
            name, namespace, container=container, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
        )
        return response.data.decode("utf-8", errors="replace"), False

    # ImageList (cluster-scoped)
    def get_imagelist(self, name):
        return self.custom.get_cluster_custom_object(name=name, _request_timeout=REQUEST_TIMEOUT, **IMAGELIST)

    def create_imagelist(self, body):
        return self.custom.create_cluster_custom_object(body=body, _request_timeout=REQUEST_TIMEOUT, **IMAGELIST)

    def delete_imagelist(self, name):
        return self.custom.delete_cluster_custom_object(name=name, _request_timeout=REQUEST_TIMEOUT, **IMAGELIST)
