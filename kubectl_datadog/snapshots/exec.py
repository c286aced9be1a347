"""The outcome of running a Datadog CLI in a pod, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.cluster import ExecResult
from kubectl_datadog.errors import Forbidden


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
