"""`az aks create` with the Image Cleaner flags."""

import subprocess
import uuid

import pytest

from tests.e2e.conftest import AZ, RESOURCE_GROUP, image_cleaner_of

# Writes clusters through ARM: scripts/test.sh runs these again with ETags (IMAGECLEANER_E2E_ETAGS=spec).
pytestmark = pytest.mark.arm_writes


@pytest.fixture(scope="module", autouse=True)
def resource_group(az_env):
    """The group the clusters are created in, made as a user would before a create (tests may run alone)."""
    subprocess.run(
        [AZ, "group", "create", "-n", RESOURCE_GROUP, "-l", "westeurope", "-o", "none"],
        env=az_env,
        stdin=subprocess.DEVNULL,
        check=True,
        capture_output=True,
        timeout=180,
    )


def new_name():
    return f"new-{uuid.uuid4().hex[:10]}"


def the_put(emulator, name):
    (put,) = [r for r in emulator.requests() if r["method"] == "PUT" and r["path"].endswith(f"/{name}")]
    return put


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--enable-image-cleaner"], {"enabled": True, "intervalHours": 168}),
        (["--enable-image-cleaner", "--image-cleaner-interval-hours", "48"], {"enabled": True, "intervalHours": 48}),
    ],
    ids=["default-interval", "given-interval"],
)
def test_create_with_image_cleaner(az, emulator, flags, expected):
    name = new_name()
    result = az("aks", "create", "-g", RESOURCE_GROUP, "-n", name, "--no-ssh-key", *flags, "-o", "json")
    assert result.code == 0, result.err
    assert image_cleaner_of(the_put(emulator, name)["body"]) == expected
    assert image_cleaner_of(emulator.cluster(emulator.subscription, RESOURCE_GROUP, name)) == expected
    assert result.json["securityProfile"]["imageCleaner"] == expected


def test_create_without_image_cleaner_flags_sends_no_profile(az, emulator):
    name = new_name()
    result = az("aks", "create", "-g", RESOURCE_GROUP, "-n", name, "--no-ssh-key", "--tags", "env=test", "-o", "none")
    assert result.code == 0, result.err
    body = the_put(emulator, name)["body"]
    assert image_cleaner_of(body) is None
    assert body["tags"] == {"env": "test"}


def test_create_with_other_core_flags(az, emulator):
    name = new_name()
    result = az(
        "aks",
        "create",
        "-g",
        RESOURCE_GROUP,
        "-n",
        name,
        "--no-ssh-key",
        "--enable-image-cleaner",
        "--node-count",
        "5",
        "--tags",
        "team=platform",
        "--kubernetes-version",
        "1.33.2",
        "-o",
        "none",
    )
    assert result.code == 0, result.err
    body = the_put(emulator, name)["body"]
    assert body["properties"]["agentPoolProfiles"][0]["count"] == 5
    assert body["properties"]["kubernetesVersion"] == "1.33.2"
    assert body["tags"] == {"team": "platform"}
    assert image_cleaner_of(body) == {"enabled": True, "intervalHours": 168}


def test_create_on_an_existing_cluster_is_refused(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "create", *cluster.args, "--no-ssh-key", "--enable-image-cleaner")
    assert result.code != 0
    assert "already exists" in result.err
    assert "az aks update" in result.err
    assert not [r for r in emulator.requests() if r["method"] == "PUT"]
