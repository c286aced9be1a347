"""Exit codes and the error taxonomy. Every expected failure is a PluginError: one line on stderr.

Exceptions mean "could not look" (no kubeconfig, unreachable, forbidden, not found). A broken
Datadog install is never an exception: it is a Finding (see model.py).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import click


class ExitCode(IntEnum):
    OK = 0  # ran, and found nothing at or above --fail-on
    ERROR = 1  # could not run: unreachable cluster, bad kubeconfig, not found, forbidden, internal error
    USAGE = 2  # bad flags or arguments
    FINDINGS = 3  # ran, and found problems at or above --fail-on
    INTERRUPTED = 130  # Ctrl-C


class PluginError(click.ClickException):
    """An expected failure, printed as one kubectl-style line: `error: <message> (<hint>)`."""

    exit_code = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def line(self) -> str:
        return f"error: {self.message}" + (f" ({self.hint})" if self.hint else "")


class UsageError(PluginError):
    exit_code = ExitCode.USAGE


class ConfigError(PluginError):
    """The kubeconfig cannot be used: missing, unreadable, unknown context, no credentials."""


class Unreachable(PluginError):
    """The API server did not answer (connection refused, DNS, TLS, timeout)."""


class Unauthorized(PluginError):
    """401: the credentials were rejected (expired token, wrong certificate)."""


class Forbidden(PluginError):
    """403 on a request: carries the verb and resource so findings can name them."""

    def __init__(self, verb: str, resource: str, namespace: str | None = None, name: str | None = None,
                 detail: str = "") -> None:
        self.verb, self.resource, self.namespace, self.name = verb, resource, namespace, name
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        what = f'{resource} "{name}"' if name else resource
        super().__init__(f"forbidden: cannot {verb} {what}{where}",
                         hint=f"check with: kubectl auth can-i {verb} {resource}"
                         + (f" -n {namespace}" if namespace else ""))
        self.detail = detail


class NotFound(PluginError):
    pass


class ApiError(PluginError):
    """Any other non-2xx answer. `status` is the HTTP code, `reason` the Status reason."""

    def __init__(self, message: str, status: int = 0, reason: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status, self.reason = status, reason


class RequestTimeout(Unreachable):
    pass


class NoInstall(PluginError):
    """No Datadog Cluster Agent or node Agent pods were found."""


class OnlyLeftovers(NoInstall):
    """No Datadog pods, but objects an install leaves behind (a lock, a token, an APIService).
    Commands that can say so report it as a finding; elsewhere it is the NoInstall error."""

    def __init__(self, leftovers: tuple[Any, ...], scope: str | None) -> None:
        self.leftovers, self.scope = leftovers, scope
        found = ", ".join(lo.ref for lo in leftovers)
        super().__init__(f"no Datadog Cluster Agent or node Agent pod found, only what an install left behind: {found}",
                         hint="pass --install-namespace, --dca-selector or --agent-selector if yours is labelled "
                              "differently")


class SeveralInstalls(PluginError):
    """Discovery found more than one install and the user did not pick one."""
