"""What a Datadog install is, as read from its pods: no I/O here.

The DCA's behaviour is decided by its env (config key `a.b` is env `DD_A_B`), so its settings are
derived from the pod spec of the Cluster Agent container, with the agent's own defaults
(reference: datadog-agent pkg/config/setup/config.go).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from kubectl_datadog.objects import EnvVar, Pod, as_bool

if TYPE_CHECKING:
    from kubectl_datadog.errors import Forbidden

DCA_CONTAINER = "cluster-agent"
AGENT_CONTAINER = "agent"

DEFAULT_LEASE_NAME = "datadog-leader-election"  # leader_lease_name; also the pre-7.37 hard-coded name
DEFAULT_SERVICE_NAME = "datadog-cluster-agent"  # cluster_agent.kubernetes_service_name
DEFAULT_TOKEN_CONFIGMAP = "datadogtoken"  # cluster_agent.token_name (event collection state)
DEFAULT_HPA_CONFIGMAP = "datadog-custom-metrics"  # hpa_configmap_name (legacy external-metrics store)


def _value(env: Mapping[str, EnvVar], name: str) -> str | None:
    var = env.get(name)
    return var.value if var is not None else None


def _int(env: Mapping[str, EnvVar], name: str, default: int) -> int:
    try:
        return int(float(_value(env, name) or default))
    except ValueError:
        return default


def _list(raw: str | None) -> tuple[str, ...]:
    """A list setting as the DCA's viper reads it from env: a JSON array (how Helm and the Operator
    write it) or space/comma-separated words."""
    text = (raw or "").strip()
    if text.startswith("["):
        import json

        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return tuple(str(v) for v in parsed if str(v))
    return tuple(w for w in text.replace(",", " ").split() if w)


ADMISSION_PREFIX = "DD_ADMISSION_CONTROLLER_"
# The admission controller's env vars (keys in datadog-agent pkg/config/setup/config.go and apm.go).
ADMISSION_SETTING_NAMES = tuple(ADMISSION_PREFIX + n for n in (
    "ENABLED", "MUTATION_ENABLED", "VALIDATION_ENABLED", "MUTATE_UNLABELLED", "WEBHOOK_NAME", "SERVICE_NAME",
    "PORT", "TIMEOUT_SECONDS", "FAILURE_POLICY", "REINVOCATION_POLICY", "NAMESPACE_SELECTOR_FALLBACK",
    "ADD_AKS_SELECTORS", "CONTAINER_REGISTRY", "CERTIFICATE_SECRET_NAME", "PROBE_ENABLED",
    "INJECT_CONFIG_ENABLED", "INJECT_CONFIG_MODE", "INJECT_CONFIG_LOCAL_SERVICE_NAME", "INJECT_CONFIG_SOCKET_PATH",
    "INJECT_CONFIG_TYPE_SOCKET_VOLUMES", "INJECT_TAGS_ENABLED", "AUTO_INSTRUMENTATION_ENABLED",
    "AUTO_INSTRUMENTATION_INIT_SECURITY_CONTEXT")) + (
    "DD_APM_INSTRUMENTATION_ENABLED", "DD_APM_INSTRUMENTATION_ENABLED_NAMESPACES",
    "DD_APM_INSTRUMENTATION_DISABLED_NAMESPACES", "DD_APM_INSTRUMENTATION_TARGETS", "DD_CSI_ENABLED",
    "DD_TRACE_AGENT_HOST_SOCKET_PATH", "DD_DOGSTATSD_HOST_SOCKET_PATH")
INJECT_MODES = ("hostip", "service", "socket", "csi")


@dataclass(frozen=True)
class AdmissionSettings:
    """The admission controller's settings as the DCA reads them, with its defaults
    (shared/reference/admission-and-clusterchecks.md A1)."""

    enabled: bool = False
    mutation_enabled: bool = True
    validation_enabled: bool = True
    mutate_unlabelled: bool = False
    webhook_name: str = "datadog-webhook"
    service_name: str = "datadog-admission-controller"
    port: int = 8000
    timeout_seconds: int = 10
    failure_policy: str = "Ignore"  # Ignore | Fail (anything else: the DCA falls back to Ignore)
    failure_policy_raw: str = ""  # as written, when it is not Ignore/Fail
    namespace_selector_fallback: bool = False
    add_aks_selectors: bool = False
    certificate_secret: str = "webhook-certificate"
    probe_enabled: bool = False
    inject_config: bool = True
    inject_mode: str = "hostip"  # hostip | service | socket | csi; "" when the value is invalid
    inject_mode_raw: str = ""
    local_service_name: str = "datadog"
    socket_path: str = "/var/run/datadog"
    type_socket_volumes: bool = False
    csi_enabled: bool = False
    trace_host_socket_path: str = "/var/run/datadog"
    dsd_host_socket_path: str = "/var/run/datadog"
    inject_tags: bool = True
    auto_instrumentation: bool = True
    init_security_context: str = ""
    ssi_enabled: bool = False
    ssi_enabled_namespaces: tuple[str, ...] = ()
    ssi_disabled_namespaces: tuple[str, ...] = ()
    ssi_targets: str = ""  # DD_APM_INSTRUMENTATION_TARGETS as written (JSON)

    @property
    def effective_inject_mode(self) -> str:
        """csi without the CSI driver enabled falls back to socket (the DCA logs it)."""
        return "socket" if self.inject_mode == "csi" and not self.csi_enabled else self.inject_mode

    @classmethod
    def from_env(cls, env: Mapping[str, EnvVar]) -> "AdmissionSettings":
        def v(name: str) -> str | None:
            return _value(env, ADMISSION_PREFIX + name)

        def flag(name: str, default: bool) -> bool:
            return as_bool(v(name), default)

        policy_raw = (v("FAILURE_POLICY") or "").strip()
        policy = {"ignore": "Ignore", "fail": "Fail"}.get(policy_raw.lower(), "Ignore")
        mode_raw = (v("INJECT_CONFIG_MODE") or "").strip()
        mode = mode_raw.lower() if mode_raw else "hostip"
        return cls(
            enabled=flag("ENABLED", False), mutation_enabled=flag("MUTATION_ENABLED", True),
            validation_enabled=flag("VALIDATION_ENABLED", True), mutate_unlabelled=flag("MUTATE_UNLABELLED", False),
            webhook_name=v("WEBHOOK_NAME") or "datadog-webhook",
            service_name=v("SERVICE_NAME") or "datadog-admission-controller",
            port=_int(env, ADMISSION_PREFIX + "PORT", 8000),
            timeout_seconds=_int(env, ADMISSION_PREFIX + "TIMEOUT_SECONDS", 10),
            failure_policy=policy, failure_policy_raw=policy_raw if policy_raw and policy_raw != policy else "",
            namespace_selector_fallback=flag("NAMESPACE_SELECTOR_FALLBACK", False),
            add_aks_selectors=flag("ADD_AKS_SELECTORS", False),
            certificate_secret=v("CERTIFICATE_SECRET_NAME") or "webhook-certificate",
            probe_enabled=flag("PROBE_ENABLED", False), inject_config=flag("INJECT_CONFIG_ENABLED", True),
            inject_mode=mode if mode in INJECT_MODES else "", inject_mode_raw=mode_raw,
            local_service_name=v("INJECT_CONFIG_LOCAL_SERVICE_NAME") or "datadog",
            socket_path=v("INJECT_CONFIG_SOCKET_PATH") or "/var/run/datadog",
            type_socket_volumes=flag("INJECT_CONFIG_TYPE_SOCKET_VOLUMES", False),
            csi_enabled=as_bool(_value(env, "DD_CSI_ENABLED")),
            trace_host_socket_path=_value(env, "DD_TRACE_AGENT_HOST_SOCKET_PATH") or "/var/run/datadog",
            dsd_host_socket_path=_value(env, "DD_DOGSTATSD_HOST_SOCKET_PATH") or "/var/run/datadog",
            inject_tags=flag("INJECT_TAGS_ENABLED", True), auto_instrumentation=flag("AUTO_INSTRUMENTATION_ENABLED", True),
            init_security_context=v("AUTO_INSTRUMENTATION_INIT_SECURITY_CONTEXT") or "",
            ssi_enabled=as_bool(_value(env, "DD_APM_INSTRUMENTATION_ENABLED")),
            ssi_enabled_namespaces=_list(_value(env, "DD_APM_INSTRUMENTATION_ENABLED_NAMESPACES")),
            ssi_disabled_namespaces=_list(_value(env, "DD_APM_INSTRUMENTATION_DISABLED_NAMESPACES")),
            ssi_targets=(_value(env, "DD_APM_INSTRUMENTATION_TARGETS") or "").strip(),
        )

    def to_dict(self) -> dict[str, object]:
        return {"enabled": self.enabled, "mutationEnabled": self.mutation_enabled,
                "mutateUnlabelled": self.mutate_unlabelled, "webhookName": self.webhook_name,
                "serviceName": self.service_name, "port": self.port, "timeoutSeconds": self.timeout_seconds,
                "failurePolicy": self.failure_policy, "injectConfig": self.inject_config,
                "injectConfigMode": self.inject_mode or self.inject_mode_raw, "injectTags": self.inject_tags,
                "autoInstrumentation": self.auto_instrumentation, "certificateSecret": self.certificate_secret,
                "probeEnabled": self.probe_enabled,
                "ssi": {"enabled": self.ssi_enabled, "enabledNamespaces": list(self.ssi_enabled_namespaces),
                        "disabledNamespaces": list(self.ssi_disabled_namespaces),
                        "targets": self.ssi_targets or None}}


# The env vars DcaSettings reads: a value of one of these taken from a ConfigMap or Secret is read
# from there (and is unknown when that read fails).
SETTING_NAMES = (
    "DD_LEADER_ELECTION", "DD_LEADER_ELECTION_DEFAULT_RESOURCE", "DD_LEADER_LEASE_NAME", "DD_LEADER_LEASE_DURATION",
    "DD_KUBE_RESOURCES_NAMESPACE", "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME", "DD_COLLECT_KUBERNETES_EVENTS",
    "DD_CLUSTER_AGENT_TOKEN_NAME", "DD_KUBERNETES_USE_ENDPOINT_SLICES", "DD_EXTERNAL_METRICS_PROVIDER_ENABLED",
    "DD_EXTERNAL_METRICS_PROVIDER_PORT", "DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD", "DD_HPA_CONFIGMAP_NAME",
    "DD_EXTERNAL_METRICS_PROVIDER_MAX_AGE", "DD_EXTERNAL_METRICS_PROVIDER_ROLLUP", "DD_EXTERNAL_METRICS_AGGREGATOR",
    "DD_CLUSTER_AGENT_CMD_PORT",
    # clusterchecks (snapshots/clusterchecks.SETTING_ENV)
    "DD_CLUSTER_CHECKS_ENABLED", "DD_EXTRA_CONFIG_PROVIDERS", "DD_EXTRA_LISTENERS",
    "DD_CLUSTER_CHECKS_ADVANCED_DISPATCHING_ENABLED", "DD_CLUSTER_CHECKS_REBALANCE_WITH_UTILIZATION",
    "DD_CLUSTER_CHECKS_REBALANCE_PERIOD", "DD_CLUSTER_CHECKS_EXCLUDE_CHECKS", "DD_CLUSTER_CHECKS_KSM_SHARDING_ENABLED",
) + ADMISSION_SETTING_NAMES


@dataclass(frozen=True)
class UnreadSetting:
    """A setting whose value comes from a ConfigMap or Secret that could not be read: unknown, not
    its default. `verb`/`resource` name the read that failed."""

    name: str  # the env var, e.g. DD_LEADER_ELECTION
    kind: str  # configmap | secret
    namespace: str
    ref_name: str
    ref_key: str
    reason: str  # the API's answer, e.g. 'forbidden: cannot get secrets "x" in the namespace "datadog"'

    @property
    def resource(self) -> str:
        return "secrets" if self.kind == "secret" else "configmaps"

    @property
    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.ref_name} key {self.ref_key}"

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "from": self.describe, "reason": self.reason}


@dataclass(frozen=True)
class DcaSettings:
    namespace: str  # the DCA pod's namespace
    leader_election: bool
    lease_name: str
    lock_resource: str  # "configmap", "lease", or "" (auto-detect: Lease when the API serves it)
    lease_duration: int
    resources_namespace: str
    service_name: str
    collect_events: bool
    token_configmap: str
    use_endpoint_slices: bool
    external_metrics: bool
    external_metrics_port: int
    use_datadogmetric_crd: bool
    hpa_configmap: str
    max_age: int
    rollup: int
    aggregator: str
    cmd_port: int
    env: Mapping[str, EnvVar] = field(default_factory=dict)
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)
    # Settings whose ConfigMap/Secret could not be read: their fields above hold the default, which
    # is not what the DCA runs with. Check known() before a verdict rests on one.
    unread: tuple[UnreadSetting, ...] = ()

    def known(self, name: str) -> bool:
        return all(u.name != name for u in self.unread)

    @classmethod
    def from_env(cls, env: Mapping[str, EnvVar], namespace: str,
                 unread: tuple[UnreadSetting, ...] = ()) -> "DcaSettings":
        raw_lock = _value(env, "DD_LEADER_ELECTION_DEFAULT_RESOURCE")
        lock = (raw_lock if raw_lock is not None else "configmap").strip().lower()
        lock = {"leases": "lease", "configmaps": "configmap"}.get(lock, lock)
        if lock not in ("lease", "configmap"):
            lock = ""  # unknown or empty: the DCA asks discovery (Lease if served)
        rollup = _int(env, "DD_EXTERNAL_METRICS_PROVIDER_ROLLUP", 30)
        return cls(
            namespace=namespace,
            leader_election=as_bool(_value(env, "DD_LEADER_ELECTION")),
            lease_name=_value(env, "DD_LEADER_LEASE_NAME") or DEFAULT_LEASE_NAME,
            lock_resource=lock,
            lease_duration=_int(env, "DD_LEADER_LEASE_DURATION", 60),
            resources_namespace=_value(env, "DD_KUBE_RESOURCES_NAMESPACE") or namespace,
            service_name=_value(env, "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME") or DEFAULT_SERVICE_NAME,
            collect_events=as_bool(_value(env, "DD_COLLECT_KUBERNETES_EVENTS")),
            token_configmap=_value(env, "DD_CLUSTER_AGENT_TOKEN_NAME") or DEFAULT_TOKEN_CONFIGMAP,
            use_endpoint_slices=as_bool(_value(env, "DD_KUBERNETES_USE_ENDPOINT_SLICES")),
            external_metrics=as_bool(_value(env, "DD_EXTERNAL_METRICS_PROVIDER_ENABLED")),
            external_metrics_port=_int(env, "DD_EXTERNAL_METRICS_PROVIDER_PORT", 8443),
            use_datadogmetric_crd=as_bool(_value(env, "DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD")),
            hpa_configmap=_value(env, "DD_HPA_CONFIGMAP_NAME") or DEFAULT_HPA_CONFIGMAP,
            max_age=max(_int(env, "DD_EXTERNAL_METRICS_PROVIDER_MAX_AGE", 120), 3 * rollup),
            rollup=rollup,
            aggregator=_value(env, "DD_EXTERNAL_METRICS_AGGREGATOR") or "avg",
            cmd_port=_int(env, "DD_CLUSTER_AGENT_CMD_PORT", 5005),
            env=dict(env),
            admission=AdmissionSettings.from_env(env),
            unread=unread,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "leaderElection": self.leader_election, "leaseName": self.lease_name,
            "lockResource": self.lock_resource or "auto", "leaseDurationSeconds": self.lease_duration,
            "resourcesNamespace": self.resources_namespace, "serviceName": self.service_name,
            "collectEvents": self.collect_events, "tokenConfigMap": self.token_configmap,
            "useEndpointSlices": self.use_endpoint_slices, "externalMetrics": self.external_metrics,
            "externalMetricsPort": self.external_metrics_port, "useDatadogMetricCRD": self.use_datadogmetric_crd,
            "hpaConfigMap": self.hpa_configmap, "maxAgeSeconds": self.max_age, "cmdPort": self.cmd_port,
            "unknown": [u.to_dict() for u in self.unread],
        }


@dataclass(frozen=True)
class Install:
    """One Datadog install: its Cluster Agent pods and node Agent pods, and how it was deployed."""

    namespace: str
    name: str  # Helm fullname / DatadogAgent name / manifest name
    flavor: str  # helm | operator | manifest
    dca_deployment: str
    dca_pods: tuple[Pod, ...]
    agent_pods: tuple[Pod, ...]
    dca_container: str = DCA_CONTAINER
    settings: DcaSettings | None = None
    agents_searched: bool = True  # False when the command did not look for node Agents
    # Listing pods at the cluster scope was forbidden, so discovery looked only in `namespace` (the
    # one given by --install-namespace, -n or the context): an install elsewhere is not seen.
    scope_forbidden: Forbidden | None = None

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.dca_deployment or self.name} ({self.flavor})"

    def to_dict(self) -> dict[str, object]:
        return {"namespace": self.namespace, "name": self.name, "flavor": self.flavor,
                "clusterAgentDeployment": self.dca_deployment or None,
                "clusterAgentPods": [p.name for p in self.dca_pods],
                "nodeAgentPods": len(self.agent_pods) if self.agents_searched else None,
                "settings": self.settings.to_dict() if self.settings else None}


@dataclass(frozen=True)
class Leftover:
    """An object a Datadog install leaves behind that outlives its pods: the leader lock, the
    event-collection token ConfigMap, the DCA token Secret, the external-metrics APIService, or a
    Deployment/DaemonSet that runs no pod."""

    kind: str  # ConfigMap | Lease | Secret | APIService
    namespace: str  # "" for the cluster-scoped APIService
    name: str
    role: str  # leader-lock | event-token | cluster-agent-token | external-metrics-apiservice | workload
    detail: str = ""  # e.g. "last held by X", "served by service ns/name, which does not exist"

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.namespace + '/' if self.namespace else ''}{self.name}"

    def to_dict(self) -> dict[str, object]:
        return {"object": self.ref, "role": self.role, "detail": self.detail or None}
