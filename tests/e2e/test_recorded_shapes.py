"""The extension on documents the live service sent (armemulator/recorded/): their fields, nulls, profiles."""

import pytest

from armemulator.arm.clusters import RECORDED, recorded_cluster
from armemulator.kubernetes.auth import CLUSTER_ADMIN
from tests.e2e.conftest import cluster_requests, image_cleaner_of
from tests.e2e.test_update import differences


@pytest.mark.parametrize("which", RECORDED)
def test_enable_then_disable_changes_only_image_cleaner(az, emulator, make_cluster, which):
    cluster = make_cluster(body=recorded_cluster(which, image_cleaner=None), etags=False)  # as recorded: no eTag
    before = emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "json")
    assert result.code == 0, result.err
    assert result.json["securityProfile"]["imageCleaner"] == {"enabled": True, "intervalHours": 168}
    (put,) = [r for r in cluster_requests(emulator, cluster, "PUT")]
    assert "if-match" not in put["headers"]  # the recorded documents carry no eTag
    # Everything the service sent comes back as it was; only imageCleaner is added.
    assert differences(before, put["body"]) == []
    assert image_cleaner_of(put["body"]) == {"enabled": True, "intervalHours": 168}
    # The recorded nulls and profiles go back as they came.
    assert [k for k, v in before["properties"].items() if v is None] == [
        k for k, v in put["body"]["properties"].items() if v is None
    ]
    assert ("identity" in put["body"]) == ("identity" in before)
    disabled = az("aks", "update", *cluster.args, "--disable-image-cleaner", "-o", "json")
    assert disabled.code == 0, disabled.err
    stored = emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)
    assert image_cleaner_of(stored) == {"enabled": False, "intervalHours": 168}


@pytest.mark.parametrize("which", RECORDED)
def test_fleet_list_and_status_read_them(az, emulator, make_cluster, which):
    cluster = make_cluster(body=recorded_cluster(which, image_cleaner=(True, 72)))
    # The AKS Automatic recording has Azure RBAC: reading the ImageList takes a role on the cluster.
    emulator.role_assignments(cluster.subscription, cluster.resource_group, cluster.name, (CLUSTER_ADMIN, None))
    listed = az("aks", "image-cleaner", "list", "-g", cluster.resource_group, "-o", "json")
    assert listed.code == 0, listed.err
    row = next(r for r in listed.json if r["name"] == cluster.name)
    assert (row["enabled"], row["intervalHours"]) == (True, 72)
    assert row["windowsPools"] is which.startswith("windows")
    status = az("aks", "image-cleaner", "status", *cluster.args, "-o", "json")
    assert status.code == 0, status.err
    assert status.json["enabled"] is True and status.json["eraserVersion"]
