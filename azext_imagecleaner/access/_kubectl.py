"""A plan of `steps` as one shell script for AKS run-command, and reading what comes back (pure).

Every run-command starts a pod (`command-<id>` in aks-command), which takes seconds, and under load fails to start
within 30 s (../shared/aks-access.md §4; Azure/azure-cli#27776, #23203), so a command's whole plan is one script:
kubectl for the calls, jq for the decisions a write depends on (both are in the run-command image, aks-access.md
§4), sh for the rest. run-command returns one text, the pod's output with stdout and stderr mixed, capped at
512 kB. So each step writes its stdout and stderr to files, and the script prints them framed by marker lines
that carry a random nonce (no log line can forge them) and the step's exit code; a failed step ends the script.
Logs are the large part: the script reads them all, then prints each within a fair share of a budget under the
cap, with its full size, so that the rest of a longer log can be read by further run-commands (`LogChunks`).
"""

import base64
import io
import json
import re
import shlex
import zipfile
from typing import NamedTuple

from azext_imagecleaner.access import steps

OUTPUT_CAP = 512 * 1024
# Log bytes one run-command prints, leaving room under the cap for the framing and the other steps.
LOG_BUDGET = 480 * 1024
REQUEST_TIMEOUT = "60s"
PODS_JSONPATH = (
    '{range .items[*]}{.metadata.name}{"\\t"}{.spec.nodeName}{"\\t"}{.status.phase}{"\\t"}'
    '{.spec.containers[*].name}{"\\n"}{end}'
)
_QUALIFIED = {"configmaps": "configmap", "imagelists": "imagelists.eraser.sh", "imagejobs": "imagejobs.eraser.sh"}
_CLUSTER_SCOPED = ("nodes", "imagelists", "imagejobs")

# kubectl's "Error from server (Reason): message", with the HTTP status each reason comes with.
_SERVER_ERROR = re.compile(r"^Error from server \((?P<reason>\w+)\): (?P<message>.*)$", re.MULTILINE)
_STATUS = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Invalid": 422,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "Timeout": 504,
}


# Each log's share of the budget, from "index|...|size" lines sorted by size: smaller ones whole, the rest shared
# (the rule of steps.log_limits).
LOG_LIMITS_AWK = (
    '{ share = int(left / (count - NR + 1)); take = ($6 < share) ? $6 : share; left -= take; print $1 "|" take }'
)


class LogChunks(NamedTuple):
    """The rest of logs the first read cut: [(pod, container, offset, length)] of `namespace`. Run-command only."""

    namespace: str
    chunks: tuple


# The jq program of EditJsonList: the same rule as steps.edit_json_list, on the ConfigMap read (or null).
_EDIT_JSON_LIST = """
. as $cur
| ((($cur // {}).data // {})[$key] // "{}" | try fromjson catch null) as $doc
| (if ($doc | type) == "object" then $doc[$field] else null end) as $found
| (if ($found | type) == "array" then [$found[] | select(type == "string")] else [] end) as $items
| [$remove[] | select(. as $r | $items | index([$r]) | not)] as $missing
| (reduce ($items + $add)[] as $x ([]; if index([$x]) then . else . + [$x] end)) as $merged
| [$merged[] | select(. as $x | $remove | index([$x]) | not)] as $kept
| (((($cur // {}).metadata // {}).labels // {}) + $labels) as $all_labels
| {configmap: {apiVersion: "v1", kind: "ConfigMap",
               metadata: ({name: $name, namespace: $ns}
                          + (if ($all_labels | length) > 0 then {labels: $all_labels} else {} end)
                          + (if $cur then {resourceVersion: $cur.metadata.resourceVersion} else {} end)),
               data: {($key): ({($field): $kept} | tojson)}},
   missing: $missing}
"""


def _q(value):
    return shlex.quote(str(value))


def _json(value):
    return _q(json.dumps(value, separators=(",", ":")))


def _kubectl(*args):
    return " ".join(["k", *(_q(a) for a in args)])


def _ns(namespace):
    return f" -n {_q(namespace)}" if namespace else ""


def _prefix_test(prefixes):
    """An awk condition true for the lines whose first field starts with one of `prefixes` (every line when none).
    awk, not `read`: tab is IFS white space to the shell, so an empty field (a pod not yet on a node) would vanish."""
    return " || ".join(f"index($1, {json.dumps(p)}) == 1" for p in prefixes) or "1"


def script(plan, nonce):
    """(the shell script, {file name: manifest} for the context zip) of `plan`."""
    mark = f"@@ic-{nonce}"
    manifests = {}
    lines = [
        'd="$(mktemp -d 2>/dev/null)" || { d=/tmp/imagecleaner.$$; mkdir -p "$d"; }',
        "trap 'rm -rf \"$d\"' EXIT",
        f'k() {{ kubectl "$@" --request-timeout={REQUEST_TIMEOUT}; }}',
        f"M={_q(mark)}",
        "tab=\"$(printf '\\t')\"",
        # Print a step's stdout and stderr, framed; a failed step ends the script with its exit code, except a
        # Permitted one ("soft") that the API server refused: the next step runs.
        'emit() { printf \'%s out %s@@\\n\' "$M" "$1"; cat "$d/out"; printf \'\\n%s err %s rc=%s@@\\n\' "$M" "$1" "$2";'
        ' cat "$d/err"; printf \'\\n%s end %s@@\\n\' "$M" "$1"; [ "$2" -eq 0 ] || { [ "${3:-}" = soft ] &&'
        ' grep -q -e "(Forbidden)" -e "(Unauthorized)" "$d/err"; } || exit "$2"; }',
    ]
    for number, step in enumerate(plan):
        soft = isinstance(step, steps.Permitted)
        lines.append(': > "$d/out"; : > "$d/err"; rc=0')
        lines += _step_lines(step.step if soft else step, number, manifests)
        lines.append(f'emit {number} "$rc"' + (" soft" if soft else ""))
    return "\n".join(lines) + "\n", manifests


def _step_lines(step, number, manifests):
    if isinstance(step, steps.Recreate):
        manifest = f"manifest-{number}.json"
        manifests[manifest] = step.body
        return _recreate_lines(step, manifest)
    write = _STEP_LINES.get(type(step))
    if write is None:
        raise TypeError(f"no script for {type(step).__name__}")
    return write(step)


def _read_lines(step):
    return [
        f"{_kubectl('get', _QUALIFIED[step.resource], step.name)}{_ns(step.namespace)} -o json"
        ' > "$d/out" 2> "$d/err" || rc=$?',
        # Not there, or its resource type not installed: an empty answer, read as None.
        'if [ "$rc" -ne 0 ] && grep -q -e "(NotFound)" -e "doesn\'t have a resource type" "$d/err"; then'
        ' : > "$d/out"; : > "$d/err"; rc=0; fi',
    ]


def _configmaps_lines(step):
    selector = f" -l {_q(step.selector)}" if step.selector else ""
    return [f'k get configmaps -n {_q(step.namespace)}{selector} -o json > "$d/out" 2> "$d/err" || rc=$?']


def _pods_lines(step):
    return [
        f'k get pods -n {_q(step.namespace)} -o jsonpath={_q(PODS_JSONPATH)} > "$d/pods" 2> "$d/err" || rc=$?',
        f'awk -F "$tab" {_q(_prefix_test(step.prefixes))} "$d/pods" > "$d/out"',
    ]


def _wait_for_lines(step):
    return [f"uid={_q(step.uid)}", *_wait_lines(step.resource, step.name, step.seconds), _wait_result()]


def jq_projection(tree, path=""):
    """The jq object of `steps.field_tree`'s tree: each kept field by its path (null where absent), as
    `steps.project` keeps them."""
    return (
        "{"
        + ", ".join(
            f"{key}: {jq_projection(sub, f'{path}.{key}') if sub is not None else f'{path}.{key}'}"
            for key, sub in tree.items()
        )
        + "}"
    )


def _list_lines(step):
    scope = "" if step.resource in _CLUSTER_SCOPED else (f" -n {_q(step.namespace)}" if step.namespace else " -A")
    selectors = (f" -l {_q(step.selector)}" if step.selector else "") + (
        f" --field-selector {_q(step.field_selector)}" if step.field_selector else ""
    )
    program = f"[.items[] | {jq_projection(steps.field_tree(step.fields))}]"
    return [
        f'k get {_q(_QUALIFIED.get(step.resource, step.resource))}{scope}{selectors} -o json > "$d/raw" 2> "$d/err"'
        " || rc=$?",
        # A resource type the server does not have (the ImageJob's, before Image Cleaner is on): null.
        'if [ "$rc" -ne 0 ] && grep -q "doesn\'t have a resource type" "$d/err"; then printf null > "$d/out";'
        ' : > "$d/err"; rc=0',
        f'elif [ "$rc" -eq 0 ]; then jq -c {_q(program)} "$d/raw" > "$d/out" 2> "$d/err" || rc=$?; fi',
    ]


def _pod_logs_lines(step):
    node = _q(step.node or "")
    container = _q(step.container or "")
    return [
        f'k get pods -n {_q(step.namespace)} -o jsonpath={_q(PODS_JSONPATH)} > "$d/pods" 2> "$d/err" || rc=$?',
        # Fields joined by "|" (in no Kubernetes name), which `read` splits keeping the empty ones.
        f'awk -F "$tab" -v OFS="|" {_q(_prefix_test(step.prefixes) + " { print $1, $2, $3, $4 }")} "$d/pods"'
        ' > "$d/workers"',
        'n=0; : > "$d/index"',
        'if [ "$rc" -eq 0 ]; then',
        '  while IFS="|" read -r pod node phase containers; do',
        f'    [ -z {node} ] || [ "$node" = {node} ] || continue',
        "    for c in $containers; do",
        f'      [ -z {container} ] || [ "$c" = {container} ] || continue',
        "      n=$((n+1))",
        f'      if k logs "$pod" -n {_q(step.namespace)} -c "$c" > "$d/log$n" 2> "$d/logerr"; then',
        '        printf \'%s|%s|%s|%s|%s|%s\\n\' "$n" "$pod" "$node" "$phase" "$c" '
        '"$(wc -c < "$d/log$n" | tr -d \' \')" >> "$d/index"',
        '      elif ! grep -q "(NotFound)" "$d/logerr"; then cat "$d/logerr" > "$d/err"; rc=1; break 2; fi',
        "    done",
        '  done < "$d/workers"',
        "fi",
        'if [ "$rc" -eq 0 ]; then',
        # Each log's share of the budget: smaller ones whole, the rest shared (steps.log_limits).
        "  count=$(wc -l < \"$d/index\" | tr -d ' ')",
        f'  sort -t "|" -k6,6n -k1,1n "$d/index" | awk -F "|" -v left={LOG_BUDGET} -v count="$count"'
        f' {_q(LOG_LIMITS_AWK)} > "$d/limits"',
        '  while IFS="|" read -r i pod node phase c size; do',
        '    limit=$(awk -F "|" -v i="$i" \'$1 == i { print $2 }\' "$d/limits")',
        '    printf \'%s log %s\\t%s\\t%s\\t%s\\t%s\\t%s@@\\n\' "$M" "$pod" "$node" "$phase" "$c" "$size" "$limit"',
        '    head -c "$limit" "$d/log$i"; printf \'\\n\'',
        '  done < "$d/index" > "$d/out"',
        "fi",
    ]


def _log_chunks_lines(step):
    lines = []
    for pod, container, offset, length in step.chunks:
        lines += [
            f'if k logs {_q(pod)} -n {_q(step.namespace)} -c {_q(container)} > "$d/log" 2> "$d/logerr"; then',
            f'  printf \'%s chunk %s\\t%s\\t%s@@\\n\' "$M" {_q(pod)} {_q(container)} {int(offset)} >> "$d/out"',
            f'  tail -c +{int(offset) + 1} "$d/log" | head -c {int(length)} >> "$d/out"; printf \'\\n\' >> "$d/out"',
            'elif ! grep -q "(NotFound)" "$d/logerr"; then cat "$d/logerr" > "$d/err"; rc=1; fi',
        ]
    return lines


def _edit_lines(step):
    jq = (
        f"jq -c --argjson add {_json(list(step.add))} --argjson remove {_json(list(step.remove))}"
        f" --argjson labels {_json(dict(step.labels))} --arg key {_q(step.key)} --arg field {_q(step.field)}"
        f" --arg name {_q(step.name)} --arg ns {_q(step.namespace)} {_q(_EDIT_JSON_LIST)}"
    )
    return [
        "i=0; rc=1",
        f"while [ $i -lt {steps.EDIT_ATTEMPTS} ]; do",
        "  i=$((i+1))",
        f'  if {_kubectl("get", "configmap", step.name)} -n {_q(step.namespace)} -o json > "$d/cur" 2> "$d/err"; then'
        " verb=replace",
        '  elif grep -q "(NotFound)" "$d/err"; then verb=create; printf null > "$d/cur"; : > "$d/err"',
        "  else break; fi",
        f'  {jq} "$d/cur" > "$d/plan" 2> "$d/err" || break',
        '  jq -c .configmap "$d/plan" > "$d/body.json"',
        '  if k "$verb" -f "$d/body.json" -o json > "$d/written" 2> "$d/err"; then',
        '    jq -c --slurpfile w "$d/written" \'{configmap: $w[0], missing: .missing}\' "$d/plan" > "$d/out"',
        "    rc=0; break",
        "  fi",
        '  grep -q -e "(Conflict)" -e "(AlreadyExists)" "$d/err" || break',
        "done",
    ]


def _recreate_lines(step, manifest):
    name = step.body["metadata"]["name"]
    resource = _QUALIFIED[step.resource]
    lines = [
        "replaced=false",
        f'if {_kubectl("get", resource, name)} -o name > /dev/null 2> "$d/err"; then',
        f'  replaced=true; {_kubectl("delete", resource, name, "--wait=false")} > /dev/null 2> "$d/err" || rc=$?',
        'elif ! grep -q "(NotFound)" "$d/err"; then rc=1; fi',
        'if [ "$rc" -eq 0 ]; then',
        "  i=0",
        f'  until k create -f {_q(manifest)} -o json > "$d/created" 2> "$d/err"; do',
        f'    i=$((i+1)); if [ $i -ge {steps.RECREATE_ATTEMPTS} ] || ! grep -q "(AlreadyExists)" "$d/err"; then'
        " rc=1; break; fi; sleep 1",
        "  done",
        "fi",
        'if [ "$rc" -eq 0 ]; then',
    ]
    if step.wait_seconds is None:
        lines.append(
            '  jq -c --argjson replaced "$replaced" \'{replaced: $replaced, created: .}\' "$d/created" > "$d/out"'
        )
    else:
        lines += ['  uid=$(jq -r .metadata.uid "$d/created")']
        lines += [f"  {line}" for line in _wait_lines(step.resource, name, step.wait_seconds)]
        lines.append(
            '  [ "$rc" -ne 0 ] || jq -c -n --argjson replaced "$replaced" --slurpfile c "$d/created"'
            ' --slurpfile f "$d/final" --arg state "$state"'
            " '{replaced: $replaced, created: $c[0], final: $f[0], state: $state}' > \"$d/out\""
        )
    lines.append("fi")
    return lines


def _wait_lines(resource, name, seconds):
    """Poll until status.timestamp is set, the uid changes or the object is gone, within `seconds`."""
    return [
        f"deadline=$(( $(date +%s) + {int(seconds)} )); state=",
        "while :; do",
        f'  if {_kubectl("get", _QUALIFIED[resource], name)} -o json > "$d/final" 2> "$d/err"; then',
        '    if [ "$(jq -r .metadata.uid "$d/final")" != "$uid" ]; then state=replaced;'
        ' elif [ -n "$(jq -r \'.status.timestamp // empty\' "$d/final")" ]; then state=finished; fi',
        '  elif grep -q "(NotFound)" "$d/err"; then state=gone; printf null > "$d/final"; : > "$d/err"',
        "  else rc=1; break; fi",
        '  [ -z "$state" ] || break',
        '  if [ "$(date +%s)" -ge "$deadline" ]; then state=waiting; break; fi',
        f"  sleep {steps.POLL_SECONDS}",
        "done",
    ]


def _wait_result():
    return (
        '[ "$rc" -ne 0 ] || jq -c -n --slurpfile f "$d/final" --arg state "$state"'
        " '{final: $f[0], state: $state}' > \"$d/out\""
    )


def context_zip(manifests):
    """run-command's `context`: a base64 zip holding the manifests kubectl is given with `-f`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, manifest in manifests.items():
            archive.writestr(name, json.dumps(manifest))
    return base64.b64encode(buffer.getvalue()).decode()


class StepOutput(NamedTuple):
    stdout: str
    stderr: str
    exit_code: int


def split_output(logs, nonce, count):
    """(the outputs of the steps that ran to their end marker, in order; whether all `count` did)."""
    mark, logs, outputs, position = f"@@ic-{nonce}", logs or "", [], 0
    for number in range(count):
        begin = f"{mark} out {number}@@\n"
        start = logs.find(begin, position)
        middle = logs.find(f"\n{mark} err {number} rc=", start + len(begin)) if start >= 0 else -1
        code_end = logs.find("@@\n", middle + 1) if middle >= 0 else -1
        end = logs.find(f"\n{mark} end {number}@@", code_end) if code_end >= 0 else -1
        if end < 0:
            return outputs, False
        code = logs[middle + len(f"\n{mark} err {number} rc=") : code_end]
        outputs.append(StepOutput(logs[start + len(begin) : middle], logs[code_end + 3 : end], int(code)))
        position = end
    return outputs, True


def read_logs(stdout, nonce):
    """The logs a PodLogs step printed: [{"pod", "node", "phase", "container", "log", "size", "shown"}]."""
    entries = []
    for header, text in _sections(stdout, f"@@ic-{nonce} log "):
        pod, node, phase, container, size, shown = header.split("\t")
        entries.append(
            {
                "pod": pod,
                "node": node or None,
                "phase": phase or None,
                "container": container,
                "log": text,
                "size": int(size),
                "shown": int(shown),
            }
        )
    return entries


def read_chunks(stdout, nonce):
    """The pieces a LogChunks step printed: {(pod, container, offset): text}."""
    chunks = {}
    for header, text in _sections(stdout, f"@@ic-{nonce} chunk "):
        pod, container, offset = header.split("\t")
        chunks[(pod, container, int(offset))] = text
    return chunks


def _sections(stdout, begin):
    """(header, text) for each `begin<header>@@\\n<text>\\n` in `stdout`."""
    parts = stdout.split(begin)
    for part in parts[1:]:
        header, _, rest = part.partition("@@\n")
        yield header, rest[:-1] if rest.endswith("\n") else rest


def at_cap(logs, slack=1024):
    """Whether run-command's output reached (within `slack` bytes) its 512 kB cap, so it was cut there."""
    return len((logs or "").encode("utf-8")) >= OUTPUT_CAP - slack


class ServerError(NamedTuple):
    status: int
    reason: str
    message: str


def server_error(stderr):
    """The API server's refusal kubectl printed, as (status, reason, message); None when kubectl failed
    otherwise. A resource type the server does not have (the ImageList CRD missing) reads as a 404, as the
    API server answers it to a direct call."""
    match = _SERVER_ERROR.search(stderr or "")
    if match:
        reason = match["reason"]
        return ServerError(_STATUS.get(reason, 500), reason, match["message"].strip())
    if "the server doesn't have a resource type" in (stderr or ""):
        return ServerError(404, "NotFound", "the server could not find the requested resource")
    if "You must be logged in to the server" in (stderr or ""):
        return ServerError(401, "Unauthorized", "Unauthorized")
    return None


def pods_from_lines(text):
    """Pod dicts (metadata.name, spec.nodeName, spec.containers[].name, status.phase) from PODS_JSONPATH lines."""
    pods = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, node, phase, containers = ([*line.split("\t"), "", "", ""])[:4]
        pods.append(
            {
                "metadata": {"name": name},
                "spec": {"nodeName": node or None, "containers": [{"name": c} for c in containers.split()]},
                "status": {"phase": phase or None},
            }
        )
    return pods


# The script lines of each kind of step (Recreate, which writes a manifest, aside).
_STEP_LINES = {
    steps.Read: _read_lines,
    steps.List: _list_lines,
    steps.ListConfigMaps: _configmaps_lines,
    steps.Pods: _pods_lines,
    steps.PodLogs: _pod_logs_lines,
    LogChunks: _log_chunks_lines,
    steps.EditJsonList: _edit_lines,
    steps.WaitFor: _wait_for_lines,
}
