"""Log Analytics queries for many clusters: a few at a time, each answer read as it arrives, and every answer whole.

The commands give plans (a query's scope: a workspace's customer ID with its clusters, or one resource) and two
pure functions: the query text of a plan, and how to read an answer's rows into {cluster resource ID (lower case):
result}. Five queries run at once: Log Analytics runs at most five of a user's queries at a time and queues the rest
(Azure Monitor service limits, "User query throttling"; MicrosoftDocs/azure-monitor-docs
includes/azure-monitor-limits-log-queries.md), so more threads would only hold more answers in memory.

An answer the service cut at its limits (`log_analytics.AnswerCut`: 500,000 records or about 100 MiB) is never taken as
a history: the plan is asked again in two halves (its clusters, and for one cluster its nodes, `history_query`'s
parts) until every answer is whole, within the retry budget. A plan whose query fails, or whose parts are still cut
when the budget is spent or a part holds one node's bucket, costs its own clusters their result, not the others'.
"""

import concurrent.futures
import contextlib
import gc
import time
from typing import NamedTuple

from knack.log import get_logger

from azext_imagecleaner.azure import log_analytics
from azext_imagecleaner.monitor.history_query import BUCKETS

logger = get_logger(__name__)

PARALLEL_QUERIES = 5


def timespan(window):
    """The window as the query API's ISO 8601 timespan, as --show-query prints it."""
    return f"PT{int(window.total_seconds())}S"


def window_words(window):
    """The window in words for a message: "30 days", "day", "12 hours"."""
    days, seconds = window.days, window.seconds
    if not seconds:
        return f"{days} days" if days != 1 else "day"
    hours = days * 24 + seconds // 3600
    return f"{hours} hours" if hours != 1 else "hour"


class Plan(NamedTuple):
    """One query: `what` names it in words; in a workspace (its customer ID) or a resource's scope; for `members`
    (cluster resource IDs), and `part` (k, n) of each one's nodes."""

    what: str
    workspace: str | None
    resource: str | None
    members: tuple
    part: tuple = (0, 1)

    def halves(self):
        """The plan in two, or () when it cannot be split further."""
        # pylint: disable=no-member  # pylint does not see a NamedTuple's _replace from within its own methods
        if len(self.members) > 1:
            half = len(self.members) // 2
            return (self._replace(members=self.members[:half]), self._replace(members=self.members[half:]))
        k, n = self.part
        if n * 2 > BUCKETS:
            return ()
        return (self._replace(part=(k, n * 2)), self._replace(part=(k + n, n * 2)))

    def words(self):
        clusters = f"{len(self.members)} cluster(s)" if len(self.members) > 1 else "its cluster"
        part = f", nodes part {self.part[0] + 1} of {self.part[1]}" if self.part[1] > 1 else ""
        return f"{self.what} ({clusters}{part})" if (part or len(self.members) > 1) else self.what


def workspace_plans(cli_ctx, by_workspace, size=100):
    """The queries for {workspace resource ID (lower case): its clusters' rows (with "id" and "name")}: one per
    workspace and `size` clusters (by its customer ID, which Resource Graph gives), or one per cluster where the
    workspace's ID cannot be read. At most 100 clusters a query: the documented limit of 100 is on the workspaces and
    resources one query reaches (MicrosoftDocs/azure-monitor-docs includes/azure-monitor-limits-log-queries.md); a
    workspace's query reaches one, so this is more than the limit asks, and it keeps each answer smaller."""
    from azext_imagecleaner.azure.resource_graph import customer_ids

    ids = customer_ids(cli_ctx, list(by_workspace))
    plans = []
    for workspace, members in by_workspace.items():
        customer = ids.get(workspace)
        if customer is None:
            logger.warning(
                "The ID of workspace %s cannot be read here: its %d cluster(s) are queried one by one.",
                workspace,
                len(members),
            )
            plans += [Plan(f"cluster '{m['name']}'", None, m["id"], (m["id"],)) for m in members]
            continue
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            plans.append(Plan(f"workspace {workspace}", customer, None, tuple(m["id"] for m in chunk)))
    return plans


def run(cli_ctx, plans, window, text_of, read, combine=None):
    """({cluster resource ID (lower case): result}, {cluster resource ID (lower case): the az error of its query}).

    `text_of(plan)`: the KQL; `read(rows)`: {cluster: result} of an answer's rows; `combine(a, b)`: one result of
    two parts' results of one cluster, where the query can be asked for a part of a cluster's nodes (None: it
    cannot, and one cluster's cut answer is final). Each answer is read here, one at a time, as it arrives:
    reading is Python work under the interpreter lock, which in the query threads would only take turns."""
    from azure.cli.core.azclierror import AzCLIError

    from azext_imagecleaner.azure.arm import retry_budget_seconds

    client = log_analytics.logs_client(cli_ctx)
    budget = retry_budget_seconds(cli_ctx)
    found, failed = {}, {}
    first_cut = [None]

    def ask(plan):
        try:
            return log_analytics.query(
                client, text_of(plan), window, plan.words(), workspace=plan.workspace, resource=plan.resource
            ), None
        except log_analytics.AnswerCut as ex:
            return None, ex
        except AzCLIError as ex:
            return None, ex

    workers = min(PARALLEL_QUERIES, len(plans) or 1)
    with _no_cycle_collection(), concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(ask, plan): plan for plan in plans}
        while pending:
            done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for answered in done:
                plan = pending.pop(answered)
                rows, error = answered.result()
                if isinstance(error, log_analytics.AnswerCut):
                    first_cut[0] = first_cut[0] or time.monotonic()
                    parts = plan.halves() if time.monotonic() - first_cut[0] <= budget else ()
                    if combine is None and len(plan.members) == 1:
                        parts = ()
                    logger.info("The answer for %s was cut (%s); asking in %d parts.", plan.words(), error, len(parts))
                    if parts:
                        pending.update({pool.submit(ask, part): part for part in parts})
                        continue
                    error = _too_large(plan, error, budget)
                if error is not None:
                    failed.update((m.lower(), error) for m in plan.members)
                    continue
                for cluster, result in read(rows).items():
                    found[cluster] = combine(found[cluster], result) if cluster in found else result
    for cluster in failed:
        found.pop(cluster, None)  # a cluster with a failed part has no history: a part of one is not one
    return found, failed


def _too_large(plan, cut, budget):
    from azure.cli.core.azclierror import AzureResponseError

    if len(plan.members) == 1 and plan.halves() == ():
        why = "even for one node's share of the cluster"
    elif len(plan.members) == 1 and plan.part == (0, 1):
        why = "even for one cluster"
    else:
        why = f"after {budget} s of asking in parts"
    return AzureResponseError(
        f"Log Analytics cut its answer for {plan.words()} at its size limits ({cut}), {why}: a cut answer is not "
        "shown as a history.",
        "Ask for a shorter --since, or give the retries more time (AZURE_IMAGECLEANER_RETRY_SECONDS).",
    )


@contextlib.contextmanager
def _no_cycle_collection():
    """Python's cycle collector off while the answers are read. They become many objects (rows, their dicts) that
    hold no cycle, and the collector would walk them again each time more arrive (benchmarks/README.md). On again
    after, as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
