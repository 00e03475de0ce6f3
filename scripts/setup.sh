#!/usr/bin/env bash
# Create .venv with the pinned az and test tools, and build the extension's wheel into dist/.
# Safe to run again: it reinstalls only when requirements-dev.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${IMAGECLEANER_VENV:-.venv}
stamp="$VENV/.requirements-dev.txt"

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
if ! cmp -s requirements-dev.txt "$stamp"; then
    echo "setup: installing azure-cli and test tools into $VENV (about a minute)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    cp requirements-dev.txt "$stamp"
fi

rm -rf dist build ./*.egg-info
"$VENV/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist . >/dev/null
echo "setup: built $(ls dist/imagecleaner-*.whl)"
