"""The `leader` command once parsed: collect the lock and pods, diagnose, build the view."""

from __future__ import annotations

from kubectl_datadog.app import App
from kubectl_datadog.collect.leader import collect_leader
from kubectl_datadog.diagnose.leader import LeaderReport, Replica, explain
from kubectl_datadog.errors import OnlyLeftovers
from kubectl_datadog.output.humanize import age, ago, or_none
from kubectl_datadog.output.render import Column, Table, View
from kubectl_datadog.snapshots.leader import ELECTOR_AGENTS
from kubectl_datadog.pipelines import request_of
from kubectl_datadog.pipelines.leftovers import leftovers_view


def run(app: App) -> int:
    try:
        snapshot = collect_leader(app.cluster(), request_of(app))
    except OnlyLeftovers as found:
        return app.finish(leftovers_view("LeaderReport", found, app, "nothing runs that could elect a leader",
                                         {"verdict": "no-install"}))
    report = explain(snapshot, now=app.now())
    return app.finish(leader_view(report, app))


def leader_view(report: LeaderReport, app: App) -> View:
    now = app.now()
    lock_columns = [
        Column("NAMESPACE", lambda r: r.namespace),
        Column("LOCK", lambda r: f"{r.lock.kind.lower()}/{r.lock.name}"),
        Column("HOLDER", lambda r: or_none(r.lock.holder)),
        Column("ACQUIRED", lambda r: age(r.lock.acquired, now)),
        Column("RENEWED", lambda r: ago(r.lock.renewed, now)),
        Column("LEASE", lambda r: f"{r.lock.lease_duration}s" if r.lock.lease_duration else None),
        Column("TRANSITIONS", lambda r: r.lock.transitions),
        Column("VERDICT", lambda r: r.verdict),
        Column("EXPIRES", lambda r: ago(r.expires, now).replace(" ago", " ago (expired)") if r.expires and r.expires <= now
               else ago(r.expires, now), wide=True),
        Column("INSTALL", lambda r: r.snapshot.install.flavor, wide=True),
    ]
    replica_columns = [
        Column("POD", lambda r: r.pod.name),
        Column("READY", lambda r: r.pod.ready_count),
        Column("STATUS", lambda r: r.pod.phase),
        Column("ROLE", lambda r: r.role),
        Column("NODE", lambda r: r.pod.node),
        Column("IP", lambda r: r.pod.ip),
        Column("AGE", lambda r: age(r.pod.created, now)),
    ]
    replicas: list[Replica] = sorted(report.replicas, key=lambda r: (r.role != "leader", r.pod.name))
    if report.snapshot.elector == ELECTOR_AGENTS:
        # No Cluster Agent: the leader is one node Agent, worth a glance without -o wide.
        holder = Table(replica_columns, replicas, title="LEADER (NODE AGENT)")
    else:
        holder = Table(replica_columns, replicas, title="CLUSTER AGENT REPLICAS", wide_only=True)
    return View(
        kind="LeaderReport",
        data=report.to_dict(),
        sections=[Table(lock_columns, [report]), holder],
        findings=report.findings,
        metadata={"context": app.cluster().context.name, "generatedAt": now},
    )
