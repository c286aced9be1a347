"""The `env-check` command once parsed: collect every Agent's view, diagnose, build the view."""

from __future__ import annotations

import threading

from kubectl_datadog.app import App
from kubectl_datadog.collect.env_check import EnvCheckOptions, collect_env_check
from kubectl_datadog.diagnose.env_check import AgentRow, EnvCheckReport, explain
from kubectl_datadog.errors import OnlyLeftovers
from kubectl_datadog.output.render import Column, Table, Text, View
from kubectl_datadog.pipelines import request_of
from kubectl_datadog.pipelines.leftovers import leftovers_view

PROGRESS_MIN_AGENTS = 20  # below this the run is short enough that a progress line is only noise


class AgentsProgressLine:
    """`checking node Agents: 12/500` on stderr, rewritten in place; only for a terminal."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.shown = False
        self.lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_AGENTS or not self.app.err_is_terminal:
            return
        with self.lock:
            self.shown = True
            self.app.err.write(f"\rchecking node Agents: {done}/{total}")
            self.app.err.flush()

    def clear(self) -> None:
        if self.shown:
            self.app.err.write("\r\x1b[K")
            self.app.err.flush()


def run(app: App, pod: str | None, node: str | None, max_concurrency: int, since: int | None, tail: int,
        no_logs: bool) -> int:
    opts = EnvCheckOptions(pod=pod, node=node, max_concurrency=max_concurrency, since_seconds=since,
                           tail_lines=None if tail == -1 else tail, logs=not no_logs)
    progress = AgentsProgressLine(app)
    try:
        snapshot = collect_env_check(app.cluster(), request_of(app), opts, progress)
    except OnlyLeftovers as found:
        return app.finish(leftovers_view(
            "EnvCheckReport", found, app, "there is no node Agent to check and no Cluster Agent to reach",
            {"selection": "all", "summary": {"agents": 0}, "agents": []}))
    finally:
        progress.clear()  # before anything else is written to stderr, and on errors too
    report = explain(snapshot, now=app.now())
    return app.finish(env_check_view(report, app))


def _token_cell(r: AgentRow) -> str:
    return r.token


def env_check_view(report: EnvCheckReport, app: App) -> View:
    columns = [
        Column("NODE", lambda r: r.pod.node),
        Column("AGENT", lambda r: r.pod.name),
        Column("DCA-ENDPOINT", lambda r: r.endpoint.url),
        Column("TOKEN", _token_cell),
        Column("CONNECTED", lambda r: r.connected),
        Column("VERDICT", lambda r: r.verdict),
        Column("NAMESPACE", lambda r: r.pod.namespace, wide=True),
        Column("CLUSTER-AGENT", lambda r: (r.dca_install.namespace + "/" + r.dca_install.dca_deployment)
               if r.dca_install else None, wide=True),
        Column("ENDPOINT-SOURCE", lambda r: r.endpoint.source, wide=True),
        Column("SERVICE", lambda r: f"{r.endpoint.service.namespace}/{r.endpoint.service.name}"
               if r.endpoint.service else None, wide=True),
        Column("TOKEN-SOURCE", lambda r: r.token_ref.describe, wide=True),
        Column("TAG-COLLECTOR", lambda r: r.tag_collector, wide=True),
        Column("DCA-VERSION", lambda r: r.dca_version, wide=True),
    ]
    return View(
        kind="EnvCheckReport",
        data=report.to_dict(),
        sections=[Table(columns, list(report.rows)), Text(f"Summary: {report.summary_line()}")],
        findings=report.findings,
        metadata={"context": app.cluster().context.name, "generatedAt": app.now()},
    )
