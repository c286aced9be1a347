"""What ships, against the real apiserver, every command: the PyInstaller onefile dist/kubectl-datadog
with no Python on PATH (catches missing hidden imports and data files), and the console script of
`pip install .` with every dependency at its lowest allowed version (build/venvs/lowest). The rest
of the e2e suite runs the wheel's own install (KUBECTL_DATADOG_UNDER_TEST). `make test` builds all
of them first (make dist); elsewhere these tests skip when one is missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kubectl_datadog.commands import SUMMARIES

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BINARY = REPO / "dist" / "kubectl-datadog"


def _lowest_install() -> Path:
    under_test = os.environ.get("KUBECTL_DATADOG_UNDER_TEST_LOWEST")
    return Path(under_test) / "kubectl-datadog" if under_test else REPO / "build" / "venvs" / "lowest" / "bin" / \
        "kubectl-datadog"


@pytest.fixture(params=["onefile", "lowest-versions-install"])
def binary(request) -> str:
    path = BINARY if request.param == "onefile" else _lowest_install()
    if not path.exists():
        if os.environ.get("KUBECTL_DATADOG_E2E_REQUIRED") == "1":
            pytest.fail(f"{path} is missing: `make test` builds it with `make dist` first")
        pytest.skip(f"{path} not built (make dist)")
    return str(path)


def run(c, binary: str, *args: str):
    # env -i style: only the kubeconfig and a PATH without any virtualenv (a console script finds
    # its venv's Python through its #! line).
    env = {"KUBECONFIG": c.kubeconfig("admin"), "PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    import subprocess

    return subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=120)


def test_every_command_from_what_ships(e2e_cluster, binary):
    c = e2e_cluster("hpa-nginxext")
    ran: set[str] = set()
    for args, check in [
        (["leader"], lambda d: d["verdict"] == "healthy"),
        (["metamap"], lambda d: d["kind"] == "MetamapReport"),
        (["hpa-explain", "nginxext", "-n", "default"], lambda d: d["kind"]),
        (["env-check", "--fail-on", "never"], lambda d: d["kind"] == "EnvCheckReport"),
        (["admission-explain", "-n", "default", "--fail-on", "never"], lambda d: d["kind"] == "AdmissionReport"),
        (["clusterchecks", "--fail-on", "never"], lambda d: d["kind"] == "ClusterChecksReport"),
        (["doctor", "--fail-on", "never"], lambda d: d["kind"] == "DoctorReport"),
    ]:
        ran.add(args[0])
        r = run(c, binary, *args, "-o", "json")
        assert r.returncode == 0, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert check(json.loads(r.stdout)), args
    # every command users can run (completion only prints instructions, run below with --help)
    assert ran == set(SUMMARIES) - {"completion"}
    r = run(c, binary, "hpa-explain", "nginxext", "-n", "default")
    assert "2472 / 3 replicas = 824" in r.stdout
    for args in (["--version"], ["--help"], ["metamap", "-o", "yaml"], ["leader", "-o", "wide"]):
        r = run(c, binary, *args)
        assert r.returncode == 0 and r.stdout, (args, r.stderr)
