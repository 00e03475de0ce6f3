#!/usr/bin/env bash
# Run the tests against other az releases, each in its own virtualenv (.venv-<release>), in parallel, with the
# wheel scripts/setup.sh built: every unit, in-process and end-to-end test but those marked same_on_every_az, whose
# subject is what the emulator answers through az calls the other tests make on every release, and pinned_az_only,
# the differential test's 500 az runs (pytest.ini).
# Usage: scripts/test-matrix.sh [RELEASE ...]    (default: 2.76.0 2.85.0; 2.91.0 is scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
releases=("$@")
[ ${#releases[@]} -gt 0 ] || releases=(2.76.0 2.85.0)
PYTHON=${PYTHON:-python3}
ls dist/imagecleaner-*.whl >/dev/null 2>&1 || scripts/setup.sh
# A copy of its own: scripts/test.sh, which CI runs beside the matrix, rebuilds dist/ (rm -rf dist first), and a
# matrix session that installed the wheel in that moment found no file.
wheel_dir=$(mktemp -d)
trap 'rm -rf "$wheel_dir"' EXIT
cp dist/imagecleaner-*.whl "$wheel_dir"/
IMAGECLEANER_WHEEL=$(ls "$wheel_dir"/imagecleaner-*.whl)
export IMAGECLEANER_WHEEL

run_release() {
    local release=$1 venv=.venv-$1 log=.matrix-$1.log
    {
        start=$(date +%s)
        [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
        if ! cmp -s <(echo "$release"; cat requirements-matrix.txt) "$venv/.installed"; then
            "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                "azure-cli==$release" -r requirements-matrix.txt
            { echo "$release"; cat requirements-matrix.txt; } > "$venv/.installed"
        fi
        status=0
        "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not same_on_every_az and not pinned_az_only" || status=$?
        echo "matrix: azure-cli $release finished in $(( $(date +%s) - start )) s"
        exit $status
    } > "$log" 2>&1
}

pids=()
for release in "${releases[@]}"; do
    run_release "$release" &
    pids+=($!)
done
failed=0
for i in "${!releases[@]}"; do
    if ! wait "${pids[$i]}"; then
        failed=1
        echo "matrix: azure-cli ${releases[$i]} FAILED; its log:"
        cat ".matrix-${releases[$i]}.log"
    fi
done
for release in "${releases[@]}"; do
    echo "== azure-cli $release"
    grep -E "passed|failed|error" ".matrix-$release.log" | tail -n 2
done
exit $failed
