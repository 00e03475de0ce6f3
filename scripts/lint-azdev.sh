#!/usr/bin/env bash
# azdev linter (rule types command_groups, commands, params, help_entries) and azdev style (pylint, flake8)
# on the extension, offline.
# azdev wants an azure-cli checkout and an extensions repo; it gets a stub of the one file it reads from the
# former (scripts/ci/cmdcov.yml, used only by the command_test_coverage rule, not run here) and a copy of
# this extension as the latter. Runs in its own virtualenv (.venv-azdev) so azdev's pins stay out of .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
PYTHON=${PYTHON:-python3}
venv=.venv-azdev
stamp="$venv/.installed"
wanted="azure-cli==2.91.0 azdev==0.2.13 kubernetes>=29.0.0,<34 azure-mgmt-resourcegraph==8.0.1"
[ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    # shellcheck disable=SC2086 # one word per requirement
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $wanted
    echo "$wanted" > "$stamp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cli/scripts/ci" "$work/ext/imagecleaner" "$work/home"
cat > "$work/cli/scripts/ci/cmdcov.yml" <<'YAML'
CMD_PATTERN: ['^$']
QUO_PATTERN: '^$'
END_PATTERN: '^$'
DOCS_END_PATTERN: '^$'
NOT_END_PATTERN: '^$'
NUMBER_SIGN_PATTERN: '^$'
YAML
cp -r azext_imagecleaner setup.py README.md HISTORY.rst "$work/ext/imagecleaner/"
# No linter exclusions: the extension registers only its own commands. It adapts aks create/update (core's or
# another extension's) when az runs them, so the linter never sees those flags, whose names are core az's.
(cd "$work/ext/imagecleaner" && "$repo/$venv/bin/python" setup.py -q egg_info >/dev/null 2>&1)

# `azdev setup` would download its pylint and flake8 settings; the project's own go in their place.
config_files="$work/home/.azdev/env_config$repo/$venv/config_files"
mkdir -p "$config_files"
for kind in ext cli; do
    cp pylintrc "$config_files/${kind}_pylintrc"
    cp .flake8 "$config_files/${kind}.flake8"
done

azdev() {
    env VIRTUAL_ENV="$repo/$venv" HOME="$work/home" AZURE_CONFIG_DIR="$work/azconfig" \
        AZURE_CORE_COLLECT_TELEMETRY=false AZDEV_CLI_REPO_PATH="$work/cli" AZDEV_EXT_REPO_PATHS="$work/ext" \
        AZURE_EXTENSION_DEV_SOURCES="$work/ext" "$repo/$venv/bin/azdev" "$@"
}
azdev linter imagecleaner --rule-types command_groups commands params help_entries
azdev style imagecleaner
