"""Shared test tools: run the real CLI boundary against a FakeCluster, and golden files."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from kubectl_datadog.app import App
from kubectl_datadog.cli import run
from tests.fakes import FIXTURE_NOW, FakeCluster

GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden files from the output")




@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    fake: FakeCluster | None

    @property
    def json(self) -> Any:
        import json

        return json.loads(self.stdout)


def invoke_cli(*args: str, scenario: str | None = None, fake: FakeCluster | None = None,
               stderr_isatty: bool = False, env: dict[str, str] | None = None) -> Result:
    if fake is None and scenario is not None:
        fake = FakeCluster.from_scenario(scenario)
    out, err = io.StringIO(), io.StringIO()
    factory: Callable[..., Any]
    if fake is not None:
        factory = lambda opts: fake  # noqa: E731
    else:
        from kubectl_datadog.app import _default_cluster as factory  # the real client path
    app = App(cluster_factory=factory, clock=lambda: FIXTURE_NOW, stdout=out, stderr=err,
              stderr_isatty=stderr_isatty)
    old = dict(os.environ)
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        with redirect_stdout(out), redirect_stderr(err):
            code = run(list(args), app)
    finally:
        if env is not None:
            os.environ.clear()
            os.environ.update(old)
    return Result(int(code), out.getvalue(), err.getvalue(), fake)


@pytest.fixture
def invoke() -> Callable[..., Result]:
    return invoke_cli


class Golden:
    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, name: str, actual: str) -> None:
        path = GOLDEN / name
        if self.update or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual)
            if not self.update:
                pytest.fail(f"golden file {name} was missing and has been written; review and commit it")
            return
        assert actual == path.read_text(), f"output differs from tests/golden/{name} (rerun with --update-golden)"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(bool(request.config.getoption("--update-golden")))
