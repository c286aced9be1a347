"""Fixtures for the release checks: the sdist and wheel in dist/ and the virtualenvs that
scripts/build-release (`make release`, part of `make test`) installs them into. Without them the
checks skip; KUBECTL_DATADOG_RELEASE_REQUIRED=1 (set by `make test`) makes that a failure."""
from __future__ import annotations

import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "kubectl_datadog"
DIST = REPO / "dist"
VENVS = REPO / "build" / "venvs"
_REQUIRED = os.environ.get("KUBECTL_DATADOG_RELEASE_REQUIRED") == "1"
RELEASE_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if RELEASE_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.release)


def unavailable(msg: str) -> None:
    if _REQUIRED:
        pytest.fail(msg)
    pytest.skip(msg)


def one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if len(found) != 1:
        unavailable(f"expected one {pattern} in dist/, found {[p.name for p in found]} (run: make release)")
    return found[0]


@pytest.fixture(scope="session")
def wheel() -> Path:
    return one("kubectl_datadog-*-py3-none-any.whl")


@pytest.fixture(scope="session")
def sdist() -> Path:
    return one("kubectl_datadog-*.tar.gz")


def venv_python(name: str) -> Path:
    py = VENVS / name / "bin" / "python"
    if not py.exists():
        unavailable(f"{py} is missing (run: make release)")
    return py


def run_outside_repo(argv: list[str]) -> subprocess.CompletedProcess:
    """Run with the working directory outside the repository and no PYTHONPATH, as a user would."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(argv, cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, timeout=120)


def wheel_files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
