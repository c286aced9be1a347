"""Findings about the DCA's settings themselves, shared by every command that reads them. Pure."""

from __future__ import annotations

from kubectl_datadog.install import Install
from kubectl_datadog.model import Finding, Severity

UNKNOWN_SETTING = "dca-setting-unknown"


def unknown_setting_findings(inst: Install, names: tuple[str, ...] | None = None) -> list[Finding]:
    """One finding per setting whose ConfigMap/Secret could not be read (of `names`, or all): its
    value is unknown, and the read that failed is named so the user can ask for it."""
    s = inst.settings
    if s is None:
        return []
    subject = f"deployment/{inst.namespace}/{inst.dca_deployment}" if inst.dca_deployment else f"namespace/{inst.namespace}"
    return [Finding(
        UNKNOWN_SETTING, Severity.WARNING, subject,
        f"{u.name} is unknown: the Cluster Agent takes it from {u.describe}, which could not be read ({u.reason}); "
        "no verdict rests on it",
        f"ask for get on {u.resource} in {u.namespace} (or read {u.ref_name} as someone who may), then run again",
        f"kubectl auth can-i get {u.resource}/{u.ref_name} -n {u.namespace}")
        for u in s.unread if names is None or u.name in names]
