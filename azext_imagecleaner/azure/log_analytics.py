"""The one way to Azure Monitor Logs: Log Analytics queries through azure-monitor-query's LogsQueryClient.

The endpoint and the token's audience are those of az's current cloud (`log_analytics_resource_id`: public,
China, US Gov, or a cloud registered with `az cloud register --cloud-config`), the credential az's own login,
the retries the extension's bounded policy (429 and 5xx, within the retry budget). Its failures leave as one az
error each, worded in `azure.errors`. azure-cli 2.76 to 2.91 ship azure-monitor-query 1.2.0, which az imports before
the extension's own copy; the calls used here are the same in 1.2 and 2.0.
"""

from knack.log import get_logger

logger = get_logger(__name__)

# The query API's own default; its limit is 10 minutes (../shared/container-insights.md §4).
SERVER_TIMEOUT_SECONDS = 180


def logs_client(cli_ctx):
    from azure.cli.core._profile import Profile
    from azure.cli.core.azclierror import ValidationError
    from azure.monitor.query import LogsQueryClient

    from azext_imagecleaner.azure.arm import retry_budget_seconds, retry_policy

    endpoint = (getattr(cli_ctx.cloud.endpoints, "log_analytics_resource_id", None) or "").rstrip("/")
    if not endpoint:
        raise ValidationError(
            f"The cloud '{cli_ctx.cloud.name}' has no Log Analytics endpoint, so the history cannot be read.",
            'Register it with the cloud: az cloud update --cloud-config \'{"endpoints": '
            '{"logAnalyticsResourceId": "https://..."}}\'',
        )
    credential, _, _ = Profile(cli_ctx=cli_ctx).get_login_credentials()
    # 1.2 takes the endpoint with its API version; 2.0 strips "/v1" and uses what is left, which is the same here.
    return LogsQueryClient(
        credential,
        endpoint=f"{endpoint}/v1",
        audience=endpoint,
        retry_policy=retry_policy(retry_budget_seconds(cli_ctx)),
    )


class AnswerCut(Exception):
    """Log Analytics answered only the rows that fit its answer limits (500,000 records, about 100 MiB: a
    PartialError whose detail is E_QUERY_RESULT_SET_TOO_LARGE, ../shared/container-insights.md §4): an arbitrary cut,
    not an answer. The fan-out asks again in smaller parts (`monitor.fanout`)."""


# How the engine words a cut answer (Kusto's query limits; the text the service sends, seen in
# microsoft/jupyter-Kqlmagic#77 and Azure/azure-sdk-for-java#29243: "Query result set has exceeded the internal data
# size limit 64000000 (E_QUERY_RESULT_SET_TOO_LARGE; see https://aka.ms/kustoquerylimits)").
_CUT_MARKS = ("E_QUERY_RESULT_SET_TOO_LARGE", "record count limit", "data size limit")


def is_cut(error):
    """Whether a partial answer's error says it was cut for size or record count (the mark can be in the message or
    any level of its details' innererror)."""
    text = f"{getattr(error, 'message', '')} {getattr(error, 'details', '')}"
    return any(mark in text for mark in _CUT_MARKS)


def query(client, text, window, what, workspace=None, resource=None):
    """The rows of `text` over `window` (a timedelta, or a (start, end) pair) in a workspace (customer ID) or a
    resource's scope, as dicts by column name. A partial answer gives its rows, with a warning, except one cut for
    size or record count: AnswerCut. `what` names the target in words."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    from azure.monitor.query import LogsQueryStatus

    from azext_imagecleaner.azure import errors

    try:
        if workspace is not None:
            answer = client.query_workspace(workspace, text, timespan=window, server_timeout=SERVER_TIMEOUT_SECONDS)
        else:
            answer = client.query_resource(resource, text, timespan=window, server_timeout=SERVER_TIMEOUT_SECONDS)
    except HttpResponseError as ex:
        raise errors.logs_query_failed(ex, what) from ex
    except (ServiceRequestError, ServiceResponseError) as ex:
        raise errors.logs_unreachable(ex, what) from ex
    if answer.status == LogsQueryStatus.PARTIAL:
        error = answer.partial_error
        if is_cut(error):
            raise AnswerCut(f"{getattr(error, 'code', 'PartialError')}: {getattr(error, 'message', '')}")
        logger.warning(
            "Log Analytics answered only part of the query for %s (%s: %s): the rows below may be incomplete.",
            what,
            getattr(error, "code", "PartialError"),
            getattr(error, "message", ""),
        )
        tables = answer.partial_data
    else:
        tables = answer.tables
    if not tables:
        return []
    table = tables[0]
    return [dict(zip(table.columns, row, strict=False)) for row in table.rows]
