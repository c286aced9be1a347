"""What `leader`, `env-check` and `metamap` say about an exec that gave no usable output
(ExecOutcome.problem, the exec-failed finding's message), the command that repeats it, and its
JSON; each case a branch a mutmut run (docs/mutation-testing.md) found no test pinned."""

from __future__ import annotations

import pytest

from kubectl_datadog.cluster import ExecResult
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.snapshots.exec import ExecOutcome

POD = "datadog/datadog-cluster-agent-8568545574-x9tc9"
ARGV = ("datadog-cluster-agent", "status")


def outcome(result: ExecResult | None, forbidden: Forbidden | None = None) -> ExecOutcome:
    return ExecOutcome(POD, "cluster-agent", ARGV, result, forbidden)


@pytest.mark.parametrize(("result", "problem"), [
    (ExecResult("ok\n", "", 0), ""),
    (None, "exec did not run"),
    (ExecResult("", "", None, "stream closed: EOF"), "stream closed: EOF"),           # never got an exit code
    (ExecResult("", "", None), "exec failed"),
    (ExecResult("", "warn: x\nError: unable to load config\n", 1, "command terminated with exit code 1"),
     "`datadog-cluster-agent status` exited 1: Error: unable to load config"),      # stderr's last line
    (ExecResult("", "", 2, "command terminated with exit code 2"),
     "`datadog-cluster-agent status` exited 2: command terminated with exit code 2"),
    (ExecResult("", "  \n", 2), "`datadog-cluster-agent status` exited 2"),
])
def test_the_problem_says_why_there_is_no_usable_output(result: ExecResult | None, problem: str) -> None:
    o = outcome(result)
    assert o.problem == problem
    assert o.ok is (problem == "")
    assert o.to_dict() == {"pod": POD, "container": "cluster-agent", "command": list(ARGV), "ok": problem == "",
                           "exitCode": result.exit_code if result else None, "problem": problem or None}


def test_a_forbidden_exec_names_the_permission() -> None:
    o = outcome(None, Forbidden("create", "pods/exec", "datadog", "datadog-cluster-agent-8568545574-x9tc9"))
    assert o.problem.startswith('exec is forbidden (forbidden: cannot create pods/exec "datadog-cluster-agent-')
    assert not o.ok and o.stdout == ""


def test_the_command_repeats_the_exec() -> None:
    assert outcome(None).command == ("kubectl -n datadog exec datadog-cluster-agent-8568545574-x9tc9 "
                                     "-c cluster-agent -- datadog-cluster-agent status")
    assert outcome(ExecResult("out", "", 0)).stdout == "out"
