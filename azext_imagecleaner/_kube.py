"""Reaching a cluster's Kubernetes API: one ApiClient per command, objects as plain dicts.

The kubeconfig comes from ARM (listClusterUserCredential, or
listClusterAdminCredential with --admin) and stays in memory; it is never
written to ~/.kube/config. --kubeconfig/--context use an existing one.
The `kubernetes` package is imported here only, so other az commands never load it.
"""

from contextlib import contextmanager

IMAGELIST = {"group": "eraser.sh", "version": "v1", "plural": "imagelists"}


def _kubeconfig_from_arm(mc_client, resource_group, name, admin):
    import yaml

    if admin:
        credentials = mc_client.list_cluster_admin_credentials(resource_group, name)
    else:
        credentials = mc_client.list_cluster_user_credentials(resource_group, name)
    value = credentials.kubeconfigs[0].value  # bytes in SDK 41, bytearray in SDK 38 (az 2.76)
    return yaml.safe_load(bytes(value).decode("utf-8") if isinstance(value, (bytes, bytearray)) else value)


@contextmanager
def connect(mc_client, resource_group, name, admin=False, kubeconfig=None, context=None):
    """A Kube handle for the cluster; errors on the way are mapped by the caller."""
    from kubernetes import config

    if kubeconfig:
        api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
    else:
        document = _kubeconfig_from_arm(mc_client, resource_group, name, admin)
        api_client = config.new_client_from_config_dict(document, context=context)
    try:
        yield Kube(api_client)
    finally:
        api_client.close()


class Kube:
    """The few calls the image-cleaner commands make, returning plain dicts."""

    def __init__(self, api_client):
        from kubernetes import client

        self._api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    def _plain(self, obj):
        return self._api_client.sanitize_for_serialization(obj)

    # ConfigMaps
    def list_configmaps(self, namespace, selector=None):
        return self._plain(self.core.list_namespaced_config_map(namespace, label_selector=selector))["items"]

    def get_configmap(self, namespace, name):
        return self._plain(self.core.read_namespaced_config_map(name, namespace))

    def create_configmap(self, namespace, body):
        return self._plain(self.core.create_namespaced_config_map(namespace, body))

    def replace_configmap(self, namespace, name, body):
        return self._plain(self.core.replace_namespaced_config_map(name, namespace, body))

    # Pods and nodes
    def list_pods(self, namespace, selector=None):
        return self._plain(self.core.list_namespaced_pod(namespace, label_selector=selector))["items"]

    def pod_log(self, namespace, name, container):
        # The raw bytes: with its content preloaded, the client parses a log that is one JSON line (a collector's
        # `images collected`) into a dict and hands back its Python repr, which is no longer JSON.
        response = self.core.read_namespaced_pod_log(name, namespace, container=container, _preload_content=False)
        return response.data.decode("utf-8", errors="replace")

    def list_nodes(self):
        return self._plain(self.core.list_node())["items"]

    # ImageList (cluster-scoped)
    def get_imagelist(self, name):
        return self.custom.get_cluster_custom_object(name=name, **IMAGELIST)

    def create_imagelist(self, body):
        return self.custom.create_cluster_custom_object(body=body, **IMAGELIST)

    def delete_imagelist(self, name):
        return self.custom.delete_cluster_custom_object(name=name, **IMAGELIST)


def not_found(ex):
    """Whether a Kubernetes call failed with 404."""
    return getattr(ex, "status", None) == 404
