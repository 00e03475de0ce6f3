"""The Log Analytics query API: `POST /v1/workspaces/{customerId}/query` and `POST /v1{resourceId}/query`.

As ../shared/container-insights.md §4 describes it: the body is {"query", "timespan"}; the answer is
{"tables": [{"name", "columns": [{"name", "type"}], "rows"}]}, dynamic values as JSON text; a query that partly
fails answers 200 with its rows and an `error` object (a partial result); a query past the server's timeout is
504; throttling is 429 (both through the emulator's fault injection). The resource-centric form answers only
that resource's rows, from whichever workspace holds them. The token must be for the Log Analytics endpoint of
the cloud (`<endpoint>/.default`, §4), here the emulator's own address. Error codes and texts that the sources
do not give are the emulator's own.
"""

import re

from armemulator.kusto import KqlError

_WORKSPACE = re.compile(r"^/v1/workspaces/(?P<workspace>[^/]+)/query$", re.IGNORECASE)
_RESOURCE = re.compile(r"^/v1(?P<resource>/subscriptions/.+)/query$", re.IGNORECASE)


class QueryError(Exception):
    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"code": code, "message": message, **({"details": details} if details else {})}}


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


def answer(logs, path, body):
    """The query API's answer for `path` and its JSON `body`."""
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
        raise QueryError(
            400,
            "BadArgumentError",
            "The request had some invalid properties",
            [{"code": "SyntaxError", "message": f"A recognition error occurred in the query: {ex}", "line": ex.line}],
        ) from ex
    return {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [{"name": name, "type": kind} for name, kind in result.columns],
                "rows": result.rows,
            }
        ]
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
