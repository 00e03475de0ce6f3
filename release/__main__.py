"""`python -m release --base-url URL --out DIR --wheel WHEEL`: the files of a release in DIR, then their checks.

Writes DIR/<wheel>, DIR/index.json (an existing one gets the entry appended, as `azdev extension update-index`
does) and DIR/SHA256SUMS (every wheel the index lists from DIR). Exits 1, naming each problem, when a check fails;
the files stay for a look. scripts/release.sh builds the wheel and calls this.
"""

import argparse
import json
import os
import shutil
import sys

from release import index

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="release", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="where DIR's files will be served from (HTTPS)")
    parser.add_argument("--out", required=True, help="the release folder")
    parser.add_argument("--wheel", required=True, help="the built wheel")
    args = parser.parse_args(argv)
    if not args.base_url.startswith("https://"):
        parser.error(f"--base-url {args.base_url}: give the HTTPS address the files will be served from")

    os.makedirs(args.out, exist_ok=True)
    wheel = os.path.join(args.out, os.path.basename(args.wheel))
    if os.path.abspath(wheel) != os.path.abspath(args.wheel):
        shutil.copyfile(args.wheel, wheel)
    index_path = os.path.join(args.out, "index.json")
    existing = None
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as f:
            existing = json.load(f)
    written = index.with_entry(existing, index.entry(wheel, args.base_url))
    with open(index_path, "w", encoding="utf-8") as f:
        json.dump(written, f, indent=4, sort_keys=True)
        f.write("\n")
    files = {
        e["filename"]: os.path.join(args.out, e["filename"])
        for entries in written["extensions"].values()
        for e in entries
        if os.path.exists(os.path.join(args.out, e["filename"]))
    }
    with open(os.path.join(args.out, "SHA256SUMS"), "w", encoding="utf-8") as f:
        f.write(index.sha256sums(files))

    versions = {}
    for where, read in (("setup.py", index.setup_version), ("HISTORY.rst's top entry", index.history_version)):
        with open(os.path.join(REPO, where.split("'")[0]), encoding="utf-8") as f:
            versions[where] = read(f.read())
    # The newest release is the one just built; earlier ones were checked when they were made.
    found = index.problems(written, {os.path.basename(wheel): wheel}, versions)
    for problem in found:
        print(f"release: {problem}", file=sys.stderr)
    if found:
        return 1
    for name in (os.path.basename(wheel), "index.json", "SHA256SUMS"):
        print(f"release: wrote {os.path.join(args.out, name)} ({os.path.getsize(os.path.join(args.out, name))} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
