"""What the Cluster Agent's own log says about querying Datadog: its Datadog API errors, one
finding per cause (keys or DD_SITE, rate limit, the query, no series, timeouts and 5xx), each with
that cause's fix. A WARNING on its own; the cause of a metric's invalid or stale value when its
lines name that metric's query (the value itself carries no error text). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.diagnose.hpa_explain_report import forbidden_note
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.hpa_explain import ExternalMetric, HpaSnapshot, MetricSource
from kubectl_datadog.textformats.hpa_messages import datadog_api_errors

# Source findings whose object holds no error text: the log's cause, when it names their query, is theirs.
EXPLAINED_BY_LOG = ("metric-invalid", "metric-stale", "datadogmetric-stale")


@dataclass(frozen=True)
class Logged:
    finding: Finding
    lines: tuple[tuple[int, str], ...] = ()  # the log lines behind it, with their index in the log


def logged_api_errors(snap: HpaSnapshot) -> list[Logged]:
    log = snap.dca_log
    if log is None:
        return []
    subject = f"pod/{log.namespace}/{log.pod}"
    if log.error is not None:  # a log that cannot be read (none yet, the kubelet away) is only missing evidence
        if log.error.kind != "forbidden":
            return []
        return [Logged(forbidden_note(subject, "the Cluster Agent leader's log", log.error.message,
                                      f"kubectl auth can-i get pods/log -n {log.namespace}"))]
    command = (f"kubectl -n {log.namespace} logs {log.pod} -c {log.container} --tail={log.tail} | grep -iE "
               "'Unable to fetch external metrics|executing metric query|series slice empty'")
    return [Logged(Finding(f"dca-logs-{e.cause.code}", Severity.WARNING, subject,
                           f"the Cluster Agent leader logged {e.count} Datadog API error(s) of this kind in its last "
                           f"{log.tail} log lines: {e.cause.meaning}. The latest: {e.latest}",
                           e.cause.next_step, command), e.lines)
            for e in datadog_api_errors(log.text)]


def query_needle(metric: ExternalMetric, src: MetricSource | None) -> str:
    """What a log line about this metric's query contains: the DatadogMetric's query, or for the
    legacy store the `<aggregator>:<metric>{` the Cluster Agent builds from the HPA."""
    if src is None:
        return ""
    dm = src.datadogmetric.value if src.datadogmetric is not None else (src.autogen[0] if src.autogen else None)
    if dm is not None:
        return dm.query
    return f":{metric.name}{{" if src.configmap_key else ""


def cause_in_log(logged: list[Logged], needle: str) -> Finding | None:
    """The cause of the latest logged error naming this query (the one the value is stuck on)."""
    naming = [(index, lg.finding) for lg in logged for index, line in lg.lines if needle and needle in line]
    return max(naming, key=lambda pair: pair[0])[1] if naming else None
