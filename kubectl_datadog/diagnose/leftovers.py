"""An install known only by what outlives its pods (a lock, a token, an APIService): one finding
that says what was found and what is missing. Pure.

Nothing here judges a leader, a token or a connection: with no Cluster Agent and no node Agent
running, none of them exists to be judged.
"""

from __future__ import annotations

from kubectl_datadog.install import Leftover
from kubectl_datadog.model import Finding, Severity


def _subject(leftovers: tuple[Leftover, ...], scope: str | None) -> str:
    namespaces = {lo.namespace for lo in leftovers if lo.namespace}
    if scope:
        return f"namespace/{scope}"
    return f"namespace/{next(iter(namespaces))}" if len(namespaces) == 1 else "cluster"


def _describe(lo: Leftover) -> str:
    return lo.ref + (f" ({lo.detail})" if lo.detail else "")


def leftovers_finding(leftovers: tuple[Leftover, ...], scope: str | None, consequence: str,
                      severity: Severity = Severity.WARNING) -> Finding:
    """`consequence` is what the command cannot do, e.g. "nothing runs that could elect a leader"."""
    where = f" in the namespace {scope}" if scope else ""
    return Finding(
        "install-leftovers-only", severity, _subject(leftovers, scope),
        f"found objects of a Datadog install but none of its pods: {'; '.join(_describe(lo) for lo in leftovers)}. "
        f"No Cluster Agent pod and no node Agent pod matched{where}: {consequence}",
        "if Datadog was uninstalled, delete these leftovers; if its workloads do run pods, pass "
        "--dca-selector/--agent-selector with their labels",
        "kubectl get deployments,daemonsets,pods -A | grep -i datadog")
