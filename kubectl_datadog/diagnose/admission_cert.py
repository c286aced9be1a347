"""admission-explain, the certificate link: the webhook entries' caBundle is present, is the
certificate the DCA serves (its `webhook-certificate` Secret, when readable) and has not expired.

Facts: shared/reference/admission-and-clusterchecks.md A3.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kubectl_datadog.diagnose.admission_step import ChainStep
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.admission import POD_ROLES, AdmissionSnapshot
from kubectl_datadog.snapshots.admission_cert import certificate_not_after, fnv1_64

def _show_bundle(name: str) -> str:
    return (f"kubectl get mutatingwebhookconfiguration {name} -o jsonpath='{{.webhooks[0].clientConfig.caBundle}}'"
            " | base64 -d | openssl x509 -noout -enddate")


EXPIRY_WARNING = timedelta(days=30)  # the DCA renews below admission_controller.certificate.expiration_threshold


def certificate_step(snap: AdmissionSnapshot, now: datetime,
                     out: list[Finding]) -> tuple[ChainStep | None, bool | None, str]:
    w = snap.mutating
    if w is None:
        return None, None, ""
    entries = [e for e in w.entries if e.role in POD_ROLES]
    if not entries:
        return None, None, ""
    bundles = {e.ca_bundle.strip() for e in entries}
    ref = w.ref
    if "" in bundles:
        out.append(Finding("admission-cabundle-missing", Severity.ERROR, ref,
                           f"{ref} has an entry without caBundle: the API server cannot verify the webhook's "
                           "certificate (x509: certificate signed by unknown authority)",
                           "the leading Cluster Agent writes it from its certificate Secret: check its log",
                           f"kubectl get mutatingwebhookconfiguration {w.name} -o jsonpath='{{.webhooks[*].clientConfig.caBundle}}'"))
        return ChainStep("certificate", ref, "error", "caBundle missing"), False, "admission-cabundle-missing"
    bundle = sorted(bundles)[0]
    digest = fnv1_64(next(e.ca_bundle for e in entries if e.ca_bundle.strip() == bundle).encode())
    detail = [f"caBundle digest {digest}"]
    not_after = certificate_not_after(bundle)
    ok: bool | None = True
    because = ""
    if not_after is not None:
        left = not_after - now
        detail.append(f"expires {not_after.strftime('%Y-%m-%d')}")
        if left <= timedelta(0):
            out.append(Finding("admission-certificate-expired", Severity.ERROR, ref,
                               f"the certificate in {ref}'s caBundle expired on {not_after.strftime('%Y-%m-%d')}: the API "
                               "server rejects the webhook's TLS (x509: certificate has expired)",
                               "the leader renews it 30 days before expiry; check that it runs and can update its "
                               "Secret, or delete the Secret to have it regenerated", _show_bundle(w.name)))
            ok, because = False, "admission-certificate-expired"
        elif left < EXPIRY_WARNING:
            out.append(Finding("admission-certificate-expiring", Severity.WARNING, ref,
                               f"the webhook certificate expires in {left.days} day(s) and has not been renewed",
                               "the leading Cluster Agent renews it; check its log for `Couldn't reconcile Secret`",
                               _show_bundle(w.name)))
    install = snap.install
    secret_ref = f"secret/{install.settings.resources_namespace if install and install.settings else '?'}/" \
                 f"{snap.settings.certificate_secret if snap.settings else 'webhook-certificate'}"
    if snap.certificate_error is not None:
        if snap.certificate_error.kind == "forbidden":
            out.append(forbidden_finding(secret_ref, "cannot read the webhook certificate Secret: whether the "
                                         "caBundle matches the served certificate is unknown", Severity.INFO,
                                         verb="get", resource="secrets", namespace=secret_ref.split("/")[1]))
        detail.append("Secret not readable")
    elif snap.certificate is None and snap.settings is not None and install is not None:
        out.append(Finding("admission-certificate-secret-missing", Severity.ERROR, secret_ref,
                           f"the certificate Secret {secret_ref} does not exist: the Cluster Agent serves no "
                           "certificate (`Couldn't fetch certificate`)",
                           "the leader creates it; check its RBAC on secrets and its log",
                           f"kubectl -n {secret_ref.split('/')[1]} get secret {secret_ref.split('/')[2]}"))
        ok, because = False, because or "admission-certificate-secret-missing"
    elif snap.certificate is not None:
        if snap.certificate.cert_pem.strip() != bundle:
            out.append(Finding("admission-cabundle-mismatch", Severity.ERROR, ref,
                               f"{ref}'s caBundle (digest {digest}) is not the certificate in {secret_ref} (digest "
                               f"{fnv1_64(snap.certificate.cert_pem.encode())}): the API server cannot verify the "
                               "webhook (x509: certificate signed by unknown authority)",
                               "the leader copies cert.pem into every caBundle; a stale one means it is not "
                               "reconciling (no leader, RBAC, crash): check its log",
                               f"kubectl get mutatingwebhookconfiguration {w.name} -o yaml"))
            ok, because = False, because or "admission-cabundle-mismatch"
        else:
            detail.append(f"matches {secret_ref}")
    state = "ok" if ok else "error"
    return ChainStep("certificate", ref, state, ", ".join(detail)), ok, because
