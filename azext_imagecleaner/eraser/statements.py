"""What Eraser's worker containers log, as data: which logger is which container, and what each message means.

One definition for both readings: the live one (`eraser.report`, Python over the pods' logs) and the history's query
(`monitor.history_query`, KQL the service runs over Container Insights' tables), each built from the tables here. The
messages and their fields follow ../shared/eraser-log-statements.md (every statement of Eraser v1.0.0 to v1.4.1,
from its source, and the v0.x messages of older pastes).

A message means, for the report's rows: nothing of its own (CONTEXT: the run went as planned), an outcome for the
image it names (the remover's), or NOT_FATAL: an error after which the container carries on ("other", with its
text). A message this table does not know is "other" too, except an error that names no image: its container ended
there ("run failed"). Beside its row, a message may say more: the scanner's verdict on the images of one field, what
the scanner scanned, that the scan is over, or the collector's inventory of candidates.
"""

import re
from typing import NamedTuple

REMOVED, EXCLUDED, RUNNING, NOT_ON_NODE, FAILED, RUN_FAILED, OTHER = (
    "removed",
    "excluded",
    "running",
    "not on node",
    "removal failed",
    "run failed",
    "other",
)
FAILURES = (FAILED, RUN_FAILED)
VULNERABLE, END_OF_LIFE, CLEAN, SCAN_FAILED = "vulnerable", "vulnerable (end of life)", "clean", "scan failed"
# A row's scan, as `vulnerable`: True, False, or unknown (None) for every other scan.
VULNERABLE_SCANS, CLEAN_SCANS = (VULNERABLE, END_OF_LIFE), (CLEAN,)
# Where verdicts on one image in one run disagree, the first of these holds: end of life is logged before the image's
# `vulnerable image found`, and an image with a failing reference may still be found vulnerable through another.
VERDICT_PRIORITY = (END_OF_LIFE, VULNERABLE, SCAN_FAILED)

NAMESPACE = "kube-system"  # Image Cleaner's, on AKS
# The worker pods: `eraser-<node>-xxxxx` in kube-system (AKS node names begin with `aks-`); `collector-` before v1.0.
WORKER_PREFIXES = ("eraser-aks-", "collector-aks-")
COLLECTOR, REMOVER, SCANNER = "collector", "remover", "scanner"
# Each logger and the container it is: `eraser` is the remover in v1.0.0 and before; the scanner's logger is
# `scanner` (v1.x) or `trivy-scanner`.
LOGGERS = {"collector": COLLECTOR, "remover": REMOVER, "eraser": REMOVER, "scanner": SCANNER, "trivy-scanner": SCANNER}
KINDS = (COLLECTOR, REMOVER, SCANNER)
ANY = "*"

CONTEXT, NOT_FATAL, UNKNOWN = "context", "not fatal", "unknown"
# The fields that name the image a line is about (their presence, whatever their value).
IMAGE_FIELDS = ("given", "imageID", "digest", "name", "image", "img")

# A line that is not Eraser's but belongs to one that was: a Go panic's dump or a stack under a console-format error
# (zap's development encoder), or a blank line. Not counted as skipped.
CONTINUATION = (
    r"^(\s*$|\s|goroutine \d+|created by |\[signal |\[recovered\]|exit status \d"
    # a stack frame's function (main.main, github.com/x/y.(*T).M), with its arguments in a panic's dump; never a
    # quote, which every part of a long JSON line cut in pieces has (../shared/container-insights.md §2)
    r'|[\w.-]+(/[\w.%-]+)*\.[^\s"]*?(\([^"]*\))?$)'
)
# A Go runtime failure: the first line of its dump (the container ends with it).
PANICS = ("panic: ", "fatal error: ")


class Message(NamedTuple):
    kind: str  # the container whose logger writes it, or ANY
    text: str
    row: str  # CONTEXT, NOT_FATAL, or the outcome for the image the line names
    verdict: str | None = None  # the scanner's verdict...
    images: str | None = None  # ...on the images of this field: "img" (one), "Images" (a list), "imageID"
    scanned: bool = False  # the scanner scanned `imageID` (also known as `refs`)
    finished: bool = False  # the scanner is done: what it scanned and found no fault with is clean
    inventory: bool = False  # the collector's candidates, under `finalImages:`
    given: str | None = None  # the image when the line names none


_CONTEXT_MESSAGES = (
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
)
# Errors after which the container carries on (Eraser v1.4.1's source: no os.Exit after them).
_NOT_FATAL_MESSAGES = (
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
)
_REMOVER_OUTCOMES = (
    ("removed image", REMOVED),
    ("image is excluded", EXCLUDED),
    ("image is running", RUNNING),
    ("image is not on node", NOT_ON_NODE),
    ("error removing image", FAILED),
    # v0.1 to v0.3 (statements table, "v0.x"): capitalised, the image under `image`.
    ("Removed", REMOVED),
    ("Image is excluded", EXCLUDED),
    ("Image is running", RUNNING),
    ("Image is not on node", NOT_ON_NODE),
    ("Error removing", FAILED),
)
_SCAN_FAILURES = (
    "error scanning image",
    "error unmarshaling report",
    "could not find image by reference",
    "error registering config for artifact",
)
_SCAN_FINISHED = (
    "scanning complete, waiting for remover to finish...",
    "scanning complete, waiting for eraser to finish...",
    "scanning complete, exiting",
)

MESSAGES = (
    *(Message(ANY, text, CONTEXT) for text in _CONTEXT_MESSAGES),
    *(Message(ANY, text, NOT_FATAL) for text in _NOT_FATAL_MESSAGES),
    *(Message(REMOVER, text, outcome) for text, outcome in _REMOVER_OUTCOMES),
    # A failed prune names no image: it is about the list's `*`. Logged at info level (helpers.go:124).
    Message(REMOVER, "error during prune", FAILED, given="*"),
    Message(REMOVER, "Error during prune", FAILED, given="*"),
    Message(SCANNER, "vulnerable image found", CONTEXT, verdict=VULNERABLE, images="img"),
    Message(SCANNER, "image is end of life", CONTEXT, verdict=END_OF_LIFE, images="imageID"),
    *(Message(SCANNER, text, NOT_FATAL, verdict=SCAN_FAILED, images="imageID") for text in _SCAN_FAILURES),
    # The summaries: one line listing every image, which Container Insights keeps in parts past 16 KB
    # (../shared/container-insights.md §2). Nothing depends on them alone: each image has a line of its own above,
    # and the end of the scan has lines of its own below.
    Message(SCANNER, "Vulnerable", CONTEXT, verdict=VULNERABLE, images="Images", finished=True),
    Message(SCANNER, "Failed", CONTEXT, verdict=SCAN_FAILED, images="Images", finished=True),
    *(Message(SCANNER, text, CONTEXT, finished=True) for text in _SCAN_FINISHED),
    Message(SCANNER, "scanning image with id", CONTEXT, scanned=True),
    Message(COLLECTOR, "images collected", CONTEXT, inventory=True),
)


def _by_kind():
    """{(kind, text): Message}: each message of ANY for every kind that has no rule of its own for it."""
    specific = {(m.kind, m.text): m for m in MESSAGES if m.kind != ANY}
    found = dict(specific)
    for message in MESSAGES:
        if message.kind == ANY:
            for kind in KINDS:
                found.setdefault((kind, message.text), message._replace(kind=kind))
    return found


RULES = _by_kind()
_UNKNOWN = {kind: Message(kind, "", UNKNOWN) for kind in KINDS}


def rule(kind, text):
    """What message `text` of a `kind` logger means (UNKNOWN for a message this table does not know)."""
    return RULES.get((kind, text)) or _UNKNOWN[kind]


def row_outcome(message, level, has_image):
    """The outcome of the row a line makes, or None when it makes none: CONTEXT makes none; a scanner's non-fatal
    error about an image is that image's verdict, not a row; an unknown error that names no image ended its
    container."""
    if message.row == CONTEXT:
        return None
    if message.row == NOT_FATAL:
        return None if message.kind == SCANNER and has_image else OTHER
    if message.row == UNKNOWN:
        return RUN_FAILED if level == "error" and not has_image else OTHER
    return message.row


def vulnerable(scan):
    return True if scan in VULNERABLE_SCANS else False if scan in CLEAN_SCANS else None


_CONTINUATION = re.compile(CONTINUATION)


def is_continuation(text):
    return _CONTINUATION.match(text) is not None


def error_text(error):
    """An `error` field on one line, zap's `stacktrace` being a field of its own: each line trimmed, joined by "; "."""
    text = str(error).strip() if error else ""
    return re.sub(r"\s*\n\s*", "; ", text) if text else None
