#!/usr/bin/env bash
# Fail when a tracked file is a symlink that points outside the repository (or by an absolute path):
# such a link works only on the machine that made it, and breaks a fresh clone anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)
bad=0
while IFS= read -r -d '' entry; do
    mode=${entry%% *}
    path=${entry#*$'\t'}
    [ "$mode" = 120000 ] || continue
    target=$(readlink -- "$path")
    resolved=$(realpath -m -- "$path")
    if [[ "$target" = /* ]] || [[ "$resolved" != "$root" && "$resolved" != "$root"/* ]]; then
        echo "check-links: $path is a symlink to $target, outside the repository; remove it from git" >&2
        bad=1
    fi
done < <(git ls-files -s -z)
exit $bad
