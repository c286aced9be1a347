"""Exec the Datadog CLIs inside their pods, with the binary name the image really has.

Current images ship `datadog-cluster-agent` (DCA) and `agent` (node Agent); some DCA images and
the current docs run `agent <cmd>` in the DCA too. Try the expected name first, fall back on
"executable not found". A denied or failing exec is an outcome, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from kubectl_datadog.cluster import Cluster, ExecResult
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import AGENT_CONTAINER, Install
from kubectl_datadog.objects import Pod

DCA_BINARIES = ("datadog-cluster-agent", "agent")
AGENT_BINARIES = ("agent",)


@dataclass(frozen=True)
class ExecOutcome:
    pod: str  # namespace/name
    container: str
    argv: tuple[str, ...]  # what finally ran (or was last tried)
    result: ExecResult | None
    forbidden: Forbidden | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok

    @property
    def stdout(self) -> str:
        return self.result.stdout if self.result else ""

    @property
    def problem(self) -> str:
        """One line saying why there is no usable output ("" when ok)."""
        if self.forbidden is not None:
            return f"exec is forbidden ({self.forbidden.message})"
        if self.result is None:
            return "exec did not run"
        if self.result.ok:
            return ""
        if self.result.exit_code is None:
            return self.result.error or "exec failed"
        detail = (self.result.stderr.strip().splitlines() or [self.result.error or ""])[-1]
        return f"`{' '.join(self.argv)}` exited {self.result.exit_code}" + (f": {detail}" if detail else "")

    @property
    def command(self) -> str:
        ns, _, name = self.pod.partition("/")
        return f"kubectl -n {ns} exec {name} -c {self.container} -- {' '.join(self.argv)}"

    def to_dict(self) -> dict[str, object]:
        return {"pod": self.pod, "container": self.container, "command": list(self.argv), "ok": self.ok,
                "exitCode": self.result.exit_code if self.result else None, "problem": self.problem or None}


def _run(cluster: Cluster, pod: Pod, container: str, binaries: Sequence[str], args: Sequence[str],
         timeout: float | None) -> ExecOutcome:
    last: ExecOutcome | None = None
    for binary in binaries:
        argv = (binary, *args)
        try:
            result = cluster.exec(pod.namespace, pod.name, container, argv, timeout=timeout)
        except Forbidden as exc:
            return ExecOutcome(f"{pod.namespace}/{pod.name}", container, argv, None, exc)
        last = ExecOutcome(f"{pod.namespace}/{pod.name}", container, argv, result)
        if not result.binary_missing:
            return last
    assert last is not None
    return last


def run_dca_cli(cluster: Cluster, install: Install, pod: Pod, args: Sequence[str],
                timeout: float | None = None) -> ExecOutcome:
    return _run(cluster, pod, install.dca_container, DCA_BINARIES, args, timeout)


def run_agent_cli(cluster: Cluster, pod: Pod, args: Sequence[str], timeout: float | None = None) -> ExecOutcome:
    return _run(cluster, pod, AGENT_CONTAINER, AGENT_BINARIES, args, timeout)
