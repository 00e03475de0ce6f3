"""`POST /providers/Microsoft.ResourceGraph/resources`: a Resources query over the emulator's clusters.

Follows Resource Graph's documented behaviour:
- scope: the `subscriptions` given, or the subscriptions of the `managementGroups` given, or, with neither,
  every subscription of the caller's tenant;
- paging: `options.$top` rows a page (default 100, at most 1000), the next page with `options.$skipToken`.
  A page carries a `$skipToken` only when the results hold the `id` column; otherwise it is marked
  `resultTruncated` ("the effect of pagination" in the throttling guidance);
- throttling: a quota per user and time window, 15 queries per 5 seconds, reported on every answer as
  `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after` (hh:mm:ss); past it, 429 RateLimiting;
- the query runs on a real KQL engine (../../armemulator/kusto.py: duckdb-kql, as Log Analytics here) over the
  Resources and InsightsResources tables of the scope; a query it cannot run is 400 BadRequest with InvalidQuery
  and ParserFailure details;
- its data lags behind ARM: a change is seen `lag_seconds` after it was made (0 by default).
"""

import base64
import hashlib
import json
import math
import threading
import time

from armemulator import kusto, kustolanguage

QUOTA = 15
WINDOW_SECONDS = 5
DEFAULT_TOP = 100
MAX_TOP = 1000


class GraphError(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


# The Resources table: ARM's fields of each resource, the nested ones dynamic.
RESOURCES = [
    ("id", "string"),
    ("name", "string"),
    ("type", "string"),
    ("tenantId", "string"),
    ("kind", "string"),
    ("location", "string"),
    ("resourceGroup", "string"),
    ("subscriptionId", "string"),
    ("managedBy", "string"),
    ("sku", "dynamic"),
    ("plan", "dynamic"),
    ("properties", "dynamic"),
    ("tags", "dynamic"),
    ("identity", "dynamic"),
    ("zones", "dynamic"),
    ("extendedLocation", "dynamic"),
]


# Resource Graph's tables the emulator fills, each with the Resources table's columns: Resources, and
# InsightsResources, where Azure Monitor's extension resources are (data collection rule associations: Resource
# Graph's sample "List VMs with data collection rule associations").
TABLES = ("Resources", "InsightsResources")


def run(text, rows, insights=()):
    """The rows (objects) of a query over `rows` (the Resources table) and `insights` (InsightsResources), or
    kusto.KqlError."""
    return kusto.run(
        text,
        {name: RESOURCES for name in TABLES},
        {"Resources": rows, "InsightsResources": list(insights)},
        kustolanguage.RESOURCE_GRAPH,
    ).objects()


def row_of(doc, tenant):
    """A resource as Resource Graph's tables hold it: ARM's document with lower-case type and group."""
    parts = doc["id"].split("/")
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": doc["type"].lower(),
        "tenantId": tenant,
        "kind": doc.get("kind", ""),
        "location": doc.get("location"),
        "resourceGroup": parts[4].lower(),
        "subscriptionId": parts[2],
        "managedBy": "",
        "sku": doc.get("sku"),
        "plan": None,
        "properties": doc.get("properties"),
        "tags": doc.get("tags"),
        "identity": doc.get("identity"),
        "zones": None,
        "extendedLocation": None,
    }


class ResourceGraph:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.windows = {}  # caller -> (window start, queries in it)
        self.quota = QUOTA
        self.forbidden = False  # answer 403, as a policy or a missing permission makes it
        self.page_cap = MAX_TOP  # the service may give fewer rows a page than $top asks
        # Leave the data collection rules out: Resource Graph answers only with what the caller may read ("Permissions
        # in Azure Resource Graph"), and a rule's resource group may grant the caller nothing.
        self.rules_hidden = False

    def reset(self):
        with self.lock:
            self.windows.clear()
            self.quota = QUOTA
            self.forbidden = False
            self.page_cap = MAX_TOP
            self.rules_hidden = False

    def _take_quota(self, caller):
        """(allowed, remaining, seconds until the window resets)."""
        now = self.clock()
        with self.lock:
            start, used = self.windows.get(caller, (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, used = now, 0
            resets = max(0.0, WINDOW_SECONDS - (now - start))
            if used >= self.quota:
                return False, 0, resets
            self.windows[caller] = (start, used + 1)
            return True, self.quota - used - 1, resets

    def query(self, body, caller, rows_for):
        """(answer, headers) or GraphError. `rows_for(subscriptions, management_groups)` gives the rows in scope:
        (those of the Resources table, those of InsightsResources)."""
        if self.forbidden:
            raise GraphError(
                403,
                {
                    "error": {
                        "code": "AuthorizationFailed",
                        "message": f"The client '{caller}' does not have authorization to perform action "
                        "'Microsoft.ResourceGraph/resources/read' over scope '/providers/Microsoft.ResourceGraph' "
                        "or the scope is invalid.",
                    }
                },
            )
        allowed, remaining, resets = self._take_quota(caller)
        headers = {
            "x-ms-user-quota-remaining": remaining,
            "x-ms-user-quota-resets-after": time.strftime("%H:%M:%S", time.gmtime(math.ceil(resets))),
        }
        if not allowed:
            raise GraphError(
                429,
                {
                    "error": {
                        "code": "RateLimiting",
                        "message": "Client application has been throttled and should not attempt to repeat the "
                        "request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-"
                        "throttling for help.",
                    }
                },
                headers | {"Retry-After": max(1, math.ceil(resets))},
            )
        body = body if isinstance(body, dict) else {}
        text = body.get("query") or ""
        try:
            rows = run(text, *rows_for(body.get("subscriptions"), body.get("managementGroups")))
        except kusto.KqlError as ex:
            raise GraphError(400, _invalid_query(ex), headers) from ex
        options = body.get("options") or {}
        top = min(int(options.get("$top") or DEFAULT_TOP), MAX_TOP, self.page_cap)
        offset = _offset(options.get("$skipToken"), text)
        page = rows[offset : offset + top]
        answer = {"totalRecords": len(rows), "count": len(page), "data": page, "facets": []}
        more = offset + top < len(rows)
        if more and all("id" in r for r in page):
            answer["$skipToken"] = _token(offset + top, text)
            answer["resultTruncated"] = "false"
        else:
            answer["resultTruncated"] = "true" if more else "false"
        return answer, headers


def _token(offset, text):
    raw = json.dumps({"o": offset, "q": hashlib.sha256(text.encode()).hexdigest()[:16]})
    return base64.b64encode(raw.encode()).decode()


def _offset(token, text):
    if not token:
        return 0
    try:
        data = json.loads(base64.b64decode(token))
    except (ValueError, TypeError):
        data = {}
    if data.get("q") != hashlib.sha256(text.encode()).hexdigest()[:16]:
        raise GraphError(
            400, {"error": {"code": "BadRequest", "message": "The skip token is not valid for this query."}}
        )
    return int(data["o"])


def _invalid_query(ex):
    return {
        "error": {
            "code": "BadRequest",
            "message": "Please provide below info when asking for support: timestamp = "
            f"{time.strftime('%Y-%m-%dT%H:%M:%S.0000000Z', time.gmtime())}, correlationId = "
            "00000000-0000-0000-0000-000000000000.",
            "details": [
                {
                    "code": "InvalidQuery",
                    "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph "
                    "service and fix the error before retrying.",
                },
                {
                    "code": "ParserFailure",
                    "message": f"ParserFailure: {ex}",
                    "line": ex.line,
                    "characterPositionInLine": ex.column,
                    "token": ex.token,
                },
            ],
        }
    }
