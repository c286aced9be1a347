"""Who leads the Cluster Agents, is the lock fresh, and can events be collected. Pure.

Who elects: the Cluster Agent replicas; on an install without a Cluster Agent (Helm
clusterAgent.enabled=false, a valid mode, said in one INFO line) the node Agents with
DD_LEADER_ELECTION=true elect among themselves, and their election gets the same verdicts with
the holder judged against the node Agent pods. Agents without a DCA and without election: nobody
is meant to lead (verdict disabled, no error).

Verdicts, in the order they win:
  disabled          leader election is off on the DCA (known false: a setting we could not read is
                    unknown, its own finding dca-setting-unknown, and never this verdict)
  unknown           the lock could not be read, or it names no holder while leader election is unknown
  no-leader         the lock does not exist or names no holder
  stale             renewTime + leaseDuration is in the past: nobody is renewing; the finding says
                    what happened to the holder (deleted, not Ready, on a NotReady node) and why no
                    other candidate took over (its state, leader election off in its spec, or the lock
                    permissions the access reviews deny their service account: then caused by
                    dca-rbac-missing / agent-rbac-missing)
  holder-gone       the holder is not a current DCA pod (a dead pod's identity)
  holder-not-ready  the holder pod exists but is not Ready
  flapping          leadership changed within the last 3 lease durations, and the lock has averaged
                    more than 4 transitions an hour since it was created
  healthy
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.diagnose.discovery import discovery_findings
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.diagnose.settings import unknown_setting_findings
from kubectl_datadog.model import Finding, Severity, sort_findings
from kubectl_datadog.objects import Pod
from kubectl_datadog.output.humanize import ago
from kubectl_datadog.snapshots.leader import ELECTOR_AGENTS, ELECTOR_NONE, LeaderSnapshot, LockRecord
from kubectl_datadog.textformats.status import check_counters, leader_election

FLAP_RATE_PER_HOUR = 4


@dataclass(frozen=True)
class Replica:
    pod: Pod
    role: str  # leader | follower | not-ready | terminating

    def to_dict(self) -> dict[str, object]:
        return {"name": self.pod.name, "node": self.pod.node or None, "phase": self.pod.phase,
                "ready": self.pod.ready, "role": self.role, "ip": self.pod.ip or None,
                "created": self.pod.created}


@dataclass(frozen=True)
class LeaderReport:
    namespace: str
    lock: LockRecord  # the lock the DCA uses (or the one that holds the leadership)
    verdict: str
    expires: datetime | None
    replicas: tuple[Replica, ...]
    findings: tuple[Finding, ...]
    snapshot: LeaderSnapshot

    def to_dict(self) -> dict[str, object]:
        snap = self.snapshot
        status = snap.status
        le = leader_election(status.stdout) if status is not None and status.ok else None
        return {
            "install": snap.install.to_dict(),
            "elector": snap.elector,
            "lock": self.lock.to_dict(),
            "configuredLockKind": snap.configured_kind,
            "verdict": self.verdict,
            "expires": self.expires,
            "replicas": [r.to_dict() for r in self.replicas],
            "otherLocks": [lk.to_dict() for lk in snap.locks if lk is not self.lock and lk.exists],
            "nodeAgentsWithLeaderElection": list(snap.agents_with_leader_election),
            "clusterAgentPermissions": [{"check": c.describe(), "allowed": a} for c, a in snap.dca_access],
            **({"nodeAgentPermissions": [{"check": c.describe(), "allowed": a} for c, a in snap.agent_access]}
               if snap.elector == ELECTOR_AGENTS else {}),
            "status": None if status is None else {
                **status.to_dict(),
                "leaderElection": None if le is None else {
                    "status": le.status, "leaderName": le.leader, "acquired": le.acquired, "renewed": le.renewed,
                    "transitions": le.transitions, "error": le.error or None}},
        }


def _effective_lock(snap: LeaderSnapshot) -> tuple[LockRecord, list[Finding]]:
    """The configured lock, unless it is empty while the same-named lock of the other kind is held
    (a DCA older than 7.47 ignores the Lease setting, for example): then report the one in use."""
    configured = snap.locks[0]
    if configured.holder:
        return configured, []
    other = next((lk for lk in snap.locks[1:] if lk.name == configured.name and lk.holder), None)
    if other is None:
        return configured, []
    return other, [Finding(
        "leader-lock-kind-mismatch", Severity.WARNING, other.ref,
        f"the DCA settings select a {configured.kind} lock, but the {other.kind} of that name holds the "
        f"leadership ({other.holder})",
        "make DD_LEADER_ELECTION_DEFAULT_RESOURCE match what every DCA replica runs (Leases need DCA 7.47+)",
        other.kubectl_get)]


def _role(pod: Pod, holder: str) -> str:
    if pod.deleting:
        return "terminating"
    if pod.name == holder:
        return "leader"
    return "follower" if pod.ready else "not-ready"


@dataclass(frozen=True)
class _Elector:
    """How findings name whoever elects through the lock: the Cluster Agent replicas, or the node
    Agents of an install without one."""

    who: str  # "Cluster Agent" | "node Agent": "the holder X is not a current <who> pod"
    short: str  # "DCA" | "node Agent": "check the <short> logs"
    member: str  # "Cluster Agent replica" | "node Agent": "no <member> is leading"
    uses: str  # "the DCA uses as its lock"
    restart: str  # what to restart
    subject: str  # the workload, for findings about its settings
    pods_cmd: str  # lists its pods
    logs_cmd: str  # shows its leader-election log lines ("" when there is no workload to name)


def _elector(snap: LeaderSnapshot) -> _Elector:
    inst = snap.install
    ns = inst.namespace
    if snap.elector == ELECTOR_AGENTS:
        owners = sorted({p.owner_name for p in inst.agent_pods if p.owner_kind == "DaemonSet"})
        ds = owners[0] if owners else ""
        return _Elector("node Agent", "node Agent", "node Agent", "the node Agents use as their lock", "node Agents",
                        f"daemonset/{ns}/{ds}" if ds else f"namespace/{ns}",
                        f"kubectl -n {ns} get pods -o wide" + (f" | grep {ds}-" if ds else ""),
                        f"kubectl -n {ns} logs ds/{ds} -c agent | grep -i leader" if ds else "")
    dep = inst.dca_deployment
    return _Elector("Cluster Agent", "DCA", "Cluster Agent replica", "the DCA uses as its lock", "DCA",
                    f"deployment/{ns}/{dep}" if dep else f"namespace/{ns}",
                    f"kubectl -n {ns} get pods -o wide | grep cluster-agent",
                    f"kubectl -n {ns} logs deploy/{dep} | grep -i leader" if dep else "")


def _no_cluster_agent(snap: LeaderSnapshot) -> Finding:
    """The one line that says this install runs without a Cluster Agent, which is valid."""
    inst = snap.install
    names = snap.agents_with_leader_election
    if snap.elector == ELECTOR_AGENTS:
        message = (f"this install runs no Cluster Agent: its {len(names)} node Agent(s) with DD_LEADER_ELECTION=true "
                   "elect a leader among themselves, which runs the cluster-level checks and collects events")
        hint = "nothing to do; deploy the Cluster Agent (Helm: clusterAgent.enabled=true) to move this work to it"
    else:
        message = ("this install runs no Cluster Agent and its node Agents do not run leader election: no leader "
                   "is elected, so nothing collects Kubernetes events or runs the cluster-level checks")
        hint = ("set datadog.leaderElection=true and datadog.collectEvents=true (Helm) if you want them, or deploy "
                "the Cluster Agent")
    return Finding("no-cluster-agent", Severity.INFO, f"namespace/{inst.namespace}", message, hint,
                   f"kubectl -n {inst.namespace} get deploy,daemonset")


def explain(snap: LeaderSnapshot, *, now: datetime) -> LeaderReport:
    inst = snap.install
    s = snap.election if snap.election is not None else inst.settings
    findings: list[Finding] = []
    lock, extra = _effective_lock(snap)
    findings += extra
    subject = lock.ref
    agent_side = snap.elector == ELECTOR_AGENTS
    candidates = inst.agent_pods if agent_side else inst.dca_pods
    by_name = {p.name: p for p in candidates}
    holder_pod = by_name.get(lock.holder)
    duration = lock.duration(s.lease_duration if s else 60)
    expires = lock.expires(duration)
    w = _elector(snap)
    logs_cmd = w.logs_cmd

    if not inst.dca_pods:
        findings.append(_no_cluster_agent(snap))

    # A setting read from a ConfigMap/Secret we could not read is unknown: said once, and no verdict
    # below rests on it (leader-election-disabled needs a known false, a missing lock a known true).
    findings += discovery_findings([inst])
    if inst.dca_pods:
        findings += unknown_setting_findings(inst)
    election_known = s is None or s.known("DD_LEADER_ELECTION")
    if snap.elector == ELECTOR_NONE:
        verdict = "disabled"  # valid without a Cluster Agent: nobody is meant to lead
    elif not election_known and lock.forbidden is None and not lock.holder:
        verdict = "unknown"  # no holder proves nothing while we cannot tell whether election is on
    elif s is not None and election_known and not s.leader_election:
        verdict = "disabled"
        findings.append(Finding(
            "leader-election-disabled", Severity.ERROR if len(inst.dca_pods) > 1 else Severity.WARNING, w.subject,
            "DD_LEADER_ELECTION is not true on the Cluster Agent: Kubernetes events are not collected and "
            "several replicas would all act as leader",
            "set DD_LEADER_ELECTION=true (Helm: datadog.leaderElection=true)",
            f"kubectl -n {inst.namespace} get deploy {inst.dca_deployment} -o yaml | grep -A1 DD_LEADER_ELECTION"))
    elif lock.forbidden is not None:
        verdict = "unknown"
        findings.append(forbidden_finding(subject, f"cannot read the lock: {lock.forbidden.message}", Severity.WARNING,
                                          verb="get", resource=f"{lock.kind.lower()}s", namespace=lock.namespace))
    elif not lock.exists:
        verdict = "no-leader"
        findings.append(Finding("leader-no-lock", Severity.ERROR, subject,
                                f"the {lock.kind} {lock.name} that {w.uses} does not exist: "
                                f"no {'node Agent' if agent_side else 'replica'} has ever led",
                                f"check the {w.short} logs for leader election errors and its RBAC on the lock",
                                logs_cmd or lock.kubectl_get))
    elif lock.problem:
        verdict = "no-leader"
        findings.append(Finding("leader-record-invalid", Severity.ERROR, subject, lock.problem,
                                f"delete the annotation; the {w.short} writes a new record", lock.kubectl_get))
    elif not lock.holder:
        verdict = "no-leader"
        findings.append(Finding("leader-no-holder", Severity.ERROR, subject,
                                f"the lock names no holder: no {w.member} is leading",
                                f"check the {w.short} logs for leader election errors", logs_cmd or lock.kubectl_get))
    elif lock.expired(now, duration):
        verdict = "stale"
        why_nobody, lock_denied = _why_nobody_took_over(snap, lock, candidates, w)
        holder_fate = _holder_fate(holder_pod, lock.holder, snap.holder_node_ready, w, bool(lock_denied))
        node_down = holder_pod is not None and snap.holder_node_ready in ("False", "Unknown")
        findings.append(Finding(
            "leader-stale", Severity.ERROR, subject,
            f"{lock.holder} last renewed the lock {ago(lock.renewed, now)}; with a {duration}s lease it "
            f"expired {ago(expires, now)} and nobody took over: {holder_fate}; {why_nobody}",
            (f"grant the {w.short}'s service account {', '.join(sorted({c.verb for c in lock_denied}))} on the lock "
             f"(see {'dca' if not agent_side else 'agent'}-rbac-missing)") if lock_denied else
            (f"bring the node {holder_pod.node} back or drain it, so the holder's pod is replaced; a Ready "
             f"{w.who} pod takes the lock once the lease expired") if node_down and holder_pod is not None else
            f"check that the {w.short} pods are running and can update the lock (RBAC, API server reachability)",
            logs_cmd or lock.kubectl_get,
            (f"{'agent' if agent_side else 'dca'}-rbac-missing",) if lock_denied else ()))
    elif holder_pod is None:
        verdict = "holder-gone"
        findings.append(Finding(
            "leader-holder-gone", Severity.ERROR, subject,
            f"the holder {lock.holder} is not a current {w.who} pod (a deleted pod's identity?)",
            f"wait for the lease to expire, or restart the {w.restart}; check DD_POD_NAME is set from metadata.name",
            w.pods_cmd))
    elif not holder_pod.ready or holder_pod.deleting:
        verdict = "holder-not-ready"
        findings.append(Finding(
            "leader-holder-not-ready", Severity.WARNING, f"pod/{holder_pod.namespace}/{holder_pod.name}",
            f"the leader {holder_pod.name} is {holder_pod.phase}"
            + (", terminating" if holder_pod.deleting else ", not Ready"),
            "check its readiness probe and logs", f"kubectl -n {holder_pod.namespace} describe pod {holder_pod.name}"))
    elif _flapping(lock, duration, now):
        verdict = "flapping"
        findings.append(Finding(
            "leader-flapping", Severity.WARNING, subject,
            f"leadership changed hands {ago(lock.acquired, now)} and {lock.transitions} times since the lock "
            f"was created {ago(lock.created, now)}",
            f"look for {w.short} restarts (OOM, probes) and for other processes competing for the lock",
            w.pods_cmd if agent_side else
            f"kubectl -n {inst.namespace} get pods -l app.kubernetes.io/component=cluster-agent"))
    else:
        verdict = "healthy"

    if snap.elector != ELECTOR_NONE:
        findings += _legacy_lock(snap, lock, now)
    findings += _event_prerequisites(snap)
    findings += _status_findings(snap, lock)
    if agent_side:
        # Hundreds of node Agents may elect: show the one that leads, not every candidate.
        replicas = tuple(Replica(p, _role(p, lock.holder)) for p in candidates if p.name == lock.holder)
    else:
        replicas = tuple(Replica(p, _role(p, lock.holder)) for p in inst.dca_pods)
    return LeaderReport(inst.namespace, lock, verdict, expires, replicas, sort_findings(findings), snap)


def _holder_fate(holder_pod: Pod | None, holder: str, node_ready: str, w: _Elector, lock_denied: bool) -> str:
    """What happened to a stale lock's holder, as far as the API tells."""
    if holder_pod is None:
        return f"the holder {holder} is no current {w.who} pod (deleted)"
    if holder_pod.deleting:
        return f"the holder {holder} is terminating"
    if node_ready in ("False", "Unknown"):
        return (f"the holder {holder} runs on the node {holder_pod.node}, which is NotReady (Ready={node_ready}): "
                "it cannot reach the API server to renew")
    if holder_pod.phase != "Running":
        return f"the holder {holder} is {holder_pod.phase}"
    if not holder_pod.ready:
        return f"the holder {holder} is Running, not Ready"
    if lock_denied:
        return f"the holder {holder} is Running and Ready but may not renew the lock"
    return f"the holder {holder} is Running and Ready but does not renew (check its log)"


def _why_nobody_took_over(snap: LeaderSnapshot, lock: LockRecord, candidates: tuple[Pod, ...],
                          w: _Elector) -> tuple[str, list[AccessCheck]]:
    """Why no other candidate took the expired lock: each one's state, and the lock permissions
    that the access reviews deny their service account (returned, so the finding names its cause)."""
    others = [p for p in candidates if p.name != lock.holder]
    access = snap.dca_access if snap.elector != ELECTOR_AGENTS else snap.agent_access
    lock_plural = "leases" if lock.kind == "Lease" else "configmaps"
    denied = [c for c, allowed in access if allowed is False and c.resource == lock_plural
              and c.verb in ("get", "update", "create") and c.name in (lock.name, None)]
    reasons: list[str] = []
    if not others:
        reasons.append(f"no other {w.who} pod exists to take over")
    for p in others:
        if p.deleting:
            state = "terminating"
        elif p.phase != "Running":
            state = f"{p.phase}, not running"
        elif not p.ready:
            state = "Running, not Ready"
        elif p.name in snap.replicas_without_election:
            state = "Ready, but leader election is off in its spec"
        else:
            state = "Running and Ready"
        reasons.append(f"{p.name} is {state}")
    if denied:
        sa = (denied[0].user or "").split(":")[-1]
        reasons.append(f"their service account {sa} cannot {', '.join(c.describe() for c in denied)}")
    elif access and all(a is not None for _, a in access):
        reasons.append("their service account may get, update and create the lock")
    return "; ".join(reasons), denied


def _flapping(lock: LockRecord, duration: int, now: datetime) -> bool:
    if lock.acquired is None or lock.created is None or not lock.transitions:
        return False
    recent = (now - lock.acquired).total_seconds() < 3 * duration
    hours = max((now - lock.created).total_seconds() / 3600, 1 / 60)
    return recent and lock.transitions / hours > FLAP_RATE_PER_HOUR


def _legacy_lock(snap: LeaderSnapshot, used: LockRecord, now: datetime) -> list[Finding]:
    """A second lock with a live holder means DCAs configured differently compete (e.g. an old
    release still using the pre-7.37 `datadog-leader-election` name)."""
    out = []
    for lk in snap.locks:
        if lk is used or not lk.holder or lk.name == used.name:
            continue
        if lk.renewed is not None and not lk.expired(now, 60):
            out.append(Finding(
                "leader-second-lock-active", Severity.WARNING, lk.ref,
                f"another lock, {lk.kind} {lk.name}, is also being renewed (holder {lk.holder}): Cluster Agents "
                "with different lock settings are running",
                "find the DCA that uses it and align DD_LEADER_LEASE_NAME across replicas", lk.kubectl_get))
    return out


def _event_prerequisites(snap: LeaderSnapshot) -> list[Finding]:
    inst, s = snap.install, snap.install.settings
    out: list[Finding] = []
    dca_ref = f"deployment/{inst.namespace}/{inst.dca_deployment}"
    # Each prerequisite of event collection is its own finding, whatever the others say: the setting
    # here, leader election (leader-election-disabled), a running leader (the verdict's finding), and
    # the elector's access to events (below).
    if s is not None and s.known("DD_COLLECT_KUBERNETES_EVENTS") and not s.collect_events:
        out.append(Finding(
            "events-collection-disabled", Severity.INFO, dca_ref,
            "DD_COLLECT_KUBERNETES_EVENTS is not true on the Cluster Agent: Kubernetes events are not collected",
            "set DD_COLLECT_KUBERNETES_EVENTS=true (Helm: datadog.collectEvents=true) if you want them"))
    if snap.agents_with_leader_election and inst.dca_pods:
        names = snap.agents_with_leader_election
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        out.append(Finding(
            "agents-leader-election", Severity.WARNING, f"namespace/{inst.namespace}",
            f"leader election is enabled on {len(names)} node Agent(s) ({shown}) although a Cluster Agent runs: "
            "they compete with the DCA for the lock",
            "remove DD_LEADER_ELECTION from the node Agent DaemonSet",
            f"kubectl -n {inst.namespace} exec {names[0]} -c agent -- env | grep DD_LEADER_ELECTION"))
    es = snap.election if snap.election is not None else s
    # Unknown counts as on: the missing access is then an ERROR (what collection needs), not hidden.
    collecting = es is not None and (es.collect_events or not es.known("DD_COLLECT_KUBERNETES_EVENTS"))
    token = es.token_configmap if es is not None else ""
    out += _access_findings(snap.dca_access, inst.namespace, "dca", "the Cluster Agent's",
                            "add the rule to the DCA's (Cluster)Role; the Helm chart and the Operator create it",
                            collecting, token)
    out += _access_findings(snap.agent_access, inst.namespace, "agent", "the node Agents'",
                            "add the rule to the node Agents' ClusterRole; the Helm chart creates it when "
                            "clusterAgent.enabled=false and datadog.leaderElection=true", collecting, token)
    return out


def for_events(c: AccessCheck, token_configmap: str) -> bool:
    """Is this permission one event collection needs (not the lock's)?"""
    return c.resource == "events" or (c.resource == "configmaps" and bool(c.name) and c.name == token_configmap)


def _access_findings(access: tuple[tuple[AccessCheck, bool | None], ...], namespace: str, prefix: str, whose: str,
                     hint: str, collecting: bool = True, token_configmap: str = "") -> list[Finding]:
    """`<prefix>-rbac-missing` per denied permission of an elector's service account, and one
    `<prefix>-rbac-unchecked` when access reviews could not be made. A permission event collection
    needs is an ERROR when collection is on, a WARNING (what turning it on would need) when off."""
    out: list[Finding] = []
    denied = [c for c, allowed in access if allowed is False]
    unknown = [c for c, allowed in access if allowed is None]
    for c in denied:
        sa = (c.user or "").split(":")[-1]
        events = for_events(c, token_configmap)
        why = "" if not events else (": Kubernetes events cannot be collected" if collecting else
                                     ": needed to collect Kubernetes events once DD_COLLECT_KUBERNETES_EVENTS is on")
        out.append(Finding(
            f"{prefix}-rbac-missing", Severity.WARNING if events and not collecting else Severity.ERROR,
            f"serviceaccount/{namespace}/{sa}", f"{whose} service account cannot {c.describe()}{why}", hint,
            f"kubectl auth can-i {c.verb} {c.resource}{'.' + c.group if c.group else ''}"
            + (f"/{c.name}" if c.name else "") + (f" -n {c.namespace}" if c.namespace else "")
            + f" --as {c.user}"))
    if unknown:
        out.append(Finding(
            f"{prefix}-rbac-unchecked", Severity.INFO, f"namespace/{namespace}",
            f"could not check {whose} permissions: you may not create subjectaccessreviews",
            "run with a user allowed to create subjectaccessreviews.authorization.k8s.io"))
    return out


def _status_findings(snap: LeaderSnapshot, lock: LockRecord) -> list[Finding]:
    status = snap.status
    if status is None:
        return []
    subject = f"pod/{status.pod}"
    if not status.ok:
        return [Finding("exec-failed", Severity.INFO, subject,
                        f"could not read the leader's own status: {status.problem}",
                        "use --no-exec to skip, or grant pods/exec", status.command)]
    if not status.stdout.strip():
        # A cut stream can end with a success status and no output (seen with kwok): nothing was read.
        return [Finding("exec-failed", Severity.INFO, subject,
                        f"could not read the leader's own status: `{' '.join(status.argv)}` printed nothing "
                        "(the exec stream may have been cut)", "run it again, or use --no-exec", status.command)]
    out: list[Finding] = []
    le = leader_election(status.stdout)
    if le is not None and le.status == "Failing":
        out.append(Finding("dca-leader-election-failing", Severity.ERROR, subject,
                           f"the DCA reports leader election Failing: {le.error or 'no error given'}",
                           "check the DCA's RBAC on its lock and its connection to the API server", status.command))
    elif le is not None and le.leader and lock.holder and le.leader != lock.holder:
        out.append(Finding("dca-leader-mismatch", Severity.WARNING, subject,
                           f"the DCA believes {le.leader} leads, but the lock names {lock.holder}",
                           "the DCA may read a different lock; compare DD_LEADER_LEASE_NAME across replicas",
                           status.command))
    s = snap.install.settings
    counters = check_counters(status.stdout, "kubernetes_apiserver")
    if s is not None and s.collect_events:
        if counters is None:
            out.append(Finding("events-check-not-running", Severity.WARNING, subject,
                               "the kubernetes_apiserver check is not running on the leader: no events are collected",
                               "check the DCA's confd for kubernetes_apiserver.d and its logs", status.command))
        elif counters.state == "not-loaded":
            out.append(Finding("events-check-not-loaded", Severity.WARNING, subject,
                               "the kubernetes_apiserver check failed to load on the leader, so no events are "
                               f"collected: {counters.load_error}",
                               "fix the check's configuration (conf.d/kubernetes_apiserver.d) and restart the DCA",
                               status.command))
        elif counters.last_error:
            out.append(Finding("events-check-error", Severity.WARNING, subject,
                               f"the kubernetes_apiserver check fails: {counters.last_error}",
                               "check the DCA's RBAC: it needs to list and watch events", status.command))
    return out


