"""The HPA controller's arithmetic, replayed (k8s pkg/controller/podautoscaler/replica_calculator.go):

  AverageValue: ratio = value / (target * current); if |ratio - 1| > tolerance: desired = ceil(value / target)
  Value:        ratio = value / target;             if |ratio - 1| > tolerance: desired = ceil(ratio * current)

The HPA takes the largest proposal over its metrics, clamps it to [minReplicas, maxReplicas], and does
not scale down while one of its metrics is failing. Pure."""

from __future__ import annotations

import math

from kubectl_datadog.diagnose.hpa_explain_report import TOLERANCE, Arithmetic, MetricReport
from kubectl_datadog.snapshots.hpa_explain import ExternalMetric, Hpa
from kubectl_datadog.textformats.quantity import parse_quantity


def arithmetic(hpa: Hpa, metric: ExternalMetric, live_value: float | None, source_value: float | None,
                source_label: str) -> Arithmetic:
    target = parse_quantity(metric.target)
    current = hpa.current_replicas
    value: float | None
    if live_value is not None:
        value, origin = live_value, "external metrics API"
    elif source_value is not None:
        value, origin = source_value, source_label
    else:
        cur = parse_quantity(metric.current)
        if cur is not None and metric.target_type == "AverageValue" and current:
            value, origin = cur * current, "HPA status (currentMetrics x replicas)"
        else:
            value, origin = cur, "HPA status (currentMetrics)" if cur is not None else ""
    per_pod = ratio = None
    within = None
    proposal = None
    if value is not None and target:
        if metric.target_type == "AverageValue":
            if current:
                per_pod = math.ceil(value * 1000 / current) / 1000  # the controller works in milli-units
                ratio = value / (target * current)
                within = abs(ratio - 1) <= TOLERANCE
                proposal = current if within else math.ceil(value / target)
            else:
                ratio = None
        else:
            ratio = value / target
            if current:
                within = abs(ratio - 1) <= TOLERANCE
                proposal = current if within else math.ceil(ratio * current)
    return Arithmetic(value, origin, metric.target_type, target, current, per_pod, ratio, within, proposal)



def action(hpa: Hpa, metrics: list[MetricReport]) -> tuple[str, str, int | None, int | None]:
    current = hpa.current_replicas
    lo, hi = hpa.min_replicas, hpa.max_replicas
    if current == 0:
        return "scaling-disabled", "does not scale: its target has 0 replicas and it does not scale from zero", None, None
    usable = [m for m in metrics if not m.broken and m.arithmetic.proposal is not None]
    failing = [m for m in metrics if m.broken]
    if current is None:
        return "cannot-compute", "has not reported its current replicas yet", None, None
    if not usable:
        return ("cannot-compute", f"cannot read its external metric(s), so it keeps {current} replica(s) "
                "and does not scale", None, current)
    desired = max(m.arithmetic.proposal for m in usable if m.arithmetic.proposal is not None)
    proposal = desired
    note = ""
    if hpa.other_metrics:
        note = f" (not counting its other metrics: {', '.join(hpa.other_metrics)})"
    if failing and proposal < current:
        return ("steady", f"stays at {current}: it does not scale down while a metric is failing{note}",
                desired, current)
    final = min(max(proposal, lo), hi) if hi else max(proposal, lo)
    if final == current:
        if proposal > hi:
            return ("pinned-at-max", f"stays at {current}: pinned at maxReplicas {hi} (the metrics ask for "
                    f"{proposal}){note}", desired, final)
        if proposal < lo:
            return ("pinned-at-min", f"stays at {current}: pinned at minReplicas {lo} (the metrics ask for "
                    f"{proposal}){note}", desired, final)
        return "steady", f"stays at {current}: the metrics are within the {TOLERANCE} tolerance{note}", desired, final
    if final > current:
        cap = f", capped by maxReplicas {hi} (the metrics ask for {proposal})" if proposal > hi else ""
        return "scale-up", f"scales up from {current} to {final}{cap}{note}", desired, final
    floor = f", floored by minReplicas {lo} (the metrics ask for {proposal})" if proposal < lo else ""
    return ("scale-down", f"scales down from {current} to {final}{floor}, after its scale-down stabilization "
            f"window (5m by default){note}", desired, final)

