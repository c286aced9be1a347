"""admission-explain, each pod's half of the chain: would the API server call each Datadog webhook
for it (namespaceSelector, objectSelector, matchConditions), would the webhook mutate it (its
label filter, mutateUnlabelled, SSI targeting), what it injected against what it should have, and
so the pod's verdict.

Verdict order (the first that holds; documented in the command's help and docs/output.md):
  mutated, injection-partial, admission-disabled, webhook-missing, not-selected, ssi-not-targeted,
  created-before-webhook, created-while-dca-unavailable, certificate-invalid, webhook-unreachable,
  not-mutated (selected, and nothing the API shows explains it), unknown (a read it needs failed).
rejected-by-policy is an owner's verdict (its pods were never created): diagnose/admission_evidence.py.

Facts: shared/reference/admission-and-clusterchecks.md A2.4-A2.5, A5, A6.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping

from kubectl_datadog.diagnose.admission_chain import Chain
from kubectl_datadog.install import AdmissionSettings
from kubectl_datadog.snapshots.admission import (
    ENABLED_LABEL,
    INTERNAL_APM_PREFIX,
    LIB_ANNOTATION_PREFIX,
    MODE_LABEL,
    MUTATED_ANNOTATION,
    POD_ROLES,
    AppContainer,
    AppPod,
    WebhookEntry,
    describe_requirement_for,
)

def _when(t: object) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(t, "strftime") else "?"


# Timestamps have one-second resolution, and the API server starts calling a new webhook only once its
# informer has the configuration: a pod created in the webhook's own second is not known to be after it.
PROPAGATION = timedelta(seconds=1)
DEFAULT_DISABLED = ("kube-system",)  # plus the DCA's namespace (adm/mutate/common/filter.go)
LIB_LANGS = ("java", "js", "python", "dotnet", "ruby", "php")
TAG_LABELS = (("tags.datadoghq.com/env", "DD_ENV"), ("tags.datadoghq.com/service", "DD_SERVICE"),
              ("tags.datadoghq.com/version", "DD_VERSION"))
SOCKET_VOLUMES = ("datadog", "datadog-dsd", "datadog-apm", "datadog-dogstatsd", "datadog-trace-agent")
SKIPPED_CONTAINERS = ("istio-proxy",)
AGENT_HOST, TRACE_URL = "DD_AGENT_HOST", "DD_TRACE_AGENT_URL"
OLD_INJECTION_ERROR = "apm.datadoghq.com/injection-error"  # older builds' annotation


@dataclass(frozen=True)
class WebhookCall:
    role: str
    entry: str
    called: bool | None  # would the API server call this webhook for the pod (None: unknown)
    because: str

    def to_dict(self) -> dict[str, object]:
        return {"webhook": self.entry, "role": self.role, "called": self.called, "because": self.because}


@dataclass(frozen=True)
class Injection:
    role: str  # config | tags | lib
    expected: bool | None
    found: tuple[str, ...]
    missing: tuple[str, ...]
    because: str = ""  # why it is (not) expected

    @property
    def state(self) -> str:
        if self.found and not self.missing:
            return "injected"
        if self.found:
            return "partial"
        return "absent"

    def to_dict(self) -> dict[str, object]:
        return {"role": self.role, "expected": self.expected, "state": self.state, "found": list(self.found),
                "missing": list(self.missing), "because": self.because or None}


@dataclass(frozen=True)
class PodVerdict:
    pod: AppPod
    mode: str  # the config mode this pod gets
    mutated: str  # yes | partial | no
    verdict: str
    reason: str
    calls: tuple[WebhookCall, ...]
    injections: tuple[Injection, ...]
    notes: tuple[str, ...] = ()


def ssi_on(s: AdmissionSettings) -> bool:
    return s.ssi_enabled or bool(s.ssi_enabled_namespaces) or bool(s.ssi_targets)


def ssi_targeted(s: AdmissionSettings, chain: Chain, namespace: str, ns_labels: Mapping[str, str],
                 pod_labels: Mapping[str, str]) -> tuple[bool, str]:
    """Is the pod in SSI's scope (A6), and why."""
    if not ssi_on(s):
        return False, "SSI is off"
    excluded = DEFAULT_DISABLED + (chain.dca_namespace,)
    if s.ssi_targets:
        if chain.ssi_targets_error:
            return False, chain.ssi_targets_error
        if namespace in excluded:
            return False, f"SSI never instruments the namespace {namespace}"
        hit = next((t for t in chain.ssi_targets if t.matches(namespace, ns_labels, pod_labels)), None)
        if hit is not None:
            return True, f"SSI target {hit.name!r} matches"
        return False, "no SSI target matches the pod and its namespace"
    if s.ssi_enabled_namespaces:
        if namespace in s.ssi_enabled_namespaces:
            return True, f"SSI is enabled in {namespace}"
        return False, f"SSI is enabled only in {', '.join(s.ssi_enabled_namespaces)}"
    if namespace in excluded:
        return False, f"SSI never instruments the namespace {namespace}"
    if namespace in s.ssi_disabled_namespaces:
        return False, f"SSI is disabled in {namespace}"
    return True, "SSI is on for the namespace"


def _called(entry: WebhookEntry, pod: AppPod, ns_labels: Mapping[str, str] | None) -> WebhookCall:
    if ns_labels is None:
        return WebhookCall(entry.role, entry.name, None, f"the labels of namespace {pod.namespace} are unknown")
    bad_ns = entry.namespace_selector.failing(ns_labels)
    if bad_ns:
        return WebhookCall(entry.role, entry.name, False,
                           f"namespaceSelector {describe_requirement_for(bad_ns[0])} excludes namespace {pod.namespace}")
    bad_obj = entry.object_selector.failing(pod.labels)
    if bad_obj:
        r = bad_obj[0]
        value = pod.labels.get(r.key)
        return WebhookCall(entry.role, entry.name, False,
                           f"objectSelector {describe_requirement_for(r)}: the pod's label {r.key} is "
                           + (f"{value!r}" if value is not None else "absent"))
    if entry.match_conditions:
        return WebhookCall(entry.role, entry.name, None,
                           f"matchConditions {', '.join(n for n, _ in entry.match_conditions)} not evaluated")
    return WebhookCall(entry.role, entry.name, True, "selectors match")


def _label_filter(s: AdmissionSettings, pod: AppPod, targeted: bool, ssi_why: str) -> tuple[bool, str]:
    """The webhook's own decision for the config and tags webhooks (adm/mutate/common/filter.go)."""
    value = pod.labels.get(ENABLED_LABEL)
    if value == "true":
        return True, f"{ENABLED_LABEL}=true"
    if value == "false":
        return False, f"{ENABLED_LABEL}=false opts the pod out"
    if targeted:
        return True, ssi_why
    if s.mutate_unlabelled:
        return True, "mutateUnlabelled is on"
    return False, f"no {ENABLED_LABEL}=true label and mutateUnlabelled is off"


def pod_mode(s: AdmissionSettings, pod: AppPod) -> str:
    label = pod.labels.get(MODE_LABEL, "")
    mode = label if label in ("hostip", "service", "socket", "csi") else s.inject_mode
    return "socket" if mode == "csi" and not s.csi_enabled else mode


def _app_containers(pod: AppPod) -> list[AppContainer]:
    return [c for c in pod.containers if c.name not in SKIPPED_CONTAINERS] or list(pod.containers)


def _mutated_mode(pod: AppPod) -> str:
    for c in _app_containers(pod):
        host = c.env.get(AGENT_HOST)
        if host is not None:
            return "hostip" if host.source == "field" else "service"
        url = c.env.get(TRACE_URL)
        if url is not None and (url.value or "").startswith("unix://"):
            return "socket"
    return ""


def _config_injection(pod: AppPod, mode: str, expected: bool | None, because: str) -> Injection:
    containers = _app_containers(pod)
    wanted = ["DD_ENTITY_ID"] + (["DD_AGENT_HOST"] if mode in ("hostip", "service", "")
                                 else ["DD_TRACE_AGENT_URL", "DD_DOGSTATSD_URL"])
    seen_mode = _mutated_mode(pod)
    if seen_mode and seen_mode != mode:  # mutated under another mode: judge it by what it got
        wanted = ["DD_ENTITY_ID"] + (["DD_AGENT_HOST"] if seen_mode != "socket"
                                     else ["DD_TRACE_AGENT_URL", "DD_DOGSTATSD_URL"])
    found = [n for n in wanted if all(n in c.env for c in containers)]
    missing = [n for n in wanted if n not in found]
    socket_like = (seen_mode or mode) == "socket" and any(n.startswith("DD_TRACE") for n in found)
    if socket_like:
        vols = [v.name for v in pod.volumes if v.name in SOCKET_VOLUMES]
        (found if vols else missing).append("volume " + (vols[0] if vols else "datadog"))
    if MUTATED_ANNOTATION in pod.annotations and "agent_config" in pod.annotations[MUTATED_ANNOTATION]:
        found.append(f"annotation {MUTATED_ANNOTATION}")
    # DD_AGENT_HOST alone may be the user's own: the webhook's mark is DD_ENTITY_ID (every mode, every version).
    if "DD_ENTITY_ID" not in found and not any(f.startswith("annotation") for f in found):
        return Injection("config", expected, (), tuple(wanted), because)
    return Injection("config", expected, tuple(found), tuple(missing), because)


def _tags_injection(pod: AppPod, expected: bool | None, because: str) -> Injection | None:
    wanted = [(label, var) for label, var in TAG_LABELS if label in pod.labels]
    if not wanted:
        return None  # the webhook takes them from the owner then, which we do not read: nothing to judge
    containers = _app_containers(pod)
    found = tuple(var for label, var in wanted
                  if all(c.env.get(var) is not None and c.env[var].value == pod.labels[label] for c in containers))
    return Injection("tags", expected, found, tuple(v for _, v in wanted if v not in found), because)


def _requested_langs(pod: AppPod) -> list[str]:
    """Languages the pod's own annotations ask for (admission.datadoghq.com/<lang>-lib.version|custom-image)."""
    return [lang for lang in LIB_LANGS
            if any(f"{lang}-lib.version" in k or f"{lang}-lib.custom-image" in k
                   for k in pod.annotations if k.startswith(LIB_ANNOTATION_PREFIX))]


def _lib_injection(pod: AppPod, expected: bool | None, because: str) -> Injection:
    inits = [c for c in pod.init_containers
             if c.name == "datadog-init-apm-inject" or (c.name.startswith("datadog-lib-") and c.name.endswith("-init"))]
    status = pod.annotations.get(INTERNAL_APM_PREFIX + "injection-status", "")
    error = pod.annotations.get(INTERNAL_APM_PREFIX + "injection-error") or \
        pod.annotations.get(OLD_INJECTION_ERROR, "")
    found = [f"init container {c.name} ({c.image})" for c in inits]
    missing: list[str] = []
    if status in ("partial", "error") or error:
        missing.append(f"injection-status {status or 'error'}" + (f": {error}" if error else ""))
    names = {c.name for c in inits}
    missing += [f"init container datadog-lib-{lang}-init (asked by its annotation)"
                for lang in _requested_langs(pod) if f"datadog-lib-{lang}-init" not in names]
    if inits and "datadog-auto-instrumentation" not in {v.name for v in pod.volumes}:
        missing.append("volume datadog-auto-instrumentation")
    if not found and not missing and expected:
        missing.append("lib init containers")
    return Injection("lib", expected, tuple(found), tuple(missing), because)


def judge_pod(pod: AppPod, chain: Chain, ns_labels: Mapping[str, str] | None) -> PodVerdict:
    s = chain.settings
    w = chain.webhook
    notes: list[str] = []
    calls: list[WebhookCall] = []
    injections: list[Injection] = []
    mode = pod_mode(s, pod) if s else ""
    ssi_hit, ssi_why = ssi_targeted(s, chain, pod.namespace, ns_labels or {}, pod.labels) if s else (False, "")
    entries = {e.role: e for e in (w.entries if w else ()) if e.role in POD_ROLES}
    for role in POD_ROLES:
        entry = entries.get(role)
        call = _called(entry, pod, ns_labels) if entry else None
        if call:
            calls.append(call)
        expected: bool | None
        because = ""
        if call is None or s is None:
            expected, because = (False, "no such webhook") if call is None else (None, "settings unknown")
        elif call.called is not True:
            expected, because = call.called, call.because
        elif role == "lib":
            requested = bool(_requested_langs(pod))
            label_off = pod.labels.get(ENABLED_LABEL) == "false"
            expected = not label_off and (ssi_hit or (requested and _label_filter(s, pod, ssi_hit, ssi_why)[0]))
            because = ssi_why if ssi_hit else ("lib annotations" if requested else "no lib annotation, " + ssi_why)
        else:
            expected, because = _label_filter(s, pod, ssi_hit, ssi_why)
        if role == "config":
            injections.append(_config_injection(pod, mode, expected, because))
        elif role == "tags":
            tags = _tags_injection(pod, expected, because)
            if tags:
                injections.append(tags)
        else:
            injections.append(_lib_injection(pod, expected, because))
    touched = [i for i in injections if i.found]
    owed = [i for i in injections if i.expected and i.state != "injected"]
    if touched and owed:
        mutated = "partial"
    elif touched:
        mutated = "yes"
    else:
        mutated = "no"
    seen_mode = _mutated_mode(pod)
    if touched and seen_mode and mode and seen_mode != mode:
        notes.append(f"mutated in {seen_mode} mode; the Cluster Agent now injects {mode} (recreate to follow)")
    verdict, reason = _verdict(pod, chain, mutated, calls, injections, owed, ssi_hit, ssi_why)
    return PodVerdict(pod, mode, mutated, verdict, reason, tuple(calls), tuple(injections), tuple(notes))


def _verdict(pod: AppPod, chain: Chain, mutated: str, calls: list[WebhookCall], injections: list[Injection],
             owed: list[Injection], ssi_hit: bool, ssi_why: str) -> tuple[str, str]:
    if mutated == "yes":
        return "mutated", ", ".join(f"{i.role}: {', '.join(i.found)}" for i in injections if i.found)
    if mutated == "partial":
        got = ", ".join(f"{i.role} injected" for i in injections if i.found and i not in owed)
        lack = "; ".join(f"{i.role} lacks {', '.join(i.missing)}" for i in owed)
        return "injection-partial", (got + "; " if got else "") + lack
    if chain.enabled is False:
        return "admission-disabled", ("the admission controller is off" if chain.install_ref
                                      else "no Cluster Agent runs, so nothing mutates pods")
    if chain.enabled is None or not chain.webhook_known:
        return "unknown", "the install's settings or the webhook configuration could not be read"
    if chain.webhook is None:
        return "webhook-missing", f"MutatingWebhookConfiguration {chain.settings.webhook_name if chain.settings else ''}" \
            " does not exist"
    expected = [i for i in injections if i.expected]
    if not expected:
        config = next((i for i in injections if i.role == "config"), None)
        if any(i.expected is None for i in injections) or (config is None and any(c.called is None for c in calls)):
            why = next((i.because for i in injections if i.expected is None), "")
            return "unknown", why or next((c.because for c in calls if c.called is None), "selection unknown")
        s = chain.settings
        because = config.because if config else next((c.because for c in calls), "no Datadog webhook selects pods")
        if s is not None and ssi_on(s) and not ssi_hit and pod.labels.get(ENABLED_LABEL) != "false" \
                and all(c.called for c in calls):
            return "ssi-not-targeted", ssi_why
        return "not-selected", because
    w = chain.webhook
    if pod.created and w.created and pod.created <= w.created + PROPAGATION:
        when = "before the webhook" if pod.created < w.created else \
            "within a second of the webhook, before the API server could have picked it up"
        return "created-before-webhook", f"created {_when(pod.created)}, {when} ({_when(w.created)}); admission " \
            "acts only at creation"
    if pod.created and chain.dca_ready_since and pod.created < chain.dca_ready_since:
        return "created-while-dca-unavailable", f"created {_when(pod.created)}, before any running Cluster " \
            f"Agent was Ready ({_when(chain.dca_ready_since)})"
    if chain.certificate_ok is False:
        return "certificate-invalid", f"the API server cannot verify the webhook's certificate ({chain.certificate_because})"
    if chain.reachable is False:
        return "webhook-unreachable", f"the API server cannot reach the webhook ({chain.unreachable_because})"
    if chain.reachable is None:
        return "unknown", "whether the webhook's Service has ready endpoints is unknown"
    return "not-mutated", "selected, yet not mutated, and nothing the API shows explains it: the API server " \
        "probably could not reach the webhook (network) and failurePolicy Ignore admitted the pod"
