"""Installed as users install az extensions: by name, from an index (../shared/az-extension-release.md).

`scripts/release.sh` builds releases from copies of this checkout (one at this version, one at a newer one, into
one folder, as releases accumulate in an index); a local HTTPS server serves that folder, and the real az, in a
profile of its own, installs and updates the extension with `AZURE_EXTENSION_INDEX_URL` naming the index. The
same again with the aks-preview stand-in installed first. Every file az fetched is in the server's log.
"""

import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from armemulator.azprofile import az_environment, login
from release import index
from tests.e2e.conftest import AZ, AzResult
from tests.wheel import REPO, built_standin

NEWER = "99.1.0"
# A release for an az that does not exist yet: az must not pick it (extension/_resolve.py).
FUTURE = "99.2.0"


def _version(text):
    return index.setup_version(text)


CURRENT = _version(open(os.path.join(REPO, "setup.py"), encoding="utf-8").read())


class _Files(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the test reads `served`, not stderr
        pass

    def do_GET(self):
        self.server.served.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def server(emulator, tmp_path_factory):
    """An HTTPS server for a folder, with the emulator's certificate (which the az profiles trust): (folder, URL,
    the paths it served)."""
    folder = tmp_path_factory.mktemp("releases")
    certs = os.path.dirname(emulator.ca_path)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Files, directory=str(folder)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(certs, "server.pem"), os.path.join(certs, "server-key.pem"))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.served = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"https://127.0.0.1:{httpd.server_address[1]}", httpd.served
    httpd.shutdown()


def checkout_copy(work, version=None, history_title=None):
    """This checkout's files (tracked, and new ones not ignored) in `work`, with setup.py's version and the title
    of HISTORY.rst's top entry changed where given."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for path in filter(None, listed.split("\0")):
        if os.path.isfile(os.path.join(REPO, path)):
            os.makedirs(os.path.join(work, os.path.dirname(path)), exist_ok=True)
            shutil.copy2(os.path.join(REPO, path), os.path.join(work, path))
    setup = os.path.join(work, "setup.py")
    history = os.path.join(work, "HISTORY.rst")
    with open(setup, encoding="utf-8") as f:
        text = f.read()
    if version:
        text = text.replace(f'VERSION = "{CURRENT}"', f'VERSION = "{version}"')
        with open(setup, "w", encoding="utf-8") as f:
            f.write(text)
    title = history_title or version
    if title:
        with open(history, encoding="utf-8") as f:
            text = f.read()
        text = text.replace(f"\n{CURRENT}\n{'+' * len(CURRENT)}\n", f"\n{title}\n{'+' * len(title)}\n", 1)
        with open(history, "w", encoding="utf-8") as f:
            f.write(text)
    return work


def release(copy, base_url, out):
    """scripts/release.sh in `copy`, with the virtualenv (and so the az) these tests run on."""
    return subprocess.run(
        [os.path.join(copy, "scripts", "release.sh"), "--base-url", base_url, "--out", str(out)],
        env={**os.environ, "IMAGECLEANER_VENV": os.path.dirname(os.path.dirname(sys.executable))},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f)


@pytest.fixture(scope="module")
def releases(server, tmp_path_factory):
    """Two releases in the server's folder: this version's, then a newer one appended to the same index; the index
    as it was after the first is kept as first.json. Both get an entry for a future az (FUTURE) beside them."""
    folder, url, _ = server
    work = tmp_path_factory.mktemp("release-builds")
    first = release(checkout_copy(work / "current"), url, folder)
    assert first.returncode == 0, first.stderr
    shutil.copyfile(folder / "index.json", folder / "first.json")
    newer = release(checkout_copy(work / "newer", NEWER), url, folder)
    assert newer.returncode == 0, newer.stderr
    for name in ("first.json", "index.json"):
        written = read_json(folder / name)
        current = next(e for e in written["extensions"]["imagecleaner"] if e["metadata"]["version"] == CURRENT)
        future = json.loads(json.dumps(current))
        future["filename"] = f"imagecleaner-{FUTURE}-py3-none-any.whl"
        future["downloadUrl"] = f"{url}/{future['filename']}"
        future["metadata"].update({"version": FUTURE, "azext.minCliCoreVersion": "99.0.0"})
        written["extensions"]["imagecleaner"].append(future)
        write_json(folder / name, written)
    return folder, url


@pytest.fixture(scope="module", params=["alone", "beside the aks-preview stand-in"])
def profile(request, emulator, tmp_path_factory):
    """A run of the real az in a profile of its own, logged in to the emulator, without imagecleaner; with the
    stand-in aks-preview installed first for the second param."""
    work = tmp_path_factory.mktemp("release-profile")
    env = az_environment(os.environ, emulator.url, emulator.ca_path, str(work / "config"), str(work / "extensions"))
    login(AZ, env, emulator.url)

    def run(*args, index_url=None):
        extra = {"AZURE_EXTENSION_INDEX_URL": index_url} if index_url else {}
        completed = subprocess.run(
            [AZ, *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
            check=False,
        )
        return AzResult(completed.returncode, completed.stdout, completed.stderr)

    if request.param != "alone":
        added = run("extension", "add", "--source", built_standin(work, "aks-preview"), "--yes", "-o", "none")
        assert added.code == 0, added.err
    return run


def installed(az):
    found = az("extension", "list", "-o", "json")
    assert found.code == 0, found.err
    return {e["name"]: e["version"] for e in found.json}


@pytest.fixture
def without_imagecleaner(profile):
    """The profile, with imagecleaner not installed (an earlier test may have left it)."""
    if "imagecleaner" in installed(profile):
        removed = profile("extension", "remove", "--name", "imagecleaner")
        assert removed.code == 0, removed.err
    return profile


def test_the_release_files_are_what_the_index_says(releases):
    folder, url = releases
    written = read_json(folder / "index.json")
    entries = written["extensions"]["imagecleaner"]
    assert [e["metadata"]["version"] for e in entries] == [CURRENT, NEWER, FUTURE]
    for built in entries[:2]:
        assert built["downloadUrl"] == f"{url}/{built['filename']}"
        assert built["sha256Digest"] == index.sha256_of(folder / built["filename"])
        assert built["metadata"]["azext.minCliCoreVersion"] == "2.76.0"
        assert built["metadata"]["name"] == "imagecleaner"
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(checked.stdout.splitlines()) == sorted(f"{e['filename']}: OK" for e in entries[:2])


def test_add_by_name_installs_the_newest_release_this_az_can_run_and_update_moves_on(
    releases, server, without_imagecleaner, emulator, make_cluster
):
    _, url = releases
    _, _, served = server
    az = without_imagecleaner
    served.clear()
    added = az("extension", "add", "--name", "imagecleaner", "-o", "none", index_url=f"{url}/first.json")
    assert added.code == 0, added.err
    assert installed(az)["imagecleaner"] == CURRENT
    assert served == ["/first.json", f"/imagecleaner-{CURRENT}-py3-none-any.whl"]  # never FUTURE's file

    # Its commands work: the rules refuse bad input before anything is sent, and a command reaches ARM.
    cluster = make_cluster(image_cleaner=(False, 72))
    refused = az("aks", "update", *cluster.args, "--enable-image-cleaner", "--image-cleaner-interval-hours", "5")
    assert refused.code != 0
    assert "--image-cleaner-interval-hours" in refused.err and "24" in refused.err and "2160" in refused.err
    assert emulator.requests() == []
    listed = az("aks", "image-cleaner", "list", "-g", cluster.resource_group, "-o", "json")
    assert listed.code == 0, listed.err
    assert {"name": cluster.name, "enabled": False, "intervalHours": 72}.items() <= next(
        r for r in listed.json if r["name"] == cluster.name
    ).items()

    served.clear()
    updated = az("extension", "update", "--name", "imagecleaner", "-o", "none", index_url=f"{url}/index.json")
    assert updated.code == 0, updated.err
    assert installed(az)["imagecleaner"] == NEWER
    assert served == ["/index.json", f"/imagecleaner-{NEWER}-py3-none-any.whl"]
    assert az("aks", "image-cleaner", "list", "-g", cluster.resource_group, "-o", "json").code == 0


def test_a_wheel_whose_bytes_do_not_match_the_index_is_refused(releases, server, without_imagecleaner, tmp_path):
    folder, url = releases
    _, _, served = server
    az = without_imagecleaner
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    name = f"imagecleaner-{CURRENT}-py3-none-any.whl"
    # The same files but one, in a valid wheel: only its digest tells it apart.
    with zipfile.ZipFile(folder / name) as original, zipfile.ZipFile(tampered / name, "w") as changed:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "azext_imagecleaner/__init__.py":
                data += b"\nimport os  # not what was released\n"
            changed.writestr(item, data)
    written = read_json(folder / "first.json")
    for entry in written["extensions"]["imagecleaner"]:
        entry["downloadUrl"] = entry["downloadUrl"].replace(url, f"{url}/tampered")
    write_json(tampered / "index.json", written)
    shutil.copytree(tampered, folder / "tampered", dirs_exist_ok=True)

    served.clear()
    refused = az("extension", "add", "--name", "imagecleaner", index_url=f"{url}/tampered/index.json")
    assert refused.code != 0
    assert "checksum of the extension does not match" in refused.err
    assert served == ["/tampered/index.json", f"/tampered/{name}"]
    assert "imagecleaner" not in installed(az)


def test_release_refuses_a_version_that_history_does_not_have(server, tmp_path):
    _, url, _ = server
    copy = checkout_copy(tmp_path / "copy", history_title="Unreleased")
    refused = release(copy, url, tmp_path / "out")
    assert refused.returncode == 1
    assert f"version {CURRENT} but 'Unreleased' in HISTORY.rst's top entry" in refused.stderr
