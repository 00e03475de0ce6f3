"""Demo clusters for the sandbox."""

from armemulator.arm.clusters import recorded_cluster

DEMO_GROUP = "sandbox-rg"

# Shaped by documents the live service sent (armemulator/recorded/): fields, nulls, no eTag.
DEMO_CLUSTERS = {
    "web-prod": recorded_cluster("image-cleaner-2023", image_cleaner=None, tags={"env": "prod", "team": "web"}),
    "batch-dev": recorded_cluster("image-cleaner-2023", image_cleaner=(True, 48), tags={"env": "dev"}, linux_nodes=3),
    "legacy-win": recorded_cluster("windows-service-principal-2023", image_cleaner=(False, 72), tags={"env": "prod"}),
    # Managed AAD with Azure RBAC and local accounts disabled, as recorded (AKS Automatic).
    "aad-prod": recorded_cluster("automatic-aad-2025", tags={"env": "prod", "team": "platform"}),
    # A private cluster: its API server's name resolves only inside its VNet, so it is reached by run-command.
    "private-dev": recorded_cluster(
        "image-cleaner-2023", image_cleaner=(True, 168), tags={"env": "dev"}, private=True, linux_nodes=2
    ),
}
# The clusters of each hardened kind the demo shows; it seeds them afresh each time.
ENTERPRISE_CLUSTERS = ("aad-prod", "private-dev")


def seed_demo(store, subscription):
    for name, body in DEMO_CLUSTERS.items():
        store.seed_cluster(subscription, DEMO_GROUP, name, body)
