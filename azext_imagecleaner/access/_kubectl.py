"""kubectl command lines for AKS run-command, and reading what comes back (pure).

run-command returns one text, the pod's output, with stdout and stderr mixed, capped at 512 kB
(../shared/aks-access.md §4). So each command keeps kubectl's stderr apart and prints it after a marker line,
and asks for only what the caller needs: JSON (`-o json`) where an object is read, a jsonpath line per pod
where only names, nodes, phases and containers are (a kube-system pod list as JSON passes 512 kB on a cluster
of some tens of nodes), and a bounded number of bytes of each log.
"""

import base64
import io
import json
import re
import shlex
import zipfile
from typing import NamedTuple

OUTPUT_CAP = 512 * 1024
# A log read through run-command is cut to this many bytes, leaving room under the cap for the rest.
LOG_LIMIT = 480 * 1024
MARKER = "--- imagecleaner: kubectl stderr ---"
MANIFEST = "manifest.json"
PODS_JSONPATH = (
    '{range .items[*]}{.metadata.name}{"\\t"}{.spec.nodeName}{"\\t"}{.status.phase}{"\\t"}'
    '{.spec.containers[*].name}{"\\n"}{end}'
)

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


def script(kubectl_args, timeout_seconds=60):
    """The shell line run-command runs: kubectl, then the marker, then kubectl's stderr; kubectl's exit code."""
    kubectl = " ".join(shlex.quote(a) for a in ["kubectl", *kubectl_args, f"--request-timeout={timeout_seconds}s"])
    return (
        'e="$(mktemp 2>/dev/null || echo /tmp/imagecleaner-stderr.$$)"; '
        f'{kubectl} 2>"$e"; rc=$?; echo; echo {shlex.quote(MARKER)}; cat "$e"; rm -f "$e"; exit $rc'
    )


def context_zip(manifest):
    """run-command's `context`: a base64 zip holding the manifest kubectl is given with `-f manifest.json`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest))
    return base64.b64encode(buffer.getvalue()).decode()


class Output(NamedTuple):
    stdout: str
    stderr: str
    complete: bool  # False: the marker is missing, so the output was cut at the cap (or the pod died mid-way)


def split_output(logs):
    """stdout and stderr from a run-command's `logs`, as `script` printed them: stdout, the newline `echo` adds,
    the marker line, stderr."""
    logs = logs or ""
    before, found, after = logs.rpartition(f"\n{MARKER}\n")
    if found:
        return Output(before, after, True)
    if logs.endswith(f"\n{MARKER}"):  # a service that trims the last newline
        return Output(logs[: -len(MARKER) - 1], "", True)
    return Output(logs, "", False)


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


def bounded_log(text, limit=LOG_LIMIT):
    """(log, cut): at most `limit` bytes of the log, ending at a whole line when it had to be cut."""
    data = (text or "").encode("utf-8")
    if len(data) <= limit:
        return text or "", False
    head = data[:limit]
    end = head.rfind(b"\n")
    return head[: end + 1 if end >= 0 else limit].decode("utf-8", errors="replace"), True


def log_args(namespace, pod, container, limit=LOG_LIMIT):
    """One more byte than the limit, so a log of exactly `limit` bytes does not read as cut."""
    return ["logs", pod, "-n", namespace, "-c", container, f"--limit-bytes={limit + 1}"]
