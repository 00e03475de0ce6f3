"""`az aks image-cleaner status` as data, from what ARM and the cluster said (pure)."""

CONFIG_KEY = "controller_manager_config.yaml"
COMPONENTS = ("collector", "scanner", "remover")


def eraser_components(configmap):
    """Component image tags from eraser-manager-config's EraserConfig, or {} when it is absent or unreadable."""
    import yaml

    if not configmap:
        return {}
    try:
        config = yaml.safe_load((configmap.get("data") or {}).get(CONFIG_KEY) or "") or {}
    except yaml.YAMLError:
        return {}
    components = config.get("components") or {}
    tags = {}
    for component in COMPONENTS:
        tag = ((components.get(component) or {}).get("image") or {}).get("tag")
        if tag:
            tags[component] = tag
    return tags


def last_run(imagelist):
    if not imagelist:
        return {"state": "none"}
    status = imagelist.get("status") or {}
    run = {
        "state": "finished" if status.get("timestamp") else "running",
        "images": (imagelist.get("spec") or {}).get("images", []),
        "started": (imagelist.get("metadata") or {}).get("creationTimestamp"),
        "finished": status.get("timestamp"),
    }
    for count in ("success", "failed", "skipped"):
        run[count] = status.get(count)
    return run


def cluster_status(name, resource_group, enabled, interval_hours, config, imagelist, workers):
    components = eraser_components(config)
    versions = sorted(set(components.values()))
    return {
        "name": name,
        "resourceGroup": resource_group,
        "enabled": enabled,
        "intervalHours": interval_hours,
        "eraserVersion": versions[0] if len(versions) == 1 else (", ".join(versions) or None),
        "components": components,
        "lastManualRun": last_run(imagelist),
        "workerPods": [
            {
                "name": p["metadata"]["name"],
                "node": p["spec"].get("nodeName"),
                "phase": (p.get("status") or {}).get("phase"),
                "containers": [c["name"] for c in p["spec"]["containers"]],
            }
            for p in workers
        ],
    }
