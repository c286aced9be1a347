"""admission-explain's snapshot: the webhook configuration, the app pods as the webhooks see them
(labels, annotations, env, volumes, init containers), their namespaces and owners' events, and the
outcome of every read. Pure parsing from API dicts; nothing here talks to the cluster.

Facts (names, paths, labels, defaults): shared/reference/admission-and-clusterchecks.md A2-A5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from kubectl_datadog.install import AdmissionSettings, Install
from kubectl_datadog.objects import EnvVar, Service, decode_base64_field, parse_env
from kubectl_datadog.snapshots.admission_cert import CertificateSecret
from kubectl_datadog.snapshots.admission_selectors import (
    LabelSelector,
    Requirement,
    SsiTarget,
    describe_requirement_for,
    parse_ssi_targets,
)
from kubectl_datadog.snapshots.hpa_explain import ReadError
from kubectl_datadog.textformats.admission_status import AdmissionStatus
from kubectl_datadog.times import parse_time

ENABLED_LABEL = "admission.datadoghq.com/enabled"
MODE_LABEL = "admission.datadoghq.com/config.mode"
MUTATED_ANNOTATION = "admission.datadoghq.com/mutated"
INTERNAL_APM_PREFIX = "internal.apm.datadoghq.com/"
LIB_ANNOTATION_PREFIX = "admission.datadoghq.com/"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"

# Webhook roles by path, then by entry-name suffix (older names included; A2.2).
ROLE_BY_PATH = {"/injectconfig": "config", "/injecttags": "tags", "/injectlib": "lib", "/agentsidecar": "sidecar",
                "/inject-pod-cws": "cws", "/inject-command-cws": "cws-exec", "/autoscaling": "autoscaling"}
ROLE_BY_SUFFIX = ((".agent.config", "config"), (".webhook.config", "config"), (".standard.tags", "tags"),
                  (".webhook.tags", "tags"), (".lib.injection", "lib"), (".auto.instrumentation", "lib"),
                  (".agent.sidecar", "sidecar"), (".probe", "probe"))
POD_ROLES = ("config", "tags", "lib")  # the webhooks an ordinary app pod goes through
__all__ = ["LabelSelector", "Requirement", "SsiTarget", "describe_requirement_for", "parse_ssi_targets"]


# --- the webhook configuration ----------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookEntry:
    name: str
    role: str  # config | tags | lib | sidecar | cws | cws-exec | probe | autoscaling | other
    path: str
    service_namespace: str
    service_name: str
    service_port: int
    url: str  # clientConfig.url, when not a Service
    ca_bundle: str  # PEM text ("" when absent)
    failure_policy: str  # Ignore | Fail (the API server's default for v1 is Fail)
    timeout_seconds: int
    object_selector: LabelSelector
    namespace_selector: LabelSelector
    match_conditions: tuple[tuple[str, str], ...]  # (name, CEL expression)
    operations: tuple[str, ...]
    resources: tuple[str, ...]

    @property
    def creates_pods(self) -> bool:
        return "pods" in self.resources and any(op in ("CREATE", "*") for op in self.operations)

    @property
    def service_ref(self) -> str:
        return f"{self.service_namespace}/{self.service_name}:{self.service_port}{self.path}" if self.service_name \
            else self.url


def _role(name: str, path: str) -> str:
    if path in ROLE_BY_PATH:
        return ROLE_BY_PATH[path]
    return next((role for suffix, role in ROLE_BY_SUFFIX if name.endswith(suffix)), "other")


def _pem(ca_bundle: Any) -> str:
    return decode_base64_field(ca_bundle)


def parse_webhook_entry(w: Mapping[str, Any]) -> WebhookEntry:
    cc = w.get("clientConfig") or {}
    svc = cc.get("service") or {}
    ops: list[str] = []
    resources: list[str] = []
    for rule in w.get("rules") or []:
        ops += [str(o) for o in rule.get("operations") or []]
        resources += [str(r) for r in rule.get("resources") or []]
    name, path = str(w.get("name", "")), str(svc.get("path", "") or "")
    timeout = w.get("timeoutSeconds")
    return WebhookEntry(
        name=name, role=_role(name, path), path=path, service_namespace=str(svc.get("namespace", "") or ""),
        service_name=str(svc.get("name", "") or ""), service_port=int(svc.get("port") or 443),
        url=str(cc.get("url", "") or ""), ca_bundle=_pem(cc.get("caBundle")),
        failure_policy=str(w.get("failurePolicy") or "Fail"),
        timeout_seconds=int(timeout) if timeout is not None else 10,
        object_selector=LabelSelector.from_dict(w.get("objectSelector")),
        namespace_selector=LabelSelector.from_dict(w.get("namespaceSelector")),
        match_conditions=tuple((str(m.get("name", "")), str(m.get("expression", "")))
                               for m in w.get("matchConditions") or []),
        operations=tuple(ops), resources=tuple(resources))


@dataclass(frozen=True)
class WebhookConfig:
    kind: str  # MutatingWebhookConfiguration | ValidatingWebhookConfiguration
    name: str
    created: datetime | None
    entries: tuple[WebhookEntry, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    def by_role(self, role: str) -> WebhookEntry | None:
        return next((e for e in self.entries if e.role == role), None)


def parse_webhook_config(obj: Mapping[str, Any]) -> WebhookConfig:
    meta = obj.get("metadata") or {}
    return WebhookConfig(kind=str(obj.get("kind", "MutatingWebhookConfiguration")), name=str(meta.get("name", "")),
                         created=parse_time(meta.get("creationTimestamp")),
                         entries=tuple(parse_webhook_entry(w) for w in obj.get("webhooks") or []),
                         annotations=dict(meta.get("annotations") or {}))


# --- app pods ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppContainer:
    name: str
    image: str
    env: Mapping[str, EnvVar]
    mounts: tuple[tuple[str, str], ...]  # (volume name, mountPath)


@dataclass(frozen=True)
class AppVolume:
    name: str
    kind: str  # hostPath | csi | emptyDir | configMap | ...
    path: str = ""  # hostPath path, or the CSI driver


@dataclass(frozen=True)
class AppPod:
    namespace: str
    name: str
    uid: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    created: datetime | None
    owner_kind: str
    owner_name: str
    containers: tuple[AppContainer, ...]
    init_containers: tuple[AppContainer, ...]
    volumes: tuple[AppVolume, ...]
    phase: str
    ready: bool

    @property
    def ref(self) -> str:
        return f"pod/{self.namespace}/{self.name}"

    @property
    def owner(self) -> str:
        return f"{self.owner_kind}/{self.owner_name}" if self.owner_kind else ""

    def volume(self, name: str) -> AppVolume | None:
        return next((v for v in self.volumes if v.name == name), None)


def _container(c: Mapping[str, Any]) -> AppContainer:
    env = {e.name: e for e in parse_env(c) if not e.is_env_from}
    mounts = tuple((str(m.get("name", "")), str(m.get("mountPath", ""))) for m in c.get("volumeMounts") or [])
    return AppContainer(str(c.get("name", "")), str(c.get("image", "")), env, mounts)


def _volume(v: Mapping[str, Any]) -> AppVolume:
    name = str(v.get("name", ""))
    for kind in ("hostPath", "csi"):
        if isinstance(v.get(kind), Mapping):
            src = v[kind]
            return AppVolume(name, kind, str(src.get("path") or src.get("driver") or ""))
    kind = next((k for k in v if k != "name"), "")
    return AppVolume(name, str(kind))


def parse_app_pod(obj: Mapping[str, Any]) -> AppPod:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    owner: Mapping[str, Any] = next(iter(meta.get("ownerReferences") or []), {})
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return AppPod(
        namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")), uid=str(meta.get("uid", "")),
        labels=dict(meta.get("labels") or {}), annotations=dict(meta.get("annotations") or {}),
        created=parse_time(meta.get("creationTimestamp")), owner_kind=str(owner.get("kind", "")),
        owner_name=str(owner.get("name", "")),
        containers=tuple(_container(c) for c in spec.get("containers") or []),
        init_containers=tuple(_container(c) for c in spec.get("initContainers") or []),
        volumes=tuple(_volume(v) for v in spec.get("volumes") or []),
        phase=str(status.get("phase", "") or "Pending"), ready=ready)


# --- namespaces, owners' events, the DCA replicas, the Service ------------------------------------------

@dataclass(frozen=True)
class NamespaceInfo:
    name: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class OwnerEvent:
    kind: str  # the involved object's kind
    namespace: str
    name: str
    reason: str
    message: str
    type: str
    count: int
    last: datetime | None


def parse_event(obj: Mapping[str, Any]) -> OwnerEvent:
    inv = obj.get("involvedObject") or obj.get("regarding") or {}
    series = obj.get("series") or {}
    last = parse_time(obj.get("lastTimestamp") or series.get("lastObservedTime") or obj.get("eventTime")
                      or (obj.get("metadata") or {}).get("creationTimestamp"))
    return OwnerEvent(str(inv.get("kind", "")), str(inv.get("namespace", "")), str(inv.get("name", "")),
                      str(obj.get("reason", "") or ""), str(obj.get("message", "") or obj.get("note", "") or ""),
                      str(obj.get("type", "") or ""), int(obj.get("count") or series.get("count") or 1), last)


@dataclass(frozen=True)
class DcaReplica:
    name: str
    ready: bool
    ready_since: datetime | None  # the Ready condition's last transition, when Ready
    created: datetime | None


def parse_dca_replica(obj: Mapping[str, Any]) -> DcaReplica:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    cond: Mapping[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    ready = cond.get("status") == "True"
    return DcaReplica(str(meta.get("name", "")), ready, parse_time(cond.get("lastTransitionTime")) if ready else None,
                      parse_time(meta.get("creationTimestamp")))


@dataclass(frozen=True)
class ServiceEndpoints:
    """The admission Service's endpoints on its target port: ready and not-ready addresses."""

    ready: tuple[str, ...] = ()
    not_ready: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()  # the ports the endpoints serve


@dataclass(frozen=True)
class AdmissionSnapshot:
    namespace: str | None  # None with -A
    pod_name: str | None
    selector: str
    install: Install | None
    install_error: str
    settings: AdmissionSettings | None
    unknown_settings: tuple[str, ...]  # env vars whose ConfigMap/Secret could not be read
    mutating: WebhookConfig | None
    mutating_error: ReadError | None
    service: Service | None
    service_error: ReadError | None
    endpoints: ServiceEndpoints | None
    endpoints_error: ReadError | None
    dca_replicas: tuple[DcaReplica, ...]
    certificate: CertificateSecret | None
    certificate_error: ReadError | None
    namespaces: Mapping[str, NamespaceInfo]
    namespaces_error: ReadError | None
    pods: tuple[AppPod, ...]
    events: tuple[OwnerEvent, ...]
    events_error: ReadError | None
    platform: tuple[str, ...] = ()  # gke, gke-autopilot, eks, aks, openshift: seen on the nodes
    status: AdmissionStatus | None = None  # the DCA's own "Admission Controller" status section (exec)
    status_pod: str = ""  # the DCA pod it came from
    status_error: str = ""  # why there is none (exec forbidden, failed, no such section)
    other_webhooks: tuple[str, ...] = field(default_factory=tuple)  # names of other MWCs that take pods
    ssi_targets: tuple[SsiTarget, ...] = ()  # the settings' DD_APM_INSTRUMENTATION_TARGETS, parsed
    ssi_targets_error: str = ""
