"""clusterchecks' snapshot: the DCA's cluster-check settings, the workers that may run checks (node
Agents and Cluster Checks Runners), every check config the DCA should know (Service and Endpoints
annotations, confd files), and the DCA's own dispatching state. Plus the pure parsing that builds
them from API dicts (reference: admission-and-clusterchecks.md B1-B2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import Install
from kubectl_datadog.objects import EnvVar, Pod, as_bool
from kubectl_datadog.snapshots.exec import ExecOutcome
from kubectl_datadog.textformats.clusterchecks import DispatchingStatus, DispatchState

AD_PREFIX = "ad.datadoghq.com/"
LEGACY_ENDPOINTS_PREFIX = "service-discovery.datadoghq.com/endpoints."
SERVICE_PREFIX = AD_PREFIX + "service."
ENDPOINTS_PREFIX = AD_PREFIX + "endpoints."
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
class Template:
    check: str
    instances: int

    def to_dict(self) -> dict[str, object]:
        return {"check": self.check, "instances": self.instances}


@dataclass(frozen=True)
class Annotations:
    """The check templates one annotation prefix declares (`service.` or `endpoints.`), or why they
    do not parse. `error` is what the DCA would log as "Cannot parse ... template"."""

    prefix: str  # the annotation prefix, e.g. ad.datadoghq.com/endpoints.
    form: str  # checks (AD v2) | check_names (v1)
    templates: tuple[Template, ...]
    error: str = ""
    key: str = ""  # the annotation at fault

    def to_dict(self) -> dict[str, object]:
        return {"prefix": self.prefix, "form": self.form, "templates": [t.to_dict() for t in self.templates],
                "error": self.error or None}


def _json(annotations: Mapping[str, str], key: str) -> tuple[Any, str]:
    try:
        return json.loads(annotations[key]), ""
    except ValueError as exc:
        return None, f"{key}: invalid JSON ({exc})"


def parse_annotations(annotations: Mapping[str, str], prefix: str) -> Annotations | None:
    """The templates under `prefix`, in the agent's order: `checks` (AD v2) wins over the v1 trio
    `check_names`/`init_configs`/`instances`, whose lists must be as long as each other."""
    checks_key = prefix + "checks"
    if checks_key in annotations:
        doc, err = _json(annotations, checks_key)
        if err:
            return Annotations(prefix, "checks", (), err, checks_key)
        if not isinstance(doc, dict) or not doc:
            return Annotations(prefix, "checks", (), f"{checks_key}: expected a JSON object of check names",
                               checks_key)
        out: list[Template] = []
        for name, body in doc.items():
            if not isinstance(body, dict):
                return Annotations(prefix, "checks", (), f"{checks_key}: {name} is not a JSON object", checks_key)
            instances = body.get("instances")
            if not isinstance(instances, list) or not instances:
                return Annotations(prefix, "checks", tuple(out), f"{checks_key}: {name} has no instances",
                                   checks_key)
            out.append(Template(str(name), len(instances)))
        return Annotations(prefix, "checks", tuple(out))
    names_key = prefix + "check_names"
    if names_key not in annotations:
        return None
    parsed: dict[str, Any] = {}
    for suffix in ("check_names", "init_configs", "instances"):
        key = prefix + suffix
        if key not in annotations:
            return Annotations(prefix, "check_names", (), f"{key} is missing", key)
        doc, err = _json(annotations, key)
        if err:
            return Annotations(prefix, "check_names", (), err, key)
        if not isinstance(doc, list):
            return Annotations(prefix, "check_names", (), f"{key}: expected a JSON list", key)
        parsed[suffix] = doc
    names, inits, insts = parsed["check_names"], parsed["init_configs"], parsed["instances"]
    if not (len(names) == len(inits) == len(insts)):
        return Annotations(prefix, "check_names", (),
                           f"{prefix}check_names, init_configs and instances have {len(names)}, {len(inits)} and "
                           f"{len(insts)} items: they must be as many", names_key)
    return Annotations(prefix, "check_names",
                       tuple(Template(str(n), len(i) if isinstance(i, list) else 1) for n, i in zip(names, insts, strict=True)))


@dataclass(frozen=True)
class Address:
    """A ready endpoint address: with a Pod targetRef (an endpoint check on that pod's node, in
    `auto` resolve mode) or without (a plain cluster check)."""

    ip: str
    pod: str  # namespace/name, "" without a Pod targetRef
    node: str

    def to_dict(self) -> dict[str, object]:
        return {"ip": self.ip, "pod": self.pod or None, "node": self.node or None}


@dataclass(frozen=True)
class AnnotatedService:
    namespace: str
    name: str
    service: Annotations | None  # ad.datadoghq.com/service.*
    endpoints: Annotations | None  # ad.datadoghq.com/endpoints.*
    resolve: str = "auto"  # ad.datadoghq.com/endpoints.resolve
    endpoints_read: bool = False  # the Endpoints (or slices) were read
    endpoints_exist: bool = False
    endpoints_forbidden: Forbidden | None = None
    addresses: tuple[Address, ...] = ()
    not_ready: int = 0

    @property
    def ref(self) -> str:
        return f"service/{self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, object]:
        return {"namespace": self.namespace, "name": self.name,
                "service": self.service.to_dict() if self.service else None,
                "endpoints": self.endpoints.to_dict() if self.endpoints else None,
                "resolve": self.resolve, "endpointsExist": self.endpoints_exist if self.endpoints_read else None,
                "readyAddresses": [a.to_dict() for a in self.addresses], "notReadyAddresses": self.not_ready}


def annotated_service(obj: Mapping[str, Any]) -> AnnotatedService | None:
    meta = obj.get("metadata") or {}
    ann = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    svc = parse_annotations(ann, SERVICE_PREFIX)
    ep = parse_annotations(ann, ENDPOINTS_PREFIX) or parse_annotations(ann, LEGACY_ENDPOINTS_PREFIX)
    if svc is None and ep is None:
        return None
    resolve = (ann.get(ENDPOINTS_PREFIX + "resolve") or "auto").strip() or "auto"
    return AnnotatedService(meta.get("namespace", ""), meta.get("name", ""), svc, ep, resolve)


def endpoints_addresses(obj: Mapping[str, Any]) -> tuple[tuple[Address, ...], int]:
    """Ready addresses of an Endpoints object (the provider skips notReadyAddresses), and how many
    are not ready."""
    out: list[Address] = []
    not_ready = 0
    for subset in obj.get("subsets") or ():
        for addr in subset.get("addresses") or ():
            out.append(_address(addr.get("ip", ""), addr.get("targetRef"), addr.get("nodeName")))
        not_ready += len(subset.get("notReadyAddresses") or ())
    return tuple(out), not_ready


def slice_addresses(objs: list[Mapping[str, Any]]) -> tuple[tuple[Address, ...], int]:
    from kubectl_datadog.objects import endpoint_ready

    out: list[Address] = []
    not_ready = 0
    for obj in objs:
        for ep in obj.get("endpoints") or ():
            if not endpoint_ready(ep):
                not_ready += 1
                continue
            for ip in ep.get("addresses") or ():
                out.append(_address(ip, ep.get("targetRef"), ep.get("nodeName")))
    return tuple(out), not_ready


def _address(ip: str, ref: Any, node: Any) -> Address:
    pod = ""
    if isinstance(ref, dict) and ref.get("kind") == "Pod" and ref.get("name"):
        pod = f"{ref.get('namespace', '')}/{ref['name']}"
    return Address(str(ip), pod, str(node or ""))


@dataclass(frozen=True)
class ConfdFile:
    """A check file the DCA reads from its conf.d (a ConfigMap key)."""

    configmap: str
    key: str
    check: str
    cluster_check: bool
    instances: int
    error: str = ""
    targets_service: bool = False  # advanced_ad_identifiers (a file bound to a Service or Endpoints)

    @property
    def ref(self) -> str:
        return f"configmap/{self.configmap}"

    def to_dict(self) -> dict[str, object]:
        return {"configMap": self.configmap, "key": self.key, "check": self.check, "clusterCheck": self.cluster_check,
                "instances": self.instances, "error": self.error or None}


def confd_file(configmap: str, key: str, text: str, check_dir: str = "") -> ConfdFile | None:
    """One ConfigMap key as a check file; None for keys that are not YAML check files."""
    if not (key.endswith((".yaml", ".yml", ".yaml.default"))):
        return None
    import yaml  # only when a conf.d ConfigMap is read: keeps the command's start-up light

    stem = key.split(".", 1)[0]
    check = check_dir or stem.split("--", 1)[0]
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return ConfdFile(configmap, key, check, False, 0, f"invalid YAML ({str(exc).splitlines()[0]})")
    if not isinstance(doc, dict):
        return ConfdFile(configmap, key, check, False, 0, "not a YAML mapping")
    instances = doc.get("instances")
    count = len(instances) if isinstance(instances, list) else 0
    return ConfdFile(configmap, key, check, bool(doc.get("cluster_check")), count,
                     "" if count or doc.get("ad_identifiers") else "no instances",
                     bool(doc.get("advanced_ad_identifiers")))


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

    def to_dict(self) -> dict[str, object]:
        return {"pod": self.pod or None, "chosenBecause": self.chosen_because,
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
    dca: DcaView | None  # None without exec
    exec_allowed: bool
    check_filter: str = ""
    namespace_filter: str | None = None

    @property
    def runners(self) -> tuple[Worker, ...]:
        return tuple(w for w in self.workers if w.role == "runner")

    @property
    def node_agents(self) -> tuple[Worker, ...]:
        return tuple(w for w in self.workers if w.role == "node-agent")
