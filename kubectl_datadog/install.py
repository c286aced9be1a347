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
)


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
