"""admission-explain with exec: the Cluster Agent's own "Admission Controller" status section. It
is the DCA's runtime view, so it settles what the API alone leaves open: the admission controller
really running (a config file can override the env), the Secret's certificate digest against every
entry's caBundle digest when the Secret is not readable, and (DCA 7.78+) the connectivity probe,
the only read-only evidence that the API server can reach the webhook.

Layout: textformats/admission_status.py; facts: shared/reference/admission-and-clusterchecks.md A7.3-A7.4.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.admission import AdmissionSnapshot


@dataclass(frozen=True)
class StatusVerdict:
    step_state: str  # ok | warning | error | unknown
    detail: str
    findings: tuple[Finding, ...]
    disabled: bool = False  # the DCA says the admission controller is off
    certificate_ok: bool | None = None  # the DCA's digests agree (None: not shown)
    probe_failing: bool = False


def judge_status(snap: AdmissionSnapshot, subject: str) -> StatusVerdict | None:
    if snap.install is None or not snap.install.dca_pods or (snap.status is None and not snap.status_error):
        return None
    ns = snap.install.namespace
    where = f"pod/{ns}/{snap.status_pod}" if snap.status_pod else subject
    command = f"kubectl -n {ns} exec {snap.status_pod} -- datadog-cluster-agent status" if snap.status_pod else ""
    if snap.status is None:
        findings: tuple[Finding, ...] = ()
        if snap.status_error.startswith("exec is forbidden"):
            findings = (forbidden_finding(where, "cannot exec into the Cluster Agent: its own admission status "
                                          "(certificate digests, connectivity probe) is not read", Severity.INFO,
                                          verb="create", resource="pods/exec", namespace=ns),)
        return StatusVerdict("unknown", f"status not read: {snap.status_error}", findings)
    st = snap.status
    out: list[Finding] = []
    if st.disabled:
        out.append(Finding("admission-disabled", Severity.ERROR, subject,
                           f"the Cluster Agent's status says `Disabled: {st.disabled}`: its running configuration "
                           "turns the admission controller off, whatever its env says (a datadog-cluster.yaml may "
                           "override it)", "turn admission_controller.enabled on in the configuration it runs with",
                           command))
        return StatusVerdict("error", "admission controller disabled (DCA status)", tuple(out), disabled=True)
    if st.error:
        out.append(Finding("admission-status-error", Severity.WARNING, where,
                           f"the Cluster Agent reports an admission controller error: {st.error}",
                           "check the Cluster Agent's log", command))
    parts = []
    cert_ok: bool | None = None
    if st.secret_digest and st.webhook_digests:
        stale = sorted(name for name, digest in st.webhook_digests.items() if digest != st.secret_digest)
        cert_ok = not stale
        parts.append("digests match" if cert_ok else f"digest differs on {', '.join(stale)}")
        if stale:
            out.append(Finding("admission-status-digest-mismatch", Severity.ERROR, where,
                               f"the Cluster Agent's status shows the certificate Secret's digest {st.secret_digest} "
                               f"but the webhook entries {', '.join(stale)} carry another caBundle: the API server "
                               "cannot verify the webhook (x509)", "the leader rewrites the caBundle on reconcile: "
                               "check that it reconciles (its log: `Couldn't reconcile webhook`)", command))
    if st.secret_error:
        out.append(Finding("admission-status-error", Severity.WARNING, where,
                           f"the Cluster Agent cannot read its certificate Secret: {st.secret_error}",
                           "the Cluster Agent needs get on its certificate Secret", command))
    if st.cert_expires_in:
        parts.append(f"certificate expires in {st.cert_expires_in}")
    probe_failing = st.probe_failing
    if st.probe:
        if probe_failing:
            error = st.probe_error or st.probe_detail
            hint = st.probe_hint or "ensure the API server can reach the Cluster Agent's pods on the admission port"
            out.append(Finding("admission-probe-failing", Severity.ERROR, where,
                               "the Cluster Agent's connectivity probe fails: the API server does not reach the "
                               f"webhook (last execution {st.probe_last_execution or '?'}"
                               + (f": {error}" if error else "") + ")", hint, command))
            parts.append("connectivity probe failing")
        elif st.probe_last_execution:
            parts.append(f"connectivity probe {st.probe_success_rate or 'ok'}")
        else:
            parts.append("probe: " + (st.probe_detail or "enabled"))
    state = "error" if any(f.severity == Severity.ERROR for f in out) else ("warning" if out else "ok")
    return StatusVerdict(state, ", ".join(parts) or "running", tuple(out), certificate_ok=cert_ok,
                         probe_failing=probe_failing)
