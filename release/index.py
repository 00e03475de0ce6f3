"""An extension index and its entries (pure, but for reading a wheel's bytes).

The shape follows Azure/azure-cli-extensions `src/index.json` (../shared/az-extension-release.md): `formatVersion`
"1", `extensions.<name>[]` with `downloadUrl`, `filename`, `sha256Digest` and `metadata`. `metadata` is the wheel's
METADATA, read with pkginfo as az and azdev read it, in the keys `azdev extension update-index` writes
(azure-cli-dev-tools `azdev/operations/extensions/metadata.py`), with the package's `azext_metadata.json` merged
over it: that is where az finds `azext.minCliCoreVersion` when it picks a version (`extension/_resolve.py`).
"""

import hashlib
import json
import os
import re
import zipfile

FORMAT_VERSION = "1"
AZEXT_METADATA = "azext_metadata.json"
# `MAJOR.MINOR.PATCH[bN]` (azure-cli-extensions' release conventions).
_VERSION = r"[0-9]+\.[0-9]+\.[0-9]+(?:b[0-9]+)?"
_SETUP_VERSION = re.compile(r"^VERSION\s*=\s*[\"'](?P<version>[^\"']+)[\"']", re.MULTILINE)
# A HISTORY.rst heading: a line underlined with `+` (azure-cli-extensions' "Release History" convention).
_HEADING = re.compile(r"^(?P<title>\S[^\n]*)\n\+{3,}\s*$", re.MULTILINE)
# A requirement as METADATA's Requires-Dist writes it: `name (spec)` or `namespec`; a marker stays in the spec, as
# azdev keeps it.
_REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9_.\-]+)\s*(?:\((?P<paren>[^)]*)\)|(?P<bare>[<>=!~].*?))?\s*$")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_metadata(path):
    """The index's `metadata` of the wheel at `path`: its METADATA, then its `azext_*/azext_metadata.json` over it."""
    import pkginfo

    wheel = pkginfo.Wheel(path)
    metadata = {
        "name": wheel.name,
        "version": wheel.version,
        "summary": wheel.summary,
        "license": wheel.license,
        "metadata_version": wheel.metadata_version,
        "classifiers": list(wheel.classifiers or []),
        "extras": [],
        "run_requires": _run_requires(wheel.requires_dist or []),
        "requires_python": wheel.requires_python,
    }
    contacts = [{"role": "author", "name": wheel.author, "email": wheel.author_email}] if wheel.author else []
    details = {}
    if contacts:
        details["contacts"] = [{k: v for k, v in c.items() if v} for c in contacts]
    if wheel.home_page:
        details["project_urls"] = {"Home": wheel.home_page}
    if details:
        metadata["extensions"] = {"python.details": details}
    metadata.update(azext_metadata(path))
    return {k: v for k, v in metadata.items() if v is not None}


def _run_requires(requirements):
    """The index's `run_requires`: each requirement as `name (spec)` and as `namespec`, sorted by name, as the
    entries azdev writes (and wheel 0.30's metadata.json had)."""
    found, seen = [], set()
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement)
        name, spec = (match["name"], (match["paren"] or match["bare"] or "").strip()) if match else (requirement, "")
        key = (name.lower(), spec.replace(" ", ""))
        if key not in seen:
            seen.add(key)
            found.append((name, spec))
    doubled = []
    for name, spec in sorted(found, key=lambda item: item[0].lower()):
        doubled += [f"{name} ({spec})", f"{name}{spec}"] if spec else [name, name]
    return [{"requires": doubled}] if doubled else []


def azext_metadata(path):
    """The package's azext_metadata.json in the wheel at `path` ({} when it has none)."""
    with zipfile.ZipFile(path) as wheel:
        found = [n for n in wheel.namelist() if re.fullmatch(r"azext_[^/]+/" + AZEXT_METADATA, n)]
        return json.loads(wheel.read(found[0])) if found else {}


def entry(path, base_url):
    """The index entry of the wheel at `path`, to be downloaded from `base_url` + its file name."""
    filename = os.path.basename(path)
    return {
        "downloadUrl": f"{base_url.rstrip('/')}/{filename}",
        "filename": filename,
        "sha256Digest": sha256_of(path),
        "metadata": wheel_metadata(path),
    }


def with_entry(index, new):
    """`index` (None: a new one) with `new` appended under its name, as `azdev extension update-index` appends a
    release; a release of the same file name replaces the earlier entry (a rebuilt wheel of one version)."""
    index = json.loads(json.dumps(index)) if index else {"formatVersion": FORMAT_VERSION, "extensions": {}}
    name = new["metadata"]["name"]
    entries = [e for e in index["extensions"].get(name, []) if e.get("filename") != new["filename"]]
    index["extensions"][name] = [*entries, new]
    return index


def setup_version(text):
    match = _SETUP_VERSION.search(text)
    return match["version"] if match else None


def history_version(text):
    """The title of HISTORY.rst's top entry (a version, or a word such as "Unreleased")."""
    match = _HEADING.search(text)
    return match["title"].strip() if match else None


def problems(index, files, versions=None):
    """What is wrong with `index`, in the words of azure-cli-extensions' own index tests (scripts/ci/test_index.py),
    for the entries whose wheel is in `files` ({file name: path}): [] when nothing. `versions`: {where: version},
    such as setup.py's and HISTORY.rst's top entry, each of which must equal the wheel's."""
    found = []
    if index.get("formatVersion") != FORMAT_VERSION:
        found.append(f"formatVersion is {index.get('formatVersion')!r}, not {FORMAT_VERSION!r}")
    filenames = []
    for name, entries in (index.get("extensions") or {}).items():
        if "_" in name:
            found.append(f"extension name {name!r} has an underscore")
        for item in entries:
            filenames.append(item.get("filename") or "")
            found += _entry_problems(name, item)
            if filenames[-1] in files:
                found += _file_problems(item, files[filenames[-1]], versions or {})
    duplicates = sorted({f for f in filenames if filenames.count(f) > 1})
    found += [f"{f}: listed more than once" for f in duplicates]
    return found


def _entry_problems(name, item):
    filename, metadata = item.get("filename") or "", item.get("metadata") or {}
    found = []
    if metadata.get("name") != name:
        found.append(f"{filename}: metadata.name {metadata.get('name')!r} is not the key {name!r}")
    if not filename.endswith("-none-any.whl"):
        found.append(f"{filename}: not a universal wheel (the name must end in -none-any.whl)")
    if (item.get("downloadUrl") or "").rsplit("/", 1)[-1] != filename:
        found.append(f"{filename}: the downloadUrl's last segment is not the file name")
    if not re.fullmatch(_VERSION, str(metadata.get("version"))):
        found.append(f"{filename}: version {metadata.get('version')!r} is not MAJOR.MINOR.PATCH[bN]")
    return found


def _file_problems(item, path, versions):
    """The checks azure-cli-extensions makes on the latest release, whose file is at hand."""
    filename, metadata = item["filename"], item.get("metadata") or {}
    found = []
    if item.get("sha256Digest") != sha256_of(path):
        found.append(f"{filename}: sha256Digest does not match the file")
    if not metadata.get("azext.minCliCoreVersion"):
        found.append(f"{filename}: azext.minCliCoreVersion is missing")
    if metadata != wheel_metadata(path):
        found.append(f"{filename}: the metadata is not the wheel's own (METADATA with {AZEXT_METADATA})")
    for where, version in versions.items():
        if version != metadata.get("version"):
            found.append(f"{filename}: version {metadata.get('version')} but {version!r} in {where}")
    return found


def sha256sums(files):
    """SHA256SUMS text (`sha256sum -c` reads it) for {file name: path}."""
    return "".join(f"{sha256_of(path)}  {name}\n" for name, path in sorted(files.items()))
