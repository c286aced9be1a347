"""`kubectl datadog leader`: who leads the Cluster Agents, since when, and is the lock fresh."""

from __future__ import annotations

import click

from kubectl_datadog.app import App
from kubectl_datadog.commands import SUMMARIES
from kubectl_datadog.cli_options import command_options


@click.command("leader", short_help=SUMMARIES["leader"])
@command_options(fail_on_default="never")
def leader(app: App) -> int:
    """Show the Cluster Agent leader, its lock, and whether events can be collected.

    Reads the lock the DCA really uses (Lease or ConfigMap, named by its DD_LEADER_LEASE_NAME,
    and the legacy `datadog-leader-election`), checks the holder pod, the DCA's leader-election
    and event-collection settings, node Agents that wrongly run leader election, and the DCA
    service account's permissions. With exec, also the leader's own `status`.

    An install without a Cluster Agent (Helm clusterAgent.enabled=false) is valid: its node Agents
    with DD_LEADER_ELECTION=true elect a leader among themselves, and that election is judged the
    same way, with the leading node Agent shown.

    \b
    Verdicts: healthy, stale, no-leader, holder-gone, holder-not-ready, flapping, disabled,
    no-install (only objects an install left behind were found).

    \b
    Examples:
      kubectl datadog leader
      kubectl datadog leader -o wide          # every DCA replica and its role
      kubectl datadog leader --install-namespace datadog -o json | jq .verdict
      kubectl datadog leader --no-exec --fail-on warning
    """

    from kubectl_datadog.pipelines.leader import run

    return run(app)

