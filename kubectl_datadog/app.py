"""App: everything a command needs from its environment, injected so tests can replace it.

Holds the parsed global flags, the output streams, the clock and a lazily built Cluster. Tests
construct `App(cluster_factory=lambda opts: fake, clock=lambda: FIXED)`; production builds a
KubeCluster on first use, so `--help` never imports the kubernetes client.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Sequence, TextIO

from kubectl_datadog.errors import ExitCode
from kubectl_datadog.model import Finding, Severity, worst

if TYPE_CHECKING:
    from kubectl_datadog.cluster import Cluster
    from kubectl_datadog.output.render import View

FAIL_ON = {"never": None, "info": Severity.INFO, "warning": Severity.WARNING, "error": Severity.ERROR}
# metamap's own output format (the map as `datadog-cluster-agent metamap` prints it). Here, beside the
# other flag values, so the command (which offers it) and the view (which produces it) share it
# without importing each other.
DCA_TEXT = "dca-text"


def exit_code(findings: "Sequence[Finding]", fail_on: str) -> int:
    """--fail-on: exit 3 when a finding is at or above the threshold, else 0."""
    threshold = FAIL_ON[fail_on]
    if threshold is not None and worst(list(findings)) >= threshold:
        return ExitCode.FINDINGS
    return ExitCode.OK


@dataclass(frozen=True)
class Options:
    """The flags every command shares, parsed and typed."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None  # -n as given (None: not given)
    all_namespaces: bool = False
    request_timeout: float | None = 30.0
    output: str = "table"
    no_headers: bool = False
    fail_on: str = "never"
    exec_allowed: bool = True
    dca_selector: str = ""
    agent_selector: str = ""
    install_namespace: str | None = None
    debug: bool = False


def _default_cluster(opts: Options) -> "Cluster":
    from kubectl_datadog.cluster.kube import KubeCluster

    return KubeCluster(kubeconfig=opts.kubeconfig, context=opts.context, cluster=opts.cluster, user=opts.user,
                       namespace=opts.namespace, request_timeout=opts.request_timeout)


@dataclass
class App:
    cluster_factory: Callable[[Options], "Cluster"] = _default_cluster
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    stdout: TextIO | None = None  # None: the process's stdout at the time of writing
    stderr: TextIO | None = None
    stderr_isatty: bool | None = None
    opts: Options = field(default_factory=Options)
    _cluster: "Cluster | None" = None

    @property
    def out(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self.stderr or sys.stderr

    @property
    def err_is_terminal(self) -> bool:
        if self.stderr_isatty is not None:
            return self.stderr_isatty
        return bool(getattr(self.err, "isatty", lambda: False)())

    def now(self) -> datetime:
        return self.clock()

    def cluster(self) -> "Cluster":
        if self._cluster is None:
            self._cluster = self.cluster_factory(self.opts)
        return self._cluster

    @property
    def namespace(self) -> str:
        """-n if given, else the kubeconfig context's namespace."""
        return self.opts.namespace or self.cluster().context.namespace

    def warn(self, message: str) -> None:
        self.err.write(f"warning: {message}\n")

    def finish(self, view: "View") -> int:
        """Render the view and turn its findings into the exit code (--fail-on)."""
        from kubectl_datadog.output.render import render

        render(view, self.opts.output, self.out, self.err, no_headers=self.opts.no_headers)
        return exit_code(view.findings, self.opts.fail_on)
