"""`check`'s one Log Analytics query for one cluster (pure: text out, rows in): `coverage`'s query over its window,
`report`'s over the latest runs, and the table Eraser's lines are in, answered together.

The two queries' `let` statements share no name, and their answers' `Kind`s differ; each answer row also says which
query it belongs to (`Query`), so that each is read by its own reader (`eraser.coverage.from_rows`,
`monitor.history_rows.read`). The table matters because support for the legacy ContainerLog table was retired on
30 September 2026 (learn.microsoft.com/azure/azure-monitor/containers/container-insights-logs-schema).
"""

from azext_imagecleaner.monitor import coverage_query, history_query

COVERAGE, HISTORY, TABLES = "coverage", "history", "tables"
V2, LEGACY = "ContainerLogV2", "ContainerLog"


def query(history_hours):
    """The KQL text: coverage over the query's window; the history and the tables over the last `history_hours`."""
    coverage_lets, coverage_answer = coverage_query.statements()
    history_lets, history_answer = history_query.statements(hours=history_hours)
    return "\n".join(
        [
            coverage_lets,
            history_lets,
            # (`v1` and `v2`: the history's Eraser lines in each table)
            f'let tables = union (v2 | summarize Lines = count() by _ResourceId | extend Table = "{V2}"), '
            f'(v1 | summarize Lines = count() by _ResourceId | extend Table = "{LEGACY}");',
            f'union ({coverage_answer} | extend Query = "{COVERAGE}"), '
            f'({history_answer} | extend Query = "{HISTORY}"), '
            f'(tables | extend Query = "{TABLES}")',
        ]
    )


def read(rows):
    """{cluster resource ID (lower case): {"coverage": (Evidence, [Node], [preempted]) or None, "history": its history
    or None, "tables": {table: Eraser's lines in it}}} from the answer's rows."""
    from azext_imagecleaner.eraser import coverage
    from azext_imagecleaner.monitor import history_rows

    parts = {COVERAGE: [], HISTORY: [], TABLES: []}
    for row in rows:
        parts[row.get("Query")].append(row)
    tables = {}
    for row in parts[TABLES]:
        found = tables.setdefault((row.get("_ResourceId") or "").lower(), {})
        found[row.get("Table")] = int(row.get("Lines") or 0)
    coverages, histories = coverage.from_rows(parts[COVERAGE]), history_rows.read(parts[HISTORY])
    return {
        cluster: {
            "coverage": coverages.get(cluster),
            "history": histories.get(cluster),
            "tables": tables.get(cluster, {}),
        }
        for cluster in {*coverages, *histories, *tables}
    }
