"""admission-explain, the install's half of the chain: settings -> webhook configuration ->
certificate -> Service and endpoints -> Cluster Agent replicas. What holds for every pod is judged
once here; diagnose/admission_pods.py judges each pod against it.

Facts: shared/reference/admission-and-clusterchecks.md A1-A4.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubectl_datadog.diagnose.admission_cert import certificate_step
from kubectl_datadog.diagnose.admission_step import ChainStep
from kubectl_datadog.diagnose.admission_status import judge_status
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.install import AdmissionSettings
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.admission import (
    POD_ROLES,
    ROLE_BY_PATH,
    ROLE_BY_SUFFIX,
    AdmissionSnapshot,
    SsiTarget,
    WebhookConfig,
)

DEFAULT_TIMEOUT = 10  # admission_controller.timeout_seconds


@dataclass(frozen=True)
class Chain:
    """What every pod's verdict rests on. None: unknown (a read failed), never a guess."""

    steps: tuple[ChainStep, ...]
    findings: tuple[Finding, ...]
    settings: AdmissionSettings | None
    enabled: bool | None
    webhook: WebhookConfig | None
    webhook_known: bool
    reachable: bool | None  # the Service has ready endpoints on the admission port
    unreachable_because: str  # the finding code that explains it
    certificate_ok: bool | None
    certificate_because: str
    dca_ready_since: datetime | None  # the earliest Ready time among Ready replicas
    dca_namespace: str
    install_ref: str
    ssi_targets: tuple[SsiTarget, ...] = ()
    ssi_targets_error: str = ""


def _subject(snap: AdmissionSnapshot) -> str:
    i = snap.install
    return f"deployment/{i.namespace}/{i.dca_deployment}" if i and i.dca_deployment else "cluster-agent"


def _install_steps(snap: AdmissionSnapshot, subject: str, out: list[Finding]) -> tuple[ChainStep, bool | None]:
    s = snap.settings
    if snap.install is None:
        if snap.install_error:
            out.append(forbidden_finding("cluster-agent", f"cannot look for the Cluster Agent: {snap.install_error}",
                                         Severity.WARNING, verb="list", resource="pods"))
            return ChainStep("settings", "cluster-agent", "unknown", snap.install_error), None
        out.append(Finding("admission-no-cluster-agent", Severity.ERROR, "cluster-agent",
                           "no Datadog Cluster Agent was found: the admission controller runs in it, so nothing "
                           "mutates pods", "deploy the Cluster Agent (Helm: clusterAgent.enabled=true)",
                           "kubectl get pods -A -l app.kubernetes.io/component=cluster-agent"))
        return ChainStep("settings", "cluster-agent", "error", "no Cluster Agent found"), False
    if s is None:
        return ChainStep("settings", subject, "unknown", "the Cluster Agent's settings could not be read"), None
    deploy = snap.install.dca_deployment
    ns = snap.install.namespace
    check_env = f"kubectl -n {ns} get deploy {deploy} -o yaml | grep -A1 ADMISSION_CONTROLLER"
    if "DD_ADMISSION_CONTROLLER_ENABLED" in snap.unknown_settings:
        return ChainStep("settings", subject, "unknown", "DD_ADMISSION_CONTROLLER_ENABLED could not be read"), None
    flavor = snap.install.flavor
    where = ("Helm: clusterAgent.admissionController.enabled=true" if flavor == "helm" else
             "Operator: spec.features.admissionController.enabled=true" if flavor == "operator" else
             "set DD_ADMISSION_CONTROLLER_ENABLED=true on the Cluster Agent")
    if not s.enabled:
        out.append(Finding("admission-disabled", Severity.ERROR, subject,
                           "the admission controller is not enabled on the Cluster Agent (DD_ADMISSION_CONTROLLER_"
                           "ENABLED is not true): it creates no webhook and mutates no pod", where, check_env))
        return ChainStep("settings", subject, "error", "admission controller disabled"), False
    if not s.mutation_enabled:
        out.append(Finding("admission-disabled", Severity.ERROR, subject,
                           "mutation is turned off on the Cluster Agent (DD_ADMISSION_CONTROLLER_MUTATION_ENABLED="
                           "false): it creates no mutating webhook", where.replace(".enabled", ".mutation.enabled"),
                           check_env))
        return ChainStep("settings", subject, "error", "mutation disabled"), False
    parts = [f"enabled, mode {s.inject_mode or repr(s.inject_mode_raw)}",
             "mutateUnlabelled " + ("on" if s.mutate_unlabelled else "off"),
             f"webhook {s.webhook_name}", f"service {s.service_name}:{s.port}", f"failurePolicy {s.failure_policy}"]
    if s.ssi_enabled or s.ssi_enabled_namespaces:
        parts.append("SSI on" + (f" in {','.join(s.ssi_enabled_namespaces)}" if s.ssi_enabled_namespaces else ""))
    if not s.inject_mode:
        out.append(Finding("admission-invalid-mode", Severity.ERROR, subject,
                           f"DD_ADMISSION_CONTROLLER_INJECT_CONFIG_MODE={s.inject_mode_raw!r} is not hostip, service, "
                           "socket or csi: the DCA logs `invalid injection mode` and does not mutate pods",
                           "set the mode to hostip, service, socket or csi", check_env))
    if s.failure_policy_raw:
        out.append(Finding("admission-invalid-failure-policy", Severity.WARNING, subject,
                           f"failure policy {s.failure_policy_raw!r} is neither Ignore nor Fail: the DCA falls back "
                           "to Ignore", "set it to Ignore or Fail", check_env))
    if s.inject_mode == "csi" and not s.csi_enabled:
        out.append(Finding("admission-csi-disabled", Severity.WARNING, subject,
                           "inject mode csi without DD_CSI_ENABLED: the DCA falls back to socket mode (hostPath)",
                           "enable the Datadog CSI driver, or choose another mode", check_env))
    if snap.ssi_targets_error:
        out.append(Finding("admission-ssi-targets-invalid", Severity.ERROR, subject,
                           f"{snap.ssi_targets_error}: the DCA cannot read its SSI targets",
                           "fix datadog.apm.instrumentation.targets (a JSON list of targets)", check_env))
    if s.ssi_enabled_namespaces and s.ssi_disabled_namespaces:
        out.append(Finding("admission-ssi-conflict", Severity.ERROR, subject,
                           "SSI enabled_namespaces and disabled_namespaces are both set: the DCA refuses the "
                           "combination (`enabled_namespaces and disabled_namespaces configuration cannot be set "
                           "together`)", "keep only one of the two lists", check_env))
    return ChainStep("settings", subject, "ok", ", ".join(parts)), True


def _webhook_steps(snap: AdmissionSnapshot, chain_on: bool | None, out: list[Finding]) -> tuple[list[ChainStep], bool]:
    s = snap.settings
    name = s.webhook_name if s else "datadog-webhook"
    ref = f"mutatingwebhookconfiguration/{name}"
    if snap.mutating_error is not None:
        if snap.mutating_error.kind == "forbidden":
            out.append(forbidden_finding(ref, "cannot read the mutating webhook configurations: whether the webhook "
                                         "exists is unknown", Severity.WARNING, verb="list",
                                         resource="mutatingwebhookconfigurations.admissionregistration.k8s.io"))
        return [ChainStep("webhook", ref, "unknown", snap.mutating_error.message)], False
    w = snap.mutating
    if w is None:
        if chain_on:
            out.append(Finding("admission-webhook-missing", Severity.ERROR, ref,
                               f"the MutatingWebhookConfiguration {name} does not exist: the API server calls no "
                               "Datadog webhook. Only the leading Cluster Agent creates it",
                               "check the leader's log for `Couldn't reconcile webhook` (RBAC on "
                               "mutatingwebhookconfigurations, no leader) and that leader election works",
                               f"kubectl get mutatingwebhookconfiguration {name}",
                               ("admission-dca-not-ready",) if snap.dca_replicas and not any(
                                   r.ready for r in snap.dca_replicas) else ()))
            return [ChainStep("webhook", ref, "error", "not found")], True
        return [ChainStep("webhook", ref, "off", "not found (expected while the admission controller is off)")], True
    steps: list[ChainStep] = []
    pod_entries = [e for e in w.entries if e.role in POD_ROLES]
    if chain_on is False and w.entries:
        fail = [e.name for e in w.entries if e.failure_policy == "Fail" and e.creates_pods]
        out.append(Finding("admission-webhook-leftover", Severity.ERROR if fail else Severity.WARNING, w.ref,
                           f"{w.ref} still exists although the admission controller is off"
                           + (f"; its entries {', '.join(fail)} have failurePolicy Fail, so pod creates they select "
                              "fail while nothing answers" if fail else ": nothing keeps it up to date"),
                           "delete it, or turn the admission controller back on",
                           f"kubectl get mutatingwebhookconfiguration {w.name} -o yaml"))
    detail = ", ".join(f"{e.role} {e.path or e.url} {e.failure_policy} {e.timeout_seconds}s" for e in pod_entries)
    steps.append(ChainStep("webhook", w.ref, "ok" if pod_entries else "warning", detail or "no pod entries"))
    if s is not None and chain_on:
        wanted = [r for r, on in (("config", s.inject_config), ("tags", s.inject_tags),
                                  ("lib", s.auto_instrumentation)) if on]
        missing = [r for r in wanted if w.by_role(r) is None]
        if missing:
            out.append(Finding("admission-webhook-entry-missing", Severity.WARNING, w.ref,
                               f"the settings turn on the {', '.join(missing)} webhook(s) but {w.ref} has no such "
                               "entry: the leader has not reconciled it since the settings changed",
                               "check the leading Cluster Agent's log for `Couldn't reconcile webhook`",
                               f"kubectl get mutatingwebhookconfiguration {w.name} -o yaml"))
        wrong = sorted({e.service_ref for e in pod_entries if e.service_name and e.service_name != s.service_name})
        if wrong:
            out.append(Finding("admission-webhook-service-mismatch", Severity.ERROR, w.ref,
                               f"{w.ref} sends pods to {', '.join(wrong)}, not to the Service the Cluster Agent "
                               f"names ({s.service_name}): another install owns this webhook name, or it is stale",
                               "give each install its own webhookName, or remove the stale install",
                               f"kubectl get mutatingwebhookconfiguration {w.name} -o yaml"))
    for e in w.entries:
        by_name = next((role for suffix, role in ROLE_BY_SUFFIX if e.name.endswith(suffix)), "")
        by_path = ROLE_BY_PATH.get(e.path, "")
        if by_name and by_path and by_name != by_path:
            out.append(Finding("admission-webhook-path-mismatch", Severity.WARNING, w.ref,
                               f"webhook {e.name} is a {by_name} webhook by its name but calls {e.path}, the "
                               f"{by_path} webhook's path: pods get the wrong mutation",
                               "let the leading Cluster Agent rewrite it (delete the object; the leader recreates it)",
                               f"kubectl get mutatingwebhookconfiguration {w.name} -o yaml"))
    for e in pod_entries:
        if e.failure_policy == "Fail":
            out.append(Finding("admission-failure-policy-fail", Severity.INFO, w.ref,
                               f"webhook {e.name} has failurePolicy Fail: while it cannot be reached, every pod it "
                               f"selects is rejected after up to {e.timeout_seconds}s (ReplicaSets report "
                               "`failed calling webhook`)", "keep Ignore unless a pod must never run unmutated",
                               f"kubectl get mutatingwebhookconfiguration {w.name} -o yaml"))
            break
    slow = [e for e in pod_entries if e.timeout_seconds > DEFAULT_TIMEOUT]
    if slow:
        out.append(Finding("admission-timeout-long", Severity.WARNING, w.ref,
                           f"webhook {slow[0].name} waits {slow[0].timeout_seconds}s: while the Cluster Agent cannot "
                           "be reached every selected pod create waits that long (and several webhooks add up)",
                           "set DD_ADMISSION_CONTROLLER_TIMEOUT_SECONDS to 10 or less",
                           f"kubectl get mutatingwebhookconfiguration {w.name} -o yaml"))
    return steps, True


def _service_steps(snap: AdmissionSnapshot, out: list[Finding]) -> tuple[list[ChainStep], bool | None, str]:
    w = snap.mutating
    entry = next((e for e in (w.entries if w else ()) if e.role in POD_ROLES and e.service_name), None)
    s = snap.settings
    if entry is None:
        return [], None, ""
    ref = f"service/{entry.service_namespace}/{entry.service_name}"
    if snap.service_error is not None:
        return [ChainStep("service", ref, "unknown", snap.service_error.message)], None, ""
    if snap.service is None:
        out.append(Finding("admission-service-missing", Severity.ERROR, ref,
                           f"the webhook calls {ref}, which does not exist: every call fails (`service "
                           f"\"{entry.service_name}\" not found`)", "the Helm chart and the Operator create it; "
                           "check the install", f"kubectl -n {entry.service_namespace} get service {entry.service_name}"))
        return [ChainStep("service", ref, "error", "not found")], False, "admission-service-missing"
    port = next((p for p in snap.service.ports if p.port == entry.service_port), None)
    if port is None:
        out.append(Finding("admission-service-port-missing", Severity.ERROR, ref,
                           f"the webhook calls port {entry.service_port} of {ref}, which has no such port",
                           "fix the Service's ports", f"kubectl -n {entry.service_namespace} get service "
                           f"{entry.service_name} -o yaml"))
        return [ChainStep("service", ref, "error", f"no port {entry.service_port}")], False, "admission-service-port-missing"
    want = s.port if s else None
    if want is not None and port.target_port.isdigit() and int(port.target_port) != want:
        out.append(Finding("admission-service-target-port", Severity.ERROR, ref,
                           f"{ref} port {port.port} targets {port.target_port}, but the Cluster Agent serves the "
                           f"webhook on {want} (DD_ADMISSION_CONTROLLER_PORT)", "make the targetPort and the "
                           "setting agree", f"kubectl -n {entry.service_namespace} get service {entry.service_name} -o yaml"))
        return [ChainStep("service", ref, "error", f"port {port.port} -> {port.target_port}, DCA serves {want}")], \
            False, "admission-service-target-port"
    if snap.endpoints_error is not None or snap.endpoints is None:
        why = snap.endpoints_error.message if snap.endpoints_error else "endpoints not read"
        return [ChainStep("service", ref, "unknown", why)], None, ""
    ready = len(snap.endpoints.ready)
    detail = f"port {port.port} -> {port.target_port}, {ready} ready endpoint(s)"
    if snap.endpoints.not_ready:
        detail += f", {len(snap.endpoints.not_ready)} not ready"
    if not ready:
        causes = ("admission-dca-not-ready",) if snap.dca_replicas and not any(r.ready for r in snap.dca_replicas) else ()
        out.append(Finding("admission-no-endpoints", Severity.ERROR, ref,
                           f"{ref} has no ready endpoint: the API server's calls fail (`no endpoints available for "
                           f"service \"{entry.service_name}\"`)",
                           "make the Cluster Agent pods Ready, and the Service's selector match them",
                           f"kubectl -n {entry.service_namespace} get endpointslices -l "
                           f"kubernetes.io/service-name={entry.service_name}", causes))
        return [ChainStep("service", ref, "error", detail)], False, "admission-no-endpoints"
    return [ChainStep("service", ref, "ok", detail)], True, ""


def explain_chain(snap: AdmissionSnapshot, now: datetime) -> Chain:
    out: list[Finding] = []
    subject = _subject(snap)
    steps: list[ChainStep] = []
    step, enabled = _install_steps(snap, subject, out)
    steps.append(step)
    for name in snap.unknown_settings:
        out.append(Finding("admission-setting-unknown", Severity.WARNING, subject,
                           f"{name} comes from a ConfigMap or Secret we could not read: verdicts resting on it are "
                           "unknown", "ask for get on that ConfigMap/Secret", ""))
    webhook_steps, webhook_known = _webhook_steps(snap, enabled, out)
    steps += webhook_steps
    cert_step, cert_ok, cert_because = certificate_step(snap, now, out)
    if cert_step:
        steps.append(cert_step)
    service_steps, reachable, unreachable_because = _service_steps(snap, out)
    steps += service_steps
    ready = [r for r in snap.dca_replicas if r.ready]
    if snap.install is not None and snap.install.dca_pods:
        detail = f"{len(ready)}/{len(snap.dca_replicas or snap.install.dca_pods)} pods ready"
        if not ready and snap.dca_replicas:
            out.append(Finding("admission-dca-not-ready", Severity.ERROR, subject,
                               "no Cluster Agent pod is Ready: nothing serves the webhook",
                               "see why the Cluster Agent is not Ready (its events and log)",
                               f"kubectl -n {snap.install.namespace} describe pods -l "
                               "app.kubernetes.io/component=cluster-agent"))
        steps.append(ChainStep("cluster-agent", subject, "ok" if ready else "error", detail))
    status = judge_status(snap, subject)
    if status is not None:
        steps.append(ChainStep("status", f"pod/{snap.install.namespace}/{snap.status_pod}"  # type: ignore[union-attr]
                               if snap.status_pod else subject, status.step_state, status.detail))
        out += status.findings
        if status.disabled:
            enabled = False
        if cert_ok is None and status.certificate_ok is not None:
            cert_ok = status.certificate_ok
            cert_because = "" if cert_ok else "admission-status-digest-mismatch"
        if status.probe_failing and reachable is not False:
            reachable, unreachable_because = False, "admission-probe-failing"
    since = min((r.ready_since for r in ready if r.ready_since), default=None)
    return Chain(steps=tuple(steps), findings=tuple(out), settings=snap.settings, enabled=enabled,
                 webhook=snap.mutating, webhook_known=webhook_known, reachable=reachable,
                 unreachable_because=unreachable_because, certificate_ok=cert_ok, certificate_because=cert_because,
                 dca_ready_since=since,
                 dca_namespace=snap.install.settings.resources_namespace if snap.install and snap.install.settings
                 else (snap.install.namespace if snap.install else ""),
                 install_ref=snap.install.label if snap.install else "", ssi_targets=snap.ssi_targets,
                 ssi_targets_error=snap.ssi_targets_error)
