"""What the Cluster Agent's own log says about querying Datadog: its Datadog API errors, one
finding per cause (keys or DD_SITE, rate limit, the query, no series, timeouts and 5xx), each with
that cause's fix. Evidence beside the chain: a WARNING, never the verdict. Pure."""

from __future__ import annotations

from kubectl_datadog.diagnose.hpa_explain_report import forbidden_note
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.hpa_explain import HpaSnapshot
from kubectl_datadog.textformats.hpa_messages import datadog_api_errors


def log_findings(snap: HpaSnapshot) -> list[Finding]:
    log = snap.dca_log
    if log is None:
        return []
    subject = f"pod/{log.namespace}/{log.pod}"
    if log.error is not None:  # a log that cannot be read (none yet, the kubelet away) is only missing evidence
        if log.error.kind != "forbidden":
            return []
        return [forbidden_note(subject, "the Cluster Agent leader's log", log.error.message,
                               f"kubectl auth can-i get pods/log -n {log.namespace}")]
    command = (f"kubectl -n {log.namespace} logs {log.pod} -c {log.container} --tail={log.tail} | grep -iE "
               "'Unable to fetch external metrics|executing metric query|series slice empty'")
    return [Finding(f"dca-logs-{e.cause.code}", Severity.WARNING, subject,
                    f"the Cluster Agent leader logged {e.count} Datadog API error(s) of this kind in its last "
                    f"{log.tail} log lines: {e.cause.meaning}. The latest: {e.latest}",
                    e.cause.next_step, command)
            for e in datadog_api_errors(log.text)]
