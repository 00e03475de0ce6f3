"""The history's query: Eraser's report computed by Log Analytics itself, over Container Insights' tables (pure:
text out).

The service holds every line each worker container wrote (../shared/container-insights.md §2): ContainerLogV2,
whose `LogMessage` is dynamic (a JSON line kept as an object, in the service's own key order), and the legacy
ContainerLog, which has the line's text but no pod name or namespace and is joined with KubePodInventory on
ContainerID for them, as the AKS article's query does. Sending those lines to az would send hundreds of MB for a
medium fleet's month, past the query API's answer limits (§4, §6). So the query reads them where they are, with
the rules the live report reads pods' logs with (`eraser.statements`: the messages as a datatable, the rest below, each
step named after the Python it mirrors in `eraser.report`), and answers what is printed:

- one cluster: the report's rows (a row per node, worker pod and image; a container that failed as a whole; a
  message of its own), with the skipped lines' count and the summary;
- a fleet: per cluster, a row per image and outcome over the window (`nodes`, `runs`, `first`, `last`,
  `vulnerable` in any run, the latest `detail`), the rows per node and outcome, the skipped lines and the summary.

Every answer row has `Kind` ("row", "image", "node", "skipped", "summary"); they are read by column name.
Eraser's lines in zap's JSON are what AKS writes (Image Cleaner runs Eraser at the info level, and AKS reverts
edits to its config: ../shared/image-cleaner.md); the console lines of `--log-level=debug` are read live only, and
count here as lines skipped, as any other line that is not Eraser's.
"""

import json

from azext_imagecleaner.eraser import statements as st

NAMESPACE = st.NAMESPACE
ROW, IMAGE, NODE, SKIPPED, SUMMARY = "row", "image", "node", "skipped", "summary"
# A query's part of a cluster's nodes: nodes fall into 256 buckets by the first byte of their name's SHA-256, and a
# part is `k of n` of them. All of a node's lines stay in one part: its rows need nothing of other nodes' lines.
BUCKETS = 256


def _s(value):
    """A KQL string literal (JSON's escapes are KQL's)."""
    return json.dumps(value)


def _list(values):
    return ", ".join(_s(v) for v in values)


def _rules_table():
    """`eraser.statements.RULES` as a datatable, one row per logger kind and message."""
    rank = {verdict: number for number, verdict in enumerate(st.VERDICT_PRIORITY)}
    rows = []
    for (kind, text), m in sorted(st.RULES.items()):
        rows.append(
            f"{_s(kind)}, {_s(text)}, {_s(m.row)}, {_s(m.verdict or '')}, {rank.get(m.verdict, -1)}, "
            f"{_s(m.images or '')}, {str(m.scanned).lower()}, {str(m.finished).lower()}, {str(m.inventory).lower()}, "
            f"{_s(m.given or '')}"
        )
    columns = (
        "Kind:string, Msg:string, Rule:string, Verdict:string, VerdictRank:int, VerdictOn:string, Scanned:bool, "
        "Finished:bool, Inventory:bool, GivenDefault:string"
    )
    return f"datatable({columns}) [\n    " + ",\n    ".join(rows) + "\n]"


def part_buckets(part):
    """The two-hex-digit buckets of part (k, n) of a cluster's nodes."""
    k, n = part
    return [f"{b:02x}" for b in range(BUCKETS) if b % n == k]


def query(resource_ids=None, fleet=False, part=None):
    """The KQL text. `resource_ids`: only these clusters (a workspace's query for a fleet; the service stores
    `_ResourceId` in lower case); `fleet`: answer per image and node instead of the rows; `part`: (k, n), only
    part k of n of each cluster's nodes (`part_buckets`)."""
    lets, answer = statements(resource_ids, fleet, part)
    return f"{lets}\n{answer}"


def statements(resource_ids=None, fleet=False, part=None, hours=None):
    """(the `let` statements, the answer's expression): `query` in two, for a query that answers more than this
    one (`monitor.check_query`). `hours`: only the lines of the last `hours`, where that query's window is longer."""
    lets, only = [], ""
    if hours:
        only += f"\n| where TimeGenerated > ago({int(hours)}h)"
    if resource_ids:
        lets.append(f"let clusters = dynamic([{_list(i.lower() for i in resource_ids)}]);")
        only += "\n| where _ResourceId in (clusters)"
    if part and part[1] > 1:
        lets.append(f"let buckets = dynamic([{_list(part_buckets(part))}]);")
        only += "\n| where substring(hash_sha256(Computer), 0, 2) in (buckets)"
    workers = " or ".join(f"{{name}} startswith {_s(p)}" for p in st.WORKER_PREFIXES)
    kinds = ", ".join(
        f"Logger in ({_list(n for n, k in st.LOGGERS.items() if k == kind)}), {_s(kind)}" for kind in st.KINDS
    )
    image_fields = " or ".join(f"isnotnull(Entry.{f})" for f in st.IMAGE_FIELDS)
    panics = " or ".join(f"Text startswith {_s(p)}" for p in st.PANICS)
    failures, vulnerable, clean = (_list(v) for v in (st.FAILURES, st.VULNERABLE_SCANS, st.CLEAN_SCANS))
    verdict_names = ", ".join(f"Rank == {n}, {_s(v)}" for n, v in enumerate(st.VERDICT_PRIORITY))
    text = "\n".join(
        [
            *lets,
            f"let rules = {_rules_table()};",
            # --- the lines, both schemas: Entry (an object for a JSON line) and Text (a line that is not one).
            f"let v2 = ContainerLogV2{only}",
            f"| where PodNamespace == {_s(NAMESPACE)} and ({workers.format(name='PodName')})",
            "| project TimeGenerated, _ResourceId, Node = Computer, Pod = PodName, Container = ContainerName, "
            'Entry = LogMessage, Raw = "";',
            f"let pods = KubePodInventory{only}",
            f"| where Namespace == {_s(NAMESPACE)} and ({workers.format(name='Name')})",
            "| distinct ContainerID, Pod = Name;",
            f"let v1 = ContainerLog{only}",
            "| join kind=inner (pods) on ContainerID",
            "| project TimeGenerated, _ResourceId, Node = Computer, Pod, "
            'Container = tostring(split(Name, "/")[1]), Entry = parse_json(LogEntry), Raw = LogEntry;',
            # _report.read_line and object_entry: Eraser's lines (a JSON object with its logger and a message), each
            # with what its message means (`rules`).
            "let lines = union v1, v2",
            "| extend Logger = tostring(Entry.logger)",
            f'| extend Kind = case({kinds}, "")',
            "| extend Eraser = isnotempty(Kind) and isnotnull(Entry.msg)",
            '| extend Msg = iff(Eraser, tostring(Entry.msg), "")',
            "| lookup kind=leftouter rules on Kind, Msg",
            # A line of the run's context that says nothing more is read no further.
            f'| where not(Eraser) or Rule != "{st.CONTEXT}" or isnotempty(Verdict) or Scanned or Finished or Inventory',
            "| extend Order = (TimeGenerated - datetime(1970-01-01)) / 1s",
            "| project-away TimeGenerated;",
            # The other lines as text (a JSON line re-serialized: it starts with "{", so it is neither a panic nor
            # the rest of one): skipped and counted, but for a panic's first line and what belongs to an earlier
            # line (`eraser.statements.CONTINUATION`).
            "let unread = lines",
            "| where not(Eraser)",
            "| extend Text = iff(isempty(Raw), tostring(Entry), Raw)",
            f"| extend Panic = {panics}, Continues = Text matches regex {_s(st.CONTINUATION)};",
            "let skipped = unread",
            "| where not(Panic or Continues)",
            f'| summarize Count = count() by _ResourceId | extend Kind = "{SKIPPED}";',
            # eraser.report._read_entry: the row a line makes (`statements.row_outcome`), its image, detail and key.
            "let facts = lines",
            "| where Eraser",
            f"| extend Level = tostring(Entry.level), HasImage = {image_fields}",
            f'| extend Rule = iff(isempty(Rule), "{st.UNKNOWN}", Rule)',
            "| extend Outcome = case(",
            f'    Rule == "{st.CONTEXT}", "",',
            f'    Rule == "{st.NOT_FATAL}", iff(Kind == "{st.SCANNER}" and HasImage, "", "{st.OTHER}"),',
            f'    Rule == "{st.UNKNOWN}", iff(Level == "error" and not(HasImage), "{st.RUN_FAILED}", "{st.OTHER}"),',
            "    Rule)",
            "| where isnotempty(Outcome)",
            '| extend Error = iff(isnull(Entry.error), "", '
            'replace_regex(trim(@"\\s+", tostring(Entry.error)), @"\\s*\\n\\s*", "; "))',
            "| extend Names = iff(isnotnull(array_length(Entry.name)), Entry.name, Entry.name.names)",  # v0.x: an array
            "| extend ImageId = coalesce(tostring(Entry.imageID), tostring(Entry.digest), "
            "tostring(Entry.name.image_id))",
            "| extend Given = coalesce(tostring(Entry.given), tostring(Entry.image), GivenDefault)",
            "| extend Image = coalesce(tostring(Names[0]), Given, tostring(Entry.name.digests[0]))",
            f'| extend Image = iff(Outcome == "{st.RUN_FAILED}", "", Image), '
            f'ImageId = iff(Outcome == "{st.RUN_FAILED}", "", ImageId)',
            '| extend Suffix = iff(isempty(Error), "", strcat(": ", Error))',
            "| extend Detail = case(",
            f'    Outcome == "{st.RUN_FAILED}", strcat(Container, ": ", Msg, Suffix),',
            f'    Outcome == "{st.OTHER}", strcat(Logger, ": ", Msg, Suffix),',
            f'    Outcome == "{st.FAILED}", iff(isempty(Error), "some images could not be removed", Error),',
            "    Error)",
            "| extend RowKey = case(",
            f'    Outcome == "{st.RUN_FAILED}", strcat("run|", Container, "|", Msg),',
            '    isnotempty(ImageId) or isnotempty(Image), strcat("image|", coalesce(ImageId, Image)),',
            '    strcat("message|", Container, "|", Msg))',
            "| extend Seconds = todouble(Entry.ts)",
            "| extend Time = iff(isnull(Seconds), datetime(null), datetime(1970-01-01) + tolong(Seconds) * 1s);",
            # A Go panic's first line: its container failed as a whole (no time: the line has none).
            "let panics = unread",
            "| where Panic",
            # (its first line: multi-line logging keeps the whole dump as one entry)
            f'| extend Outcome = "{st.RUN_FAILED}", Detail = strcat(Container, ": ", tostring(split(Text, "\\n")[0])), '
            'RowKey = strcat("run|", Container, "|panic"), Image = "", ImageId = "", Time = datetime(null);',
            # _report._add_row: a row is its first failure's line, or else its first line; its image and digest the
            # first ones any of its lines gave.
            "let chosen = union facts, panics",
            f"| extend Pick = iff(Outcome in ({failures}), 0.0, 1e10) + Order, Digest = ImageId, "
            "ImagePick = iff(isempty(Image), 1e11, Order), DigestPick = iff(isempty(ImageId), 1e11, Order)",
            "| summarize arg_min(Pick, Outcome, Detail, Container, Time), arg_min(ImagePick, Image), "
            "arg_min(DigestPick, Digest) by _ResourceId, Node, Pod, RowKey;",
            # _report._mark, _scanned and the inventory: the images a line is about, each with its keys (ID, names,
            # digests; or a name alone).
            "let about = lines",
            "| where Eraser and (isnotempty(Verdict) or Scanned or Inventory)",
            "| extend Items = case(",
            '    VerdictOn == "img", pack_array(Entry.img),',
            '    VerdictOn == "Images", Entry.Images,',
            '    VerdictOn == "imageID", pack_array(Entry.imageID),',
            '    Scanned, pack_array(bag_pack("image_id", Entry.imageID, "names", Entry.refs)),',
            '    Inventory, coalesce(Entry["finalImages:"], Entry.finalImages),',
            "    dynamic([]))",
            "| mv-expand Item = Items",
            "| where isnotnull(Item)",
            "| extend IsName = isnull(Item.image_id)",  # v0.x: a name, not an object
            '| extend Id = iff(IsName, "", tostring(Item.image_id)), '
            "ItemNames = iff(IsName or isnull(Item.names), dynamic([]), Item.names), "
            "ItemDigests = iff(IsName or isnull(Item.digests), dynamic([]), Item.digests)",
            # _report._keys: its ID, or where it gives none (v0.x), its names.
            "| extend Keys = case(IsName, pack_array(tostring(Item)), isnotempty(Id), pack_array(Id), "
            "array_concat(ItemNames, ItemDigests));",
            # _report._remember: the names each node knew an image ID by, in every line of the window; the first
            # name of the first line that named it.
            "let named = union",
            "    (about | where isnotempty(Id) | project _ResourceId, Node, Order, Id, ItemNames),",
            "    (facts | where isnotempty(ImageId) and isnotnull(Names) | "
            "project _ResourceId, Node, Order, Id = ImageId, ItemNames = Names)",
            "| where array_length(ItemNames) > 0;",
            "let names = named",
            "| extend FirstName = tostring(ItemNames[0])",
            "| mv-expand Name = ItemNames | extend Name = tostring(Name)",
            "| summarize arg_min(Order, FirstName), AllNames = make_set(Name) by _ResourceId, Node, Id",
            "| project _ResourceId, Node, Digest = Id, FirstName, AllNames;",
            # What each run's scanner said of each key: its best verdict, and whether it scanned it.
            "let evidence = about",
            "| mv-expand Key = Keys | extend Key = tostring(Key) | where isnotempty(Key)",
            "| extend Rank = iff(isempty(Verdict), 99, VerdictRank), WasScanned = iff(Scanned or Inventory, 1, 0)",
            "| summarize Rank = min(Rank), WasScanned = max(WasScanned) by _ResourceId, Node, Pod, Key;",
            "let finished = lines | where Eraser and Finished | distinct _ResourceId, Node, Pod | extend Done = 1;",
            # _report.report: names joined in by image ID, then each row's scan, by its ID and names.
            "let named_rows = chosen",
            "| join kind=leftouter (names) on _ResourceId, Node, Digest",
            "| extend Image = iff(isnotempty(FirstName) and (isempty(Image) or Image == Digest or "
            'Image matches regex @"^sha256:[0-9a-f]{64}$"), FirstName, Image)',
            '| extend RowId = strcat(_ResourceId, "|", Node, "|", Pod, "|", RowKey), '
            "Keys = array_concat(pack_array(Digest, Image), iff(isnull(AllNames), dynamic([]), AllNames));",
            "let scans = named_rows",
            "| project RowId, _ResourceId, Node, Pod, Keys",
            "| mv-expand Key = Keys | extend Key = tostring(Key)",
            "| join kind=inner (evidence) on _ResourceId, Node, Pod, Key",
            "| summarize Rank = min(Rank), WasScanned = max(WasScanned) by RowId;",
            "let rows = named_rows",
            "| join kind=leftouter (scans) on RowId",
            "| join kind=leftouter (finished) on _ResourceId, Node, Pod",
            f'| extend Scan = case(Outcome == "{st.RUN_FAILED}", "", Rank < 99, case({verdict_names}, ""), '
            f'Done == 1 and WasScanned == 1, "{st.CLEAN}", "")',
            "| project _ResourceId, Node, Pod, Container, Image, Digest, Outcome, Scan, Detail, Time;",
            # history._summary's figures, in one place for one cluster and a fleet.
            "let summary = rows",
            f'| summarize ImagesRemoved = countif(Outcome == "{st.REMOVED}"), '
            f'VulnerableRemoved = countif(Outcome == "{st.REMOVED}" and Scan in ({vulnerable})), '
            f"Failures = countif(Outcome in ({failures})), LastRun = max(Time) by _ResourceId",
            f'| extend Kind = "{SUMMARY}";',
        ]
    )
    if not fleet:
        return text, f'union (rows | extend Kind = "{ROW}"), skipped, summary'
    fleet_lets = "\n".join(
        [
            text,
            # A row per image and outcome over the window; a row without an image (a container's failure, a message
            # of its own) per detail. Its detail is the latest row's that has one.
            "let images = rows",
            f"| extend Vulnerable = Scan in ({vulnerable}), Clean = Scan in ({clean}), "
            f'DetailKey = iff(Outcome == "{st.RUN_FAILED}" or (isempty(Image) and isempty(Digest)), Detail, ""), '
            "DetailPick = iff(isempty(Detail), -1.0, iff(isnull(Time), 0.0, (Time - datetime(1970-01-01)) / 1s))",
            "| summarize Nodes = dcount(Node), Runs = count(), First = min(Time), Last = max(Time), "
            "VulnerableRuns = countif(Vulnerable), CleanRuns = countif(Clean), arg_max(DetailPick, Detail) "
            "by _ResourceId, Image, Digest, Outcome, DetailKey",
            f'| project-away DetailKey | extend Kind = "{IMAGE}";',
            f'let nodes = rows | summarize Count = count() by _ResourceId, Node, Outcome | extend Kind = "{NODE}";',
        ]
    )
    return fleet_lets, "union images, nodes, skipped, summary"
