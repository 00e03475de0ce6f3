"""The Log Analytics query API: `POST /v1/workspaces/{customerId}/query` and `POST /v1{resourceId}/query`.

As ../shared/container-insights.md §4 describes it: the body is {"query", "timespan"}; the answer is
{"tables": [{"name", "columns": [{"name", "type"}], "rows"}]}, dynamic values as JSON text; a query that partly
fails answers 200 with its rows and an `error` object (a partial result); a query past the server's timeout is
504; throttling is 429 (both through the emulator's fault injection). The resource-centric form answers only
that resource's rows, from whichever workspace holds them. The token must be for the Log Analytics endpoint of
the cloud (`<endpoint>/.default`, §4), here the emulator's own address. Error codes and texts that the sources
do not give are the emulator's own.
"""

import json
import re
from dataclasses import dataclass

from armemulator.kusto import KqlError

_WORKSPACE = re.compile(r"^/v1/workspaces/(?P<workspace>[^/]+)/query$", re.IGNORECASE)
_RESOURCE = re.compile(r"^/v1(?P<resource>/subscriptions/.+)/query$", re.IGNORECASE)


class QueryError(Exception):
    def __init__(self, status, code, message, details=None, innererror=None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"code": code, "message": message, **({"details": details} if details else {})}}
        if innererror:
            self.body["error"]["innererror"] = innererror


def _refused(ex):
    """A query the service refuses, worded as it answers (Azure/azure-cli-extensions#3002, MicrosoftDocs/feedback#1792:
    BadArgumentError, then an innererror SyntaxError or SemanticError, then the engine's code and message). The
    innermost code and message here are Kusto.Language's (KS...), or the engine's where only it refused."""
    summary = "A recognition error occurred in the query." if ex.kind == "SyntaxError" else "A semantic error occurred."
    return QueryError(
        400,
        "BadArgumentError",
        "The request had some invalid properties",
        innererror={
            "code": ex.kind,
            "message": summary,
            "innererror": {"message": str(ex), "line": ex.line, "pos": ex.column, "token": ex.token},
        },
    )


def target(path):
    """("workspace", customer ID) or ("resource", resource ID) of a query path, or None."""
    match = _WORKSPACE.match(path)
    if match:
        return "workspace", match["workspace"]
    match = _RESOURCE.match(path)
    return ("resource", match["resource"]) if match else None


def check_token(claims, endpoint):
    if claims is None or str(claims.get("aud", "")).rstrip("/") != endpoint.rstrip("/"):
        raise QueryError(401, "AuthorizationRequiredError", "Valid authentication was not provided.")


@dataclass
class Limits:
    """What one answer may hold: 500,000 records and about 100 MiB (MicrosoftDocs/azure-monitor-docs
    includes/azure-monitor-limits-log-queries.md; Kusto's query-limits.md). Tests of the splitting lower them."""

    records: int = 500_000
    bytes: int = 100 * 1024 * 1024


def answer(logs, path, body, limits=None):
    """The query API's answer for `path` and its JSON `body`, within `limits`."""
    kind, value = target(path)
    text = (body or {}).get("query") if isinstance(body, dict) else None
    if not text:
        raise QueryError(400, "BadArgumentError", "The request had some invalid properties: a query is required.")
    if kind == "workspace" and value.lower() not in {c.lower() for c in logs.customer_ids()}:
        raise QueryError(404, "WorkspaceNotFoundError", f"The workspace {value} could not be found.")
    try:
        result = logs.query(
            text,
            body.get("timespan"),
            workspace=value.lower() if kind == "workspace" else None,
            resource=value if kind == "resource" else None,
        )
    except ValueError as ex:  # the timespan
        raise QueryError(400, "BadArgumentError", f"The request had some invalid properties: {ex}") from ex
    except KqlError as ex:
        raise _refused(ex) from ex
    rows, cut = _within(result.rows, limits or Limits())
    found = {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [{"name": name, "type": kind} for name, kind in result.columns],
                "rows": rows,
            }
        ]
    }
    if cut:
        found["error"] = _too_large(cut)
    return found


def _within(rows, limits):
    """(the rows that fit, what was exceeded or None): past a limit the service still answers 200, with the rows
    that fit (../shared/container-insights.md §4). The data size is the rows' JSON here."""
    if len(rows) > limits.records:
        rows, cut = rows[: limits.records], f"record count limit {limits.records}"
    else:
        cut = None
    size = 0
    for number, row in enumerate(rows):
        size += len(json.dumps(row)) + 1
        if size > limits.bytes:
            return rows[:number], f"data size limit {limits.bytes}"
    return rows, cut


def _too_large(limit):
    """A PartialError as the service words a cut answer: the engine's text and code in the detail's innererror
    ("Query result set has exceeded the internal data size limit 64000000 (E_QUERY_RESULT_SET_TOO_LARGE; see
    https://aka.ms/kustoquerylimits)", code -2133196797: microsoft/jupyter-Kqlmagic#77; the innererror under a
    PartialError's detail: Azure/azure-sdk-for-java#29243)."""
    return {
        "code": "PartialError",
        "message": "There were some errors when processing your query.",
        "details": [
            {
                "code": "EngineError",
                "message": "Something went wrong processing your query on the server.",
                "innererror": {
                    "code": "-2133196797",
                    "message": f"Query result set has exceeded the internal {limit} (E_QUERY_RESULT_SET_TOO_LARGE; "
                    "see https://aka.ms/kustoquerylimits)",
                    "severity": 2,
                    "severityName": "Error",
                },
            }
        ],
    }


def partial(full, keep):
    """`full` cut to its first `keep` rows, with the error a partly failed query answers with."""
    table = full["tables"][0]
    kept = table["rows"][: int(keep)] if keep is not None else table["rows"][: len(table["rows"]) // 2]
    return {
        "tables": [dict(table, rows=kept)],
        "error": {
            "code": "PartialError",
            "message": "There were some errors when processing your query.",
            "details": [
                {
                    "code": "EngineError",
                    "message": "Something went wrong processing your query on the server: part of the data could "
                    "not be read.",
                }
            ],
        },
    }
