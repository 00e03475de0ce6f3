"""Table output of the image-cleaner commands (az calls these only for `-o table`)."""


def status_table(result):
    run = result.get("lastManualRun") or {}
    return [
        {
            "Name": result["name"],
            "Enabled": result["enabled"],
            "IntervalHours": result["intervalHours"],
            "Eraser": result.get("eraserVersion") or "-",
            "LastRun": run.get("state"),
            "Success": run.get("success"),
            "Failed": run.get("failed"),
            "Skipped": run.get("skipped"),
            "WorkerPods": len(result.get("workerPods") or []),
        }
    ]


def run_table(result):
    status = result.get("status") or {}
    return [
        {
            "Images": " ".join(result["images"]),
            "Replaced": result["replacedPrevious"],
            "Success": status.get("success"),
            "Failed": status.get("failed"),
            "Skipped": status.get("skipped"),
        }
    ]


def exclusion_table(rows):
    return [
        {
            "ConfigMap": r["configMap"],
            "Kind": r["kind"],
            "Key": r["key"] or "-",
            "Excluded": ", ".join(r["excluded"]) or "-",
            "Problem": r["problem"] or "",
        }
        for r in (rows if isinstance(rows, list) else [rows])
    ]


def logs_table(entries):
    return [
        {
            "Pod": e["pod"],
            "Node": e["node"],
            "Container": e["container"],
            "Phase": e.get("phase"),
            "Lines": e["lines"],
            "File": e.get("file", ""),
        }
        for e in entries
    ]


_SCAN_WORDS = {"vulnerable": "yes", "vulnerable (end of life)": "yes (end of life)", "clean": "no"}


def report_table(result):
    """A row per node and image, then a footer row per node and one for all nodes with the outcome counts; for a
    fleet's history, a row per cluster with its summary."""
    if isinstance(result, list):
        if result and "query" in result[0]:  # a fleet's --show-query
            return [
                {"Workspace": r["workspace"] or "-", "Resource": r["resource"] or "-", "Query": r["query"]}
                for r in result
            ]
        return fleet_history_table(result)
    if "query" in result:  # --show-query
        return [{"Query": result["query"]}]
    rows = [
        {
            "Node": r["node"] or "-",
            "Image": r["image"] or "-",
            "Digest": (r["digest"] or "-")[:19],  # sha256: and 12 hex digits, as `crictl images` shows an ID
            "Outcome": r["outcome"],
            "Vulnerable": _SCAN_WORDS.get(r.get("scan"), r.get("scan") or "-"),
            "Time": r["time"] or "-",
            "Detail": r["detail"] or "",
        }
        for r in result["rows"]
    ]
    totals = result["totals"]
    footer = [(node or "-", counts) for node, counts in totals["byNode"].items()]
    footer.append(("all nodes", totals["byOutcome"]))
    # The counts go in the last column, so they do not widen the Outcome column beyond its words.
    for node, counts in footer:
        rows.append(
            {
                "Node": node,
                "Image": "(total)",
                "Digest": "",
                "Outcome": "",
                "Vulnerable": "",
                "Time": "",
                "Detail": _counts(counts),
            }
        )
    return rows


def fleet_history_table(rows):
    """A row per cluster: what its history holds over the window, or why there is none."""
    table = []
    for row in rows:
        summary = row.get("summary") or {}
        table.append(
            {
                "Name": row["name"],
                "ResourceGroup": row["resourceGroup"],
                "History": row["history"],
                "ImagesRemoved": summary.get("imagesRemoved", "-"),
                "VulnerableRemoved": summary.get("vulnerableRemoved", "-"),
                "Failures": summary.get("failures", "-"),
                "LastRun": summary.get("lastRun") or "-",
            }
        )
    return table


def coverage_table(result):
    """A row per node of one cluster (status, reason, last run, runs); for a fleet, a row per cluster (nodes,
    covered, gaps, the latest run, preempted pods)."""
    if isinstance(result, list):
        if result and "query" in result[0]:  # a fleet's --show-query
            return [
                {"Workspace": r["workspace"] or "-", "Resource": r["resource"] or "-", "Query": r["query"]}
                for r in result
            ]
        table = []
        for row in result:
            summary = row.get("summary") or {}
            table.append(
                {
                    "Name": row["name"],
                    "ResourceGroup": row["resourceGroup"],
                    "Coverage": row["coverage"],
                    "Nodes": summary.get("nodes", "-"),
                    "Covered": summary.get("covered", "-"),
                    "Gaps": summary.get("gaps", "-"),
                    "LatestRun": summary.get("latestRun") or "-",
                    "Preempted": summary.get("preemptedPods", "-"),
                }
            )
        return table
    if "query" in result:  # --show-query
        return [{"Query": result["query"]}]
    return [
        {
            "Node": n["node"],
            "Status": n["status"],
            "LastRun": n["lastRun"] or "-",
            "Runs": n["runs"],
            "Reason": n["reason"] or "",
        }
        for n in result["nodes"]
    ]


def _counts(counts):
    return ", ".join(f"{outcome} {n}" for outcome, n in counts.items()) or "nothing"


def fleet_list_table(rows):
    return [
        {
            "Name": r["name"],
            "ResourceGroup": r["resourceGroup"],
            "Subscription": r["subscription"],
            "Enabled": r["enabled"],
            "IntervalHours": r["intervalHours"] if r["intervalHours"] is not None else "-",
            "WindowsPools": r["windowsPools"],
        }
        for r in rows
    ]


def fleet_set_table(rows):
    return [
        {
            "Name": r["name"],
            "ResourceGroup": r["resourceGroup"],
            "Result": r["result"],
            "Before": r["before"] or "-",
            "After": r["after"] or "-",
            "Error": r["error"] or "",
        }
        for r in rows
    ]


def check_table(result):
    """A row per check of one cluster (status, detail, fix); for a fleet, a row per cluster with its failing and
    warning checks."""
    if isinstance(result, list):
        return [
            {
                "Name": row["name"],
                "ResourceGroup": row["resourceGroup"],
                "Fail": ", ".join(row["fail"]) or "-",
                "Warn": ", ".join(row["warn"]) or "-",
                "Pass": row["summary"]["pass"],
                "Skip": row["summary"]["skip"],
            }
            for row in result
        ]
    return [
        {"Check": c["name"], "Status": c["status"], "Detail": c["detail"], "Fix": c["fix"] or ""}
        for c in result["checks"]
    ]
