"""metamap's snapshot: the map computed from the API, the filters, and the DCA's own answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import Install
from kubectl_datadog.snapshots.exec import ExecOutcome
from kubectl_datadog.textformats.metamap import MapperLog, MetaMap


@dataclass
class ApiMap:
    """The map as the DCA should hold it, computed from the API."""

    mode: str  # endpoints | endpointslices
    map: MetaMap
    nodes: frozenset[str] | None  # every node the API lists (None: not listed or not allowed)
    nodes_forbidden: Forbidden | None = None
    not_ready: set[tuple[str, str, str, str]] = field(default_factory=set)  # Endpoints mode only
    objects: int = 0  # Endpoints or EndpointSlices read
    skipped: Counter[str] = field(default_factory=Counter)
    # Listing them at the cluster scope was forbidden: the map covers the fallback namespace only.
    scope_forbidden: Forbidden | None = None

    def to_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "objectsRead": self.objects, "nodesListed": self.nodes is not None,
                "skippedAddresses": dict(sorted(self.skipped.items())),
                "notReadyAddresses": len(self.not_ready)}


@dataclass(frozen=True)
class Filters:
    node: str | None = None
    namespace: str | None = None
    pod: str | None = None  # exact name or shell-style pattern

    def keep(self, node: str, namespace: str, pod: str) -> bool:
        return ((self.node is None or node == self.node)
                and (self.namespace is None or namespace == self.namespace)
                and (self.pod is None or pod == self.pod or fnmatchcase(pod, self.pod)))

    @property
    def active(self) -> bool:
        return self.node is not None or self.namespace is not None or self.pod is not None

    @property
    def narrowed(self) -> bool:
        """A namespace or pod filter: empty nodes answer nothing that was asked."""
        return self.namespace is not None or self.pod is not None


@dataclass(frozen=True)
class MapperChecks:
    """What the DCA needs to build its map, asked for its service account, and what its log says
    about the mapper (`--source both`: the reasons behind a map smaller than the API's)."""

    service_account: str  # system:serviceaccount:<ns>:<name>
    access: tuple[tuple[AccessCheck, bool | None], ...]  # None: we may not ask (no access reviews)
    log: MapperLog | None  # None: not read (see log_problem)
    log_command: str  # the kubectl logs command that reads the same window
    log_problem: str = ""
    log_forbidden: Forbidden | None = None
    pod: str = ""  # namespace/name of the DCA whose log was read

    def to_dict(self) -> dict[str, object]:
        return {"serviceAccount": self.service_account,
                "access": [{"verb": c.verb, "resource": f"{c.resource}.{c.group}" if c.group else c.resource,
                            "allowed": allowed} for c, allowed in self.access],
                "log": self.log.to_dict() if self.log is not None else None, "logProblem": self.log_problem or None}


@dataclass(frozen=True)
class DcaAnswer:
    """The DCA's own `metamap`, run in the leader (or, failing that, a Ready replica)."""

    pod: str  # namespace/name the exec ran in ("" when no pod could be chosen)
    chosen_because: str  # "leader" | why another pod was used
    outcome: ExecOutcome | None
    map: MetaMap | None
    parse_error: str = ""
    mapper: MapperChecks | None = None  # only asked with --source both

    @property
    def problem(self) -> str:
        if not self.pod:
            return self.chosen_because
        if self.outcome is None:
            return "exec did not run"
        if self.map is None and self.outcome.ok:
            return f"cannot read the DCA's answer: {self.parse_error}"
        if self.map is None:
            return self.outcome.problem
        return ""

    def to_dict(self) -> dict[str, object]:
        return {"pod": self.pod or None, "chosenBecause": self.chosen_because,
                "exec": self.outcome.to_dict() if self.outcome else None,
                "parseError": self.parse_error or None,
                **({"mapper": self.mapper.to_dict()} if self.mapper is not None else {})}


@dataclass(frozen=True)
class MetamapSnapshot:
    source: str  # api | dca | both
    filters: Filters
    mode: str  # the mode used for the API map (endpoints | endpointslices), "" without one
    mode_reason: str  # "--mode", "install setting DD_KUBERNETES_USE_ENDPOINT_SLICES=...", ...
    install: Install | None
    api: ApiMap | None
    api_forbidden: Forbidden | None
    dca: DcaAnswer | None
    install_forbidden: Forbidden | None = None  # --source api: the install could be looked for nowhere
