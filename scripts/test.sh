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
# Everything with clusters that carry no ETag, as the live service answers (../shared/recorded-arm); beside it,
# the end-to-end tests that write clusters through ARM again with ETags, as the API specification describes them
# (a session of its own: its own emulator and az profile), printed after. Side by side, they fill the cores the
# other leaves idle while it waits on az and the emulator.
etag_log=$(mktemp)
IMAGECLEANER_E2E_ETAGS=spec "$VENV/bin/python" -m pytest tests/e2e -m arm_writes -p no:cacheprovider \
    > "$etag_log" 2>&1 &
etag_pass=$!
trap 'kill "$etag_pass" 2>/dev/null || true; rm -f "$etag_log"' EXIT
status=0
"$VENV/bin/python" -m pytest || status=$?
etag_status=0
wait "$etag_pass" || etag_status=$?
echo "== the end-to-end tests that write clusters, with ETags (IMAGECLEANER_E2E_ETAGS=spec)"
cat "$etag_log"
[ "$status" -eq 0 ] && [ "$etag_status" -eq 0 ]
