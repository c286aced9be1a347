"""The DCA's cluster-check texts: `datadog-cluster-agent clusterchecks` and the status section
"Cluster Checks Dispatching". Pure parsing, no I/O.

`clusterchecks` (datadog-agent pkg/flare/clusteragent/cluster_checks.go) prints, in this order:
  `Cluster-checks are not enabled`                        (the feature is off)
  `Cluster-check dispatching logic not running: <why>`    (a follower, "currently follower")
  `=== Warmup in progress ===` / `No configuration has been processed yet`
  `=== Unassigned configurations ===` and a config block per dangling config
  `=== Zero agent reporting ===` / `No check will be dispatched until ...`
  `=== N agents reporting ===` (older: `=== N node-agents reporting ===`), a `Name  Running checks`
  table, then `===== Checks on <name> =====` and a config block per config on that runner or node
  `===== N Pod-backed Endpoints-Checks scheduled =====` and a config block per endpoint check
  (only when the DCA lists kube_endpoints among its config providers).
A config block (pkg/flare PrintClusterCheckConfig): `=== <check> check ===` or `=== <check> cluster
check ===`, `Configuration provider:`, `Configuration source:`, one `Config for instance ID: <id>`
per instance followed by its YAML and `~`, optionally `Init Config:`, `Auto-discovery IDs:` with
`* <id>` lines, `State: dispatched to <node>`, and a closing `===`.

DCAs with datadog-agent#48975 (2026) add, after a block run by a CLC runner, the runner's execution
status in the node Agent's collector layout: `Instance ID: <id> [OK|WARNING|ERROR]`, counters, and
`Error: <message>` for a failing instance. Older DCAs print no such lines: the status is then
unknown (None), never "ok".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kubectl_datadog.textformats.status import plain_text, sections

NOT_ENABLED = "Cluster-checks are not enabled"
NOT_RUNNING_PREFIX = "Cluster-check dispatching logic not running:"
_QUERY_ERRORS = ("Failed to query the agent (running?):", "The agent ran into an error while checking config:")

_BLOCK_HEADER = re.compile(r"^=== (?P<name>.+?) (?P<cluster>cluster )?check ===$")
_REPORTING = re.compile(r"^=== (?P<n>\d+) (?:node-)?agents? reporting ===$")
_CHECKS_ON = re.compile(r"^===== Checks on (?P<node>.+?) =====$")
_ENDPOINTS = re.compile(r"^===== (?P<n>\d+) Pod-backed Endpoints-Checks scheduled =====$")
_INSTANCE_STATUS = re.compile(r"^Instance ID: (?P<id>\S+) \[(?P<state>[A-Za-z]+)\]")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class ClusterChecksParseError(ValueError):
    pass


@dataclass(frozen=True)
class InstanceStatus:
    """One instance's execution, as the runner reported it (DCAs with execution status only)."""

    instance_id: str
    state: str  # OK | WARNING | ERROR (as printed, upper-cased)
    error: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"instanceId": self.instance_id, "state": self.state, "error": self.error or None}


@dataclass(frozen=True)
class DispatchedConfig:
    check: str
    provider: str
    source: str
    instance_ids: tuple[str, ...]
    ad_identifiers: tuple[str, ...] = ()
    state_node: str = ""  # `State: dispatched to <node>` (endpoint checks)
    cluster_check: bool = False  # printed as `=== x cluster check ===`
    statuses: tuple[InstanceStatus, ...] | None = None  # None: this DCA prints no execution status

    def to_dict(self) -> dict[str, object]:
        return {"check": self.check, "provider": self.provider or None, "source": self.source or None,
                "instanceIds": list(self.instance_ids), "dispatchedTo": self.state_node or None,
                "executionStatus": None if self.statuses is None else [s.to_dict() for s in self.statuses]}


@dataclass
class DispatchState:
    """What `clusterchecks` printed. `nodes` maps each reporting runner or node Agent (by the name it
    reports with: a runner's pod name, a node Agent's hostname) to the configs it runs."""

    enabled: bool = True
    not_running: str = ""  # the reason the dispatcher is not running here ("currently follower")
    warmup: bool = False
    query_error: str = ""
    dangling: list[DispatchedConfig] = field(default_factory=list)
    nodes: dict[str, list[DispatchedConfig]] = field(default_factory=dict)
    reporting: int | None = None  # the `=== N agents reporting ===` count (0 for "Zero")
    endpoint_checks: list[DispatchedConfig] | None = None  # None: no endpoints section printed
    source: str = "clusterchecks"  # what it was read from: the `clusterchecks` text, or "telemetry"
    unnamed_dangling: int = 0  # dangling configs counted but not named (telemetry)
    configs_named: bool = True  # False: which configs each node runs is not (all) known (telemetry)

    @property
    def has_execution_status(self) -> bool:
        return any(c.statuses is not None for cs in self.nodes.values() for c in cs)

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "enabled": self.enabled, "notRunning": self.not_running or None, "warmup": self.warmup,
                "queryError": self.query_error or None, "reporting": self.reporting,
                "nodes": {n: [c.to_dict() for c in cs] for n, cs in sorted(self.nodes.items())},
                "dangling": [c.to_dict() for c in self.dangling], "danglingUnnamed": self.unnamed_dangling,
                "configsNamed": self.configs_named,
                "endpointChecks": None if self.endpoint_checks is None
                else [c.to_dict() for c in self.endpoint_checks]}


def _clean(text: str) -> list[str]:
    return [_ANSI.sub("", line).rstrip() for line in plain_text(text).splitlines()]


def _parse_block(lines: list[str], i: int, name: str, cluster: bool) -> tuple[DispatchedConfig, int]:
    """One config block from its header's next line to its closing `===`, plus the execution status
    lines that may follow it; returns the config and the index after it."""
    provider = source = node = ""
    ids: list[str] = []
    ad_ids: list[str] = []
    in_ad = False
    while i < len(lines):
        s = lines[i].strip()
        if s == "===":
            i += 1
            break
        if s.startswith("Configuration provider:"):
            provider = s.split(":", 1)[1].strip()
        elif s.startswith("Configuration source:"):
            source = s.split(":", 1)[1].strip()
        elif s.startswith("Config for instance ID:"):
            ids.append(s.split(":", 1)[1].strip())
        elif s.startswith("Auto-discovery IDs:"):
            in_ad = True
        elif s.startswith("State:"):
            node = s.split(":", 1)[1].strip().removeprefix("dispatched to ").strip()
        elif in_ad and s.startswith("* "):
            ad_ids.append(s[2:].strip())
        else:
            in_ad = False
        i += 1
    statuses: list[InstanceStatus] | None = None
    while i < len(lines):
        s = lines[i].strip()
        m = _INSTANCE_STATUS.match(s)
        if m:
            statuses = (statuses or []) + [InstanceStatus(m.group("id"), m.group("state").upper())]
        elif statuses and s.startswith("Error:"):
            last = statuses[-1]
            statuses[-1] = InstanceStatus(last.instance_id, last.state, s.split(":", 1)[1].strip())
        elif s.startswith("==="):
            break
        elif not s or statuses is not None:
            pass  # counters and blank lines of the execution status
        else:
            break
        i += 1
    return DispatchedConfig(name, provider, source, tuple(ids), tuple(ad_ids), node, cluster,
                            tuple(statuses) if statuses is not None else None), i


def parse_clusterchecks(text: str) -> DispatchState:
    lines = _clean(text)
    state = DispatchState()
    body = [line for line in lines if line.strip()]
    if not body:
        raise ClusterChecksParseError("the output is empty")
    first = body[0].strip()
    if first == NOT_ENABLED:
        state.enabled = False
        return state
    if first.startswith(NOT_RUNNING_PREFIX):
        state.not_running = first[len(NOT_RUNNING_PREFIX):].strip() or "unknown"
        return state
    for prefix in _QUERY_ERRORS:
        if first.startswith(prefix):
            state.query_error = first[len(prefix):].strip() or first
            return state
    target: list[DispatchedConfig] | None = None
    known = False
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if s == "=== Warmup in progress ===":
            state.warmup = known = True
        elif s == "=== Unassigned configurations ===":
            target, known = state.dangling, True
        elif s == "=== Zero agent reporting ===":
            state.reporting, known, target = 0, True, None
        elif (m := _REPORTING.match(s)) is not None:
            state.reporting, known, target = int(m.group("n")), True, None
        elif (m := _CHECKS_ON.match(s)) is not None:
            target = state.nodes.setdefault(m.group("node"), [])
        elif (m := _ENDPOINTS.match(s)) is not None:
            state.endpoint_checks, known = [], True
            target = state.endpoint_checks
        elif (m := _BLOCK_HEADER.match(s)) is not None:
            cfg, i = _parse_block(lines, i + 1, m.group("name"), bool(m.group("cluster")))
            if target is not None:
                target.append(cfg)
            continue
        elif state.reporting and s and target is None and s != "Name   Running checks":
            parts = s.rsplit(None, 1)  # a `Name  Running checks` row: every reporting name
            if len(parts) == 2 and parts[1].isdigit() and parts[0] != "Name":
                state.nodes.setdefault(parts[0].strip(), [])
        i += 1
    if not known:
        raise ClusterChecksParseError(f"no cluster-check section found (first line: {first[:80]!r})")
    return state


@dataclass(frozen=True)
class DispatchingStatus:
    """The status section "Cluster Checks Dispatching" (cc/status_templates/clusterchecks.tmpl)."""

    role: str  # leader | leader-warming-up | follower | not-enabled | unknown
    leader_ip: str = ""  # a follower's redirect target
    active_agents: int | None = None
    configs: int | None = None
    dispatched: int | None = None
    unassigned: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"role": self.role, "leaderIP": self.leader_ip or None, "activeAgents": self.active_agents,
                "configs": self.configs, "dispatched": self.dispatched, "unassigned": self.unassigned}


def _count(line: str) -> int | None:
    raw = line.split(":", 1)[1].strip().replace(",", "")
    return int(raw) if raw.isdigit() else None


def dispatching_status(text: str) -> DispatchingStatus | None:
    """The section of a `status` text, or None when the status has no such section."""
    body = sections(text).get("Cluster Checks Dispatching")
    if body is None:
        return None
    role = "unknown"
    values: dict[str, int | None] = {}
    leader_ip = ""
    for raw in body:
        s = raw.strip().lstrip("- ").strip()
        if s == "Not Enabled":
            role = "not-enabled"
        elif s.startswith("Status:"):
            v = s.split(":", 1)[1].strip()
            if v.startswith("Leader, serving"):
                role = "leader"
            elif v.startswith("Leader, warming"):
                role = "leader-warming-up"
            elif v.startswith("Follower"):
                role = "follower"
                leader_ip = v.removeprefix("Follower, redirecting to leader at").strip() \
                    if "redirecting" in v else ""
        elif s.startswith("Active agents:"):
            values["agents"] = _count(s)
        elif s.startswith("Check Configurations:"):
            values["configs"] = _count(s)
        elif s.startswith("Dispatched:"):
            values["dispatched"] = _count(s)
        elif s.startswith("Unassigned:"):
            values["unassigned"] = _count(s)
    return DispatchingStatus(role, leader_ip, values.get("agents"), values.get("configs"),
                             values.get("dispatched"), values.get("unassigned"))
