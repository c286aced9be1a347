"""doctor's pod checks: the health of the Cluster Agent, node Agent and cluster checks runner pods,
the DCA's CPU limit, replicas, disruption budget and spread, and images across replicas. Pure.

Findings are per workload, not per pod: 500 crash-looping Agents are one finding naming a few of
them, so the report stays readable on a large cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.doctor import ROLE_DCA, ContainerHealth, PodHealth, SweepSnapshot, minor_of

RESTARTS_WARNING = 5  # restarts that are more than a rollout or a node reboot
DCA_CPU_LIMIT_LOW = 0.25  # cores: below this a DCA serving metrics and checks is throttled under load
SHOWN_PODS = 3
IMAGE_PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
ROLE_NAMES = {ROLE_DCA: "Cluster Agent", "node-agent": "node Agent", "cluster-checks-runner": "cluster checks runner"}


@dataclass(frozen=True)
class _Problem:
    code: str
    severity: Severity
    detail: str
    hint: str
    command: str
    caused_by: tuple[str, ...] = ()


def _describe(p: PodHealth) -> str:
    return f"kubectl -n {p.namespace} describe pod {p.name}"


def _last(c: ContainerHealth) -> str:
    if not c.last_termination_reason:
        return ""
    code = f" (exit {c.last_exit_code})" if c.last_exit_code is not None else ""
    return f", last terminated {c.last_termination_reason}{code}"


def pod_problems(p: PodHealth) -> list[_Problem]:
    out: list[_Problem] = []
    if p.deleting:
        return out
    if p.unschedulable:
        out.append(_Problem("pod-unschedulable", Severity.ERROR, f"Pending, unschedulable: {p.unschedulable}",
                            "free capacity on the nodes, or relax the pod's nodeSelector, affinity or tolerations",
                            _describe(p)))
    for c in p.containers:
        oom = c.last_termination_reason == "OOMKilled"
        if oom:
            limit = f" (memory limit {int(c.memory_limit) // 2**20}Mi)" if c.memory_limit else ""
            out.append(_Problem("pod-oom-killed", Severity.WARNING,
                                f"container {c.name} was killed for using too much memory{limit}, "
                                f"{c.restarts} restart(s)",
                                "raise the container's memory limit (the Helm/Operator resources values)",
                                _describe(p)))
        if c.waiting_reason == "CrashLoopBackOff":
            out.append(_Problem("pod-crash-looping", Severity.ERROR,
                                f"container {c.name} is in CrashLoopBackOff, {c.restarts} restart(s){_last(c)}",
                                "the pod exits soon after it starts: its previous log says why"
                                + (" (pod-oom-killed)" if oom else ""),
                                f"kubectl -n {p.namespace} logs {p.name} -c {c.name} --previous",
                                ("pod-oom-killed",) if oom else ()))
        elif c.waiting_reason in IMAGE_PULL_REASONS:
            out.append(_Problem("pod-image-pull-failing", Severity.ERROR,
                                f"container {c.name} cannot pull {c.image}: {c.waiting_reason}"
                                + (f": {c.waiting_message}" if c.waiting_message else ""),
                                "check the image name and tag, the registry's reachability and the imagePullSecrets",
                                _describe(p)))
        elif c.restarts >= RESTARTS_WARNING and not oom:
            out.append(_Problem("pod-restarting", Severity.WARNING,
                                f"container {c.name} restarted {c.restarts} times{_last(c)}",
                                "read the previous log to see why it exits",
                                f"kubectl -n {p.namespace} logs {p.name} -c {c.name} --previous"))
    if any(pr.severity == Severity.ERROR for pr in out):
        return out  # a crash loop, a pull or the scheduler already says why it is not Ready
    if p.phase == "Pending":
        waiting = next((c.waiting_reason for c in p.containers if c.waiting_reason), "")
        out.append(_Problem("pod-pending", Severity.WARNING, "Pending" + (f" ({waiting})" if waiting else ""),
                            "see the pod's events for what it waits on", _describe(p)))
    elif p.phase == "Running" and not p.ready:
        names = ", ".join(c.name for c in p.containers if not c.ready) or "a readiness gate"
        out.append(_Problem("pod-not-ready", Severity.WARNING, f"Running but not Ready ({names}): its readiness "
                            "probe fails", "see the readiness probe failures in the pod's events and the log",
                            _describe(p)))
    elif p.phase in ("Failed", "Unknown"):
        out.append(_Problem("pod-failed", Severity.ERROR, f"phase {p.phase}", "see the pod's events", _describe(p)))
    return out


def _grouped(workload: str, role: str, items: list[tuple[PodHealth, _Problem]]) -> Finding:
    pods = sorted({p.name for p, _ in items})
    shown = ", ".join(pods[:SHOWN_PODS]) + (f" and {len(pods) - SHOWN_PODS} more" if len(pods) > SHOWN_PODS else "")
    details = list(dict.fromkeys(pr.detail for _, pr in items))
    first = items[0][1]
    detail = "; ".join(details[:2]) + (f" (and {len(details) - 2} other states)" if len(details) > 2 else "")
    return Finding(first.code, first.severity, workload,
                   f"{len(pods)} {ROLE_NAMES.get(role, role)} pod(s) ({shown}): {detail}",
                   first.hint, first.command, first.caused_by)


def pod_findings(snap: SweepSnapshot) -> tuple[list[Finding], list[str]]:
    """Findings per (code, workload), and every workload checked."""
    groups: dict[tuple[str, str], list[tuple[PodHealth, _Problem]]] = {}
    roles: dict[str, str] = {}
    for p in snap.pods:
        roles[p.workload] = p.role
        for pr in pod_problems(p):
            groups.setdefault((pr.code, p.workload), []).append((p, pr))
    findings = [_grouped(w, roles[w], items) for (_, w), items in sorted(groups.items())]
    return findings, sorted(roles)


def placement_findings(snap: SweepSnapshot) -> tuple[list[Finding], list[str]]:
    """The DCA's CPU limit, replicas without a disruption budget, replicas sharing a node; and
    pods of one workload running different images."""
    findings: list[Finding] = []
    checked: list[str] = []
    dca_pods: dict[str, list[PodHealth]] = {}
    for p in snap.pods:
        if p.role == ROLE_DCA and not p.deleting:
            dca_pods.setdefault(p.workload, []).append(p)
    for workload, pods in sorted(dca_pods.items()):
        checked.append(workload)
        ns, name = workload.split("/")[1:3]
        limits = sorted({c.cpu_limit for p in pods for c in p.containers if c.cpu_limit is not None
                         and c.name == "cluster-agent"})
        if limits:
            low = limits[0] < DCA_CPU_LIMIT_LOW
            findings.append(Finding(
                "dca-cpu-limited", Severity.WARNING if low else Severity.INFO, workload,
                f"the Cluster Agent has a CPU limit of {limits[0]:g} core(s): CPU limits throttle it under "
                "load (external metrics queries, cluster checks dispatching, admission requests)"
                + (f", and below {DCA_CPU_LIMIT_LOW:g} cores it is throttled at once" if low else ""),
                "remove the CPU limit and keep a request (clusterAgent.resources / "
                "spec.override.clusterAgent.containers.cluster-agent.resources)",
                f"kubectl -n {ns} get deployment {name} -o jsonpath='{{.spec.template.spec.containers[*].resources}}'"))
        replicas = snap.dca_replicas.get(workload)
        labels = snap.dca_labels.get(workload, {})
        covered = any(b.namespace == ns and b.selects(labels) for b in snap.budgets)
        if replicas == 1 and not covered and snap.budgets_forbidden is None:
            findings.append(Finding(
                "dca-single-replica", Severity.WARNING, workload,
                "the Cluster Agent runs one replica and no PodDisruptionBudget covers it: a node drain stops "
                "external metrics, admission and cluster checks until it is rescheduled",
                "run 2 replicas (clusterAgent.replicas: 2) with a PodDisruptionBudget "
                "(clusterAgent.createPodDisruptionBudget: true)",
                f"kubectl -n {ns} get deployment {name} && kubectl -n {ns} get pdb"))
        nodes = {p.node for p in pods if p.node and p.phase == "Running"}
        running = [p for p in pods if p.phase == "Running"]
        if len(running) >= 2 and len(nodes) == 1:
            findings.append(Finding(
                "dca-replicas-one-node", Severity.WARNING, workload,
                f"all {len(running)} Cluster Agent replicas run on node {next(iter(nodes))}: losing that node "
                "loses every replica", "spread them with pod anti-affinity or topology spread constraints",
                f"kubectl -n {ns} get pods -o wide | grep {name}"))
    findings += image_findings(snap)
    return findings, checked


def image_findings(snap: SweepSnapshot) -> list[Finding]:
    by_workload: dict[tuple[str, str], dict[str, list[str]]] = {}
    for p in snap.pods:
        if p.deleting:
            continue
        for c in p.containers:
            by_workload.setdefault((p.workload, c.name), {}).setdefault(c.image, []).append(p.name)
    out = []
    for (workload, container), images in sorted(by_workload.items()):
        if len(images) < 2:
            continue
        parts = "; ".join(f"{img} on {len(pods)} pod(s) ({', '.join(sorted(pods)[:SHOWN_PODS])})"
                          for img, pods in sorted(images.items()))
        ns, name = workload.split("/")[1:3]
        out.append(Finding(
            "image-differs-across-replicas", Severity.WARNING, workload,
            f"container {container} runs {len(images)} different images: {parts}",
            "finish or roll back the rollout so every replica runs the same image",
            f"kubectl -n {ns} get pods -o custom-columns=NAME:.metadata.name,IMAGES:.spec.containers[*].image "
            f"| grep {name.rsplit('-', 1)[0]}"))
    return out


def version_findings(snap: SweepSnapshot) -> tuple[list[Finding], list[str]]:
    """Node Agents on another minor version than their install's Cluster Agent."""
    findings: list[Finding] = []
    checked: list[str] = []
    for inst in snap.installs:
        if not inst.dca_pods or not inst.agent_pods:
            continue
        pods = [p for p in snap.pods if p.namespace == inst.namespace]
        dca = {c.version for p in pods if p.role == ROLE_DCA for c in p.containers if c.name == inst.dca_container}
        agents = {c.version for p in pods if p.role == "node-agent" for c in p.containers if c.name == "agent"}
        dca.discard("")
        agents.discard("")
        subject = f"deployment/{inst.namespace}/{inst.dca_deployment}"
        checked.append(subject)
        if not dca or not agents:
            continue
        dca_minor = {m for m in map(minor_of, dca) if m}
        skewed = sorted(v for v in agents if minor_of(v) not in dca_minor)
        if not skewed:
            continue
        newest_dca = max(dca_minor)
        newer = [v for v in skewed if (minor_of(v) or (0, 0)) > newest_dca]
        findings.append(Finding(
            "agent-dca-version-skew", Severity.WARNING, subject,
            f"the Cluster Agent runs {', '.join(sorted(dca))} and node Agents run {', '.join(skewed)}"
            + (": Agents newer than their Cluster Agent may call APIs it does not serve" if newer else
               ": Agents older than their Cluster Agent miss its fixes and newer features"),
            "run the same Agent and Cluster Agent version (upgrade the chart or the DatadogAgent as one)",
            f"kubectl -n {inst.namespace} get pods -o custom-columns=NAME:.metadata.name,"
            "IMAGES:.spec.containers[*].image"))
    return findings, checked
