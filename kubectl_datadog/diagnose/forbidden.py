"""The one constructor of the `rbac-forbidden` finding: a read we may not make, so what it would
have shown is unknown (never false).

Severity: WARNING when the permission hides what the command reports on (the lock `leader`
judges, the map `metamap` computes, the Service and token `env-check` checks); INFO when it hides
a check beside the verdict (hpa-explain's chain notes and live value, the Agents' own view read
through exec or logs, which --no-exec/--no-logs skip).
"""

from __future__ import annotations

from kubectl_datadog.model import Finding, Severity

CODE = "rbac-forbidden"


def forbidden_finding(subject: str, message: str, severity: Severity, *, verb: str = "", resource: str = "",
                      namespace: str | None = None, hint: str | None = None,
                      command: str | None = None) -> Finding:
    """`hint` and `command` default to asking for `verb` on `resource` (in `namespace`) and the
    `kubectl auth can-i` that checks it; a caller that knows better passes its own."""
    if (hint is None or command is None) and not (verb and resource):
        raise ValueError("rbac-forbidden: name the verb and resource, or give the hint and command")
    where = f" in {namespace}" if namespace else ""
    return Finding(CODE, severity, subject, message,
                   hint if hint is not None else f"ask for {verb} on {resource}{where}",
                   command if command is not None
                   else f"kubectl auth can-i {verb} {resource}" + (f" -n {namespace}" if namespace else ""))
