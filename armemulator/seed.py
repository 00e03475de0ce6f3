"""Demo clusters for the sandbox."""

from armemulator.clusters import sample_cluster

DEMO_GROUP = "sandbox-rg"

DEMO_CLUSTERS = {
    "web-prod": sample_cluster(tags={"env": "prod", "team": "web"}),
    "batch-dev": sample_cluster(image_cleaner=(True, 48), tags={"env": "dev"}),
    "legacy-win": sample_cluster(image_cleaner=(False, 72), windows_pool=True, tags={"env": "prod"}),
}


def seed_demo(store, subscription):
    for name, body in DEMO_CLUSTERS.items():
        store.seed_cluster(subscription, DEMO_GROUP, name, body)
