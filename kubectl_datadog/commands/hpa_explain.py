"""`kubectl datadog hpa-explain [NAME]`: why an HPA on Datadog metrics does or does not scale."""

from __future__ import annotations

import click

from kubectl_datadog.app import App
from kubectl_datadog.commands import SUMMARIES
from kubectl_datadog.cli_options import command_options


@click.command("hpa-explain", short_help=SUMMARIES["hpa-explain"])
@click.argument("name", required=False)
@command_options(fail_on_default="never", all_namespaces=True)
def hpa_explain(app: App, name: str | None) -> int:
    """Explain why an HPA on Datadog external metrics does or does not scale.

    For each External metric, walks the chain the HPA depends on and names the first broken link:
    the v1beta1.external.metrics.k8s.io APIService, its Service and endpoints, the Cluster Agent
    (ready, provider enabled, API/app keys, leader), the metric's DatadogMetric or legacy ConfigMap
    entry and its freshness, the live value of the external metrics API, and the HPA's own
    conditions and events. Then replays the HPA's arithmetic: the value from Datadog, per pod for
    an AverageValue target, against the target, and the replica count it leads to.

    Without NAME: one row per HPA with External metrics in the namespace (or every namespace with -A).

    \b
    Verdicts: the broken link's finding code (e.g. apiservice-missing, dca-not-ready,
    datadogmetric-invalid, metric-stale), or what the HPA will do: steady, scale-up,
    scale-down, pinned-at-max, pinned-at-min, cannot-compute, scaling-disabled.

    \b
    Examples:
      kubectl datadog hpa-explain nginxext -n default
      kubectl datadog hpa-explain -A                  # every HPA on external metrics
      kubectl datadog hpa-explain nginxext -o yaml    # the whole chain and arithmetic
      kubectl datadog hpa-explain -A --fail-on error  # exit 3 if any chain is broken
    """

    from kubectl_datadog.pipelines.hpa_explain import run

    return run(app, name)

