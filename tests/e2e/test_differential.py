"""Commands we do not own send what their owner sends: azure-cli's own `aks create` and `aks update` command lines
(tests/e2e/data/az_aks_command_lines.json, from its test_aks_commands.py), run through the real az against the
emulator without the extension and with it, in the same emulator state.

A line with none of the three Image Cleaner flags must send the same requests in the same order, by method, path
and body (az's reconcile, `aks update -g -n --yes`, among them). A line with them may differ only where the README
says the extension does ("What it does better than core"): here, that a create sends `If-None-Match: *`, which no
body or path shows, so those lines must match too. Each line runs whether it succeeds against the emulator or not:
a line that fails (a resource the emulator does not have, an AAD Graph call) must fail after the same requests.
"""

import json
import os
import re
import shlex
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import pytest

from armemulator.arm.clusters import sample_cluster
from tests.e2e.conftest import AZ, RESOURCE_GROUP

DATA = os.path.join(os.path.dirname(__file__), "data", "az_aks_command_lines.json")
IMAGE_CLEANER_FLAGS = ("--enable-image-cleaner", "--disable-image-cleaner", "--image-cleaner-interval-hours")
# The lines left out, with why: placeholders that stand for a Python value computed while the live test runs
# (the data file's `python_values`), which no fixed text stands for.
LEFT_OUT_KEYS = ("python_values",)


def _lines():
    with open(DATA, encoding="utf-8") as f:
        commands = json.load(f)["commands"]
    distinct, left_out = {}, []
    for command in commands:
        if any(command.get(key) for key in LEFT_OUT_KEYS):
            left_out.append(command)
            continue
        distinct.setdefault((command["command"], tuple(command["args"])), command)
    return list(distinct.values()), left_out


LINES, LEFT_OUT = _lines()
pytestmark = pytest.mark.pinned_az_only


def _id(command):
    return f"{command['command']}-{command['test']}-{command['line']}"


@pytest.fixture(scope="module")
def profiles(az_env, core_env):
    """{"core": env, "extension": env}: the session's logged-in profile, without and with the extension."""
    listed = subprocess.run(
        [AZ, "extension", "list", "-o", "json"], env=core_env, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(listed.stdout) == []
    return {"core": core_env, "extension": az_env}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The files some lines name: an SSH public key, and the JSON configs of kubelet, Linux OS and HTTP proxy
    (shaped as azure-cli's test data: kubeletconfig.json, linuxosconfig.json, httpproxyconfig.json)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    work = tmp_path_factory.mktemp("differential-files")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    written = {
        "ssh_key_value": ("id_rsa.pub", public.decode() + " azureuser@differential\n"),
        "kc_path": ("kubeletconfig.json", json.dumps({"cpuManagerPolicy": "static", "podMaxPids": 120})),
        "oc_path": (
            "linuxosconfig.json",
            json.dumps({"transparentHugePageEnabled": "madvise", "swapFileSizeMB": 1500}),
        ),
        "http_proxy_path": (
            "httpproxyconfig.json",
            json.dumps({"httpProxy": "http://proxy.example:3128/", "noProxy": ["localhost", "127.0.0.1"]}),
        ),
    }
    paths = {}
    for placeholder, (name, text) in written.items():
        (work / name).write_text(text)
        paths[placeholder] = str(work / name)
    return paths


def _values(subscription, name, files):
    """What each placeholder stands for: plausible values of the kind azure-cli's tests give (resource IDs in the
    emulator's subscription, names, versions), and the multi-word values the data file records."""
    rg = f"/subscriptions/{subscription}/resourceGroups/{RESOURCE_GROUP}/providers"

    def rid(kind, resource):
        return f"{rg}/{kind}/{resource}"

    identity = rid("Microsoft.ManagedIdentity/userAssignedIdentities", "id-differential")
    return {
        "resource_group": RESOURCE_GROUP,
        "name": name,
        "aks_name": name,
        "aks_name2": name + "b",
        "location": "eastus",
        "dns_name_prefix": "cliakstest",
        "service_principal": "00000000-0000-0000-0000-0000000000aa",
        "client_secret": "differential-not-a-secret",
        "k8s_version": "1.33.2",
        "kubernetes_version": "1.33.2",
        "upgrade_version": "1.33.2",
        "node_vm_size": "Standard_DS2_v2",
        "vm_size": "Standard_DS2_v2",
        "vnet_subnet_id": rid("Microsoft.Network/virtualNetworks", "vnet/subnets/aks"),
        "subnet_id": rid("Microsoft.Network/virtualNetworks", "vnet/subnets/apiserver"),
        "vnet_id": rid("Microsoft.Network/virtualNetworks", "vnet"),
        "node_pool_name": "npdiff",
        "nodepool_name": "npdiff",
        "windows_admin_username": "azureuser1",
        "windows_admin_password": "replace-Password1234$",
        "new_windows_admin_password": "replace-Password5678$",
        "identity_id": identity,
        "identity": identity,
        "identity_resource_id": identity,
        "new_identity_resource_id": identity + "2",
        "control_plane_identity_resource_id": identity,
        "kubelet_identity_resource_id": identity + "-kubelet",
        "new_kubelet_identity_resource_id": identity + "-kubelet2",
        "acr_name": "acrdifferential",
        "ip1_id": rid("Microsoft.Network/publicIPAddresses", "ip1"),
        "ip2_id": rid("Microsoft.Network/publicIPAddresses", "ip2"),
        "ipprefix1_id": rid("Microsoft.Network/publicIPPrefixes", "prefix1"),
        "ipprefix2_id": rid("Microsoft.Network/publicIPPrefixes", "prefix2"),
        "ipprefix_id": rid("Microsoft.Network/publicIPPrefixes", "prefix"),
        "key_id": "https://kv-differential.vault.azure.net/keys/kms/0123456789abcdef0123456789abcdef",
        "node_count": "1",
        "if_none_match": "*",
        "revision": "asm-1-24",
        "ppg": rid("Microsoft.Compute/proximityPlacementGroups", "ppg"),
        "nodepool_taints": "key1=value1:NoSchedule",
        "subdomain_name": "differential",
        "zone_id": rid("Microsoft.Network/dnszones", "differential.example"),
        "appgw_id": rid("Microsoft.Network/applicationGateways", "appgw"),
        "fw_public_ip_address": "20.1.2.3",
        "des_id": rid("Microsoft.Compute/diskEncryptionSets", "des"),
        "snapshot_resource_id": rid("Microsoft.ContainerService/snapshots", "snapshot"),
        "edge_zone": "losangeles",
        "node_resource_group": "MC_differential",
        "node_public_ip_tags": "RoutingPreference=Internet",
        "crg_id": rid("Microsoft.Compute/capacityReservationGroups", "crg"),
        "tags": "tag1=v1 tag2=v2",
        "nodepool_labels": "label1=value1 label2=value2",
        "nodepool_tags": "tag1=tv1 tag2=tv2",
        "zones": "1 2 3",
        "asg_ids_argument": "--nodepool-asg-ids " + rid("Microsoft.Network/applicationSecurityGroups", "asg1"),
        "allowed_host_ports_argument": "--nodepool-allowed-host-ports 53/UDP 80/TCP 443/TCP",
        **files,
    }


def command_line(command, values):
    """The line's arguments with its placeholders filled, split as azure-cli's test framework does (`self.kwargs`
    substituted, then shlex.split: a value with spaces becomes several arguments)."""
    text = " ".join(shlex.quote(arg) if "{" not in arg else arg for arg in command["args"])
    filled = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], text)
    return ["aks", command["command"], *shlex.split(filled)]


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# Times core computes from the clock (upgradeSettings.overrideSettings.until: now + 3 days, for one).
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
# Lines run a few at a time (each az is a process of its own, mostly CPU): every request is told apart by a tag
# az adds to its User-Agent from AZURE_HTTP_USER_AGENT (core's and azure-core's pipelines, and send_raw_request).
WORKERS = 3


def sent(requests, tag, known_guids):
    """(method, path, body) of every ARM request of the run tagged `tag`, in order; GUIDs and times that az makes
    anew on each run (role assignment names, an override's end) are written as <guid> and <time>, the GUIDs of the
    test's own values kept."""

    def plain(text):
        return _plain(text, known_guids)

    return [
        (r["method"], plain(r["path"].lower()), plain(json.dumps(r.get("body"), sort_keys=True)))
        for r in requests
        if tag in (r.get("headers") or {}).get("user-agent", "")
    ]


def _plain(text, known_guids):
    text = _TIME.sub("<time>", text)
    return _GUID.sub(lambda m: m.group() if m.group().lower() in known_guids else "<guid>", text)


class Outcome(NamedTuple):
    args: list
    code: int
    tag: str
    err: str
    before: dict | None = None  # the cluster as stored before an update


def _run(env, args, tag, before=None):
    completed = subprocess.run(
        [AZ, *args, "-o", "none"],
        env=dict(env, AZURE_HTTP_USER_AGENT=tag),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    return Outcome(args, completed.returncode, tag, completed.stderr, before)


def _both(command, number, profiles, files, emulator, names):
    """{variant: Outcome} of one line, without the extension and then with it, each on the same fresh cluster
    state (a cluster to update is seeded anew; one to create is absent)."""
    name = f"diff{number:03d}{uuid.uuid4().hex[:6]}"
    names.append(name)  # for the fixture to delete
    args = command_line(command, _values(emulator.subscription, name, files))
    outcomes = {}
    for variant in ("core", "extension"):
        emulator.delete_cluster(emulator.subscription, RESOURCE_GROUP, name)
        before = None
        if command["command"] == "update":
            emulator.put_cluster(emulator.subscription, RESOURCE_GROUP, name, sample_cluster(image_cleaner=(True, 48)))
            before = emulator.cluster(emulator.subscription, RESOURCE_GROUP, name)
        outcomes[variant] = _run(profiles[variant], args, f"differential/{name}/{variant}", before)
    return outcomes


@pytest.fixture(scope="module")
def runs(request, profiles, files, emulator):
    """The two runs of every line selected (-k picks some), a few lines at a time, and the emulator's request log
    of them all."""
    chosen = {
        _id(item.callspec.params["command"])
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec") and "command" in item.callspec.params
    }
    emulator.reset()
    emulator.configure(operation_seconds=0, feature_registered=True, etags_default=False)
    # The resource group the lines name exists before any of them runs, as in azure-cli's tests.
    emulator.put_cluster(emulator.subscription, RESOURCE_GROUP, "differential-anchor", sample_cluster())
    names = []
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = {
                _id(c): pool.submit(_both, c, n, profiles, files, emulator, names)
                for n, c in enumerate(LINES)
                if _id(c) in chosen
            }
            outcomes = {key: future.result() for key, future in futures.items()}
        return outcomes, emulator.requests()
    finally:
        # The session's emulator serves the other modules: a fleet command with --all there must not meet the
        # clusters made here (a line with a second cluster names it with a "b").
        for name in [*names, "differential-anchor"]:
            for cluster in (name, name + "b"):
                emulator.delete_cluster(emulator.subscription, RESOURCE_GROUP, cluster)


@pytest.mark.parametrize("command", LINES, ids=_id)
def test_a_real_line_sends_what_core_sends(command, runs, emulator):
    outcomes, requests = runs
    core, extension = outcomes[_id(command)]["core"], outcomes[_id(command)]["extension"]
    known = {emulator.subscription.lower(), "00000000-0000-0000-0000-0000000000aa"}
    core_sent, extension_sent = sent(requests, core.tag, known), sent(requests, extension.tag, known)
    said = f"az {shlex.join(core.args)}\ncore: {core.err[-600:]}\nwith the extension: {extension.err[-600:]}"
    assert "Unable to load extension" not in extension.err, said  # else this compares core with core
    assert core_sent, said  # every line reaches the emulator: its requests are what is compared
    if only_image_cleaner_update(command):
        before = json.loads(_plain(json.dumps(extension.before), known))
        assert_differs_only_as_documented(core_sent, extension_sent, before, said)
    else:
        assert extension_sent == core_sent, said
    assert extension.code == core.code, said
    # az names the extension in its warning exactly where one of the three flags is given.
    assert ("altered by the following extension: imagecleaner" in extension.err) == command["image_cleaner_flags"]


def only_image_cleaner_update(command):
    """An update whose only change flags are the Image Cleaner ones (az's own --aks-custom-headers aside)."""
    changes = [a for a in command["args"] if a.startswith("-") and not a.startswith(("--resource-group", "--name"))]
    return command["command"] == "update" and all(
        a.startswith(IMAGE_CLEANER_FLAGS) or a == "--aks-custom-headers" for a in changes
    )


def _leaves(value, path=()):
    """(path, value) of every scalar in a JSON document, a list's items by index (the service's read-only fields in
    a list's objects are left out of a PUT, not the objects)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _at(document, path):
    for key in path:
        if isinstance(document, dict) and key in document:
            document = document[key]
        elif isinstance(document, list) and isinstance(key, int) and key < len(document):
            document = document[key]
        else:
            return _ABSENT
    return document


_ABSENT = object()
_IMAGE_CLEANER = ("properties", "securityProfile", "imageCleaner")


def assert_differs_only_as_documented(core_sent, extension_sent, before, said):
    """README, "What it does better than core": with only Image Cleaner flags, the update sends back the document
    it read with only securityProfile.imageCleaner changed; nothing else is rewritten or dropped. So: the same
    requests by method and path; in each PUT, the Image Cleaner setting core stores; every other value as read;
    and every value core sends from the document as read, sent too."""
    assert [(m, p) for m, p, _ in extension_sent] == [(m, p) for m, p, _ in core_sent], said
    for (method, _, core_body), (_, _, extension_body) in zip(core_sent, extension_sent, strict=True):
        if method != "PUT":
            assert extension_body == core_body, said
            continue
        core_doc, extension_doc = json.loads(core_body), json.loads(extension_body)
        assert _at(extension_doc, _IMAGE_CLEANER) == _at(core_doc, _IMAGE_CLEANER), said
        for path, value in _leaves(extension_doc):
            if path[:3] != _IMAGE_CLEANER:
                assert value == _at(before, path), f"{said}\n{'.'.join(map(str, path))} is not as read"
        for path, value in _leaves(core_doc):
            if path[:3] != _IMAGE_CLEANER and _at(before, path) == value:
                assert _at(extension_doc, path) == value, f"{said}\n{'.'.join(map(str, path))} was dropped"


def test_the_lines_cover_azure_clis_suite():
    """The count of lines run, and the lines left out with their reason."""
    with open(DATA, encoding="utf-8") as f:
        commands = json.load(f)["commands"]
    assert len(commands) == 321
    # 8 lines (7 distinct) left out: each names a value the live test computes (`python_values`).
    assert len(LEFT_OUT) == 8 and all(c["python_values"] for c in LEFT_OUT)
    assert len({(c["command"], tuple(c["args"])) for c in LEFT_OUT}) == 7
    # Every other line, once: 249 distinct lines, 163 creates and 86 updates, 40 of them from live-only tests.
    assert len(LINES) == 249
    assert sum(c["command"] == "create" for c in LINES) == 163
    assert sum(bool(c.get("live_only")) for c in LINES) == 40
    reconcile = [c for c in LINES if c["command"] == "update" and c["args"][2:] == ["-y", "-o", "json"]]
    assert len(reconcile) == 1, "az's reconcile (aks update --yes), which 7 of azure-cli's tests run"
    # Create with enable, and with an interval; update with an interval, and with disable.
    assert sum(bool(c["image_cleaner_flags"]) for c in LINES) == 4
