"""env-check's snapshot: per-Agent probes (exec and log outcomes, already parsed: no raw env is kept), token
references with their fingerprints, the Services and endpoints of each install's namespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import Install
from kubectl_datadog.model import SecretValue
from kubectl_datadog.objects import EnvVar, Pod, Service
from kubectl_datadog.textformats.agent_status import (
    DcaStatus,
    ProcessEnv,
    TagCollectorLog,
)


@dataclass(frozen=True)
class Probe:
    """One per-Agent read (exec or logs): its parsed result, or why there is none."""

    ok: bool
    problem: str = ""  # one line, never containing output
    forbidden: Forbidden | None = None
    command: str = ""  # the kubectl command that reproduces it


@dataclass(frozen=True)
class AgentProbes:
    status: DcaStatus | None = None  # None: no "Datadog Cluster Agent" section (or no status)
    status_probe: Probe | None = None  # None: not run (--no-exec, pod not running)
    env: ProcessEnv | None = None
    env_probe: Probe | None = None
    log: TagCollectorLog | None = None
    log_probe: Probe | None = None


@dataclass(frozen=True)
class TokenRef:
    """Where a container's DD_CLUSTER_AGENT_AUTH_TOKEN comes from, and its value as a SecretValue."""

    source: str  # secret | configmap | value | missing
    namespace: str = ""
    name: str = ""  # Secret/ConfigMap name
    key: str = ""
    value: SecretValue | None = None
    problem: str = ""  # "" | not-found | key-missing | forbidden | unreadable
    forbidden: Forbidden | None = None

    @property
    def describe(self) -> str:
        if self.source in ("secret", "configmap"):
            return f"{self.source} {self.namespace}/{self.name} key {self.key}"
        return {"value": "literal value in the pod spec", "missing": "not set"}.get(self.source, self.source)

    def to_dict(self) -> dict[str, object]:
        return {"source": self.describe, "length": self.value.length if self.value else None,
                "fingerprint": self.value.fingerprint if self.value else None, "problem": self.problem or None}


@dataclass(frozen=True)
class NamespaceObjects:
    """Services and EndpointSlices of one namespace (ready endpoints per Service, with ports)."""

    namespace: str
    services: Mapping[str, Service] = field(default_factory=dict)
    services_forbidden: Forbidden | None = None
    endpoints: Mapping[str, tuple["ReadyEndpoint", ...]] = field(default_factory=dict)
    slices_forbidden: Forbidden | None = None


@dataclass(frozen=True)
class ReadyEndpoint:
    ip: str
    pod: str  # targetRef name ("" when not a pod)
    ready: bool
    ports: tuple[tuple[str, int], ...]  # (port name, target port number)


@dataclass(frozen=True)
class AgentData:
    pod: Pod
    install: int  # index into EnvCheckSnapshot.installs
    env: Mapping[str, EnvVar]  # the agent container's spec env (field refs resolved)
    token: TokenRef
    probes: AgentProbes


@dataclass(frozen=True)
class InstallData:
    install: Install
    dca_token: TokenRef | None  # None: no DCA pod


@dataclass(frozen=True)
class EnvCheckSnapshot:
    installs: tuple[InstallData, ...]
    agents: tuple[AgentData, ...]
    namespaces: Mapping[str, NamespaceObjects]
    selection: str  # "all", "node <n>", "pod <ns>/<name> (node <n>)"
    exec_enabled: bool
    logs_enabled: bool
    since_seconds: int | None
    tail_lines: int | None
