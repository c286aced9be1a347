"""Shell completion through kubectl: the Cobra completion protocol, answered from our Click tree.

kubectl (1.26+) completes a plugin's arguments by running `kubectl_complete-<plugin>` from PATH with
the words typed after the plugin's name, the last one being the word to complete (`""` for a new
word). It reads one candidate per line (optionally `candidate<TAB>description`) and a last line
`:<directive>` (Cobra's ShellCompDirective bit set). So `kubectl-datadog`, when called under the name
`kubectl_complete-datadog` (a symlink), answers here instead of running a command.

Candidates: subcommands, flags, the values of choice flags (-o, --fail-on), contexts/clusters/users
from the kubeconfig (read as YAML, no API call), namespaces, and object names for commands whose
argument names one (HPAs for hpa-explain, nodes for metamap) from the cluster: with a short timeout,
and silently nothing when the cluster cannot answer. Completion never writes to stderr and always
exits 0: a shell has nowhere to show an error.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence, TextIO

import click

from kubectl_datadog.commands import SUMMARIES

PROG_NAME = "kubectl_complete-datadog"

# Cobra's ShellCompDirective bits.
DIRECTIVE_DEFAULT = 0  # let the shell fall back to file names
DIRECTIVE_NO_SPACE = 2
DIRECTIVE_NO_FILE_COMP = 4

# How long the cluster may take to answer a completion: a shell user is waiting on every TAB.
CLUSTER_TIMEOUT_SECONDS = 2.0

NAMESPACE_FLAGS = ("--namespace", "--install-namespace")
KUBECONFIG_LISTS = {"--context": "contexts", "--cluster": "clusters", "--user": "users"}
# Commands whose first argument names an object, and the resource it lists.
ARGUMENT_RESOURCES = {"admission-explain": "PODS", "hpa-explain": "HPAS_V2", "metamap": "NODES"}


def is_completion_invocation(argv0: str) -> bool:
    """True when the executable runs as `kubectl_complete-datadog` (any directory, `.exe` or not)."""
    name = os.path.basename(argv0).lower()
    if name.endswith(".exe"):
        name = name[:-4]
    return name == PROG_NAME


@dataclass
class Candidate:
    value: str
    description: str = ""

    def line(self) -> str:
        desc = " ".join(self.description.split())
        return f"{self.value}\t{desc}" if desc else self.value


@dataclass
class Parsed:
    """Where the words typed so far leave us in the command tree."""

    command: click.Command
    path: list[str] = field(default_factory=list)  # subcommand names from the root
    values: dict[str, str] = field(default_factory=dict)  # long flag name -> value given
    flags: set[str] = field(default_factory=set)  # boolean flags given (long names)
    args: list[str] = field(default_factory=list)  # positional arguments given
    pending: click.Option | None = None  # the option whose value is being completed


def _long_name(opt: click.Option) -> str:
    longs = [o for o in opt.opts if o.startswith("--")]
    return longs[0] if longs else opt.opts[0]


def _find_option(command: click.Command, word: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and (word in param.opts or word in param.secondary_opts):
            return param
    if word in ("-h", "--help"):
        return None
    return None


def _takes_value(opt: click.Option) -> bool:
    return not (opt.is_flag or opt.count)


def parse_words(root: click.Group, words: Sequence[str]) -> Parsed:
    """Walk the complete words (all but the one being completed) through the Click tree."""
    state = Parsed(command=root)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if state.pending is not None:
            state.values[_long_name(state.pending)] = word
            state.pending = None
            continue
        if word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            opt = _find_option(state.command, name)
            if opt is None:
                continue
            if _takes_value(opt):
                if eq:
                    state.values[_long_name(opt)] = value
                else:
                    state.pending = opt
            else:
                state.flags.add(_long_name(opt))
            continue
        if isinstance(state.command, click.Group) and not state.args:
            sub = state.command.get_command(click.Context(state.command), word)
            if sub is not None and not getattr(sub, "hidden", False):
                state.command = sub
                state.path.append(word)
                continue
        state.args.append(word)
    return state


def _prefixed(candidates: Iterable[Candidate], prefix: str) -> list[Candidate]:
    seen: set[str] = set()
    out = []
    for c in candidates:
        if c.value.startswith(prefix) and c.value not in seen:
            seen.add(c.value)
            out.append(c)
    return out


def _flag_candidates(command: click.Command, prefix: str) -> list[Candidate]:
    out: list[Candidate] = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        help_text = (param.help or "").split(". ")[0].rstrip(".")
        names = sorted(param.opts + param.secondary_opts, key=lambda o: (not o.startswith("--"), o))
        for name in names:
            out.append(Candidate(name, help_text))
    out.append(Candidate("--help", "Show the help and exit."))
    # Short flags only when asked for with a single dash, as kubectl does.
    if not prefix.startswith("--"):
        return _prefixed(out, prefix)
    return _prefixed([c for c in out if c.value.startswith("--")], prefix)


def kubeconfig_names(kind: str, explicit: str | None) -> list[Candidate]:
    """contexts/clusters/users named in the kubeconfig files (first file wins, as in kubectl)."""
    import yaml

    from kubectl_datadog.cluster import kubeconfig_paths

    out: list[Candidate] = []
    for path in kubeconfig_paths(explicit):
        try:
            with open(path, encoding="utf-8") as fh:
                doc = yaml.safe_load(fh) or {}
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(doc, dict):
            continue
        for entry in doc.get(kind) or []:
            if isinstance(entry, dict) and entry.get("name"):
                desc = ""
                if kind == "contexts" and isinstance(entry.get("context"), dict):
                    ctx = entry["context"]
                    desc = f"cluster {ctx.get('cluster', '')}, user {ctx.get('user', '')}"
                    if ctx.get("namespace"):
                        desc += f", namespace {ctx['namespace']}"
                out.append(Candidate(str(entry["name"]), desc))
    return out


ClusterFactory = Callable[["Options"], "Cluster"]  # noqa: F821 - resolved lazily


def _cluster_for(state: Parsed, cluster_factory: ClusterFactory | None):
    from kubectl_datadog.app import App, Options

    opts = Options(kubeconfig=state.values.get("--kubeconfig"), context=state.values.get("--context"),
                   cluster=state.values.get("--cluster"), user=state.values.get("--user"),
                   namespace=state.values.get("--namespace"), request_timeout=CLUSTER_TIMEOUT_SECONDS)
    app = App(opts=opts) if cluster_factory is None else App(opts=opts, cluster_factory=cluster_factory)
    return app


def cluster_names(state: Parsed, resource_name: str, cluster_factory: ClusterFactory | None) -> list[Candidate]:
    """Names of one kind of object, from the cluster; [] on any failure (completion stays silent)."""
    try:
        from kubectl_datadog import cluster as resources

        resource = getattr(resources, resource_name)
        app = _cluster_for(state, cluster_factory)
        cluster = app.cluster()
        if not resource.namespaced:
            return [Candidate(o["metadata"]["name"]) for o in cluster.list(resource)]
        if "--all-namespaces" in state.flags:
            return [Candidate(o["metadata"]["name"], f"namespace {o['metadata'].get('namespace', '')}")
                    for o in cluster.list(resource, None)]
        namespace = app.namespace
        return [Candidate(o["metadata"]["name"], f"namespace {namespace}") for o in cluster.list(resource, namespace)]
    except Exception:  # noqa: BLE001 - no cluster, no permission, timeout: no candidates
        return []


def check_names(state: Parsed, cluster_factory: ClusterFactory | None) -> list[Candidate]:
    """clusterchecks' CHECK: kube-state-metrics core and the checks the Services' annotations name
    (every namespace unless -n is given, as the command reads them); [] on any failure."""
    try:
        from kubectl_datadog.cluster import SERVICES
        from kubectl_datadog.snapshots.clusterchecks import KSM_CORE
        from kubectl_datadog.snapshots.clusterchecks_configs import annotated_service

        app = _cluster_for(state, cluster_factory)
        namespace = app.namespace if state.values.get("--namespace") else None
        names = {KSM_CORE: "kube-state-metrics core"}
        for obj in app.cluster().list(SERVICES, namespace):
            svc = annotated_service(obj)
            for ann in (svc.service, svc.endpoints) if svc is not None else ():
                for t in ann.templates if ann is not None else ():
                    names.setdefault(t.check, f"service {svc.namespace}/{svc.name}")
        return [Candidate(n, d) for n, d in sorted(names.items())]
    except Exception:  # noqa: BLE001 - no cluster, no permission, timeout: no candidates
        return []


def complete(root: click.Group, words: Sequence[str],
             cluster_factory: ClusterFactory | None = None) -> tuple[list[Candidate], int]:
    """The candidates and Cobra directive for `words` (the last one is being completed) under the
    command tree `root` (the caller's: this module does not import cli, which imports it)."""
    words = list(words) or [""]
    to_complete = words[-1]
    state = parse_words(root, words[:-1])

    # `--flag=<TAB>`: complete the value, keeping the `--flag=` prefix.
    if state.pending is None and to_complete.startswith("--") and "=" in to_complete:
        name, _, value = to_complete.partition("=")
        opt = _find_option(state.command, name)
        if opt is not None and _takes_value(opt):
            state.pending = opt
            values, directive = _option_values(state, value, cluster_factory)
            return [Candidate(f"{name}={c.value}", c.description) for c in values], directive | DIRECTIVE_NO_SPACE

    if state.pending is not None:
        return _option_values(state, to_complete, cluster_factory)

    if to_complete.startswith("-"):
        return _flag_candidates(state.command, to_complete), DIRECTIVE_NO_FILE_COMP

    if isinstance(state.command, click.Group) and not state.args:
        group, ctx = state.command, click.Context(state.command)
        subs = [Candidate(name, cmd.get_short_help_str(limit=80))
                for name in group.list_commands(ctx) if (cmd := group.get_command(ctx, name)) and not cmd.hidden]
        return _prefixed(subs, to_complete), DIRECTIVE_NO_FILE_COMP

    command_name = state.path[-1] if state.path else ""
    if command_name in ARGUMENT_RESOURCES and not state.args:
        names = cluster_names(state, ARGUMENT_RESOURCES[command_name], cluster_factory)
        return _prefixed(names, to_complete), DIRECTIVE_NO_FILE_COMP
    if command_name == "clusterchecks" and not state.args:
        return _prefixed(check_names(state, cluster_factory), to_complete), DIRECTIVE_NO_FILE_COMP
    if command_name == "completion" and not state.args:
        return _prefixed([Candidate(s) for s in SHELLS], to_complete), DIRECTIVE_NO_FILE_COMP
    return [], DIRECTIVE_NO_FILE_COMP


def _option_values(state: Parsed, prefix: str, cluster_factory: ClusterFactory | None) -> tuple[list[Candidate], int]:
    opt = state.pending
    assert opt is not None
    name = _long_name(opt)
    if isinstance(opt.type, click.Choice):
        return _prefixed([Candidate(str(c)) for c in opt.type.choices], prefix), DIRECTIVE_NO_FILE_COMP
    if name == "--kubeconfig":
        return [], DIRECTIVE_DEFAULT  # a path: let the shell complete file names
    if name in KUBECONFIG_LISTS:
        names = kubeconfig_names(KUBECONFIG_LISTS[name], state.values.get("--kubeconfig"))
        return _prefixed(names, prefix), DIRECTIVE_NO_FILE_COMP
    if name in NAMESPACE_FLAGS:
        return _prefixed(cluster_names(state, "NAMESPACES", cluster_factory), prefix), DIRECTIVE_NO_FILE_COMP
    if name == "--ignore":  # doctor's finding codes
        from kubectl_datadog.commands.doctor import OWN_CODES

        return _prefixed([Candidate(c) for c in OWN_CODES], prefix), DIRECTIVE_NO_FILE_COMP
    return [], DIRECTIVE_NO_FILE_COMP


def write(candidates: Sequence[Candidate], directive: int, out: TextIO) -> None:
    for c in candidates:
        out.write(c.line() + "\n")
    out.write(f":{directive}\n")


def complete_main(root: click.Group, argv: Sequence[str], out: TextIO | None = None) -> int:
    """Entry point under the name kubectl_complete-datadog. Always exits 0; never writes stderr."""
    out = out or sys.stdout
    try:
        candidates, directive = complete(root, argv)
    except Exception:  # noqa: BLE001 - a completion bug must not spill into the user's prompt
        candidates, directive = [], DIRECTIVE_NO_FILE_COMP
    write(candidates, directive, out)
    return 0


# --- `kubectl datadog completion`: how to turn it on --------------------------------------------

SHELLS = ("bash", "zsh", "fish", "powershell")


def _executable() -> str:
    """The kubectl-datadog to link to: the one on PATH as found there (krew's link in ~/.krew/bin,
    which follows upgrades, rather than the versioned file it points to), else this executable."""
    import shutil

    found = shutil.which("kubectl-datadog")
    if found:
        return os.path.abspath(found)
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0).startswith("kubectl-datadog") and os.path.isfile(argv0):
        return os.path.abspath(argv0)
    if getattr(sys, "frozen", False):
        return os.path.abspath(sys.executable)
    return ""


def instructions(shell: str | None, executable: str | None = None) -> str:
    exe = executable if executable is not None else _executable()
    windows = os.name == "nt" or exe.lower().endswith(".exe")
    if exe:
        link = os.path.join(os.path.dirname(exe), "kubectl_complete-datadog" + (".exe" if windows else ""))
    else:  # not found: let the shell find it
        exe, link = "$(command -v kubectl-datadog)", "$(dirname \"$(command -v kubectl-datadog)\")/kubectl_complete-datadog"
    lines = [
        "kubectl completes plugin arguments (kubectl 1.26 or later) by running",
        "`kubectl_complete-datadog` from your PATH. It is this same executable under another name:",
        "",
    ]
    if windows:
        lines += [f'  copy "{exe}" "{link}"', ""]
    else:
        lines += [f'  ln -sf "{exe}" "{link}"', ""]
    if windows:
        lines += ["(re-run it after upgrading kubectl-datadog: the copy does not follow upgrades).", ""]
    lines += [
        "Then enable kubectl's own completion in your shell, if it is not already:",
        "",
    ]
    setup = {
        "bash": ["  echo 'source <(kubectl completion bash)' >> ~/.bashrc"],
        "zsh": ["  echo 'source <(kubectl completion zsh)' >> ~/.zshrc"],
        "fish": ["  echo 'kubectl completion fish | source' >> ~/.config/fish/config.fish"],
        "powershell": ["  kubectl completion powershell | Out-String | Invoke-Expression",
                       "  (add that line to your $PROFILE to keep it)"],
    }
    for sh in ([shell] if shell else SHELLS):
        if not shell:
            lines.append(f"  # {sh}")
        lines += setup[sh]
    lines += [
        "",
        "Check it without a shell:",
        "",
        '  kubectl __complete datadog ""',
        "",
        "Completes commands, flags, -o and --fail-on values, --context/--cluster/--user from the",
        "kubeconfig, and namespaces and object names (HPAs for hpa-explain) from the cluster.",
    ]
    return "\n".join(lines) + "\n"


@click.command("completion", short_help=SUMMARIES["completion"],
               context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("shell", required=False, type=click.Choice(SHELLS))
def completion(shell: str | None) -> None:
    """Show how to turn on shell completion for `kubectl datadog`.

    kubectl completes a plugin by running `kubectl_complete-datadog`; this prints the one
    command that creates it (a symlink to this executable) and the shell setup kubectl needs.
    Changes nothing by itself.
    """
    click.echo(instructions(shell), nl=False)
