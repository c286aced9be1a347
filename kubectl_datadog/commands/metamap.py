"""`kubectl datadog metamap [NODE]`: the pod -> services map the DCA serves to node Agents."""

from __future__ import annotations

import click

from kubectl_datadog.app import DCA_TEXT, App
from kubectl_datadog.commands import SUMMARIES
from kubectl_datadog.cli_options import command_options

# The same values as collect.metamap's (a test pins them): defined here so building the CLI does not
# import the collection code.
SOURCES = ("api", "dca", "both")
MODES = ("auto", "endpoints", "endpointslices")
FORMATS = ("table", "wide", "json", "yaml")


@click.command("metamap", short_help=SUMMARIES["metamap"])
@click.argument("node", required=False, metavar="[NODE]")
@click.option("--pod", metavar="NAME", help="Only this pod (a name, or a shell pattern such as 'kube-dns-*').")
@click.option("--source", type=click.Choice(SOURCES), default="api", show_default=True,
              help="api: compute the map from the API as the DCA does; dca: ask the DCA leader (exec "
                   "`metamap`); both: compare them.")
@click.option("--mode", type=click.Choice(MODES), default="auto", show_default=True,
              help="How to compute the API map: EndpointSlices or Endpoints (auto: the DCA's "
                   "DD_KUBERNETES_USE_ENDPOINT_SLICES).")
@command_options(fail_on_default="never", all_namespaces=True)
def metamap(app: App, node: str | None, pod: str | None, source: str, mode: str) -> int:
    """Show which Services each pod belongs to, per node: the DCA's kube_service tags.

    Computes the map the Cluster Agent serves to node Agents the way its metadata controller
    does (ready Endpoints addresses, or EndpointSlice endpoints, with a Pod targetRef and a
    node), for every node the API lists. All namespaces unless -n is given.

    \b
    --source dca runs `datadog-cluster-agent metamap` in the DCA leader and shows its answer;
    --source both shows the pods whose kube_service tags differ (stale or missing) and the nodes
    the DCA has no map for. -o dca-text prints the map in the DCA's own text layout.

    \b
    Examples:
      kubectl datadog metamap
      kubectl datadog metamap gke-test-default-pool-068cb9c0-wntj -n kube-system
      kubectl datadog metamap --pod 'kube-dns-*' -o json
      kubectl datadog metamap --source both --fail-on warning
      kubectl datadog metamap -o dca-text | diff - <(kubectl exec -n datadog deploy/datadog-cluster-agent \\
          -- datadog-cluster-agent metamap)
    """

    from kubectl_datadog.pipelines.metamap import run

    return run(app, node, pod, source, mode)

# -o is shared by every command; this one alone can also print the DCA's text layout.
for _param in metamap.params:
    if _param.name == "output":
        _param.type = click.Choice([*FORMATS, DCA_TEXT])
        _param.help = f"Output format ({DCA_TEXT}: the map as `datadog-cluster-agent metamap` prints it)."
