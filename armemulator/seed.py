"""Demo clusters for the sandbox."""

from armemulator.arm.clusters import recorded_cluster

DEMO_GROUP = "sandbox-rg"

# Shaped by documents the live service sent (armemulator/recorded/): fields, nulls, no eTag.
DEMO_CLUSTERS = {
    "web-prod": recorded_cluster("image-cleaner-2023", image_cleaner=None, tags={"env": "prod", "team": "web"}),
    "batch-dev": recorded_cluster("image-cleaner-2023", image_cleaner=(True, 48), tags={"env": "dev"}, linux_nodes=3),
    "legacy-win": recorded_cluster("windows-service-principal-2023", image_cleaner=(False, 72), tags={"env": "prod"}),
    "aad-prod": recorded_cluster("automatic-aad-2025", tags={"env": "prod", "team": "platform"}),
}


def seed_demo(store, subscription):
    for name, body in DEMO_CLUSTERS.items():
        store.seed_cluster(subscription, DEMO_GROUP, name, body)
