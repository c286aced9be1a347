"""The "Admission Controller" section of `datadog-cluster-agent status`.

Layout (DataDog/datadog-agent pkg/clusteragent/admission/status_templates/admissionwebhook.tmpl and
shared/reference/admission-and-clusterchecks.md A7.3): one `Disabled: ...` or `Error: ...` line; or
`Webhooks info` with the MutatingWebhookConfiguration's name and, per entry after a `---------`
line, `Name:` then its map (`CA bundle digest`, `Object selector`, `Rule N`, `Service`); then
`Secret info` with the Secret's own `CA bundle digest` and `Duration before certificate
expiration`; from DCA 7.78 a `Connectivity Probe` block (leader only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_datadog.textformats.status import sections

SECTION = "Admission Controller"


@dataclass(frozen=True)
class AdmissionStatus:
    disabled: str = ""  # the Disabled line's text
    error: str = ""  # an error fetching the webhook (or the whole section)
    webhook_name: str = ""
    webhook_digests: dict[str, str] = field(default_factory=dict)  # entry name -> CA bundle digest
    secret_name: str = ""
    secret_digest: str = ""
    secret_error: str = ""
    cert_expires_in: str = ""  # a Go duration, e.g. 8643h34m2.55s
    probe: dict[str, str] = field(default_factory=dict)  # the Connectivity Probe block's `key: value` lines
    probe_last_execution: str = ""  # `<RFC3339> (success|failure)`
    probe_success_rate: str = ""
    probe_error: str = ""  # the last error (`Last Error`, or `Error`)
    probe_hint: str = ""  # the platform hint (`Diagnostic Hint`)
    probe_detail: str = ""  # a line without a value: `The probe is only active on the leader instance.`

    @property
    def probe_failing(self) -> bool:
        return "(failure)" in self.probe_last_execution

    def to_dict(self) -> dict[str, object]:
        return {"disabled": self.disabled or None, "error": self.error or None, "webhook": self.webhook_name or None,
                "webhookDigests": dict(self.webhook_digests), "secretDigest": self.secret_digest or None,
                "secretError": self.secret_error or None, "certificateExpiresIn": self.cert_expires_in or None,
                "probe": dict(self.probe) or None}


def admission_status(text: str) -> AdmissionStatus | None:
    """The section parsed; None when the status has no such section (an older DCA, or admission
    never started)."""
    body = sections(text).get(SECTION)
    if body is None:
        return None
    out: dict[str, str] = {}
    digests: dict[str, str] = {}
    probe: dict[str, str] = {}
    block = ""
    entry = ""
    for raw in body:
        line = raw.strip()
        if not line or set(line) <= {"-"}:
            continue
        if line in ("Webhooks info", "Secret info", "Connectivity Probe"):
            block = line
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            if block == "Connectivity Probe":
                probe.setdefault("Detail", line)
            continue
        key, value = key.strip(), value.strip()
        if block == "Connectivity Probe":
            probe[key] = value
        elif block == "Webhooks info" and key == "Name":
            entry = value
        elif block == "Webhooks info" and key == "CA bundle digest" and entry:
            digests[entry] = value
        elif block == "Webhooks info" and key == "MutatingWebhookConfigurations name":
            out["webhook"] = value
        elif block == "Secret info":
            out["secret " + key] = value
        elif key == "Disabled":
            out["disabled"] = value
        elif key == "Error":
            out["secret error" if "secret" in out else "error"] = value
        elif key == "MutatingWebhookConfigurations name":
            out["webhook"] = value
        elif key == "Secret name":
            out["secret"] = value
    return AdmissionStatus(disabled=out.get("disabled", ""), error=out.get("error", ""),
                           webhook_name=out.get("webhook", ""), webhook_digests=digests,
                           secret_name=out.get("secret Secret name", out.get("secret", "")),
                           secret_digest=out.get("secret CA bundle digest", ""),
                           secret_error=out.get("secret error", ""),
                           cert_expires_in=out.get("secret Duration before certificate expiration", ""), probe=probe,
                           probe_last_execution=probe.get("Last Execution", ""),
                           probe_success_rate=probe.get("Success Rate", ""),
                           probe_error=probe.get("Last Error") or probe.get("Error") or "",
                           probe_hint=probe.get("Diagnostic Hint") or probe.get("Hint") or "",
                           probe_detail=probe.get("Detail", ""))
