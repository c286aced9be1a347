"""Exec the Datadog CLIs inside their pods, with the binary name the image really has.

Current images ship `datadog-cluster-agent` (DCA) and `agent` (node Agent); some DCA images and
the current docs run `agent <cmd>` in the DCA too. Try the expected name first, fall back on
"executable not found". A denied or failing exec is an outcome, never an exception.
"""

from __future__ import annotations

import re
import secrets
from typing import Sequence

from kubectl_datadog.cluster import Cluster, ExecResult
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import AGENT_CONTAINER, Install
from kubectl_datadog.objects import Pod
from kubectl_datadog.snapshots.exec import ExecOutcome

DCA_BINARIES = ("datadog-cluster-agent", "agent")
AGENT_BINARIES = ("agent",)


def _run(cluster: Cluster, pod: Pod, container: str, binaries: Sequence[str], args: Sequence[str],
         timeout: float | None) -> ExecOutcome:
    last: ExecOutcome | None = None
    for binary in binaries:
        argv = (binary, *args)
        try:
            result = cluster.exec(pod.namespace, pod.name, container, argv, timeout=timeout)
        except Forbidden as exc:
            return ExecOutcome(f"{pod.namespace}/{pod.name}", container, argv, None, exc)
        last = ExecOutcome(f"{pod.namespace}/{pod.name}", container, argv, result)
        if not result.binary_missing:
            return last
    assert last is not None
    return last


def run_dca_cli(cluster: Cluster, install: Install, pod: Pod, args: Sequence[str],
                timeout: float | None = None) -> ExecOutcome:
    return _run(cluster, pod, install.dca_container, DCA_BINARIES, args, timeout)


def run_agent_cli(cluster: Cluster, pod: Pod, args: Sequence[str], timeout: float | None = None) -> ExecOutcome:
    return _run(cluster, pod, AGENT_CONTAINER, AGENT_BINARIES, args, timeout)


# --- `agent status` and `env` in one exec -----------------------------------------------------
#
# env-check needs both from every node Agent. Each exec costs the API server and the kubelet far
# more than the plugin (measured on the harness: ~6 ms of apiserver CPU and ~5 ms of kubelet CPU per
# exec against ~2 ms here), so one exec per Agent instead of two is what halves the time over
# hundreds of Agents. The Agent images (Linux) have /bin/sh; a container without it (Windows
# images, a distroless build) answers "not found" and the caller runs the two commands separately.

SHELL = "/bin/sh"
_TRAILER = re.compile(r"\n(\S+) (\d+) (\d+)\n\Z")


def status_and_env_argv(marker: str) -> tuple[str, ...]:
    """`/bin/sh -c` running `agent status`, then `env`, separated by `marker` lines and ending in a
    trailer `<marker> <status exit code> <env exit code>`; the shell exits with the status code."""
    script = (f"agent status; s=$?; printf '\\n%s\\n' {marker}; env; e=$?; "
              f"printf '\\n%s %d %d\\n' {marker} \"$s\" \"$e\"; exit \"$s\"")
    return (SHELL, "-c", script)


def new_marker() -> str:
    """A separator no `agent status` output or environment will contain by chance."""
    return "KUBECTL_DATADOG_" + secrets.token_hex(8)


def split_status_and_env(result: ExecResult, marker: str) -> tuple[ExecResult, ExecResult] | None:
    """The two results inside one `status_and_env_argv` exec, or None when the shell did not run
    the script to its end (no trailer: no /bin/sh, a cut stream, a timeout)."""
    m = _TRAILER.search(result.stdout)
    if m is None or m.group(1) != marker:
        return None
    head = result.stdout[: m.start()]
    sep = head.find(f"\n{marker}\n")
    if sep < 0:
        return None
    s_rc, e_rc = int(m.group(2)), int(m.group(3))

    def one(stdout: str, rc: int, what: str) -> ExecResult:
        if rc == 0:
            return ExecResult(stdout, "", 0)
        # stderr is shared by both commands; it goes with the one that failed.
        return ExecResult(stdout, result.stderr, rc, f"{what}: exit status {rc}")

    return one(head[:sep], s_rc, "agent status"), one(head[sep + len(marker) + 2:], e_rc, "env")


def run_agent_status_and_env(cluster: Cluster, pod: Pod, timeout: float | None = None,
                             marker: str | None = None) -> tuple[ExecOutcome, ExecOutcome] | None:
    """`agent status` and `env` of the agent container in one exec. Returns one ExecOutcome per
    command (each with the argv that reproduces it on its own), or None when the container has no
    /bin/sh, so the caller runs them separately. Any other failure (forbidden, timeout, a cut
    stream, a vanished pod) is the outcome of both, never retried."""
    marker = marker or new_marker()
    argv = status_and_env_argv(marker)
    name = f"{pod.namespace}/{pod.name}"
    status_argv, env_argv = (*AGENT_BINARIES[:1], "status"), ("env",)
    try:
        result = cluster.exec(pod.namespace, pod.name, AGENT_CONTAINER, argv, timeout=timeout)
    except Forbidden as exc:
        return (ExecOutcome(name, AGENT_CONTAINER, status_argv, None, exc),
                ExecOutcome(name, AGENT_CONTAINER, env_argv, None, exc))
    parts = split_status_and_env(result, marker)
    if parts is not None:
        return (ExecOutcome(name, AGENT_CONTAINER, status_argv, parts[0]),
                ExecOutcome(name, AGENT_CONTAINER, env_argv, parts[1]))
    if result.binary_missing:
        return None
    # The script did not finish: report the transport's problem, never the partial output (which
    # may hold part of the environment).
    if result.exit_code is None:
        failed = ExecResult("", "", None, result.error or "exec failed")
    elif result.exit_code == 0:
        failed = ExecResult("", "", None, "the shell's output has no end marker")
    else:
        failed = ExecResult("", result.stderr, result.exit_code, result.error)
    return (ExecOutcome(name, AGENT_CONTAINER, status_argv, failed),
            ExecOutcome(name, AGENT_CONTAINER, env_argv, failed))
