"""What discovery could not see, said by every command that discovers the install. Pure."""

from __future__ import annotations

from typing import Iterable

from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.install import Install
from kubectl_datadog.model import Finding, Severity


def discovery_findings(installs: Iterable[Install | None]) -> list[Finding]:
    """One rbac-forbidden per namespace discovery fell back to: the user may not list pods at the
    cluster scope, so only that namespace was searched. INFO: what was found there is checked in
    full; only an install in another namespace goes unseen."""
    out: dict[str, Finding] = {}
    for inst in installs:
        if inst is None or inst.scope_forbidden is None or inst.namespace in out:
            continue
        denied = inst.scope_forbidden
        out[inst.namespace] = forbidden_finding(
            f"namespace/{inst.namespace}",
            f"cannot {denied.verb} {denied.resource} at the cluster scope: looked for the Datadog install only in the "
            f"namespace {inst.namespace} (from --install-namespace, -n or the context); an install in another "
            "namespace is not seen", Severity.INFO,
            hint=f"ask for {denied.verb} on {denied.resource} at the cluster scope, or pass --install-namespace",
            command=f"kubectl auth can-i {denied.verb} {denied.resource} --all-namespaces")
    return list(out.values())
