"""The flags every command shares, and how they become typed Options on the App."""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

import click

from kubectl_datadog.app import FAIL_ON, App, Options
from kubectl_datadog.times import parse_go_duration

EXIT_CODES_HELP = """\b
Exit codes:
  0    ran, and found nothing at or above --fail-on
  1    could not run: bad kubeconfig, unreachable cluster, object not found,
       no permission to read what the command needs, no Datadog install found
  2    usage error (bad flag or argument)
  3    ran, and found problems at or above --fail-on
  130  interrupted (Ctrl-C)"""


def parse_duration(value: str) -> float | None:
    """kubectl's --request-timeout: `0` (no timeout), a number of seconds (`30`), or a Go duration
    (`30s`, `1m`, `1h`, `500ms`)."""
    text = value.strip()
    if text in ("0", ""):
        return None
    seconds = float(text) if re.fullmatch(r"\d+(\.\d+)?", text) else parse_go_duration(text)
    if seconds is None or seconds <= 0:
        raise click.BadParameter(f"invalid duration {value!r}: use e.g. 30s, 1m or 0 for no timeout")
    return seconds


def _duration_callback(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    return parse_duration(value)


def _selector_callback(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value:
        from kubectl_datadog.cluster.selectors import parse_label_selector

        try:
            parse_label_selector(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    return value


_KUBE_FLAGS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option("--kubeconfig", metavar="PATH", help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)."),
    click.option("--context", metavar="NAME", help="The kubeconfig context to use."),
    click.option("--cluster", metavar="NAME", help="The kubeconfig cluster to use."),
    click.option("--user", metavar="NAME", help="The kubeconfig user to use."),
    click.option("-n", "--namespace", metavar="NS", help="Namespace (default: the context's namespace)."),
    click.option("--request-timeout", default="30s", show_default=True, callback=_duration_callback,
                 metavar="DURATION", help="Give up on a request after this long (0: never)."),
    click.option("--install-namespace", metavar="NS",
                 help="Namespace of the Datadog install to inspect (default: found by searching all namespaces)."),
    click.option("--dca-selector", default="", callback=_selector_callback, metavar="SELECTOR",
                 help="Label selector of the Cluster Agent pods (default: the Helm, Operator and manifest labels)."),
    click.option("--agent-selector", default="", callback=_selector_callback, metavar="SELECTOR",
                 help="Label selector of the node Agent pods (default: the Helm, Operator and manifest labels)."),
    click.option("--no-exec", is_flag=True, help="Never exec into pods; use the API only."),
    click.option("--debug", is_flag=True, help="Show tracebacks and request errors in full."),
]


def command_options(*, fail_on_default: str, all_namespaces: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the shared flags to a command and hand it the App with typed Options set.

    Every command takes the kubectl flags itself (kubectl rejects flags placed before a plugin's
    name, so `kubectl datadog leader --context x` is how users pass them)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        @click.pass_context
        def wrapper(ctx: click.Context, **kw: Any) -> Any:
            app = ctx.find_object(App)
            assert app is not None
            app.opts = Options(
                kubeconfig=kw.pop("kubeconfig"), context=kw.pop("context"), cluster=kw.pop("cluster"),
                user=kw.pop("user"), namespace=kw.pop("namespace"),
                all_namespaces=kw.pop("all_namespaces", False), request_timeout=kw.pop("request_timeout"),
                output=kw.pop("output"), no_headers=kw.pop("no_headers"), fail_on=kw.pop("fail_on"),
                exec_allowed=not kw.pop("no_exec"), dca_selector=kw.pop("dca_selector"),
                agent_selector=kw.pop("agent_selector"), install_namespace=kw.pop("install_namespace"),
                debug=kw.pop("debug") or ctx.find_root().params.get("debug", False))
            if app.opts.all_namespaces and app.opts.namespace:
                raise click.UsageError("-n/--namespace and -A/--all-namespaces cannot be used together")
            code = fn(app, **kw)
            ctx.exit(int(code or 0))

        opts = list(_KUBE_FLAGS)
        if all_namespaces:
            opts.append(click.option("-A", "--all-namespaces", is_flag=True,
                                     help="Look in every namespace."))
        opts += [
            click.option("-o", "--output", type=click.Choice(["table", "wide", "json", "yaml"]),
                         default="table", show_default=True, help="Output format."),
            click.option("--no-headers", is_flag=True, help="Print tables without their header row."),
            click.option("--fail-on", type=click.Choice(list(FAIL_ON)), default=fail_on_default,
                         show_default=True, help="Exit 3 when a finding is at least this severe."),
        ]
        for option in reversed(opts):
            wrapper = option(wrapper)
        return wrapper

    return decorate
