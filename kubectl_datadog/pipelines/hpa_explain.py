"""The `hpa-explain` command once parsed: collect the chain, explain it, build the view."""

from __future__ import annotations

from kubectl_datadog.app import App
from kubectl_datadog.collect.hpa_explain import collect_hpa_explain
from kubectl_datadog.diagnose.hpa_explain import (
    TOLERANCE,
    HpaExplainReport,
    HpaReport,
    Link,
    MetricReport,
    explain,
)
from kubectl_datadog.output.humanize import ago
from kubectl_datadog.output.render import Column, Table, Text, View
from kubectl_datadog.pipelines import request_of
from kubectl_datadog.textformats.quantity import fmt_number


def run(app: App, name: str | None) -> int:
    snapshot = collect_hpa_explain(app.cluster(), request_of(app), name)
    report = explain(snapshot, now=app.now())
    return app.finish(hpa_view(report, app, detailed=name is not None))


def _target(m: MetricReport) -> str:
    t = m.metric.target
    return f"{t} (avg)" if m.metric.target_type == "AverageValue" else t


def _value(m: MetricReport) -> str | None:
    return fmt_number(m.arithmetic.value) if m.arithmetic.value is not None else None


def _metric_cell(h: HpaReport) -> str:
    lead = h.lead_metric.metric.name
    return lead + (f" (+{len(h.metrics) - 1})" if len(h.metrics) > 1 else "")


def hpa_view(report: HpaExplainReport, app: App, *, detailed: bool) -> View:
    now = app.now()
    metadata = {"context": app.cluster().context.name, "generatedAt": now}
    if not detailed:
        summary = [
            Column("NAMESPACE", lambda h: h.hpa.namespace),
            Column("NAME", lambda h: h.hpa.name),
            Column("METRIC", _metric_cell),
            Column("VALUE", lambda h: _value(h.lead_metric)),
            Column("TARGET", lambda h: _target(h.lead_metric)),
            Column("MINPODS", lambda h: h.hpa.min_replicas),
            Column("MAXPODS", lambda h: h.hpa.max_replicas),
            Column("REPLICAS", lambda h: h.hpa.current_replicas),
            Column("DESIRED", lambda h: h.desired, wide=True),
            Column("PER-POD", lambda h: fmt_number(h.lead_metric.arithmetic.per_pod)
                   if h.lead_metric.arithmetic.per_pod is not None else None, wide=True),
            Column("VERDICT", lambda h: h.verdict),
            Column("BROKEN-LINK", lambda h: next((lk.subject for lk in h.lead_metric.links if lk.state == "broken"),
                                                 None), wide=True),
        ]
        where = "in any namespace" if report.snapshot.namespace is None \
            else f"in the {report.snapshot.namespace} namespace"
        return View(kind="HpaExplanationList", data=report.to_dict(), sections=[Table(summary, report.hpas)],
                    findings=report.findings, metadata=metadata,
                    empty_message=f"No HorizontalPodAutoscalers with External metrics found {where}.")

    h = report.hpas[0]
    metric_cols = [
        Column("NAMESPACE", lambda m: h.hpa.namespace),
        Column("NAME", lambda m: h.hpa.name),
        Column("METRIC", lambda m: m.metric.name),
        Column("VALUE", _value),
        Column("PER-POD", lambda m: fmt_number(m.arithmetic.per_pod) if m.arithmetic.per_pod is not None else None),
        Column("TARGET", _target),
        Column("MINPODS", lambda m: h.hpa.min_replicas),
        Column("MAXPODS", lambda m: h.hpa.max_replicas),
        Column("REPLICAS", lambda m: h.hpa.current_replicas),
        Column("DESIRED", lambda m: m.arithmetic.proposal),
        Column("VERDICT", lambda m: m.verdict if m.broken else h.action),
        Column("SELECTOR", lambda m: m.metric.label_selector or None, wide=True),
        Column("VALUE-FROM", lambda m: m.arithmetic.value_from or None, wide=True),
    ]
    chain_cols = [
        Column("METRIC", lambda r: r[0], wide=True),
        Column("STEP", lambda r: r[1].step),
        Column("OBJECT", lambda r: r[1].subject),
        Column("STATE", lambda r: r[1].state),
        Column("DETAIL", lambda r: r[1].detail),
    ]
    chain_rows: list[tuple[str, Link]] = [(m.metric.name, lk) for m in h.metrics for lk in m.links]
    if len(h.metrics) == 1 or app.opts.output != "wide":
        # The APIService/Service/Cluster Agent links are the same for every metric: show them once,
        # then each metric's own links (-o wide repeats the whole chain per metric).
        seen: set[tuple[str, str, str]] = set()
        rows = []
        for name, lk in chain_rows:
            k = (lk.step, lk.subject, lk.detail)
            if lk.step in ("apiservice", "service", "cluster-agent") and k in seen:
                continue
            seen.add(k)
            rows.append((name, lk))
        chain_rows = rows
    cond_cols = [
        Column("TYPE", lambda e: e.type),
        Column("STATUS", lambda e: e.status),
        Column("REASON", lambda e: e.reason),
        Column("MEANING", lambda e: e.meaning.meaning if e.meaning else e.message),
        Column("MESSAGE", lambda e: e.message, wide=True),
    ]
    event_cols = [
        Column("LAST SEEN", lambda e: ago(e.when, now).removesuffix(" ago")),
        Column("TYPE", lambda e: e.type),
        Column("REASON", lambda e: e.reason),
        Column("COUNT", lambda e: e.count),
        Column("MEANING", lambda e: e.meaning.meaning if e.meaning else e.message),
        Column("MESSAGE", lambda e: e.message, wide=True),
    ]
    return View(
        kind="HpaExplanation", data=report.to_dict(),
        sections=[Table(metric_cols, h.metrics), Text(arithmetic_text(h)),
                  Table(chain_cols, chain_rows, title="CHAIN"),
                  Table(cond_cols, h.conditions, title="HPA CONDITIONS"),
                  Table(event_cols, h.events, title="HPA EVENTS")],
        findings=report.findings, metadata=metadata)


def arithmetic_text(h: HpaReport) -> str:
    """The HPA controller's arithmetic, written out as the troubleshooting guide explains it."""
    hpa = h.hpa
    cur = hpa.current_replicas
    lines = [f"{hpa.ref} scales {hpa.scale_target}: {cur if cur is not None else '?'} replica(s), "
             f"min {hpa.min_replicas}, max {hpa.max_replicas}"]
    for m in h.metrics:
        a = m.arithmetic
        sel = f"{{{m.metric.label_selector}}}" if m.metric.label_selector else ""
        lines.append("")
        lines.append(f"  {m.metric.name}{sel}   target {m.metric.target_type} {m.metric.target}")
        rows: list[tuple[str, str]] = []
        if a.value is None:
            rows.append(("value", "unknown: no value could be read"))
        else:
            rows.append(("value from Datadog", f"{fmt_number(a.value)}   ({a.value_from})"))
            if a.target_type == "AverageValue" and cur:
                rows.append(("per pod", f"{fmt_number(a.value)} / {cur} replicas = {fmt_number(a.per_pod)}"
                             f"   (kubectl get hpa TARGETS: {fmt_number(a.per_pod)}/{m.metric.target} (avg))"))
                if a.ratio is not None:
                    rows.append(("against the target", f"{fmt_number(a.per_pod)} / {fmt_number(a.target)} = "
                                 f"{fmt_number(a.ratio)}x" + _tolerance(a.within_tolerance)))
                if a.proposal is not None:
                    rows.append(("desired replicas", f"{cur} (no change)" if a.within_tolerance else
                                 f"ceil({fmt_number(a.value)} / {fmt_number(a.target)}) = {a.proposal}"))
            elif a.target_type == "Value" and a.ratio is not None:
                rows.append(("against the target", f"{fmt_number(a.value)} / {fmt_number(a.target)} = "
                             f"{fmt_number(a.ratio)}x" + _tolerance(a.within_tolerance)))
                if a.proposal is not None:
                    rows.append(("desired replicas", f"{cur} (no change)" if a.within_tolerance else
                                 f"ceil({fmt_number(a.ratio)} x {cur} ready replicas) = {a.proposal}"))
        if m.broken:
            rows.append(("broken link", f"{m.verdict}: the HPA cannot use this metric"))
        rows.append(("check it yourself", m.command))
        width = max(len(k) for k, _ in rows)
        lines += [f"    {k:<{width}}   {v}" for k, v in rows]
    lines.append("")
    lines.append(f"  the HPA {h.action_text}")
    return "\n".join(lines)


def _tolerance(within: bool | None) -> str:
    if within is None:
        return ""
    return f"   (within the {TOLERANCE} tolerance)" if within else f"   (beyond the {TOLERANCE} tolerance)"
