"""`kubectl datadog clusterchecks [CHECK]`: which cluster and endpoint checks exist, who runs them,
and why one does not run."""

from __future__ import annotations

import click

from kubectl_datadog.app import App
from kubectl_datadog.commands import SUMMARIES
from kubectl_datadog.cli_options import command_options


@click.command("clusterchecks", short_help=SUMMARIES["clusterchecks"])
@click.argument("check", required=False, metavar="[CHECK]")
@command_options(fail_on_default="never", all_namespaces=True)
def clusterchecks(app: App, check: str | None) -> int:
    """Show every cluster and endpoint check config, where it should run, and where the DCA runs it.

    Lists the check configs the Cluster Agent should know: Service annotations
    (ad.datadoghq.com/service.* and ad.datadoghq.com/endpoints.*, AD v2 `checks` or the v1
    check_names/init_configs/instances) in all namespaces unless -n is given, and the DCA's conf.d
    files (kube-state-metrics core among them). For each it says whether it is a cluster check or an
    endpoint check, where it should run (a Cluster Checks Runner, a node Agent, or the node Agent on
    the endpoint pod's node) and, with exec, where the DCA leader says it runs (its `clusterchecks`
    and status "Cluster Checks Dispatching"). Without exec (or when it fails), the leader's
    telemetry (cluster_checks_* on its metrics port, 5000 /metrics) is read through pods/proxy
    (needs get on pods/proxy): it counts configs per runner and, on newer DCAs, names their check
    IDs, so rows are matched by check name. Which source was used is said.

    \b
    Also checks the setup: cluster checks enabled on the DCA and its config providers, the config
    providers of the node Agents and runners, runner Deployment and pods Ready, a leader to
    dispatch, where kube-state-metrics core runs and whether its service account may list and
    watch what it reads, and whether the DCA may list the Services and endpoints its config
    providers read (access reviews).

    CHECK keeps only that check's configs and the findings about their sources; the setup's
    findings stay.

    \b
    Verdicts: dispatched, expected, runs-on-dca, dangling, unknown-to-dca, error, not-dispatched,
    no-worker, no-agent, no-target, excluded, invalid, unknown.

    \b
    Examples:
      kubectl datadog clusterchecks
      kubectl datadog clusterchecks kubernetes_state_core -o wide
      kubectl datadog clusterchecks -n payments --no-exec
      kubectl datadog clusterchecks -o json | jq '.configs[] | select(.verdict != "dispatched")'
      kubectl datadog clusterchecks --fail-on error
    """

    from kubectl_datadog.pipelines.clusterchecks import run

    return run(app, check)
