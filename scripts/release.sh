#!/usr/bin/env bash
# A release: build the wheel (scripts/setup.sh) and write what a release publishes into DIR: the wheel, index.json
# (azure-cli-extensions' shape, its entry appended to an index already there) and SHA256SUMS, then check them as
# azure-cli-extensions' index tests do. `az extension add --name imagecleaner` installs from such an index once
# AZURE_EXTENSION_INDEX_URL (or `az config set extension.index_url=...`) names it.
# Usage: scripts/release.sh --base-url https://HOST/PATH --out DIR
set -euo pipefail
base_url="" out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --base-url) base_url=${2:-}; shift 2 ;;
        --out) out=${2:-}; shift 2 ;;
        *) echo "release: unknown argument $1 (usage: scripts/release.sh --base-url URL --out DIR)" >&2; exit 2 ;;
    esac
done
if [ -z "$base_url" ] || [ -z "$out" ]; then
    echo "release: usage: scripts/release.sh --base-url URL --out DIR" >&2
    exit 2
fi
out=$(realpath -m -- "$out")  # the caller's folder, before the cd
cd "$(dirname "$0")/.."
VENV=${IMAGECLEANER_VENV:-.venv}
# The project's virtualenv (a fresh checkout: scripts/setup.sh makes it); one given in IMAGECLEANER_VENV is used as
# it is, with its own az: building needs only setuptools, wheel and pkginfo, which every az virtualenv has.
[ -x "$VENV/bin/python" ] || scripts/setup.sh
build=$(mktemp -d)
trap 'rm -rf "$build" build ./*.egg-info' EXIT
rm -rf build ./*.egg-info
"$VENV/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w "$build" . >/dev/null
unset PYTHONSAFEPATH  # `python -m release` imports this checkout's release/ (as scripts/sandbox.sh does)
"$VENV/bin/python" -m release --base-url "$base_url" --out "$out" --wheel "$(ls "$build"/imagecleaner-*-py3-none-any.whl)"
