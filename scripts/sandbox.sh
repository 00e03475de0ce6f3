#!/usr/bin/env bash
# The sandbox: set up (scripts/setup.sh), start the local emulator with demo clusters, log an isolated
# az profile in, and run a short demo. `scripts/sandbox.sh down` stops it; `env` prints its variables.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-up}
if [ "$action" = up ]; then
    scripts/setup.sh
fi
# The sandbox's own modules come from this folder, which `python -m` puts on sys.path only without
# PYTHONSAFEPATH; .sandbox/env.sh exports it for az, so a shell that sourced it passes it on.
unset PYTHONSAFEPATH
exec "${IMAGECLEANER_VENV:-.venv}/bin/python" -m armemulator.sandbox "$@"
