"""What Image Cleaner did, node by node and image by image, read from Eraser's worker logs (pure).

The shapes follow ../shared/eraser-log-statements.md (every statement of Eraser v1.0.0 to v1.4.1, from its
source) and ../shared/eraser-logs-real/ (lines pasted by Eraser's users):

- zap's production JSON (`level`, float `ts`, `logger`, `msg`, the call's fields, `error` and `stacktrace`
  on error lines), or zap's console format under `--log-level=debug` (tab-separated, stack on later lines);
- kubectl's `--timestamps` prefix and its "Defaulted container" banner around them;
- the image as `given` (what the list said: a tag, or the image ID in scheduled runs), `imageID` (or
  `digest`), and `name`, an object `{"image_id", "names", "digests"}` (pre-v1.0: an array of tags);
- prune mode (`*`): no `given`, one line per alias of a failing or excluded image, and `removed image`
  with only `digest`.

Rows are one per node, worker pod and image. The scanner's verdicts and the collector's inventory are joined
to the remover's rows by image ID. A container that failed as a whole (no runtime, a panic, an unreadable
list) is a row of its own with outcome "run failed". Lines that are not Eraser's are skipped and counted;
Eraser messages this version does not know stay "other", with their text.
"""

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field

REMOVED, EXCLUDED, RUNNING, NOT_ON_NODE, FAILED, RUN_FAILED, OTHER = (
    "removed",
    "excluded",
    "running",
    "not on node",
    "removal failed",
    "run failed",
    "other",
)
VULNERABLE, END_OF_LIFE, CLEAN, SCAN_FAILED = "vulnerable", "vulnerable (end of life)", "clean", "scan failed"
# `eraser` is the remover's logger in v1.0.0 and before (the container was named eraser too).
ERASER_LOGGERS = ("collector", "remover", "eraser", "scanner", "trivy-scanner")
_REMOVERS = ("remover", "eraser")
_SCANNERS = ("scanner", "trivy-scanner")

_REMOVER_OUTCOMES = {
    "removed image": REMOVED,
    "image is excluded": EXCLUDED,
    "image is running": RUNNING,
    "image is not on node": NOT_ON_NODE,
    "error removing image": FAILED,
    "error during prune": FAILED,
    # v0.1 to v0.3 (statements table, "v0.x"): capitalised, the image under `image`.
    "Removed": REMOVED,
    "Image is excluded": EXCLUDED,
    "Image is running": RUNNING,
    "Image is not on node": NOT_ON_NODE,
    "Error removing": FAILED,
    "Error during prune": FAILED,
}
# Messages about the run, not an image, that say nothing went wrong: read, but no row of their own.
_CONTEXT = {
    "remover starting",
    "CRI client created successfully",
    "imageListPtr is empty, waiting for scan erase path",
    "imageListPtr provided, parsing image list file",
    "successfully created imagelist from scanned non-compliant images",
    "attempting to parse image list file",
    "successfully parsed image list file",
    "configmaps for exclusion do not exist",
    "excluded configmap was empty or does not exist",
    "no images to exclude",
    "prune successful",
    "Prune successful",
    "Map of non-running images",
    "Map of running images",
    "Map of digest to image name(s)",
    "images collected",
    "trivy version",
    "config",
    "userConfig",
    "scanning image with id",
    "scanning image with ref",
    "scanning image ref",
    "scanning image",
    "found image with id under reference",
    "found image with no name",
    "Vulnerable",
    "Failed",
    "vulnerable image found",
    "image is end of life",
    "scanning complete, waiting for remover to finish...",
    "scanning complete, waiting for eraser to finish...",
    "remover job completed, shutting down...",
    "eraser job completed, shutting down...",
    "scanning complete, exiting",
}
# Error lines after which the container carries on (Eraser v1.4.1's source: no os.Exit after them): "other",
# not "run failed". Every other error line without an image ends its container with a non-zero exit.
_NOT_FATAL = {
    "pprof server failed",
    "error recording metrics",
    "error initializing exporter",
    "failed to collect metrics",
    "failed to export metrics",
    "error processing digest",
    "total image scan timed out",
    "error initializing scanner",
    "scan failed",
    "error scanning image",
    "error unmarshaling report",
    "could not find image by reference",
    "error registering config for artifact",
    "error fetching manifest for image",
}
# The collector's one line with the node's unused images, names and digests (what goes to the scanner).
_INVENTORY = "images collected"
_SCAN_FAILURES = {
    "error scanning image",
    "error unmarshaling report",
    "could not find image by reference",
    "error registering config for artifact",
}

# Fields that name the image a line is about.
_IMAGE_FIELDS = frozenset(("given", "imageID", "digest", "name", "image", "img"))
# kubectl logs --timestamps: an RFC 3339 time and one space before the container's own line.
_KUBECTL_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")
# zap's console encoder (--log-level=debug): time, LEVEL, logger, [caller,] message, [JSON fields], by tabs.
_CONSOLE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\t([A-Z]+)\t(.*)$")
_CALLER = re.compile(r"^\S+\.go:\d+$")
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass
class Parsed:
    rows: dict = field(default_factory=dict)  # (node, pod, key) -> row, in the order first seen
    names: dict = field(default_factory=dict)  # (node, image ID) -> names, from every container's lines
    # The scanner's findings hold for its own worker pod (one run on one node): (node, pod, image ID or name).
    verdicts: dict = field(default_factory=dict)  # -> VULNERABLE, CLEAN, ...
    scanned: set = field(default_factory=set)  # what went to the scanner
    scans_finished: set = field(default_factory=set)  # (node, pod) whose scanner logged its verdict summary
    skipped_lines: int = 0


def iso(ts):
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ts)))
    except (TypeError, ValueError, OverflowError):
        return None


def _console_time(text):
    """zap's console time (`2006-01-02T15:04:05.000Z0700`) as ISO 8601 UTC, to the second."""
    from datetime import datetime, timezone

    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            moment = datetime.strptime(text.replace("Z", "+0000"), pattern)
        except ValueError:
            continue
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def read_line(raw):
    """One log line as an entry dict, or "skip" (not Eraser's), or None (blank, a banner, a continuation)."""
    line = raw.rstrip("\r\n")
    line = _KUBECTL_TIMESTAMP.sub("", line, count=1)
    if not line.strip() or line.startswith("Defaulted container "):
        return None
    if line.lstrip().startswith("{"):
        return _json_entry(line)
    console = _CONSOLE.match(line)
    if console:
        return _console_entry(*console.groups())
    if line.startswith("panic: ") or line.startswith("fatal error: "):
        return {"panic": line}
    return "skip"


def _json_entry(line):
    try:
        return object_entry(json.loads(line))
    except ValueError:
        return "skip"


def object_entry(value):
    """A JSON log line, already parsed (ContainerLogV2 keeps one as an object), as an entry dict or "skip"."""
    if not isinstance(value, dict) or value.get("logger") not in ERASER_LOGGERS or "msg" not in value:
        return "skip"
    return value


def _console_entry(when, level, rest):
    parts = rest.split("\t")
    fields = {}
    if len(parts) > 1 and parts[-1].startswith("{"):
        try:
            fields = json.loads(parts.pop())
        except ValueError:
            return "skip"
    if len(parts) > 2 and _CALLER.match(parts[1]):
        del parts[1]
    if len(parts) < 2 or parts[0] not in ERASER_LOGGERS or not isinstance(fields, dict):
        return "skip"
    entry = dict(fields, level=level.lower(), logger=parts[0], msg="\t".join(parts[1:]))
    entry.update(time=_console_time(when), console=True)
    return entry


def parse_lines(lines, node, container, into=None, pod=None):
    """Read one container's log lines into `into` (a Parsed); returns it. A line is its text, or the object a JSON
    line was parsed into (ContainerLogV2's `LogMessage`)."""
    parsed = into if into is not None else Parsed()
    continuation = False  # inside a console-format stack trace or a Go panic's goroutine dump
    for raw in lines:
        text = isinstance(raw, str)
        entry = read_line(raw) if text else object_entry(raw)
        if entry is None:
            continue
        if entry == "skip":
            if continuation or (text and raw.startswith(("\t", " ", "goroutine ", "main.", "runtime.", "created by "))):
                continue
            parsed.skipped_lines += 1
            continue
        if "panic" in entry:
            detail = f"{container}: {entry['panic']}"
            _add_row(parsed, node, pod, container, ("run", container, "panic"), RUN_FAILED, detail, None)
            continuation = True
            continue
        # zap's console encoder writes an error's stack on the lines after it; JSON keeps it in a field.
        continuation = entry.get("console") is True and entry.get("level") in ("error", "dpanic", "panic", "fatal")
        _read_entry(parsed, entry, node, container, pod)
    return parsed


def _image_object(value):
    """`name` as Eraser logs it: {"image_id", "names", "digests"} (v1.0+), or a list of tags (v0.4, v0.5)."""
    if isinstance(value, dict):  # read only: the lists are not copied
        return value.get("image_id"), value.get("names") or (), value.get("digests") or ()
    if isinstance(value, list):
        return None, [v for v in value if isinstance(v, str)], ()
    return None, (), ()


def _remember(parsed, node, image_id, names):
    if image_id and names:
        known = parsed.names.setdefault((node, image_id), [])
        if known:
            known.extend(n for n in names if n not in known)
        else:
            known.extend(dict.fromkeys(names))


def _read_entry(parsed, entry, node, container, pod):
    msg, logger_name = entry["msg"], entry["logger"]
    if logger_name in _SCANNERS:
        _read_scanner(parsed, entry, (node, pod))
    if logger_name == "collector" and msg == _INVENTORY:
        for img in entry.get("finalImages:") or entry.get("finalImages") or []:
            image_id, names, digests = _image_object(img)
            _remember(parsed, node, image_id, names)
            parsed.scanned.update((node, pod, key) for key in (image_id, *names, *digests) if key)
        return
    if msg in _CONTEXT:
        return
    when = entry.get("time") or iso(entry.get("ts"))
    outcome = _REMOVER_OUTCOMES.get(msg) if logger_name in _REMOVERS else None
    error = _error_text(entry) if "error" in entry else None
    if outcome is None:
        has_image = not _IMAGE_FIELDS.isdisjoint(entry)
        if entry.get("level") == "error" and not has_image and msg not in _NOT_FATAL:
            detail = f"{container}: {msg}" + (f": {error}" if error else "")
            _add_row(parsed, node, pod, container, ("run", container, msg), RUN_FAILED, detail, when)
            return
        if logger_name in _SCANNERS and msg in _NOT_FATAL | _SCAN_FAILURES and has_image:
            return  # a scan failure: a verdict (read above), not a row
    image_id, names, digests = _image_object(entry.get("name"))
    image_id = entry.get("imageID") or entry.get("digest") or image_id
    _remember(parsed, node, image_id, names)
    given = entry.get("given") or entry.get("image")
    if msg in ("error during prune", "Error during prune"):
        given = given or "*"
    image = names[0] if names else given or (digests[0] if digests else None)
    if outcome is None:
        detail = f"{logger_name}: {msg}" + (f": {error}" if error else "")
    elif outcome == FAILED:
        detail = error or "some images could not be removed"
    else:
        detail = error
    # An image's lines make one row; a message without an image is a row of its own container (the pod's
    # containers can each log it, and which of them is read first must not matter).
    key = ("image", image_id or image) if image_id or image else ("message", container, msg)
    _add_row(parsed, node, pod, container, key, outcome or OTHER, detail, when, image=image, digest=image_id)


def _add_row(parsed, node, pod, container, key, outcome, detail, when, image=None, digest=None):
    """One row per node, pod and image: Eraser logs an image once per alias in prune mode, and `removed
    image` twice when the runtime answers NotFound. A failure is never hidden behind an earlier line."""
    full_key = (node, pod, *key)
    row = parsed.rows.get(full_key)
    if row is None:
        parsed.rows[full_key] = {
            "node": node,
            "image": image,
            "digest": digest,
            "outcome": outcome,
            "detail": detail,
            "container": container,
            "pod": pod,
            "time": when,
        }
        return
    row["image"] = row["image"] or image
    row["digest"] = row["digest"] or digest
    if outcome in (FAILED, RUN_FAILED) and row["outcome"] not in (FAILED, RUN_FAILED):
        row.update(outcome=outcome, detail=detail, time=when or row["time"])


def _error_text(entry):
    """The `error` field without zap's `stacktrace` (which is a field of its own), on one line."""
    error = entry.get("error")
    if not error:
        return None
    return "; ".join(part.strip() for part in str(error).splitlines() if part.strip())


def _mark(parsed, run, verdict, images):
    verdicts = parsed.verdicts
    for img in images:
        if isinstance(img, str):
            keys = (img,)
        else:
            image_id, names, digests = _image_object(img)
            _remember(parsed, run[0], image_id, names)
            keys = (image_id, *names, *digests)
        for key in keys:
            if not key:
                continue
            # End of life is logged before the image's `vulnerable image found`: keep the more precise word.
            if not (verdict == VULNERABLE and verdicts.get((*run, key)) == END_OF_LIFE):
                verdicts[(*run, key)] = verdict


def _scanned(parsed, entry, run):
    refs = [r for r in entry.get("refs") or [] if isinstance(r, str)]
    _remember(parsed, run[0], entry.get("imageID"), refs)
    parsed.scanned.update((*run, key) for key in (entry.get("imageID"), *refs) if key)


def _scan_summary(parsed, entry, run):
    _mark(parsed, run, VULNERABLE, entry.get("Images") or ())
    parsed.scans_finished.add(run)


# What the scanner's messages say, by message: verdicts and what was scanned.
_SCANNER_READS = {
    "vulnerable image found": lambda parsed, entry, run: _mark(parsed, run, VULNERABLE, (entry.get("img"),)),
    "Vulnerable": _scan_summary,
    "Failed": lambda parsed, entry, run: _mark(parsed, run, SCAN_FAILED, entry.get("Images") or ()),
    "image is end of life": lambda parsed, entry, run: _mark(parsed, run, END_OF_LIFE, (entry.get("imageID"),)),
    **{
        msg: (lambda parsed, entry, run: _mark(parsed, run, SCAN_FAILED, (entry.get("imageID"),)))
        for msg in _SCAN_FAILURES
    },
    "scanning image with id": _scanned,
}
# What Eraser's loggers write that no reading here uses, whatever their level: the context messages, less those the
# scanner's reading or the collector's inventory uses. The history's query leaves these lines out
# (`_history.query`), so the service sends, and az parses, about 40% fewer lines of a scheduled run.
IGNORED_MESSAGES = frozenset(_CONTEXT - set(_SCANNER_READS) - {_INVENTORY})


def _read_scanner(parsed, entry, run):
    read = _SCANNER_READS.get(entry["msg"])
    if read is not None:
        read(parsed, entry, run)


def report(parsed):
    """Rows with names and the scanner's verdicts joined in by image ID, and the footer's totals."""
    rows = []
    for row in parsed.rows.values():
        node, digest = row["node"], row["digest"]
        names = parsed.names.get((node, digest)) or []
        image = row["image"]
        if names and (not image or image == digest or _IMAGE_ID.match(image)):
            image = names[0]  # a scheduled run's `given` is the image ID; the collector or scanner knew its name
        run = (node, row["pod"])  # a verdict holds for the run whose scanner gave it, not for later manual runs
        keys = [(*run, k) for k in (digest, image, *names) if k]
        scan = next((parsed.verdicts[k] for k in keys if k in parsed.verdicts), None)
        if scan is None and run in parsed.scans_finished and any(k in parsed.scanned for k in keys):
            scan = CLEAN
        if row["outcome"] == RUN_FAILED:
            scan = None
        vulnerable = {VULNERABLE: True, END_OF_LIFE: True, CLEAN: False}.get(scan)
        rows.append(dict(row, image=image, vulnerable=vulnerable, scan=scan))
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


def run_failures(result):
    """The rows that say a worker container failed as a whole: (node, detail naming the container)."""
    return [(r["node"], r["detail"]) for r in result["rows"] if r["outcome"] == RUN_FAILED]
