"""What doctor's own checks (the ones only a sweep makes sense of) hand to diagnosis: the health of
the Datadog pods, their images, the DCA's disruption budgets, the access reviews of the Datadog
service accounts, other installs and leftovers, and the DCA's `health` output. Plain data, parsed
here from API dicts and CLI text."""

from __future__ import annotations

import re
from itertools import pairwise
from dataclasses import dataclass
from typing import Any, Mapping

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import Install, Leftover
from kubectl_datadog.objects import selector_selects
from kubectl_datadog.snapshots.exec import ExecOutcome
from kubectl_datadog.textformats.quantity import parse_quantity

ROLE_DCA, ROLE_AGENT, ROLE_RUNNER = "cluster-agent", "node-agent", "cluster-checks-runner"


@dataclass(frozen=True)
class ContainerHealth:
    name: str
    image: str
    ready: bool
    restarts: int
    waiting_reason: str  # CrashLoopBackOff, ImagePullBackOff, ContainerCreating... ("" when not waiting)
    waiting_message: str
    last_termination_reason: str  # OOMKilled, Error, Completed... ("" when it never terminated)
    last_exit_code: int | None
    cpu_limit: float | None  # cores
    cpu_request: float | None
    memory_limit: float | None  # bytes

    @property
    def version(self) -> str:
        """The image tag without its flavour suffix (`7.62.2-jmx` -> `7.62.2`); "" for a digest or none."""
        return image_version(self.image)


def image_version(image: str) -> str:
    ref = image.split("@", 1)[0]
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else ""
    m = re.match(r"^v?(\d+\.\d+(?:\.\d+)?)", tag)
    return m.group(1) if m else ""


def minor_of(version: str) -> tuple[int, int] | None:
    m = re.match(r"^(\d+)\.(\d+)", version)
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True)
class PodHealth:
    role: str  # ROLE_*
    workload: str  # kind/namespace/name of what runs it: deployment/datadog/datadog-cluster-agent
    namespace: str
    name: str
    node: str
    phase: str
    ready: bool
    deleting: bool
    unschedulable: str  # the scheduler's message when PodScheduled=False/Unschedulable, else ""
    containers: tuple[ContainerHealth, ...]

    @property
    def ref(self) -> str:
        return f"pod/{self.namespace}/{self.name}"


def _container(c: Mapping[str, Any], status: Mapping[str, Any]) -> ContainerHealth:
    state = status.get("state") or {}
    waiting = state.get("waiting") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    resources = c.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    code = last.get("exitCode")
    return ContainerHealth(
        name=str(c.get("name", "")), image=str(c.get("image", "")), ready=bool(status.get("ready")),
        restarts=int(status.get("restartCount") or 0), waiting_reason=str(waiting.get("reason", "") or ""),
        waiting_message=str(waiting.get("message", "") or ""),
        last_termination_reason=str(last.get("reason", "") or ""),
        last_exit_code=int(code) if isinstance(code, int) else None,
        cpu_limit=parse_quantity(limits["cpu"]) if "cpu" in limits else None,
        cpu_request=parse_quantity(requests["cpu"]) if "cpu" in requests else None,
        memory_limit=parse_quantity(limits["memory"]) if "memory" in limits else None)


def workload_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, name) of the workload that owns the pod: a ReplicaSet's pods belong to its Deployment."""
    meta = obj.get("metadata") or {}
    owner: Mapping[str, Any] = next(iter(meta.get("ownerReferences") or []), {})
    kind, name = str(owner.get("kind", "")), str(owner.get("name", ""))
    if kind == "ReplicaSet":
        pth = (meta.get("labels") or {}).get("pod-template-hash", "")
        if pth and name.endswith("-" + pth):
            return "deployment", name[: -len(pth) - 1]
        return "deployment", re.sub(r"-[a-z0-9]{5,10}$", "", name)
    if kind:
        return kind.lower(), name
    return "pod", str(meta.get("name", ""))


def pod_health(obj: Mapping[str, Any], role: str) -> PodHealth:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    conds = {c.get("type"): c for c in status.get("conditions") or []}
    scheduled = conds.get("PodScheduled") or {}
    unschedulable = str(scheduled.get("message", "") or "unschedulable") \
        if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable" else ""
    kind, name = workload_of(obj)
    ns = str(meta.get("namespace", ""))
    return PodHealth(
        role=role, workload=f"{kind}/{ns}/{name}", namespace=ns, name=str(meta.get("name", "")),
        node=str(spec.get("nodeName", "") or ""), phase=str(status.get("phase", "") or "Unknown"),
        ready=(conds.get("Ready") or {}).get("status") == "True", deleting=bool(meta.get("deletionTimestamp")),
        unschedulable=unschedulable,
        containers=tuple(_container(c, statuses.get(c.get("name")) or {}) for c in spec.get("containers") or []))


@dataclass(frozen=True)
class Budget:
    """A PodDisruptionBudget, reduced to whom it selects."""

    namespace: str
    name: str
    match_labels: Mapping[str, str]

    def selects(self, labels: Mapping[str, str]) -> bool:
        return selector_selects(self.match_labels, labels)

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "Budget":
        meta = obj.get("metadata") or {}
        sel = (obj.get("spec") or {}).get("selector") or {}
        return cls(str(meta.get("namespace", "")), str(meta.get("name", "")), dict(sel.get("matchLabels") or {}))


def _datadog(name: str) -> bool:
    return "datadog" in name.lower()


def binding_leftover(obj: Mapping[str, Any], running: set[str]) -> Leftover | None:
    """A Datadog ClusterRoleBinding whose service accounts all live in namespaces where no install runs."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    role = str((obj.get("roleRef") or {}).get("name", ""))
    namespaces = {str(s.get("namespace", "")) for s in obj.get("subjects") or [] if s.get("kind") == "ServiceAccount"}
    if not (_datadog(name) or _datadog(role)) or not namespaces or namespaces & running:
        return None
    return Leftover("ClusterRoleBinding", "", name, "rbac",
                    f"grants {role} to service accounts in {', '.join(sorted(namespaces))}")


def webhook_leftover(obj: Mapping[str, Any], kind: str, running: set[str]) -> Leftover | None:
    """A Datadog webhook configuration whose webhooks call Services in namespaces where no install runs."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    services = {f"{svc.get('namespace', '')}/{svc.get('name', '')}"
                for w in obj.get("webhooks") or [] for svc in [((w.get("clientConfig") or {}).get("service") or {})]
                if svc.get("name")}
    if not _datadog(name) or not services or {s.split("/", 1)[0] for s in services} & running:
        return None
    return Leftover(kind, "", name, "admission-webhook", f"calls service {', '.join(sorted(services))}")


@dataclass(frozen=True)
class AccessNeed:
    """A permission a Datadog service account needs for a feature its settings enable."""

    account: str  # namespace/name of the ServiceAccount
    role: str  # ROLE_*
    feature: str  # e.g. "external metrics (DD_EXTERNAL_METRICS_PROVIDER_ENABLED=true)"
    check: AccessCheck
    allowed: bool | None  # None: we may not ask (no subjectaccessreviews create)


@dataclass(frozen=True)
class HealthReport:
    """`datadog-cluster-agent health`: PASS/FAIL and the components it names."""

    passed: bool | None
    healthy: tuple[str, ...]
    unhealthy: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "HealthReport":
        verdict = re.search(r"Agent health:\s*(PASS|FAIL)", text)
        lists: dict[str, tuple[str, ...]] = {"healthy": (), "unhealthy": ()}
        for m in re.finditer(r"===\s*\d+\s+(healthy|unhealthy) components\s*===\s*\n([^\n=]*)", text):
            lists[m.group(1)] = tuple(p.strip() for p in m.group(2).split(",") if p.strip())
        return cls(None if verdict is None else verdict.group(1) == "PASS", lists["healthy"], lists["unhealthy"])


@dataclass(frozen=True)
class CheckState:
    """One check of the Cluster Agent's `status` Collector section."""

    name: str
    state: str  # OK | WARNING | ERROR (its instances' worst) | not-loaded
    error: str  # its last error, or why it was not loaded


def collector_checks(text: str) -> tuple[CheckState, ...]:
    """Every check the `status` Collector section names: under Running Checks with its instances'
    state, or only under a loading-errors subsection. Headings are a name over a line of dashes."""
    from kubectl_datadog.textformats.status import check_counters, sections

    parts = sections(text)
    names: list[str] = []
    for title in ("Running Checks", "Loading Errors", "Check Initialization Errors", "Config Errors"):
        body = parts.get(title, [])
        for line, under in pairwise(body):
            if line.strip() and under.strip() and not set(under.strip()) - {"-"}:
                names.append(line.strip().split(" (")[0])
    out = []
    for name in dict.fromkeys(names):
        counters = check_counters(text, name)
        if counters is None:
            continue
        if counters.state == "not-loaded":
            out.append(CheckState(name, "not-loaded", counters.load_error))
            continue
        block = "\n".join(parts.get("Running Checks", []))
        states = re.findall(rf"Instance ID: {re.escape(name)}\S* \[(\w+)\]", block)
        worst = "ERROR" if "ERROR" in states else "WARNING" if "WARNING" in states else "OK"
        out.append(CheckState(name, worst, counters.last_error))
    return tuple(out)


@dataclass(frozen=True)
class ApiKeyState:
    """One API key of the `status` Forwarder section, as the DCA names it: its last five characters
    (all it prints of a key), and what the validate endpoint said."""

    ending: str
    status: str  # "API Key valid", "API Key invalid", "Unable to reach the API Key validation endpoint", ...

    @property
    def invalid(self) -> bool:
        return self.status == "API Key invalid"


_API_KEY_LINE = re.compile(r"API key ending with (\S+):\s*(.+)")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # yellowText on a terminal


def api_key_states(text: str) -> tuple[ApiKeyState, ...]:
    """The keys under the Forwarder's "API Keys status" (valid, or not validated) and "API Keys
    errors" (invalid) subsections; none when the section is absent (a release or a build without it)."""
    from kubectl_datadog.textformats.status import sections

    parts = sections(_COLOUR.sub("", text))
    out = []
    for title in ("API Keys status", "API Keys errors"):
        for line in parts.get(title, []):
            m = _API_KEY_LINE.search(line)
            if m:
                # never more than the DCA itself prints of a key
                out.append(ApiKeyState(m.group(1)[-5:], m.group(2).strip()))
    return tuple(out)


@dataclass(frozen=True)
class DcaHealth:
    pod: str  # namespace/name
    outcome: ExecOutcome
    report: HealthReport | None  # None when the exec gave no output to parse


@dataclass(frozen=True)
class SweepSnapshot:
    """Everything doctor's own checks read, once, for every install found."""

    installs: tuple[Install, ...]
    scope: str | None  # --install-namespace (None: everywhere)
    pods: tuple[PodHealth, ...]
    dca_replicas: Mapping[str, int | None]  # deployment ref -> spec.replicas (None: not read)
    budgets: tuple[Budget, ...]
    budgets_forbidden: Forbidden | None
    dca_labels: Mapping[str, Mapping[str, str]]  # DCA deployment ref -> its pods' labels
    runners_forbidden: Forbidden | None
    access: tuple[AccessNeed, ...]
    leftovers: tuple[Leftover, ...]  # of installs other than the ones running
    leftovers_forbidden: tuple[Forbidden, ...]  # cluster-wide lists we may not make (bindings, webhooks)
    health: tuple[DcaHealth, ...]
    exec_allowed: bool
