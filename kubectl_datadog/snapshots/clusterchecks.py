"""clusterchecks' snapshot: the DCA's cluster-check settings, the workers that may run checks (node
Agents and Cluster Checks Runners), every check config the DCA should know (Service and Endpoints
annotations, confd files), and the DCA's own dispatching state. Plus the pure parsing that builds
them from API dicts (reference: admission-and-clusterchecks.md B1-B2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import Install
from kubectl_datadog.objects import EnvVar, Pod, as_bool
from kubectl_datadog.snapshots.clusterchecks_configs import AnnotatedService, ConfdFile
from kubectl_datadog.snapshots.exec import ExecOutcome
from kubectl_datadog.textformats.clusterchecks import DispatchingStatus, DispatchState
from kubectl_datadog.textformats.clusterchecks_telemetry import ClusterChecksTelemetry

KSM_CORE = "kubernetes_state_core"

# The DCA's settings this command reads (config key `a.b` is env DD_A_B).
SETTING_ENV = ("DD_CLUSTER_CHECKS_ENABLED", "DD_EXTRA_CONFIG_PROVIDERS", "DD_EXTRA_LISTENERS",
               "DD_CLUSTER_CHECKS_ADVANCED_DISPATCHING_ENABLED", "DD_CLUSTER_CHECKS_REBALANCE_WITH_UTILIZATION",
               "DD_CLUSTER_CHECKS_REBALANCE_PERIOD", "DD_CLUSTER_CHECKS_EXCLUDE_CHECKS",
               "DD_CLUSTER_CHECKS_KSM_SHARDING_ENABLED")


def split_list(value: str | None) -> tuple[str, ...]:
    """A list setting from env: the agents split on spaces (viper); commas and a JSON list seen in
    the wild are read too."""
    if not value:
        return ()
    raw = value.strip()
    if raw.startswith("["):
        try:
            items = json.loads(raw)
            if isinstance(items, list):
                return tuple(str(i) for i in items if str(i))
        except ValueError:
            pass
    return tuple(p for p in raw.replace(",", " ").split() if p)


@dataclass(frozen=True)
class DispatchSettings:
    """The DCA's cluster-check settings. A value set from a ConfigMap/Secret we could not read is in
    `unknown` (its field then holds the default, on which no verdict may rest)."""

    enabled: bool
    config_providers: tuple[str, ...]
    listeners: tuple[str, ...]
    advanced_dispatching: bool
    rebalance_with_utilization: bool
    rebalance_period: str
    exclude_checks: tuple[str, ...]
    ksm_sharding: bool
    unknown: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, EnvVar], unknown: tuple[str, ...] = ()) -> "DispatchSettings":
        def value(name: str) -> str | None:
            var = env.get(name)
            return var.value if var is not None else None

        return cls(
            enabled=as_bool(value("DD_CLUSTER_CHECKS_ENABLED")),
            config_providers=split_list(value("DD_EXTRA_CONFIG_PROVIDERS")),
            listeners=split_list(value("DD_EXTRA_LISTENERS")),
            advanced_dispatching=as_bool(value("DD_CLUSTER_CHECKS_ADVANCED_DISPATCHING_ENABLED"), True),
            rebalance_with_utilization=as_bool(value("DD_CLUSTER_CHECKS_REBALANCE_WITH_UTILIZATION"), True),
            rebalance_period=value("DD_CLUSTER_CHECKS_REBALANCE_PERIOD") or "10m",
            exclude_checks=split_list(value("DD_CLUSTER_CHECKS_EXCLUDE_CHECKS")),
            ksm_sharding=as_bool(value("DD_CLUSTER_CHECKS_KSM_SHARDING_ENABLED")),
            unknown=tuple(n for n in unknown if n in SETTING_ENV))

    def known(self, name: str) -> bool:
        return name not in self.unknown

    def to_dict(self) -> dict[str, object]:
        return {"enabled": None if not self.known("DD_CLUSTER_CHECKS_ENABLED") else self.enabled,
                "configProviders": list(self.config_providers), "listeners": list(self.listeners),
                "advancedDispatching": self.advanced_dispatching,
                "rebalanceWithUtilization": self.rebalance_with_utilization,
                "rebalancePeriod": self.rebalance_period, "excludeChecks": list(self.exclude_checks),
                "ksmSharding": self.ksm_sharding, "unknown": list(self.unknown)}


@dataclass(frozen=True)
class Worker:
    """A pod that may run dispatched checks: a node Agent or a Cluster Checks Runner."""

    pod: Pod
    role: str  # node-agent | runner
    providers: frozenset[str] | None  # its DD_EXTRA_CONFIG_PROVIDERS (None: set from elsewhere, unknown)

    def runs(self, provider: str) -> bool | None:
        return None if self.providers is None else provider in self.providers

    def to_dict(self) -> dict[str, object]:
        return {"pod": self.pod.name, "role": self.role, "node": self.pod.node or None, "ready": self.pod.ready,
                "phase": self.pod.phase,
                "configProviders": None if self.providers is None else sorted(self.providers)}


def worker_providers(env: Mapping[str, EnvVar]) -> frozenset[str] | None:
    var = env.get("DD_EXTRA_CONFIG_PROVIDERS")
    if var is None:
        return frozenset()
    if var.source != "value":
        return None
    return frozenset(split_list(var.value))


@dataclass(frozen=True)
class RunnerDeployment:
    namespace: str
    name: str
    replicas: int
    ready: int
    service_account: str

    def to_dict(self) -> dict[str, object]:
        return {"namespace": self.namespace, "name": self.name, "replicas": self.replicas, "ready": self.ready,
                "serviceAccount": self.service_account}


@dataclass(frozen=True)
class TelemetryRead:
    """The DCA's telemetry read through pods/proxy (a second source when exec is not allowed or fails)."""

    pod: str  # namespace/name
    port: int
    path: str = "metrics"
    forbidden: Forbidden | None = None
    error: str = ""  # why there is no telemetry ("" when read)
    telemetry: ClusterChecksTelemetry | None = None

    @property
    def command(self) -> str:
        ns, _, name = self.pod.partition("/")
        return f"kubectl get --raw /api/v1/namespaces/{ns}/pods/{name}:{self.port}/proxy/{self.path}"

    @property
    def problem(self) -> str:
        if self.forbidden is not None:
            return f"get pods/proxy is forbidden ({self.forbidden.message})"
        return self.error

    def to_dict(self) -> dict[str, object]:
        return {"pod": self.pod, "port": self.port, "path": f"/{self.path}", "problem": self.problem or None,
                "clusterChecks": self.telemetry.to_dict() if self.telemetry else None}


@dataclass(frozen=True)
class DcaView:
    """The DCA leader's own account: `clusterchecks` and `status`, run in the pod chosen."""

    pod: str  # namespace/name ("" when no pod could be chosen)
    chosen_because: str  # "leader" | why another pod was used
    clusterchecks: ExecOutcome | None
    state: DispatchState | None
    status: ExecOutcome | None
    dispatching: DispatchingStatus | None
    parse_error: str = ""
    telemetry: TelemetryRead | None = None  # read when `clusterchecks` could not be (no exec, or it failed)

    @property
    def source(self) -> str:
        """What `state` was read from: "exec", "telemetry", or "" (nothing)."""
        if self.state is None:
            return ""
        return "telemetry" if self.state.source == "telemetry" else "exec"

    @property
    def command(self) -> str:
        """The command that shows what `state` says (or what was tried)."""
        if self.source == "telemetry" and self.telemetry is not None:
            return self.telemetry.command
        if self.clusterchecks is not None:
            return self.clusterchecks.command
        return self.telemetry.command if self.telemetry is not None else ""

    def to_dict(self) -> dict[str, object]:
        return {"pod": self.pod or None, "chosenBecause": self.chosen_because, "source": self.source or None,
                "telemetry": self.telemetry.to_dict() if self.telemetry else None,
                "clusterchecks": self.clusterchecks.to_dict() if self.clusterchecks else None,
                "state": self.state.to_dict() if self.state else None,
                "status": self.status.to_dict() if self.status else None,
                "dispatching": self.dispatching.to_dict() if self.dispatching else None,
                "parseError": self.parse_error or None}


@dataclass(frozen=True)
class ClusterChecksSnapshot:
    install: Install
    settings: DispatchSettings | None  # None without a Cluster Agent
    workers: tuple[Worker, ...]
    runner_deployment: RunnerDeployment | None
    runner_lookup_forbidden: Forbidden | None
    nodes: Mapping[str, bool] | None  # node name -> Ready (None: nodes not listed)
    services: tuple[AnnotatedService, ...]
    services_forbidden: Forbidden | None
    confd: tuple[ConfdFile, ...]
    confd_unread: tuple[str, ...]  # ConfigMaps the DCA mounts as conf.d that we could not read
    leader: str  # the leader pod's name ("" when none is known)
    leader_why: str  # "leader", or why there is none
    access: tuple[tuple[AccessCheck, bool | None], ...]
    access_subject: str  # whose permissions `access` holds (a service account), "" when none
    provider_access: tuple[tuple[AccessCheck, bool | None], ...]  # the DCA's: what its config providers list
    dca: DcaView | None  # None without a DCA pod to ask
    exec_allowed: bool
    check_filter: str = ""
    namespace_filter: str | None = None

    @property
    def runners(self) -> tuple[Worker, ...]:
        return tuple(w for w in self.workers if w.role == "runner")

    @property
    def node_agents(self) -> tuple[Worker, ...]:
        return tuple(w for w in self.workers if w.role == "node-agent")
