"""leader's snapshot: the lock records (Lease or ConfigMap, parsed from API dicts) and what else
the diagnosis needs."""

from __future__ import annotations

from typing import Any

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import DcaSettings, Install
from kubectl_datadog.times import parse_time
from kubectl_datadog.snapshots.exec import ExecOutcome

LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


@dataclass(frozen=True)
class LockRecord:
    kind: str  # "Lease" | "ConfigMap"
    namespace: str
    name: str
    exists: bool
    holder: str = ""
    lease_duration: int | None = None
    acquired: datetime | None = None
    renewed: datetime | None = None
    transitions: int | None = None
    created: datetime | None = None
    forbidden: Forbidden | None = None
    problem: str = ""  # e.g. an annotation that is not valid JSON

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.namespace}/{self.name}"

    def duration(self, default: int) -> int:
        """The lease duration the holder wrote, else the elector's configured one."""
        return self.lease_duration or default

    def expires(self, default_duration: int) -> datetime | None:
        """When the holder's lease runs out unless renewed: renewTime + leaseDuration, the rule
        client-go's elector applies before another candidate may take the lock."""
        return self.renewed + timedelta(seconds=self.duration(default_duration)) if self.renewed else None

    def expired(self, now: datetime, default_duration: int) -> bool:
        """client-go holds the lease valid while its expiry is after now: at the expiry itself
        another candidate may take it."""
        expires = self.expires(default_duration)
        return expires is not None and expires <= now

    @property
    def kubectl_get(self) -> str:
        return f"kubectl -n {self.namespace} get {self.kind.lower()} {self.name} -o yaml"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "exists": self.exists,
                "holderIdentity": self.holder or None, "leaseDurationSeconds": self.lease_duration,
                "acquireTime": self.acquired, "renewTime": self.renewed, "leaderTransitions": self.transitions,
                "readable": self.forbidden is None}


def lock_from_lease(obj: dict[str, Any], namespace: str, name: str) -> LockRecord:
    spec = obj.get("spec") or {}
    meta = obj.get("metadata") or {}
    return LockRecord("Lease", namespace, name, True, spec.get("holderIdentity") or "",
                      spec.get("leaseDurationSeconds"), parse_time(spec.get("acquireTime")),
                      parse_time(spec.get("renewTime")), spec.get("leaseTransitions"),
                      parse_time(meta.get("creationTimestamp")))


def lock_from_configmap(obj: dict[str, Any], namespace: str, name: str) -> LockRecord:
    meta = obj.get("metadata") or {}
    created = parse_time(meta.get("creationTimestamp"))
    raw = (meta.get("annotations") or {}).get(LEADER_ANNOTATION)
    if not raw:
        return LockRecord("ConfigMap", namespace, name, True, created=created)
    try:
        rec = json.loads(raw)
    except ValueError:
        return LockRecord("ConfigMap", namespace, name, True, created=created,
                          problem=f"the {LEADER_ANNOTATION} annotation is not valid JSON")
    return LockRecord("ConfigMap", namespace, name, True, rec.get("holderIdentity") or "",
                      rec.get("leaseDurationSeconds"), parse_time(rec.get("acquireTime")),
                      parse_time(rec.get("renewTime")), rec.get("leaderTransitions"), created)


# Who elects a leader through the lock: the Cluster Agent replicas, or, on an install without a
# Cluster Agent (Helm clusterAgent.enabled=false), the node Agents among themselves.
ELECTOR_DCA = "cluster-agent"
ELECTOR_AGENTS = "node-agents"
ELECTOR_NONE = "none"  # no Cluster Agent, and the node Agents do not run leader election


@dataclass(frozen=True)
class LeaderSnapshot:
    install: Install
    configured_kind: str  # "Lease" | "ConfigMap": what the elector's settings select
    locks: tuple[LockRecord, ...]  # configured lock first, then the other kind and the legacy name
    agents_with_leader_election: tuple[str, ...]  # node Agent pods with DD_LEADER_ELECTION=true
    dca_access: tuple[tuple[AccessCheck, bool | None], ...]
    status: ExecOutcome | None  # the holder's `status`, when exec ran
    elector: str = ELECTOR_DCA
    # The elector's leader-election settings: the DCA's, or a node Agent's (the same config keys).
    election: DcaSettings | None = None
    # Without a DCA: what the electing node Agents' service account may do (as dca_access for a DCA).
    agent_access: tuple[tuple[AccessCheck, bool | None], ...] = ()
    # The holder pod's node: its Ready condition ("True", "False", "Unknown"), "" when it was not read
    # (no holder pod, the node is gone or may not be read); why a stale holder stopped renewing.
    holder_node_ready: str = ""
    # Candidate pods whose own spec does not turn leader election on (a replica of an older rollout):
    # they never try to take the lock.
    replicas_without_election: tuple[str, ...] = ()
