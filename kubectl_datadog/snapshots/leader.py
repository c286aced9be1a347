"""leader's snapshot: the lock records (Lease or ConfigMap, parsed from API dicts) and what else
the diagnosis needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import Install
from kubectl_datadog.output.humanize import parse_time
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

    @property
    def kubectl_get(self) -> str:
        return f"kubectl -n {self.namespace} get {self.kind.lower()} {self.name} -o yaml"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "exists": self.exists,
                "holderIdentity": self.holder or None, "leaseDurationSeconds": self.lease_duration,
                "acquireTime": self.acquired, "renewTime": self.renewed, "leaderTransitions": self.transitions,
                "readable": self.forbidden is None}


def lock_from_lease(obj: dict, namespace: str, name: str) -> LockRecord:
    spec = obj.get("spec") or {}
    meta = obj.get("metadata") or {}
    return LockRecord("Lease", namespace, name, True, spec.get("holderIdentity") or "",
                      spec.get("leaseDurationSeconds"), parse_time(spec.get("acquireTime")),
                      parse_time(spec.get("renewTime")), spec.get("leaseTransitions"),
                      parse_time(meta.get("creationTimestamp")))


def lock_from_configmap(obj: dict, namespace: str, name: str) -> LockRecord:
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


@dataclass(frozen=True)
class LeaderSnapshot:
    install: Install
    configured_kind: str  # "Lease" | "ConfigMap": what the DCA's settings select
    locks: tuple[LockRecord, ...]  # configured lock first, then the other kind and the legacy name
    agents_with_leader_election: tuple[str, ...]  # node Agent pods with DD_LEADER_ELECTION=true
    dca_access: tuple[tuple[AccessCheck, bool | None], ...]
    status: ExecOutcome | None  # the holder's `status`, when exec ran
