"""The `admission-explain` command once parsed: collect the chain and the pods, explain, build the view."""

from __future__ import annotations

from kubectl_datadog.app import App
from kubectl_datadog.collect.admission import AdmissionOptions, collect_admission
from kubectl_datadog.diagnose.admission import AdmissionReport, explain
from kubectl_datadog.diagnose.admission_pods import PodVerdict
from kubectl_datadog.output.humanize import age
from kubectl_datadog.output.render import Column, Table, Text, View
from kubectl_datadog.pipelines import request_of


def run(app: App, pod: str | None, selector: str) -> int:
    snapshot = collect_admission(app.cluster(), request_of(app), AdmissionOptions(pod=pod, selector=selector))
    report = explain(snapshot, now=app.now())
    return app.finish(admission_view(report, app, detailed=pod is not None))


def _webhooks(r: PodVerdict) -> str:
    called = [c.role for c in r.calls if c.called]
    return ",".join(called) if called else "none"


def _detail(r: PodVerdict) -> str:
    lines = [f"{r.pod.ref}  owner {r.pod.owner or 'none'}  mode {r.mode or 'unknown'}", ""]
    lines.append("  webhooks the API server calls for it")
    for c in r.calls:
        state = "yes" if c.called else ("unknown" if c.called is None else "no")
        lines.append(f"    {c.entry:<40} {state:<8} {c.because}")
    if not r.calls:
        lines.append("    none (no Datadog webhook configuration)")
    lines.append("")
    lines.append("  injected versus expected")
    for i in r.injections:
        expected = "expected" if i.expected else ("unknown" if i.expected is None else "not expected")
        found = ", ".join(i.found) or "nothing"
        missing = f"; missing {', '.join(i.missing)}" if i.missing and (i.expected or i.found) else ""
        lines.append(f"    {i.role:<7} {expected:<13} {i.state:<9} found {found}{missing}"
                     + (f"  ({i.because})" if i.because else ""))
    for note in r.notes:
        lines.append(f"  note: {note}")
    lines.append("")
    lines.append(f"  verdict {r.verdict}: {r.reason}")
    return "\n".join(lines)


def admission_view(report: AdmissionReport, app: App, *, detailed: bool) -> View:
    now = app.now()
    columns = [
        Column("NAMESPACE", lambda r: r.pod.namespace),
        Column("POD", lambda r: r.pod.name),
        Column("OWNER", lambda r: r.pod.owner or None),
        Column("AGE", lambda r: age(r.pod.created, now)),
        Column("WEBHOOKS", _webhooks),
        Column("MUTATED", lambda r: r.mutated),
        Column("VERDICT", lambda r: r.verdict),
        Column("MODE", lambda r: r.mode or None, wide=True),
        Column("REASON", lambda r: r.reason, wide=True),
    ]
    sections: list[Table | Text] = [Table(columns, list(report.rows))]
    if detailed and report.rows:
        sections.append(Text(_detail(report.rows[0])))
    if report.owners:
        sections.append(Table([Column("OWNER", lambda o: o.ref), Column("VERDICT", lambda o: o.verdict),
                               Column("COUNT", lambda o: o.count), Column("EVENT", lambda o: o.message)],
                              list(report.owners), title="OWNERS FAILING TO CREATE PODS"))
    sections.append(Table([Column("STEP", lambda s: s.step), Column("OBJECT", lambda s: s.subject),
                           Column("STATE", lambda s: s.state), Column("DETAIL", lambda s: s.detail)],
                          list(report.chain.steps), title="CHAIN"))
    if not detailed:
        sections.append(Text(f"Summary: {report.summary_line()}"))
    where = f'in the namespace "{report.namespace}"' if report.namespace else "in any namespace"
    return View(kind="AdmissionReport", data=report.to_dict(), sections=sections, findings=report.findings,
                empty_message=f"No pods found {where}.",
                metadata={"context": app.cluster().context.name, "generatedAt": now})
