"""`agent status` and `env` in one exec (collect/exec.py): the script's protocol, run by a real
/bin/sh, and what becomes of each way it can fail."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Sequence

import pytest

from kubectl_datadog.cluster import ExecResult
from kubectl_datadog.collect.exec import (run_agent_status_and_env, split_status_and_env,
                                          status_and_env_argv)
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.objects import Pod

MARK = "KUBECTL_DATADOG_0123456789abcdef"


def shell(tmp: Path, files: dict[str, str], argv: Sequence[str] | None = None) -> ExecResult:
    """Run the script with /bin/sh, `agent`/`env` being small scripts printing `files`' values."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("agent", "env"):
        script = f"#!/bin/sh\n/bin/cat {tmp}/{name}.out\n"
        if f"{name}.err" in files:
            script += f"/bin/cat {tmp}/{name}.err >&2\n"
        script += f"exit {files.get(f'{name}.rc', '0')}\n"
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    for key, text in files.items():
        (tmp / key).write_text(text)
    r = subprocess.run(list(argv or status_and_env_argv(MARK)), env={"PATH": str(bin_dir)},
                       capture_output=True, text=True, timeout=30)
    return ExecResult(r.stdout, r.stderr, r.returncode, "" if r.returncode == 0 else f"exit status {r.returncode}")


STATUS = "==============\nDatadog Cluster Agent\n==============\n\n  Successfully connected to the Datadog Cluster Agent.\n"
ENV = "PATH=/bin\nDD_CLUSTER_AGENT_ENABLED=true\n"


def test_both_outputs_come_back_exactly(tmp_path: Path) -> None:
    result = shell(tmp_path, {"agent.out": STATUS, "env.out": ENV})
    status, env = split_status_and_env(result, MARK)
    assert (status.stdout, status.exit_code) == (STATUS, 0)
    assert (env.stdout, env.exit_code) == (ENV, 0)


def test_output_without_a_final_newline_is_kept_whole(tmp_path: Path) -> None:
    status, env = split_status_and_env(shell(tmp_path, {"agent.out": "no newline", "env.out": "A=1"}), MARK)
    assert (status.stdout, env.stdout) == ("no newline", "A=1")


@pytest.mark.parametrize("agent_rc, env_rc", [("3", "0"), ("0", "2"), ("127", "0")])
def test_each_exit_code_goes_to_its_command_with_the_stderr(tmp_path: Path, agent_rc: str, env_rc: str) -> None:
    result = shell(tmp_path, {"agent.out": STATUS, "agent.rc": agent_rc, "agent.err": "boom\n",
                              "env.out": ENV, "env.rc": env_rc})
    assert result.exit_code == int(agent_rc)  # the shell exits with `agent status`'s code
    status, env = split_status_and_env(result, MARK)
    assert (status.exit_code, env.exit_code) == (int(agent_rc), int(env_rc))
    failed = status if agent_rc != "0" else env
    assert failed.stderr == "boom\n" and not failed.ok
    assert env.stdout == ENV


def test_no_trailer_or_another_marker_is_not_a_result() -> None:
    assert split_status_and_env(ExecResult(STATUS, "", 0), MARK) is None
    cut = ExecResult(f"{STATUS}\n{MARK}\nA=1\n", "", None, "exec did not finish within 5s")
    assert split_status_and_env(cut, MARK) is None
    other = f"{STATUS}\nKUBECTL_DATADOG_ffff\n{ENV}\nKUBECTL_DATADOG_ffff 0 0\n"
    assert split_status_and_env(ExecResult(other, "", 0), MARK) is None


POD = Pod.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "datadog-x", "namespace": "datadog"},
                     "spec": {"containers": [{"name": "agent", "image": "gcr.io/datadoghq/agent:7"}]}})


class OneExec:
    """A cluster whose single exec answers `result` (or raises `exc`), recording the argv."""

    def __init__(self, result: ExecResult | None = None, exc: Exception | None = None) -> None:
        self.result, self.exc, self.argvs = result, exc, []

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        self.argvs.append(tuple(argv))
        if self.exc:
            raise self.exc
        assert self.result is not None
        return self.result


def test_one_exec_gives_two_outcomes_with_their_own_commands(tmp_path: Path) -> None:
    cluster = OneExec(shell(tmp_path, {"agent.out": STATUS, "env.out": ENV}))
    status, env = run_agent_status_and_env(cluster, POD, marker=MARK)  # type: ignore[arg-type, misc]
    assert cluster.argvs == [status_and_env_argv(MARK)] and cluster.argvs[0][:2] == ("/bin/sh", "-c")
    assert status.ok and status.stdout == STATUS and status.command == "kubectl -n datadog exec datadog-x -c agent -- agent status"
    assert env.ok and env.stdout == ENV and env.command == "kubectl -n datadog exec datadog-x -c agent -- env"


def test_no_shell_in_the_image_asks_for_separate_execs() -> None:
    missing = ExecResult("", "", 127, 'exec: "/bin/sh": stat /bin/sh: no such file or directory')
    assert run_agent_status_and_env(OneExec(missing), POD, marker=MARK) is None  # type: ignore[arg-type]


def test_forbidden_is_the_outcome_of_both() -> None:
    exc = Forbidden("create", "pods/exec", "datadog", "datadog-x")
    status, env = run_agent_status_and_env(OneExec(exc=exc), POD, marker=MARK)  # type: ignore[arg-type, misc]
    assert status.forbidden is exc and env.forbidden is exc


def test_a_cut_stream_fails_both_and_keeps_no_partial_output() -> None:
    cut = ExecResult(f"{STATUS}\n{MARK}\nDD_CLUSTER_AGENT_AUTH_TOKEN=abcdefabcdefabcdefabcdefabcdefab\n", "", None,
                     "exec did not finish within 5s")
    status, env = run_agent_status_and_env(OneExec(cut), POD, marker=MARK)  # type: ignore[arg-type, misc]
    for o in (status, env):
        assert not o.ok and o.stdout == "" and o.problem == "exec did not finish within 5s"
    garbled = run_agent_status_and_env(OneExec(ExecResult("no marker", "", 0)), POD, marker=MARK)  # type: ignore[arg-type]
    assert garbled is not None and not garbled[0].ok and "no end marker" in garbled[0].problem
