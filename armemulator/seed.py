"""Demo clusters for the sandbox."""

from armemulator.arm.clusters import recorded_cluster, with_monitoring

DEMO_GROUP = "sandbox-rg"
DEMO_WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/sandbox-logs/providers/"
    "Microsoft.OperationalInsights/workspaces/sandbox-logs"
)

# Shaped by documents the live service sent (armemulator/recorded/): fields, nulls, no eTag.
DEMO_CLUSTERS = {
    "web-prod": recorded_cluster("image-cleaner-2023", image_cleaner=None, tags={"env": "prod", "team": "web"}),
    "batch-dev": with_monitoring(
        recorded_cluster("image-cleaner-2023", image_cleaner=(True, 48), tags={"env": "dev"}, linux_nodes=3),
        DEMO_WORKSPACE,
    ),
    "legacy-win": recorded_cluster("windows-service-principal-2023", image_cleaner=(False, 72), tags={"env": "prod"}),
    # Managed AAD with Azure RBAC and local accounts disabled, as recorded (AKS Automatic).
    "aad-prod": with_monitoring(
        recorded_cluster("automatic-aad-2025", tags={"env": "prod", "team": "platform"}), DEMO_WORKSPACE
    ),
    # A private cluster: its API server's name resolves only inside its VNet, so it is reached by run-command.
    "private-dev": with_monitoring(
        recorded_cluster(
            "image-cleaner-2023", image_cleaner=(True, 168), tags={"env": "dev"}, private=True, linux_nodes=2
        ),
        DEMO_WORKSPACE,
    ),
}
# The clusters of each hardened kind the demo shows; it seeds them afresh each time.
ENTERPRISE_CLUSTERS = ("aad-prod", "private-dev")
# What each monitored demo cluster's Container Insights agent collects (its ConfigMap's log settings, as the
# agent's template spells them): batch-dev keeps kube-system in the new schema, private-dev in the legacy one, and
# aad-prod has no ConfigMap, so its agent leaves kube-system out. web-prod and legacy-win have no add-on.
AGENT_SETTINGS = {
    "batch-dev": "v2",
    "private-dev": "v1",
}


def agent_configmap(schema):
    """The agent's ConfigMap taking kube-system's logs, in `schema` (microsoft/Docker-Provider's template)."""
    streams = "".join(
        f"   [log_collection_settings.{stream}]\n      enabled = true\n"
        '      exclude_namespaces = ["gatekeeper-system"]\n'
        for stream in ("stdout", "stderr")
    )
    return {
        "metadata": {"name": "container-azm-ms-agentconfig", "namespace": "kube-system"},
        "data": {
            "schema-version": "v1",
            "log-data-collection-settings": "[log_collection_settings]\n"
            + streams
            + f'   [log_collection_settings.schema]\n      containerlog_schema_version = "{schema}"\n',
        },
    }


def seed_demo(store, subscription):
    for name, body in DEMO_CLUSTERS.items():
        store.seed_cluster(subscription, DEMO_GROUP, name, body)
