"""The command line: root group, the flags every command shares, and THE error boundary.

Commands are loaded on demand through explicit imports (PyInstaller follows static imports only).
Nothing here imports the kubernetes client; the command modules import it lazily through
App.cluster().
"""

from __future__ import annotations

import os
import re
import sys
from typing import Sequence

import click

from kubectl_datadog import __version__
from kubectl_datadog.app import App
from kubectl_datadog.cli_options import EXIT_CODES_HELP
from kubectl_datadog.commands import SUMMARIES
from kubectl_datadog.errors import ExitCode, PluginError

PROG = "kubectl datadog"
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

class CommandGroup(click.Group):
    """The root group. A command's module is imported only when that command runs, or its help or
    its completion is asked for: `kubectl datadog --help` lists the summaries from
    commands.SUMMARIES, so it and `--version` build no command's options (about a quarter of what
    they cost otherwise)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUMMARIES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        no_such = getattr(click.exceptions, "NoSuchCommand", None)  # Click >= 8.3
        if no_such is not None and not ctx.resilient_parsing and not name.startswith("-") \
                and load_command(name) is None:
            # Click suggests close names from self.commands, which this group never fills.
            raise no_such(name, possibilities=list(SUMMARIES), ctx=ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUMMARIES[name]) for name in self.list_commands(ctx)])


def load_command(name: str) -> click.Command | None:
    """The command called `name`. Static imports, one per command: PyInstaller bundles what it sees."""
    if name == "completion":
        from kubectl_datadog.completion import completion as command
    elif name == "admission-explain":
        from kubectl_datadog.commands.admission_explain import admission_explain as command
    elif name == "clusterchecks":
        from kubectl_datadog.commands.clusterchecks import clusterchecks as command
    elif name == "doctor":
        from kubectl_datadog.commands.doctor import doctor as command
    elif name == "env-check":
        from kubectl_datadog.commands.env_check import env_check as command
    elif name == "hpa-explain":
        from kubectl_datadog.commands.hpa_explain import hpa_explain as command
    elif name == "leader":
        from kubectl_datadog.commands.leader import leader as command
    elif name == "metamap":
        from kubectl_datadog.commands.metamap import metamap as command
    else:
        return None
    return command


@click.group(cls=CommandGroup, context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "--version", prog_name="kubectl-datadog", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def root(ctx: click.Context, debug: bool) -> None:
    """Troubleshoot the Datadog Cluster Agent and node Agents. Read-only.

    Finds the Datadog install by itself (Helm, Operator or plain manifests, in any namespace)
    and answers in one command what the troubleshooting guide makes you exec into pods for.

    \b
    Examples:
      kubectl datadog leader
      kubectl datadog hpa-explain nginxext -n default
      kubectl datadog metamap gke-node-1 -o json
      kubectl datadog env-check --fail-on warning
      kubectl datadog doctor
    """
    ctx.ensure_object(App)


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("KUBECTL_DATADOG_DEBUG", "") not in ("", "0")


# Click ends its usage messages with a sentence's full stop and may append "Did you mean ...?",
# bare or in parentheses. Our one-line form is `error: <what> (<hint>)`, so the suggestion joins the hint.
_SUGGESTION = re.compile(r"\.?\s*\(?(Did you mean [^()]*?\?)\)?\s*$")


def usage_error_line(message: str, where: str) -> str:
    """Click's usage message as `error: <what> (<suggestion>? see '<command> --help')`."""
    hints = []
    m = _SUGGESTION.search(message)
    if m:
        hints.append(m.group(1)[:1].lower() + m.group(1)[1:])
        message = message[: m.start()]
    message = message.strip().rstrip(".")
    hints.append(f"see '{where} --help'")
    return f"error: {message[:1].lower() + message[1:]} ({' '.join(hints)})"


def run(argv: Sequence[str], app: App | None = None) -> int:
    """Run the CLI and map every outcome to a documented exit code. The one error boundary.

    A closed stdout (`kubectl datadog ... | head`) is not handled here because it cannot reach here:
    Click's main catches EPIPE itself, whatever standalone_mode, wraps stdout and stderr so the final
    flush stays quiet, and exits 1 (tests/cli/test_errors.py: test_broken_pipe_is_quiet)."""
    debug = _debug_requested(argv)
    err = app.err if app else sys.stderr
    try:
        rv = root.main(args=list(argv), prog_name=PROG, standalone_mode=False, obj=app or App())
        return int(rv) if isinstance(rv, int) else ExitCode.OK
    except PluginError as exc:
        if debug:
            _print_traceback(err)
        err.write(exc.line() + "\n")
        return int(exc.exit_code)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else PROG
        err.write(usage_error_line(exc.format_message(), where) + "\n")
        return ExitCode.USAGE
    except click.ClickException as exc:
        err.write(f"error: {exc.format_message()}\n")
        return int(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        err.write("\n")
        return ExitCode.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: one line, traceback only on request
        if debug:
            _print_traceback(err)
        err.write(f"error: internal error: {type(exc).__name__}: {exc}"
                  + ("" if debug else " (rerun with --debug for a traceback)") + "\n")
        return ExitCode.ERROR


def _print_traceback(err: object) -> None:
    # Imported here: traceback (with linecache and tokenize) is ~15% of what `--help` imports.
    import traceback

    traceback.print_exc(file=err)  # type: ignore[arg-type]


def main() -> None:
    argv = sys.argv[1:]
    # Run as `kubectl_complete-datadog` (a symlink), kubectl is asking for completions.
    from kubectl_datadog.completion import complete_main, is_completion_invocation

    if is_completion_invocation(sys.argv[0]):
        sys.exit(complete_main(root, argv))
    sys.exit(run(argv))
