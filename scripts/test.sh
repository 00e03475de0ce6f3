#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every test: unit, in-process az, and end to end through the real az.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV=${IMAGECLEANER_VENV:-.venv}
IMAGECLEANER_WHEEL=$(ls "$PWD"/dist/imagecleaner-*.whl)
export IMAGECLEANER_WHEEL
exec "$VENV/bin/python" -m pytest "$@"
