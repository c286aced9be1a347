"""The DCA's cluster-check telemetry on its metrics port (:5000 `/metrics`), read as a second source
when `clusterchecks` cannot be run in the pod (reference admission-and-clusterchecks.md B4,
datadog-agent pkg/clusteragent/clusterchecks/metrics.go). Pure, no I/O.

  cluster_checks_nodes_reporting                    runners and node Agents reporting
  cluster_checks_configs_dangling                   configs no one took (a count, not their names)
  cluster_checks_configs_dispatched{node}           configs per runner or node Agent
  cluster_checks_configs_info{node,check_id}        which check IDs each runs (newer DCAs only)
  endpoint_checks_configs_dispatched{node}          endpoint checks per node (a count)
  cluster_checks_busyness{node}, *_rebalancing_*, cluster_checks_failed_stats_collection{node}
  leader_election_is_leader{is_leader}              whether the pod answering is the leader
Older DCAs name them with a double underscore (`cluster_checks__nodes_reporting`). Only the leader's
dispatcher sets these gauges: a series that was never set is absent, and absent is unknown, not 0.
A check ID is `<check>:<digest>` or `<check>:<instance name>:<digest>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_datadog.textformats.clusterchecks import DispatchedConfig, DispatchState
from kubectl_datadog.textformats.prometheus import Sample

SOURCE = "telemetry"
_PREFIXES = ("cluster_checks_", "endpoint_checks_")


def _name(sample: Sample) -> str:
    name = sample.name
    for prefix in _PREFIXES:
        if name.startswith(prefix + "_"):
            return prefix + name[len(prefix) + 1:]
    return name


@dataclass(frozen=True)
class ClusterChecksTelemetry:
    is_leader: bool | None = None
    nodes_reporting: int | None = None
    dangling: int | None = None
    dispatched: dict[str, int] = field(default_factory=dict)
    endpoint_dispatched: dict[str, int] = field(default_factory=dict)
    configs: dict[str, tuple[str, ...]] | None = None  # node -> check IDs; None: no configs_info series
    busyness: dict[str, float] = field(default_factory=dict)
    failed_stats: dict[str, float] = field(default_factory=dict)
    rebalancing_decisions: float | None = None
    successful_rebalancing_moves: float | None = None
    series_seen: int = 0  # cluster_checks_*/endpoint_checks_* samples

    @property
    def configs_named(self) -> bool:
        """Whether configs_info names every config that configs_dispatched counts."""
        if self.configs is None:
            return False
        return all(len(self.configs.get(node, ())) == n for node, n in self.dispatched.items())

    def state(self) -> DispatchState | None:
        """The dispatching state in the `clusterchecks` shape, so the same comparison reads it; None
        when the telemetry holds no cluster-check series (cluster checks off, a follower, or a
        leader still warming up: the telemetry cannot tell them apart)."""
        if self.is_leader is False:
            return DispatchState(not_running="currently follower (its telemetry says it is not the leader)",
                                 source=SOURCE)
        if not self.series_seen:
            return None
        named = self.configs or {}
        nodes = {node: [_config(cid) for cid in named.get(node, ())]
                 for node in sorted(set(self.dispatched) | set(named))}
        return DispatchState(nodes=nodes, reporting=self.nodes_reporting, source=SOURCE,
                             unnamed_dangling=self.dangling or 0, configs_named=self.configs_named)

    def to_dict(self) -> dict[str, object]:
        return {"isLeader": self.is_leader, "nodesReporting": self.nodes_reporting,
                "configsDangling": self.dangling, "configsDispatched": dict(sorted(self.dispatched.items())),
                "endpointChecksDispatched": dict(sorted(self.endpoint_dispatched.items())),
                "configsInfo": None if self.configs is None
                else {n: list(c) for n, c in sorted(self.configs.items())},
                "busyness": dict(sorted(self.busyness.items())),
                "failedStatsCollection": dict(sorted(self.failed_stats.items())),
                "rebalancingDecisions": self.rebalancing_decisions,
                "successfulRebalancingMoves": self.successful_rebalancing_moves}


def _config(check_id: str) -> DispatchedConfig:
    # No provider or source: the telemetry names the check ID only (the comparison then matches by check).
    return DispatchedConfig(check_id.split(":", 1)[0], "", "", (check_id,))


def _per_node(samples: list[Sample]) -> dict[str, float]:
    return {s.labels.get("node", ""): s.value for s in samples if s.labels.get("node")}


def cluster_checks_telemetry(samples: list[Sample]) -> ClusterChecksTelemetry:
    by: dict[str, list[Sample]] = {}
    for s in samples:
        by.setdefault(_name(s), []).append(s)

    def one(name: str) -> float | None:
        values = [s.value for s in by.get(name, []) if s.value == s.value]  # NaN != NaN: skip unset
        return max(values) if values else None

    leader = by.get("leader_election_is_leader", [])
    # Exported by every DCA: 1 under is_leader="true" on the leader (older DCAs: no is_leader label).
    is_leader = None if not leader else any(s.labels.get("is_leader", "true") == "true" and s.value >= 1
                                            for s in leader)
    info = by.get("cluster_checks_configs_info")
    configs: dict[str, tuple[str, ...]] | None = None
    if info is not None:
        grouped: dict[str, list[str]] = {}
        for s in info:
            if s.value >= 1 and s.labels.get("node") and s.labels.get("check_id"):
                grouped.setdefault(s.labels["node"], []).append(s.labels["check_id"])
        configs = {n: tuple(sorted(c)) for n, c in grouped.items()}
    reporting, dangling = one("cluster_checks_nodes_reporting"), one("cluster_checks_configs_dangling")
    return ClusterChecksTelemetry(
        is_leader=is_leader,
        nodes_reporting=None if reporting is None else int(reporting),
        dangling=None if dangling is None else int(dangling),
        dispatched={n: int(v) for n, v in _per_node(by.get("cluster_checks_configs_dispatched", [])).items()},
        endpoint_dispatched={n: int(v) for n, v in
                             _per_node(by.get("endpoint_checks_configs_dispatched", [])).items()},
        configs=configs,
        busyness=_per_node(by.get("cluster_checks_busyness", [])),
        failed_stats=_per_node(by.get("cluster_checks_failed_stats_collection", [])),
        rebalancing_decisions=one("cluster_checks_rebalancing_decisions"),
        successful_rebalancing_moves=one("cluster_checks_successful_rebalancing_moves"),
        series_seen=sum(len(v) for k, v in by.items() if k.startswith(_PREFIXES)))
