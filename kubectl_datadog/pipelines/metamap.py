"""The `metamap` command once parsed: collect the maps, compare them, build the view."""

from __future__ import annotations

from dataclasses import replace

from kubectl_datadog.app import DCA_TEXT, App
from kubectl_datadog.collect.metamap import Filters, collect_metamap
from kubectl_datadog.diagnose.metamap import DiffRow, MapRow, MetamapReport, explain
from kubectl_datadog.errors import OnlyLeftovers, PluginError, UsageError
from kubectl_datadog.output.render import Column, Table, Text, View
from kubectl_datadog.textformats.metamap import render_metamap
from kubectl_datadog.pipelines import request_of
from kubectl_datadog.pipelines.leftovers import leftovers_view


def run(app: App, node: str | None, pod: str | None, source: str, mode: str) -> int:
    opts = app.opts
    if source != "api" and not opts.exec_allowed:
        raise UsageError(f"--source {source} runs `metamap` in the Cluster Agent: it cannot be used with --no-exec")
    filters = Filters(node=node or None, namespace=None if opts.all_namespaces else opts.namespace, pod=pod or None)
    try:
        snapshot = collect_metamap(app.cluster(), request_of(app), source=source, mode=mode, filters=filters)
    except OnlyLeftovers as found:
        view = leftovers_view("MetamapReport", found, app, "there is no Cluster Agent to ask for its map",
                              {"source": source})
        return app.finish(replace(view, own_formats={DCA_TEXT: lambda: ""}))  # no map to print
    report = explain(snapshot)
    dca = snapshot.dca
    if source == "dca" and dca is not None and dca.map is None:
        raise PluginError(f"cannot get the Cluster Agent's map: {dca.problem}",
                          hint=f"try: {dca.outcome.command}" if dca.outcome else "use --source api")
    return app.finish(metamap_view(report, app))



def _services(services: tuple[str, ...]) -> str | None:
    return ",".join(services) or None


def metamap_view(report: MetamapReport, app: App) -> View:
    snap = report.snapshot
    map_columns = [
        Column("NODE", lambda r: r.node),
        Column("NAMESPACE", lambda r: r.namespace),
        Column("POD", lambda r: r.pod),
        Column("SERVICES", lambda r: _services(r.services)),
        Column("TAGS", lambda r: _services(tuple(f"kube_service:{s}" for s in r.services)), wide=True),
    ]
    sections: list[Table | Text] = []
    if snap.source == "both":
        diff_columns = [
            Column("NODE", lambda r: r.node),
            Column("NAMESPACE", lambda r: r.namespace),
            Column("POD", lambda r: r.pod),
            Column("API", lambda r: _services(r.api)),
            Column("DCA", lambda r: _services(r.dca)),
            Column("DIFFERENCE", lambda r: r.difference),
        ]
        diffs: list[DiffRow] = list(report.differences)
        if diffs:
            sections.append(Table(diff_columns, diffs))
        elif report.dca_map is not None and snap.api is not None:
            sections.append(Text(f"No differences: the Cluster Agent's map matches the API "
                                 f"({report.map.pod_count} pods on {len(report.map.nodes)} nodes)."))
        sections.append(Table(map_columns, report.rows(), title="MAP (API)", wide_only=True))
    else:
        rows: list[MapRow] = report.rows()
        sections.append(Table(map_columns, rows))
    return View(
        kind="MetamapReport",
        data=report.to_dict(),
        sections=sections,
        findings=report.findings,
        empty_message="No pods are mapped to services." if snap.source != "both" else "",
        metadata={"context": app.cluster().context.name, "generatedAt": app.now()},
        own_formats={DCA_TEXT: lambda: render_metamap(report.map)},
    )
