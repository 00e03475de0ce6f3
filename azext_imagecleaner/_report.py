"""What Image Cleaner did, node by node and image by image, read from Eraser's worker logs (pure).

Each worker container logs one JSON object a line (zap's production encoder):
`level`, `ts` (Unix seconds), `logger` (collector, remover, or scanner with
provider trivy), `caller`, `msg`, then the message's own keys. Lines that are
not JSON, or not Eraser's, are skipped and counted; Eraser messages this
version does not know are kept as "other", so a newer Eraser never breaks
the report.
"""

import json
import time
from collections import Counter
from dataclasses import dataclass, field

REMOVED, EXCLUDED, RUNNING, NOT_ON_NODE, FAILED, OTHER = (
    "removed",
    "excluded",
    "running",
    "not on node",
    "removal failed",
    "other",
)
ERASER_LOGGERS = ("collector", "remover", "scanner", "trivy-scanner")

_REMOVER_OUTCOMES = {
    "removed image": REMOVED,
    "image is excluded": EXCLUDED,
    "image is running": RUNNING,
    "image is not on node": NOT_ON_NODE,
    "error removing image": FAILED,
    "error during prune": FAILED,
}
# Messages that describe the run, not an image: read, but no row of their own.
_CONTEXT = {"successfully parsed image list file", "prune successful", "images collected", "Vulnerable"}


@dataclass
class Parsed:
    rows: list = field(default_factory=list)
    vulnerable: set = field(default_factory=set)  # (node, image name or digest)
    scanned: set = field(default_factory=set)  # (node, image name or digest) the scanner looked at
    skipped_lines: int = 0


def iso(ts):
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ts)))
    except (TypeError, ValueError, OverflowError):
        return None


def _image_of(entry):
    names = entry.get("name") if isinstance(entry.get("name"), list) else []
    name = entry.get("given") or (names[0] if names else None)
    digest = entry.get("imageID") or entry.get("digest")
    return name, digest


def _names_and_digests(img):
    img = img if isinstance(img, dict) else {}
    return [*(img.get("names") or []), *(img.get("digests") or []), img.get("image_id")]


def parse_lines(lines, node, container, into=None):
    """Read one container's log lines into `into` (a Parsed); returns it."""
    parsed = into or Parsed()
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            parsed.skipped_lines += 1
            continue
        if not isinstance(entry, dict) or entry.get("logger") not in ERASER_LOGGERS or "msg" not in entry:
            parsed.skipped_lines += 1
            continue
        _read_entry(parsed, entry, node, container)
    return parsed


def _read_entry(parsed, entry, node, container):
    msg, logger_name = entry["msg"], entry["logger"]
    if logger_name in ("scanner", "trivy-scanner") and msg == "vulnerable image found":
        parsed.vulnerable.update((node, key) for key in _names_and_digests(entry.get("img")) if key)
        return
    if logger_name == "collector" and msg == "images collected":
        for img in entry.get("finalImages:") or entry.get("finalImages") or []:
            parsed.scanned.update((node, key) for key in _names_and_digests(img) if key)
        return
    if msg in _CONTEXT:
        return
    outcome = _REMOVER_OUTCOMES.get(msg) if logger_name == "remover" else None
    name, digest = _image_of(entry)
    if msg == "error during prune":
        name = name or "*"
    parsed.rows.append(
        {
            "node": node,
            "image": name,
            "digest": digest,
            "outcome": outcome or OTHER,
            "detail": entry.get("error") or (None if outcome else f"{logger_name}: {msg}"),
            "container": container,
            "time": iso(entry.get("ts")),
        }
    )


def report(parsed):
    """Rows with the scanner's verdict folded in, and the footer's totals."""
    rows = []
    for row in parsed.rows:
        keys = {(row["node"], row["image"]), (row["node"], row["digest"])}
        if keys & parsed.vulnerable:
            vulnerable = True
        elif keys & parsed.scanned:
            vulnerable = False
        else:
            vulnerable = None  # no scanner ran for it (a manual run)
        rows.append(dict(row, vulnerable=vulnerable))
    rows.sort(key=lambda r: (r["node"] or "", r["time"] or "", r["image"] or ""))
    by_outcome = Counter(r["outcome"] for r in rows)
    by_node = {}
    for row in rows:
        by_node.setdefault(row["node"], Counter())[row["outcome"]] += 1
    return {
        "rows": rows,
        "totals": {
            "byOutcome": dict(sorted(by_outcome.items())),
            "byNode": {node: dict(sorted(c.items())) for node, c in sorted(by_node.items(), key=lambda i: i[0] or "")},
        },
        "skippedLines": parsed.skipped_lines,
    }


def history_query(pod_names, days=7):
    """The Container Insights query that finds the same lines after the pods are gone."""
    if pod_names:
        pods = ", ".join(json.dumps(p) for p in sorted(set(pod_names)))
        pod_filter = f"PodName in ({pods})"
    else:
        pod_filter = 'PodName startswith "eraser-"'
    return (
        "KubePodInventory\n"
        f"| where TimeGenerated > ago({days}d)\n"
        f'| where Namespace startswith "kube-system" and {pod_filter}\n'
        "| distinct ContainerID, PodName, Computer\n"
        "| join kind=inner (\n"
        "    ContainerLog\n"
        f"    | where TimeGenerated > ago({days}d)\n"
        "    | project ContainerID, TimeGenerated, LogEntry\n"
        ") on ContainerID\n"
        "| project TimeGenerated, Computer, PodName, LogEntry\n"
        "| order by TimeGenerated asc"
    )
