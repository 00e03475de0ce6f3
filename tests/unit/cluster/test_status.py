"""`aks image-cleaner status` as data."""

from azext_imagecleaner.cluster.status import cluster_status, eraser_components, last_run

CONFIG = {
    "data": {
        "controller_manager_config.yaml": (
            "components:\n  collector:\n    image:\n      tag: v1.4.0\n  scanner:\n    image:\n      tag: v1.4.0\n"
            "  remover:\n    image:\n      tag: v1.4.1\n"
        )
    }
}


def test_component_tags():
    assert eraser_components(CONFIG) == {"collector": "v1.4.0", "scanner": "v1.4.0", "remover": "v1.4.1"}
    assert eraser_components(None) == {}
    assert eraser_components({"data": {"controller_manager_config.yaml": ": : bad"}}) == {}


def test_last_run_states():
    assert last_run(None) == {"state": "none"}
    running = last_run({"metadata": {"creationTimestamp": "t0"}, "spec": {"images": ["a"]}})
    assert running["state"] == "running" and running["success"] is None
    done = last_run(
        {
            "metadata": {},
            "spec": {"images": ["*"]},
            "status": {"timestamp": "t1", "success": 2, "failed": 1, "skipped": 0},
        }
    )
    assert (done["state"], done["success"], done["failed"], done["skipped"]) == ("finished", 2, 1, 0)


def test_mixed_versions_are_all_shown():
    status = cluster_status("c", "rg", True, 48, CONFIG, None, [])
    assert status["eraserVersion"] == "v1.4.0, v1.4.1"
