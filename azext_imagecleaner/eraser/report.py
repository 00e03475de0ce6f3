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

from azext_imagecleaner.eraser import statements
from azext_imagecleaner.eraser.statements import (
    CLEAN,
    FAILED,
    OTHER,
    RUN_FAILED,
)

ERASER_LOGGERS = tuple(statements.LOGGERS)

# kubectl logs --timestamps: an RFC 3339 time and one space before the container's own line.
_KUBECTL_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")
# zap's console encoder (--log-level=debug): time, LEVEL, logger, [caller,] message, [JSON fields], by tabs.
_CONSOLE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\t([A-Z]+)\t(.*)$")
_CALLER = re.compile(r"^\S+\.go:\d+$")
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
_IMAGE_FIELDS = frozenset(statements.IMAGE_FIELDS)


@dataclass
class Parsed:
    rows: dict = field(default_factory=dict)  # (node, pod, key) -> [row, the line that chose it]
    names: dict = field(default_factory=dict)  # (node, image ID) -> names, from every container's lines
    # The scanner's findings hold for its own worker pod (one run on one node): (node, pod, image ID or name).
    verdicts: dict = field(default_factory=dict)  # -> VULNERABLE, SCAN_FAILED, ...
    scanned: set = field(default_factory=set)  # what went to the scanner
    scans_finished: set = field(default_factory=set)  # (node, pod) whose scanner said it was done
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
    """One log line as an entry dict, {"panic": line}, "skip" (not Eraser's), or None (blank, a banner, what
    follows a panic or a console error: `eraser.statements.CONTINUATION`)."""
    line = raw.rstrip("\r\n")
    line = _KUBECTL_TIMESTAMP.sub("", line, count=1)
    if line.startswith("Defaulted container "):
        return None
    if line.lstrip().startswith("{"):
        return _json_entry(line)
    console = _CONSOLE.match(line)
    if console:
        return _console_entry(*console.groups())
    if line.startswith(statements.PANICS):
        return {"panic": line}
    return None if statements.is_continuation(line) else "skip"


def _json_entry(line):
    try:
        return object_entry(json.loads(line))
    except ValueError:
        return "skip"


def object_entry(value):
    """A JSON log line, already parsed (ContainerLogV2 keeps one as an object), as an entry dict or "skip"."""
    if not isinstance(value, dict) or value.get("logger") not in statements.LOGGERS or "msg" not in value:
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
    if len(parts) < 2 or parts[0] not in statements.LOGGERS or not isinstance(fields, dict):
        return "skip"
    entry = dict(fields, level=level.lower(), logger=parts[0], msg="\t".join(parts[1:]))
    entry.update(time=_console_time(when), console=True)
    return entry


def parse_lines(lines, node, container, into=None, pod=None):
    """Read one container's log lines into `into` (a Parsed); returns it. A line is its text, or the object a JSON
    line was parsed into (ContainerLogV2's `LogMessage`)."""
    parsed = into if into is not None else Parsed()
    for raw in lines:
        entry = read_line(raw) if isinstance(raw, str) else object_entry(raw)
        if entry is None:
            continue
        if entry == "skip":
            parsed.skipped_lines += 1
        elif "panic" in entry:
            detail = f"{container}: {entry['panic']}"
            _add_row(parsed, node, pod, container, ("run", container, "panic"), RUN_FAILED, detail, None)
        else:
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
    msg = entry["msg"]
    message = statements.rule(statements.LOGGERS[entry["logger"]], msg)
    run = (node, pod)
    if message.verdict:
        _mark(parsed, run, message.verdict, _verdict_images(entry, message.images))
    if message.scanned:
        _scanned(parsed, entry, run)
    if message.finished:
        parsed.scans_finished.add(run)
    if message.inventory:
        for img in entry.get("finalImages:") or entry.get("finalImages") or []:
            image_id, names, digests = _image_object(img)
            _remember(parsed, node, image_id, names)
            parsed.scanned.update((node, pod, key) for key in _keys(image_id, names, digests))
    outcome = statements.row_outcome(message, entry.get("level"), not _IMAGE_FIELDS.isdisjoint(entry))
    if outcome is None:
        return
    when = entry.get("time") or iso(entry.get("ts"))
    error = statements.error_text(entry.get("error")) if "error" in entry else None
    if outcome == RUN_FAILED:
        detail = f"{container}: {msg}" + (f": {error}" if error else "")
        _add_row(parsed, node, pod, container, ("run", container, msg), RUN_FAILED, detail, when)
        return
    image_id, names, digests = _image_object(entry.get("name"))
    image_id = entry.get("imageID") or entry.get("digest") or image_id
    _remember(parsed, node, image_id, names)
    given = entry.get("given") or entry.get("image") or message.given
    image = names[0] if names else given or (digests[0] if digests else None)
    if outcome == OTHER:
        detail = f"{entry['logger']}: {msg}" + (f": {error}" if error else "")
    elif outcome == FAILED:
        detail = error or "some images could not be removed"
    else:
        detail = error
    # An image's lines make one row; a message without an image is a row of its own container (the pod's
    # containers can each log it, and which of them is read first must not matter).
    key = ("image", image_id or image) if image_id or image else ("message", container, msg)
    _add_row(parsed, node, pod, container, key, outcome, detail, when, image=image, digest=image_id)


def _add_row(parsed, node, pod, container, key, outcome, detail, when, image=None, digest=None):
    """One row per node, pod and image: Eraser logs an image once per alias in prune mode, and `removed
    image` twice when the runtime answers NotFound. The row is its first failure's line, or else its first line
    (a failure is never hidden behind an earlier line); its image and digest the first ones any of its lines gave.
    The history's query applies the same rules (`monitor.history_query`)."""
    full_key = (node, pod, *key)
    found = parsed.rows.get(full_key)
    line = {"outcome": outcome, "detail": detail, "container": container, "time": when}
    if found is None:
        parsed.rows[full_key] = [dict(line, node=node, pod=pod, image=image, digest=digest), outcome in _FAILURES]
        return
    row, chosen_is_failure = found
    row["image"] = row["image"] or image
    row["digest"] = row["digest"] or digest
    if outcome in _FAILURES and not chosen_is_failure:
        row.update(line)
        found[1] = True


_FAILURES = frozenset(statements.FAILURES)


def _verdict_images(entry, where):
    """The images a verdict is about: one object (`img`), a list of objects or of names (`Images`), or an ID."""
    value = entry.get(where)
    if where == "Images":
        return value if isinstance(value, list) else ()
    return (value,) if value else ()


def _mark(parsed, run, verdict, images):
    verdicts, rank = parsed.verdicts, _PRIORITY[verdict]
    for img in images:
        if isinstance(img, str):
            keys = (img,)
        else:
            image_id, names, digests = _image_object(img)
            _remember(parsed, run[0], image_id, names)
            keys = _keys(image_id, names, digests)
        for key in keys:
            if key and rank < _PRIORITY.get(verdicts.get((*run, key)), len(_PRIORITY)):
                verdicts[(*run, key)] = verdict


_PRIORITY = {verdict: rank for rank, verdict in enumerate(statements.VERDICT_PRIORITY)}


def _scanned(parsed, entry, run):
    refs = [r for r in entry.get("refs") or [] if isinstance(r, str)]
    _remember(parsed, run[0], entry.get("imageID"), refs)
    parsed.scanned.update((*run, key) for key in _keys(entry.get("imageID"), refs, ()))


def _keys(image_id, names, digests):
    """What the scanner's word on an image is known by: its ID, or where it gives none (v0.x), its names."""
    return (image_id,) if image_id else tuple(k for k in (*names, *digests) if k)


def report(parsed):
    """Rows with names and the scanner's verdicts joined in by image ID, and the footer's totals."""
    rows = []
    for row, _ in parsed.rows.values():
        node, digest = row["node"], row["digest"]
        names = parsed.names.get((node, digest)) or []
        image = row["image"]
        if names and (not image or image == digest or IMAGE_ID.match(image)):
            image = names[0]  # a scheduled run's `given` is the image ID; the collector or scanner knew its name
        run = (node, row["pod"])  # a verdict holds for the run whose scanner gave it, not for later manual runs
        keys = [(*run, k) for k in (digest, image, *names) if k]
        found = [parsed.verdicts[k] for k in keys if k in parsed.verdicts]
        scan = min(found, key=_PRIORITY.get) if found else None
        if scan is None and run in parsed.scans_finished and any(k in parsed.scanned for k in keys):
            scan = CLEAN
        if row["outcome"] == RUN_FAILED:
            scan = None
        rows.append(dict(row, image=image, vulnerable=statements.vulnerable(scan), scan=scan))
    rows.sort(key=lambda r: (r["node"] or "", r["time"] or "", r["image"] or ""))
    return {"rows": rows, "totals": totals(rows), "skippedLines": parsed.skipped_lines}


def totals(rows):
    """The footer: rows per outcome, and per node and outcome."""
    by_outcome = Counter(r["outcome"] for r in rows)
    by_node = {}
    for row in rows:
        by_node.setdefault(row["node"], Counter())[row["outcome"]] += 1
    return {
        "byOutcome": dict(sorted(by_outcome.items())),
        "byNode": {node: dict(sorted(c.items())) for node, c in sorted(by_node.items(), key=lambda i: i[0] or "")},
    }


def run_failures(result):
    """The rows that say a worker container failed as a whole: (node, detail naming the container)."""
    return [(r["node"], r["detail"]) for r in result["rows"] if r["outcome"] == RUN_FAILED]
