"""`kubectl datadog env-check [POD]`: can every node Agent find and authenticate to the Cluster Agent."""

from __future__ import annotations

import click

from kubectl_datadog.app import App
from kubectl_datadog.commands import SUMMARIES
from kubectl_datadog.cli_options import command_options, parse_duration

# collect.env_check's default (a test pins it): defined here so building the CLI stays light.
DEFAULT_MAX_CONCURRENCY = 16


def _since(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    seconds = parse_duration(value)
    return None if seconds is None else max(1, int(seconds))


@click.command("env-check", short_help=SUMMARIES["env-check"])
@click.argument("pod", required=False)
@click.option("--node", metavar="NAME", help="Check only the Agent on this node.")
@click.option("--max-concurrency", type=click.IntRange(1, 256), default=DEFAULT_MAX_CONCURRENCY, show_default=True,
              help="Agents' execs and log reads in flight at once.")
@click.option("--since", "since", default="0", callback=_since, metavar="DURATION",
              help="Read only Agent log lines newer than this (e.g. 1h; 0: no limit).")
@click.option("--tail", "tail", type=click.IntRange(-1), default=2000, show_default=True,
              help="Read at most this many lines of each Agent's log (-1: all).")
@click.option("--no-logs", is_flag=True, help="Do not read the Agents' logs.")
@command_options(fail_on_default="error")
def env_check(app: App, pod: str | None, node: str | None, max_concurrency: int, since: int | None, tail: int,
              no_logs: bool) -> int:
    """Check that every node Agent can find and authenticate to the Cluster Agent.

    For each node Agent (or only the one on POD's node, or on --node): the Cluster Agent is
    enabled on it; how it finds the DCA (DD_CLUSTER_AGENT_URL, https only, or the service-link env
    vars, which exist only if the Service existed before the pod started); the DCA Service selects
    the DCA pods and has ready endpoints on its cmd port (5005); the auth token is set, at least 32
    characters and the same as the DCA's (compared by fingerprint, never shown), and which Secret it
    comes from. With exec, also the Agent's own view (`agent status`) and its real env; from its
    log (bounded by --since/--tail), whether its tag collector uses the DCA or fell back to local
    service mapping.

    Every install found is checked, each Agent against the Cluster Agent of its own install;
    --install-namespace narrows it to one. POD is looked up in -n NAMESPACE (default: the
    context's); without POD, -n narrows the installs like --install-namespace.

    Exits 3 when a finding is at least --fail-on (default: error), so it can gate a CI pipeline.
    Needs get on secrets in the install's namespace to compare tokens (a warning otherwise).

    \b
    Verdicts per Agent: ok, warning, error, dca-disabled (no Cluster Agent, none used).

    \b
    Examples:
      kubectl datadog env-check
      kubectl datadog env-check my-app-7d9f -n shop     # the Agent on my-app's node
      kubectl datadog env-check --node gke-pool-1-abcd -o wide
      kubectl datadog env-check --no-exec --fail-on warning
      kubectl datadog env-check -o json | jq '.agents[] | select(.verdict != "ok")'
    """

    from kubectl_datadog.pipelines.env_check import run

    return run(app, pod, node, max_concurrency, since, tail, no_logs)

