#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every test: unit, in-process az, and end to end through the real az.
# Extra arguments go to pytest (one run), e.g. scripts/test.sh tests/unit -x; IMAGECLEANER_E2E_ETAGS=spec|none
# picks whether the emulated clusters carry ETags.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV=${IMAGECLEANER_VENV:-.venv}
IMAGECLEANER_WHEEL=$(ls "$PWD"/dist/imagecleaner-*.whl)
export IMAGECLEANER_WHEEL
if [ $# -gt 0 ]; then
    exec "$VENV/bin/python" -m pytest "$@"
fi
# Everything with clusters that carry no ETag, as the live service answers (../shared/recorded-arm); then the
# end-to-end tests that write clusters through ARM again with ETags, as the API specification describes them.
"$VENV/bin/python" -m pytest
IMAGECLEANER_E2E_ETAGS=spec "$VENV/bin/python" -m pytest tests/e2e -m arm_writes -p no:cacheprovider
