"""`kubectl datadog doctor`: one read-only sweep of the whole Datadog install, ranked and scored."""

from __future__ import annotations

import click

from kubectl_datadog.app import App
from kubectl_datadog.cli_options import command_options
from kubectl_datadog.commands import SUMMARIES

# render.FORMATS and render.JUNIT, repeated so building the CLI does not import the renderer (a test pins them).
FORMATS = ("table", "wide", "json", "yaml")
JUNIT = "junit"
# The codes of doctor's own checks, offered by shell completion for --ignore (a test pins them to
# diagnose/doctor_*.py). The other commands' codes can be ignored too: docs/findings.md lists them.
OWN_CODES = ("agent-dca-version-skew", "dca-api-key-invalid", "dca-check-failing", "dca-check-not-loaded", "dca-cpu-limited", "dca-replicas-one-node", "dca-single-replica",
             "dca-unhealthy-components", "image-differs-across-replicas", "old-install-leftovers",
             "pod-crash-looping", "pod-failed", "pod-image-pull-failing", "pod-not-ready", "pod-oom-killed",
             "pod-pending", "pod-restarting", "pod-unschedulable", "serviceaccount-permission-missing",
             "several-installs")


@click.command("doctor", short_help=SUMMARIES["doctor"])
@click.option("--ignore", "ignore", multiple=True, metavar="CODE",
              help="Accept findings with this code: not reported, not scored, no effect on the exit code "
                   "(repeatable).")
@command_options(fail_on_default="error")
def doctor(app: App, ignore: tuple[str, ...]) -> int:
    """Check the whole Datadog install at once, rank what is wrong, and score it.

    Runs every check the other commands make (leader, env-check, hpa-explain on every HPA on
    Datadog metrics, admission-explain on every pod, clusterchecks, and, with exec, the metamap
    comparison of the DCA's map with the API's) and
    the checks only a sweep makes sense of: the Cluster Agent, node Agent and cluster checks
    runner pods' health (CrashLoopBackOff, OOMKilled, restarts, Pending/Unschedulable, image pulls,
    readiness); the DCA's CPU limit, single replica without a PodDisruptionBudget, and spread;
    images and versions across replicas and between the Agents and the DCA; the Datadog service
    accounts' permissions against the features their settings enable (by access review); more than
    one install or leftovers of an old one; and, with exec, the DCA's own `health` and its leader's
    `status` (cluster checks failing or not loaded, an API key the Datadog API refuses).

    The reads are shared: an object two checks need is fetched once, and independent checks run
    at once. Findings are grouped by area, root cause first; each area gets a summary line and a
    score, and the install an overall score (docs/doctor.md gives the formula). What could not be
    checked (a permission we lack, --no-exec) is listed with the permission that would allow it,
    and does not count against the score.

    -n NAMESPACE narrows the sweep to the install in that namespace, like --install-namespace;
    with several installs and neither, the commands that judge one install run once per install.

    Exits 3 when a finding is at least --fail-on (default: error). -o junit gives one testcase per
    check (a warning or an error fails it) for CI systems.

    \b
    Examples:
      kubectl datadog doctor
      kubectl datadog doctor -o wide --install-namespace datadog
      kubectl datadog doctor -o junit > doctor.xml          # CI test report
      kubectl datadog doctor --ignore dca-single-replica --fail-on warning
      kubectl datadog doctor -o json | jq '.areas[] | {area, score}'
    """

    from kubectl_datadog.pipelines.doctor import run

    return run(app, ignore)


# -o is shared by every command; doctor alone also writes JUnit XML.
for _param in doctor.params:
    if _param.name == "output":
        _param.type = click.Choice([*FORMATS, JUNIT])
        _param.help = f"Output format ({JUNIT}: one testcase per check, for CI)."
