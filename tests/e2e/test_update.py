"""`az aks update` with the Image Cleaner flags: every row of the rules table, through the real az."""

import uuid

import pytest

from armemulator.arm.clusters import sample_cluster
from tests.e2e.conftest import (
    RESOURCE_GROUP,
    Cluster,
    _ref,
    cluster_requests,
    image_cleaner_of,
    stored_image_cleaner,
)

# Writes clusters through ARM: scripts/test.sh runs these again with ETags (IMAGECLEANER_E2E_ETAGS=spec).
pytestmark = pytest.mark.arm_writes


def put_bodies(emulator, cluster):
    return [r["body"] for r in cluster_requests(emulator, cluster, "PUT")]


@pytest.mark.parametrize(
    "stored, flags, expected",
    [
        pytest.param(
            (False, 72),
            ["--enable-image-cleaner"],
            {"enabled": True, "intervalHours": 72},
            id="enable-keeps-stored-interval",
        ),
        pytest.param(
            None,
            ["--enable-image-cleaner"],
            {"enabled": True, "intervalHours": 168},
            id="enable-without-profile-uses-168",
        ),
        pytest.param(
            (True, 48),
            ["--disable-image-cleaner"],
            {"enabled": False, "intervalHours": 48},
            id="disable-keeps-interval",
        ),
        pytest.param(
            (True, 168),
            ["--image-cleaner-interval-hours", "72"],
            {"enabled": True, "intervalHours": 72},
            id="interval-on-enabled-cluster",
        ),
        pytest.param(
            (False, 72),
            ["--enable-image-cleaner", "--image-cleaner-interval-hours", "500"],
            {"enabled": True, "intervalHours": 500},
            id="enable-with-new-interval",
        ),
        pytest.param(
            (True, 48),
            ["--image-cleaner-interval-hours", "24"],
            {"enabled": True, "intervalHours": 24},
            id="lowest-interval",
        ),
        pytest.param(
            (True, 48),
            ["--image-cleaner-interval-hours", "2160"],
            {"enabled": True, "intervalHours": 2160},
            id="highest-interval",
        ),
    ],
)
def test_rules_table_rows(az, emulator, make_cluster, stored, flags, expected):
    cluster = make_cluster(image_cleaner=stored)
    result = az("aks", "update", *cluster.args, *flags, "-o", "json")
    assert result.code == 0, result.err
    assert stored_image_cleaner(emulator, cluster) == expected
    (body,) = put_bodies(emulator, cluster)
    assert image_cleaner_of(body) == expected
    assert isinstance(image_cleaner_of(body)["intervalHours"], int)
    assert result.json["securityProfile"]["imageCleaner"] == expected
    assert "Traceback" not in result.err


def test_disable_then_enable_keeps_the_interval(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    assert az("aks", "update", *cluster.args, "--disable-image-cleaner", "-o", "none").code == 0
    assert stored_image_cleaner(emulator, cluster) == {"enabled": False, "intervalHours": 48}
    assert az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none").code == 0
    assert stored_image_cleaner(emulator, cluster) == {"enabled": True, "intervalHours": 48}


@pytest.mark.parametrize("stored", [None, (False, 72)], ids=["no-profile", "disabled"])
def test_interval_on_a_cluster_where_image_cleaner_is_off_is_refused(az, emulator, make_cluster, stored):
    cluster = make_cluster(image_cleaner=stored)
    before = emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)
    result = az("aks", "update", *cluster.args, "--image-cleaner-interval-hours", "72")
    assert result.code != 0
    assert "Image Cleaner is off on this cluster" in result.err
    assert "--enable-image-cleaner" in result.err
    assert "Traceback" not in result.err
    assert put_bodies(emulator, cluster) == []
    assert emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name) == before


@pytest.mark.parametrize(
    "stored, flags",
    [
        ((True, 48), ["--enable-image-cleaner", "--image-cleaner-interval-hours", "48"]),
        ((True, 48), ["--enable-image-cleaner"]),
        ((True, 48), ["--image-cleaner-interval-hours", "48"]),
        ((False, 72), ["--disable-image-cleaner"]),
    ],
    ids=["enable-48-on-48", "enable-on-enabled", "same-interval", "disable-on-disabled"],
)
def test_an_update_that_changes_nothing_sends_nothing(az, emulator, make_cluster, stored, flags):
    cluster = make_cluster(image_cleaner=stored)
    before = emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)
    result = az("aks", "update", *cluster.args, *flags, "-o", "json")
    assert result.code == 0, result.err
    assert result.json["name"] == cluster.name  # the cluster as read
    assert result.json["securityProfile"]["imageCleaner"] == image_cleaner_of(before)
    assert result.err.count("nothing to change, so no update was sent") == 1
    assert [r["method"] for r in cluster_requests(emulator, cluster)] == ["GET"]
    assert emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name) == before


def test_a_cluster_whose_last_operation_failed_still_gets_the_update(az, emulator, make_cluster):
    # AKS reconciles a failed cluster on the next PUT, even one that changes nothing.
    cluster = make_cluster(image_cleaner=(True, 48))
    emulator.patch_cluster(*_ref(cluster), {"properties": {"provisioningState": "Failed"}})
    emulator.clear_requests()
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "json")
    assert result.code == 0, result.err
    assert "nothing to change" not in result.err
    (body,) = put_bodies(emulator, cluster)
    assert image_cleaner_of(body) == {"enabled": True, "intervalHours": 48}
    assert result.json["provisioningState"] == "Succeeded"


def test_another_flag_is_a_change_even_when_image_cleaner_stays(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "--tags", "team=web", "-o", "none")
    assert result.code == 0, result.err
    assert "nothing to change" not in result.err
    assert len(put_bodies(emulator, cluster)) == 1


def test_other_flags_with_image_cleaner_flags(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 96))
    result = az(
        "aks", "update", *cluster.args, "--enable-image-cleaner", "--tags", "team=platform", "cost=42", "-o", "json"
    )
    assert result.code == 0, result.err
    stored = emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)
    assert stored["tags"] == {"team": "platform", "cost": "42"}
    assert image_cleaner_of(stored) == {"enabled": True, "intervalHours": 96}


def test_other_flags_alone_leave_image_cleaner_as_it_was(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "update", *cluster.args, "--tags", "owner=ops", "-o", "none")
    assert result.code == 0, result.err
    stored = emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)
    assert stored["tags"] == {"owner": "ops"}
    assert image_cleaner_of(stored) == {"enabled": True, "intervalHours": 48}
    (body,) = put_bodies(emulator, cluster)
    assert image_cleaner_of(body) == {"enabled": True, "intervalHours": 48}


def test_only_image_cleaner_changes_in_the_document(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72), windows_pool=True, tags={"a": "b"})
    before = emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)
    assert az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none").code == 0
    (body,) = put_bodies(emulator, cluster)
    assert differences(before, body) == [
        ("properties.securityProfile.imageCleaner.enabled", False, True),
    ]


# Marked readOnly in the managedClusters API: the SDK never sends them back.
READ_ONLY = {
    "eTag",
    "id",
    "name",
    "type",
    "principalId",
    "tenantId",
    "provisioningState",
    "powerState",
    "fqdn",
    "azurePortalFQDN",
    "maxAgentPools",
    "currentKubernetesVersion",
}


# Nested fields the managedClusters API marks readOnly (seen in the recorded documents; recorded-arm's README
# lists the per-pool ones core's PUT drops).
READ_ONLY_PATHS = (
    "properties.agentPoolProfiles#.currentOrchestratorVersion",  # '#': any list index
    "properties.agentPoolProfiles#.nodeImageVersion",
    "properties.addonProfiles.*.identity",
    "properties.ingressProfile.webAppRouting.identity",
    "properties.networkProfile.natGatewayProfile.effectiveOutboundIPs",
    "properties.networkProfile.loadBalancerProfile.effectiveOutboundIPs",
    "properties.oidcIssuerProfile.issuerURL",
    "properties.resourceUID",
)


def differences(before, sent, path=""):
    """Where `sent` differs from `before`: (path, before, sent), for writable keys present in `before`."""
    import fnmatch
    import re

    if isinstance(before, dict) and isinstance(sent, dict):
        found = []
        for key, value in before.items():
            child = f"{path}.{key}" if path else key
            shape = re.sub(r"\[\d+\]", "#", child)
            if key in READ_ONLY or any(fnmatch.fnmatchcase(shape, p) for p in READ_ONLY_PATHS):
                continue
            found += differences(value, sent.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(before, list) and isinstance(sent, list) and len(before) == len(sent):
        return [d for i, (b, s) in enumerate(zip(before, sent, strict=True)) for d in differences(b, s, f"{path}[{i}]")]
    return [] if before == sent else [(path, before, sent)]


def test_no_wait_returns_before_the_operation_ends(az, emulator, make_cluster):
    emulator.configure(operation_seconds=30)
    cluster = make_cluster(image_cleaner=(False, 72))
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "--no-wait")
    assert result.code == 0, result.err
    assert result.out == ""
    assert len(put_bodies(emulator, cluster)) == 1
    assert not [r for r in emulator.requests() if "/operations/" in r["path"]]
    stored = emulator.cluster(cluster.subscription, cluster.resource_group, cluster.name)
    assert stored["properties"]["provisioningState"] == "Updating"
    assert image_cleaner_of(stored) == {"enabled": True, "intervalHours": 72}


def test_waits_for_a_long_running_operation(az, emulator, make_cluster):
    emulator.configure(operation_seconds=2)
    cluster = make_cluster(image_cleaner=None)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "json")
    assert result.code == 0, result.err
    assert result.json["provisioningState"] == "Succeeded"
    polls = [r for r in emulator.requests() if "/operations/" in r["path"]]
    assert len(polls) >= 2


def test_missing_cluster_is_a_clean_error(az, emulator):
    result = az("aks", "update", "-g", "e2e-rg", "-n", "no-such-cluster", "--enable-image-cleaner")
    assert result.code != 0
    assert "no-such-cluster" in result.err
    assert "was not found" in result.err
    assert "Traceback" not in result.err
    assert not [r for r in emulator.requests() if r["method"] == "PUT"]


@pytest.mark.parametrize("stored", [(True, 48), (False, 72), None], ids=["on", "off", "no-profile"])
def test_the_reconcile_sends_the_put_core_sends(az, core_az, emulator, stored):
    """`az aks update -g -n --yes` with no other flag is az's reconcile: core sends the cluster as read back, to
    move it to its goal state. With none of the three flags, the extension leaves the command to core."""
    cluster = Cluster(emulator.subscription, RESOURCE_GROUP, f"c-{uuid.uuid4().hex[:10]}")
    sent = {}
    for variant, run in (("core", core_az), ("extension", az)):
        emulator.delete_cluster(*_ref(cluster))  # the same cluster, as seeded, for each
        emulator.put_cluster(*_ref(cluster), sample_cluster(image_cleaner=stored))
        emulator.clear_requests()
        result = run("aks", "update", *cluster.args, "--yes", "-o", "json")
        assert result.code == 0, result.err
        assert "nothing to change" not in result.err
        assert "altered by the following extension" not in result.err  # az's warning names no extension
        sent[variant] = [(r["method"], r["path"], r["body"]) for r in cluster_requests(emulator, cluster)]
        assert [method for method, _, _ in sent[variant]].count("PUT") == 1
        assert stored_image_cleaner(emulator, cluster) == (
            {"enabled": stored[0], "intervalHours": stored[1]} if stored else None
        )
    assert sent["extension"] == sent["core"]


def test_an_image_cleaner_flag_still_names_the_extension_in_azs_warning(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72))
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "none")
    assert result.code == 0, result.err
    assert "The behavior of this command has been altered by the following extension: imagecleaner" in result.err
