"""The `clusterchecks` command once parsed: collect the setup and configs, diagnose, build the view."""

from __future__ import annotations

from kubectl_datadog.app import App
from kubectl_datadog.collect.clusterchecks import ClusterChecksOptions, collect_clusterchecks
from kubectl_datadog.diagnose.clusterchecks import ClusterChecksReport, explain
from kubectl_datadog.errors import OnlyLeftovers
from kubectl_datadog.output.humanize import or_none
from kubectl_datadog.output.render import Column, Table, Text, View
from kubectl_datadog.pipelines import request_of
from kubectl_datadog.pipelines.leftovers import leftovers_view


def run(app: App, check: str | None) -> int:
    try:
        snapshot = collect_clusterchecks(app.cluster(), request_of(app), ClusterChecksOptions(check=check or ""))
    except OnlyLeftovers as found:
        return app.finish(leftovers_view("ClusterChecksReport", found, app,
                                         "nothing runs that could dispatch cluster checks", {"configs": []}))
    return app.finish(clusterchecks_view(explain(snapshot), app))


def _setup_line(report: ClusterChecksReport) -> str:
    snap, setup = report.snapshot, report.setup
    enabled = {True: "enabled", False: "disabled", None: "unknown"}[setup.enabled]
    rd = snap.runner_deployment
    runners = (f"{rd.name} {sum(1 for w in snap.runners if w.pod.ready)}/{rd.replicas} Ready" if rd
               else "none")
    agents = snap.node_agents
    cc = sum(1 for w in agents if w.runs("clusterchecks"))
    ep = sum(1 for w in agents if w.runs("endpointschecks"))
    leader = snap.leader or ("none" if snap.install.dca_pods else "no Cluster Agent")
    s = snap.settings
    dispatching = ("" if s is None else
                   f", advanced dispatching {'on' if s.advanced_dispatching else 'off'}, rebalance every "
                   f"{s.rebalance_period}{' on utilization' if s.rebalance_with_utilization else ''}")
    return (f"cluster checks {enabled}, leader {leader}, runners {runners}, "
            f"node Agents {len(agents)} (clusterchecks {cc}, endpointschecks {ep}){dispatching}")


def clusterchecks_view(report: ClusterChecksReport, app: App) -> View:
    columns = [
        Column("CHECK", lambda r: r.check),
        Column("KIND", lambda r: r.kind),
        Column("SOURCE", lambda r: r.source),
        Column("SHOULD RUN ON", lambda r: r.should_run),
        Column("DCA SAYS", lambda r: or_none(r.dca_says)),
        Column("VERDICT", lambda r: r.verdict),
        Column("ADDRESS", lambda r: r.address or None, wide=True),
        Column("DETAIL", lambda r: r.detail or None, wide=True),
    ]
    worker_columns = [
        Column("POD", lambda w: w.pod.name),
        Column("ROLE", lambda w: w.role),
        Column("READY", lambda w: w.pod.ready_count),
        Column("NODE", lambda w: w.pod.node),
        Column("PROVIDERS", lambda w: "unknown" if w.providers is None else ",".join(sorted(w.providers)) or None),
    ]
    return View(
        kind="ClusterChecksReport",
        data=report.to_dict(),
        sections=[Table(columns, list(report.rows)), Text(_setup_line(report), wide_only=True),
                  Table(worker_columns, list(report.snapshot.workers), title="AGENTS THAT MAY RUN CHECKS",
                        wide_only=True)],
        findings=report.findings,
        empty_message="No cluster or endpoint check configs found.",
        metadata={"context": app.cluster().context.name, "generatedAt": app.now()},
    )
