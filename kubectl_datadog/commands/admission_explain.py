"""`kubectl datadog admission-explain [POD]`: why a pod was or was not mutated by the admission controller."""

from __future__ import annotations

import click

from kubectl_datadog.app import App
from kubectl_datadog.cli_options import _selector_callback, command_options
from kubectl_datadog.commands import SUMMARIES


@click.command("admission-explain", short_help=SUMMARIES["admission-explain"])
@click.argument("pod", required=False)
@click.option("-l", "--selector", default="", callback=_selector_callback, metavar="SELECTOR",
              help="Explain only the pods with these labels.")
@command_options(fail_on_default="error", all_namespaces=True)
def admission_explain(app: App, pod: str | None, selector: str) -> int:
    """Explain why a pod was or was not mutated by the Cluster Agent's admission controller.

    Walks the chain for every pod in -n NAMESPACE (default: the context's; -A: all), or for POD:
    the admission settings of the Cluster Agent (enabled, mutateUnlabelled, inject mode, webhook
    and Service names, failure policy, SSI); the MutatingWebhookConfiguration it should have
    created (its entries and paths, caBundle against the certificate Secret, certificate expiry,
    failurePolicy and timeoutSeconds); the Service's ready endpoints and the Cluster Agent pods;
    whether each webhook's namespaceSelector and objectSelector take the pod, and the webhook's own
    label filter (admission.datadoghq.com/enabled against mutateUnlabelled, SSI targeting); when the
    pod was created against when the webhook existed and the Cluster Agent was Ready; and what was
    injected against what was expected (env, volumes, init containers). The owners' FailedCreate
    events (failed calling webhook, violates PodSecurity, x509) and the namespaces' PodSecurity
    labels are evidence. With exec, also the Cluster Agent's own status.

    Read-only: it never creates, dry-runs or probes anything.

    \b
    Verdicts, the first that holds:
      mutated                        everything expected was injected
      injection-partial              some of it (e.g. tags without the config)
      admission-disabled             the admission controller is off
      webhook-missing                no MutatingWebhookConfiguration
      not-selected                   a selector or the label filter leaves the pod out
      ssi-not-targeted               SSI is on, but not for this pod's namespace/targets
      created-before-webhook         admission acts only at creation
      created-while-dca-unavailable  no running Cluster Agent was Ready yet
      certificate-invalid            the caBundle cannot verify the webhook
      webhook-unreachable            the Service has no ready endpoint (or is wrong)
      not-mutated                    selected, nothing visible explains it (network)
      unknown                        a read it needs was refused
    Owners whose pods were never created: rejected-by-policy, webhook-unreachable,
    certificate-invalid, webhook-failed.

    Exits 3 when a finding is at least --fail-on (default: error).

    \b
    Examples:
      kubectl datadog admission-explain -n shop
      kubectl datadog admission-explain my-app-7d9f-x2x9z -n shop
      kubectl datadog admission-explain -A -l app=web -o wide
      kubectl datadog admission-explain -n shop -o json | jq '.pods[] | select(.verdict != "mutated")'
    """

    from kubectl_datadog.pipelines.admission_explain import run

    return run(app, pod, selector)
