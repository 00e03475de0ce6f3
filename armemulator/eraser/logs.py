"""The simulated Eraser's worker logs: what Eraser v1.4.1's collector, trivy-scanner and remover write.

Each statement, its level, logger and fields follow ../shared/eraser-log-statements.md (from Eraser v1.4.1's
source: pkg/remover/remover.go and helpers.go, pkg/collector, pkg/scanners/trivy), written as zap's
production JSON encoder writes them: level, float ts, logger, msg, the scanner's constant `provider`, the
call's fields in source order, then `error` and `stacktrace` on error lines.

- Manual runs (an ImageList) start only the remover, with the list file: `given` is the reference as listed.
- Scheduled runs start collector, trivy-scanner and remover: the collector drops excluded and running images
  silently, the scanner passes the vulnerable ones (and, with deleteFailedImages, those it could not scan) to
  the remover, whose `given` is then the image ID, the name only in the `name` object.
- Prune (`*`) logs `removed image` with only `digest`, and an excluded or failing image once per alias.
- Node faults: a runtime the containers cannot reach (the shape of eraser-dev/eraser#594), a scanner crash, or a
  vulnerability DB trivy cannot download (ghcr.io's rate limit, aquasecurity/trivy-db#442, trivy-action#389):
  then every image's scan fails, and with deleteFailedImages every unused image is removed.
"""

import hashlib
import json

IMAGE_LIST_PATH = "/run/eraser.sh/imagelist/images.json"
CRI_PATH = "/run/cri/cri.sock"
TRIVY_VERSION = "0.57.1"
RUNTIME_UNREACHABLE = "runtime-unreachable"
SCANNER_PANIC = "scanner-panic"
SCANNER_DB_UNAVAILABLE = "scanner-db-unavailable"
NODE_FAULTS = (RUNTIME_UNREACHABLE, SCANNER_PANIC, SCANNER_DB_UNAVAILABLE)
# trivy's error when ghcr.io refuses the DB download (the shape reported in aquasecurity/trivy-db#442).
DB_DOWNLOAD_ERROR = (
    "FATAL\tinit error: DB error: failed to download vulnerability DB: database download error: OCI repository "
    "error: 1 error occurred:\n\t* GET https://ghcr.io/v2/aquasecurity/trivy-db/manifests/2: TOOMANYREQUESTS: "
    "retry-after: 1.012357ms, allowed: 44000/minute"
)
_DIAL_ERROR = (
    'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: '
    f'dial unix {CRI_PATH}: connect: no such file or directory"'
)


def image_id(reference):
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def repo_digest(reference):
    name, _, tag = reference.rpartition(":")
    repository = name if name and "/" not in tag else reference
    return f"{repository}@sha256:{hashlib.sha256(('manifest' + reference).encode()).hexdigest()}"


def image_object(reference, aliases=()):
    """unversioned.Image as zap writes it: {"image_id", "names", "digests"}."""
    return {"image_id": image_id(reference), "names": [reference, *aliases], "digests": [repo_digest(reference)]}


def candidate_images(count, vulnerable):
    """What a node holds at real sizes (../shared/container-insights.md §6): `count` images no container uses,
    `vulnerable` of them found so by the scanner, every other one known by a second tag (its `latest`), as stale
    builds of a team's services are. Facts as NODE_IMAGES gives them (controller.py)."""
    images = {}
    for number in range(count):
        reference = f"myregistry.azurecr.io/team-{number % 7}/service-{number}:1.{number % 13}.{number}"
        facts = {"vulnerable": number < vulnerable, "running": False}
        if number % 2:
            facts["aliases"] = [reference.rsplit(":", 1)[0] + ":latest"]
        images[reference] = facts
    return images


class Writer:
    """Lines of one container, timestamped by `wall` (epoch seconds)."""

    def __init__(self, logger, wall):
        self.logger, self.wall, self.lines = logger, wall, []

    def info(self, msg, **fields):
        self._write("info", msg, fields)

    def error(self, msg, error, **fields):
        fields.update(error=error, stacktrace=f"main.main\n\t/workspace/pkg/{self.logger}/{self.logger}.go:66")
        self._write("error", msg, fields)

    def _write(self, level, msg, fields):
        entry = {"level": level, "ts": round(self.wall(), 7), "logger": self.logger, "msg": msg}
        if self.logger == "scanner":
            entry["provider"] = "trivy"
        entry.update(fields)
        self.lines.append(json.dumps(entry, separators=(",", ":")))  # zap writes compact JSON

    def text(self):
        return "\n".join(self.lines) + "\n" if self.lines else ""


def excluded(reference, exclusions, matches):
    return any(matches(p, reference) for p in exclusions)


def manual_run(node, inventory, images, exclusions, matches, wall, fault=None):
    """A manual run's remover log; returns ({"remover": text}, failed). Removes what it removed from inventory."""
    remover = Writer("remover", wall)
    remover.info("remover starting", imageListPtr=IMAGE_LIST_PATH, criPath=CRI_PATH)
    if fault == RUNTIME_UNREACHABLE:
        remover.error("failed to get image client", _DIAL_ERROR)
        return {"remover": remover.text()}, True
    remover.info("CRI client created successfully")
    remover.info("imageListPtr provided, parsing image list file", path=IMAGE_LIST_PATH)
    remover.info("attempting to parse image list file", path=IMAGE_LIST_PATH)
    remover.info("successfully parsed image list file", count=len(images), images=images)
    failed = _remove(remover, inventory, images, exclusions, matches)
    return {"remover": remover.text()}, failed


def scheduled_run(node, inventory, exclusions, matches, wall, fault=None):
    """A scheduled run's three logs; returns ({container: text}, failed)."""
    collector, scanner, remover = Writer("collector", wall), Writer("scanner", wall), Writer("remover", wall)
    remover.info("remover starting", imageListPtr="", criPath=CRI_PATH)
    if fault == RUNTIME_UNREACHABLE:
        collector.error("failed to get image client", _DIAL_ERROR)
        scanner.error("unable to read images from provider", "EOF")
        remover.error("failed to get image client", _DIAL_ERROR)
        return _texts(collector, scanner, remover), True
    # The collector leaves out running and excluded images, silently (helpers.go: no per-image line).
    unused = [r for r, facts in inventory.items() if not facts["running"] and not excluded(r, exclusions, matches)]
    objects = {r: image_object(r, inventory[r].get("aliases", ())) for r in unused}
    collector.info("images collected", **{"finalImages:": list(objects.values())})
    scanner.info("trivy version", **{"trivy version": TRIVY_VERSION})
    scanner.info("config", config={"deleteFailedImages": True, "deleteEOLImages": True})
    vulnerable, failed_scans = [], []
    for ref in unused:
        refs = objects[ref]["names"]
        scanner.info("scanning image with id", imageID=image_id(ref), refs=refs)
        scan_fails = inventory[ref].get("scan_fails") or fault == SCANNER_DB_UNAVAILABLE
        for name in refs:  # types.go: one line per reference tried, until one scans
            scanner.info("scanning image with ref", ref=name)
            if not scan_fails:
                break
        if fault == SCANNER_PANIC:
            # A Go panic goes to stderr, outside zap: the container log ends with it.
            scanner.lines += [
                "panic: runtime error: invalid memory address or nil pointer dereference",
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1a2b3c]",
                "",
                "goroutine 1 [running]:",
                "main.scan({0x0, 0x0}, {0xc0001a2000, 0x5, 0x8})",
                "\t/workspace/pkg/scanners/trivy/trivy.go:170 +0x1d",
            ]
            remover.info("CRI client created successfully")
            remover.info("imageListPtr is empty, waiting for scan erase path")
            return _texts(collector, scanner, remover), True
        facts = inventory[ref]
        if scan_fails:
            stderr = (
                DB_DOWNLOAD_ERROR
                if fault == SCANNER_DB_UNAVAILABLE
                else ("FATAL\timage scan error: unable to initialize a scanner: unsupported media type")
            )
            scanner.error("error scanning image", "exit status 1", imageID=image_id(ref), reference=ref, stderr=stderr)
            failed_scans.append(ref)
        elif facts["vulnerable"]:
            scanner.info("vulnerable image found", img=objects[ref])
            vulnerable.append(ref)
    scanner.info("Vulnerable", Images=[objects[r] for r in vulnerable], **{"Total count": len(vulnerable)})
    if failed_scans:
        scanner.info("Failed", Images=[objects[r] for r in failed_scans])
    scanner.info("scanning complete, waiting for remover to finish...")
    remover.info("CRI client created successfully")
    remover.info("imageListPtr is empty, waiting for scan erase path")
    remover.info("successfully created imagelist from scanned non-compliant images")
    # deleteFailedImages (default true): images the scanner could not scan go to the remover too.
    targets = [image_id(r) for r in vulnerable + failed_scans]
    failed = _remove(remover, inventory, targets, exclusions, matches)
    scanner.info("remover job completed, shutting down...")
    return _texts(collector, scanner, remover), failed


def _texts(collector, scanner, remover):
    return {"collector": collector.text(), "trivy-scanner": scanner.text(), "remover": remover.text()}


def _remove(remover, inventory, targets, exclusions, matches):
    """remover/helpers.go's loop over the list: the per-target branch, or prune for `*`."""
    by_id = {image_id(r): r for r in inventory}
    if targets == ["*"]:
        return _prune(remover, inventory, exclusions, matches)
    failed = False
    for given in targets:
        ref = given if given in inventory else by_id.get(given)
        if ref is None:
            remover.info("image is not on node", given=given)
            continue
        keys = {"given": given, "imageID": image_id(ref), "name": image_object(ref, inventory[ref].get("aliases", ()))}
        facts = inventory[ref]
        if facts["running"]:
            remover.info("image is running", **keys)
        elif excluded(ref, exclusions, matches):
            remover.info("image is excluded", **keys)
        elif facts.get("in_use"):
            failed = True
            remover.error("error removing image", _in_use_error(ref), **keys)
        else:
            del inventory[ref]
            remover.info("removed image", **keys)
    return failed


def _prune(remover, inventory, exclusions, matches):
    failed = False
    for ref, facts in list(inventory.items()):
        if facts["running"]:
            continue
        aliases = 3  # nonRunningImages holds the ID, each tag and each repo digest: one line per alias
        if excluded(ref, exclusions, matches):
            for _ in range(aliases):
                remover.info("image is excluded", imageID=image_id(ref), name=image_object(ref))
        elif facts.get("in_use"):
            failed = True
            for _ in range(aliases):
                remover.error("error removing image", _in_use_error(ref), imageID=image_id(ref), name=image_object(ref))
        else:
            del inventory[ref]
            remover.info("removed image", digest=image_id(ref))
    # helpers.go:122/124: both at info level, no fields.
    remover.info("error during prune" if failed else "prune successful")
    return failed


def _in_use_error(ref):
    return (
        f'rpc error: code = Unknown desc = failed to remove image "{image_id(ref)}": '
        "image is in use by a stopped container"
    )
