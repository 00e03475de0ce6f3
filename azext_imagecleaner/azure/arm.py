"""The managedClusters client of the extension's commands: core's, with a bounded retry policy.

azure-core already retries 429 and 5xx and honours Retry-After, but counts
only tries: a Retry-After of an hour makes az sleep for an hour. Here the
retries also stop once the next wait would pass a time budget, so a CI job
gets a clear error instead of hanging.
"""

import time

DEFAULT_RETRY_SECONDS = 60
# Tries per request; the time budget is what bounds a request under a 429 storm, not this count.
RETRY_TOTAL = 20
# AKS run-command's pod did not start in time: "Failed to run command due to cluster perf issue, container
# command-<id> in aks-command namespace did not start within 30s on your cluster, retry may helps" (the POST's
# error in Azure/azure-cli#27776 and #23203). Worth retrying whatever the status it comes with.
RUN_COMMAND_START_FAILURES = ("KubernetesPerformanceError", "KubernetesOperationError")


def run_command_start_failure(method, url, status, body):
    """The error code when an answer says run-command's pod did not start in time (pure), else None."""
    if method != "POST" or status < 400 or "/runcommand" not in url.lower().split("?")[0]:
        return None
    try:
        import json

        error = json.loads(body or "{}").get("error") or {}
    except (ValueError, AttributeError):
        return None
    code = error.get("code")
    return code if code in RUN_COMMAND_START_FAILURES and "did not start" in (error.get("message") or "") else None


def retry_policy(budget_seconds):
    from azure.core.pipeline.policies import RetryPolicy
    from knack.log import get_logger

    logger = get_logger(__name__)

    class BoundedRetryPolicy(RetryPolicy):
        warned = False

        def configure_retries(self, options):
            settings = super().configure_retries(options)
            settings["deadline"] = time.monotonic() + budget_seconds
            return settings

        def is_retry(self, settings, response):
            request, http = response.http_request, response.http_response
            body = _text(http) if request.method == "POST" and http.status_code >= 400 else None

            start_failure = run_command_start_failure(request.method, request.url, http.status_code, body)
            if not (start_failure and settings["total"] > 0) and not super().is_retry(settings, response):
                return False
            wait = self.get_retry_after(response)
            if wait is None:
                wait = self.get_backoff_time(settings)
            if time.monotonic() + wait > settings["deadline"]:
                return False
            if start_failure and not self.warned:
                self.warned = True
                logger.warning(
                    "AKS run-command's pod did not start in time (%s: the cluster is busy); trying again for up to "
                    "%s s.",
                    start_failure,
                    budget_seconds,
                )
            return True

    # retry_status too: azure-core retries a bad status (429, 5xx) only 3 times by default, whatever the total.
    return BoundedRetryPolicy(retry_total=RETRY_TOTAL, retry_status=RETRY_TOTAL)


def _text(http_response):
    """The answer's body as text, read first when it came as a stream (an LRO's first request does)."""
    try:
        if hasattr(http_response, "read"):
            http_response.read()
        return http_response.text()
    except Exception:  # noqa: BLE001 - an unreadable answer is not a start failure
        return None


def redacted_trace_policy():
    """az's network trace (URL, method, headers, body, at debug level) with credentials masked in the bodies.

    It runs before az's own trace policy in the pipeline (after the retry policy, so once per try) and turns that
    one off for the request, so each try is logged once, as az would log it but through `azure.redact`. Without it,
    `--debug` prints the kubeconfig of listClusterUserCredential and the clusterToken of runCommand.
    """
    import logging

    from azure.core.pipeline.policies import SansIOHTTPPolicy
    from knack.log import get_logger

    from azext_imagecleaner.azure.redact import MASK, redact_text

    trace = get_logger(__name__)
    hidden_headers = {"authorization", "x-ms-authorization-auxiliary", "cookie", "set-cookie"}

    def headers(items):
        for name, value in items:
            trace.debug("    %r: %r", name, MASK if name.lower() in hidden_headers else value)

    class RedactedNetworkTrace(SansIOHTTPPolicy):
        def on_request(self, request):
            request.context.options["logging_enable"] = False  # read (and removed) by az's own trace policy
            if not trace.isEnabledFor(logging.DEBUG):
                return
            http = request.http_request
            trace.debug("Request URL: %r", http.url)
            trace.debug("Request method: %r", http.method)
            trace.debug("Request headers:")
            headers(http.headers.items())
            trace.debug("Request body:")
            trace.debug("%s", redact_text(http.body) if http.body else "This request has no body")

        def on_response(self, request, response):
            if not trace.isEnabledFor(logging.DEBUG):
                return
            http = response.http_response
            trace.debug("Response status: %r", http.status_code)
            trace.debug("Response headers:")
            headers(http.headers.items())
            trace.debug("Response content:")
            try:
                trace.debug("%s", redact_text(http.text()))
            except Exception:  # noqa: BLE001 - a streamed or undecodable body is not traced, as in az's policy
                trace.debug("Body is not readable as text.")

    return RedactedNetworkTrace()


def retry_budget_seconds(cli_ctx):
    """`az config set imagecleaner.retry_seconds=N`, or AZURE_IMAGECLEANER_RETRY_SECONDS."""
    return cli_ctx.config.getint("imagecleaner", "retry_seconds", fallback=DEFAULT_RETRY_SECONDS)


def shared_transport(connections):
    """One HTTP transport for many clients and threads: a connection pool of `connections` per host, so that
    many workers reuse connections instead of opening and discarding them."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport  # pylint: disable=no-name-in-module

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=connections)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=False)


def managed_clusters_client(cli_ctx, subscription_id=None, pacer=None, transport=None):
    """managedClusters operations with the bounded retry policy, keeping unknown fields on older SDKs; with a
    `pacer` (fleet commands), every answer is reported to it; with a `transport`, requests go through it."""
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azure.cli.core.profiles import ResourceType

    keep_unknown = _keep_unknown_fields_policy()
    extra = {"per_call_policies": [keep_unknown]} if keep_unknown else {}
    extra["per_retry_policies"] = [redacted_trace_policy()]
    if pacer is not None:
        from azext_imagecleaner.fleet.pacing import pacing_policy

        extra["per_retry_policies"].append(pacing_policy(pacer))
    if transport is not None:
        extra["transport"] = transport
    client = get_mgmt_service_client(
        cli_ctx,
        ResourceType.MGMT_CONTAINERSERVICE,
        subscription_id=subscription_id,
        retry_policy=retry_policy(retry_budget_seconds(cli_ctx)),
        **extra,
    )
    operations = client.managed_clusters
    if keep_unknown:
        # msrest-style operations carry their serializer, whose dependencies are the model classes by name.
        keep_unknown.models = getattr(getattr(operations, "_serialize", None), "dependencies", None)
    return operations


def _keep_unknown_fields_policy():
    """Only msrest-style SDKs (before 41, as in az 2.76) drop unknown fields; newer ones keep them."""
    from azure.mgmt.containerservice import models

    if not hasattr(models.ManagedCluster, "_attribute_map"):
        return None
    from azext_imagecleaner.aks.unknown_fields import KeepUnknownFields

    return KeepUnknownFields()


def resolve_models():
    """Build every managedClusters model class's field table now, before threads share the classes.

    azure-mgmt-containerservice 41+ (az 2.85+, `_utils/model_base.py`) builds a model class's table of fields the
    first time the class is instantiated: it iterates the class's `__dict__`, then stores the table in it. A thread
    still iterating meets "dictionary changed size during iteration", which the SDK's lenient deserializer
    swallows, so it is handed a raw dict where a model belongs, and a fleet command then fails a cluster with
    "'dict' object has no attribute 'enabled'" (50 threads deserializing one cluster each in a fresh process: about
    45% of processes on an idle machine). Built once up front, every thread finds the tables done. Older
    msrest-style models have no such table: nothing to do there. Takes about 35 ms for 199 classes.
    """
    try:
        from azure.mgmt.containerservice import models
    except ImportError:  # a multi-API SDK without a default models module: msrest-style, not affected
        return 0
    built = 0
    for value in list(vars(models).values()):
        if isinstance(value, type) and getattr(value, "_is_model", False) is True and hasattr(value, "_calculated"):
            value.__new__(value)  # builds the table (Model.__new__), without __init__'s required fields
            built += 1
    return built


# The Log Analytics workspaces API version az's `monitor log-analytics workspace` commands use.
WORKSPACE_API_VERSION = "2022-10-01"


def workspace_retention(cli_ctx, workspace_id):
    """A Log Analytics workspace's retention in days (`properties.retentionInDays`), read from ARM by its ID."""
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azure.cli.core.profiles import ResourceType

    subscription = workspace_id.split("/")[2]
    client = get_mgmt_service_client(cli_ctx, ResourceType.MGMT_RESOURCE_RESOURCES, subscription_id=subscription)
    workspace = client.resources.get_by_id(workspace_id, WORKSPACE_API_VERSION)
    return (workspace.properties or {}).get("retentionInDays")


# az's own version for data collection rules and their associations (azure-cli acs/addonconfiguration.py).
RULES_API_VERSION = "2022-06-01"
CONTAINER_INSIGHTS_ASSOCIATION = "ContainerInsightsExtension"


def container_insights_rule(cli_ctx, cluster_id):
    """The cluster's Container Insights data collection rule, read from ARM through the association az names
    ContainerInsightsExtension: (its ID, its `properties.dataSources.extensions`), or None where the cluster has no
    such association."""
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azure.cli.core.profiles import ResourceType
    from azure.core.exceptions import ResourceNotFoundError

    subscription = cluster_id.split("/")[2]
    client = get_mgmt_service_client(cli_ctx, ResourceType.MGMT_RESOURCE_RESOURCES, subscription_id=subscription)
    association_id = (
        f"{cluster_id}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{CONTAINER_INSIGHTS_ASSOCIATION}"
    )
    try:
        association = client.resources.get_by_id(association_id, RULES_API_VERSION)
    except ResourceNotFoundError:
        return None
    rule_id = (association.properties or {}).get("dataCollectionRuleId")
    if not rule_id:
        return None
    rule = client.resources.get_by_id(rule_id, RULES_API_VERSION)
    return rule_id, ((rule.properties or {}).get("dataSources") or {}).get("extensions")


def cf_managed_clusters(cli_ctx, *_):
    return managed_clusters_client(cli_ctx)
