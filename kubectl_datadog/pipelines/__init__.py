"""What each command does once its flags are parsed: its pipeline, collect -> diagnose -> the View to render.

Kept apart from kubectl_datadog/commands/ (the Click definitions) so that building the CLI, and so
`--help`, `--version` and completion, imports none of the collection, diagnosis or rendering code:
each command imports its pipeline module inside its body (a static import, visible to PyInstaller).
"""

from __future__ import annotations

from kubectl_datadog.app import App
from kubectl_datadog.collect.request import Request


def request_of(app: App) -> Request:
    """The shared flags as collection takes them (collection never sees the App)."""
    o = app.opts
    return Request(namespace=o.namespace, all_namespaces=o.all_namespaces, install_namespace=o.install_namespace,
                   dca_selector=o.dca_selector, agent_selector=o.agent_selector, exec_allowed=o.exec_allowed,
                   request_timeout=o.request_timeout)
