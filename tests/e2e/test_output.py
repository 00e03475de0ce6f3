"""Output formats, --query and `az aks show`, as scripts use them."""

import pytest

from tests.e2e.conftest import cluster_requests

# Writes clusters through ARM: scripts/test.sh runs these again with ETags (IMAGECLEANER_E2E_ETAGS=spec).
pytestmark = pytest.mark.arm_writes


def test_tsv_with_query(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az(
        "aks",
        "update",
        *cluster.args,
        "--image-cleaner-interval-hours",
        "72",
        "--query",
        "securityProfile.imageCleaner.intervalHours",
        "-o",
        "tsv",
    )
    assert result.code == 0, result.err
    assert result.out == "72\n"


def test_json_query(az, make_cluster):
    cluster = make_cluster(image_cleaner=None)
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "--query", "securityProfile.imageCleaner")
    assert result.code == 0, result.err
    assert result.json == {"enabled": True, "intervalHours": 168}


def test_table(az, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72))
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "-o", "table")
    assert result.code == 0, result.err
    header, rule, row = result.out.splitlines()[:3]
    assert "Name" in header and "ProvisioningState" in header
    assert set(rule.replace(" ", "")) == {"-"}
    assert cluster.name in row and "Succeeded" in row


def test_show_after_update(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    assert az("aks", "update", *cluster.args, "--disable-image-cleaner", "-o", "none").code == 0
    result = az("aks", "show", *cluster.args, "--query", "securityProfile.imageCleaner")
    assert result.code == 0, result.err
    assert result.json == {"enabled": False, "intervalHours": 48}
    assert len(cluster_requests(emulator, cluster, "PUT")) == 1


def test_show_is_untouched_by_the_extension(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "show", *cluster.args, "-o", "json")
    assert result.code == 0, result.err
    assert "altered by the following extension" not in result.err
    assert result.json["name"] == cluster.name
