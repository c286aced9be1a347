"""The PyInstaller onefile, dist/kubectl-datadog, against the real apiserver: every command, with no
Python on PATH. Catches missing hidden imports and data files that tests of the package cannot see.
`make test` builds the binary first; elsewhere these tests skip when it is missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BINARY = Path(__file__).resolve().parents[2] / "dist" / "kubectl-datadog"


@pytest.fixture
def binary() -> str:
    if not BINARY.exists():
        if os.environ.get("KUBECTL_DATADOG_E2E_REQUIRED") == "1":
            pytest.fail(f"{BINARY} is missing: `make test` builds it with `make dist` first")
        pytest.skip(f"{BINARY} not built (make binary)")
    return str(BINARY)


def run(c, binary: str, *args: str):
    # env -i style: only the kubeconfig and a PATH without the virtualenv.
    env = {"KUBECONFIG": c.kubeconfig("admin"), "PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    import subprocess

    return subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=120)


def test_every_command_from_the_onefile(e2e_cluster, binary):
    c = e2e_cluster("hpa-nginxext")
    for args, check in [
        (["leader"], lambda d: d["verdict"] == "healthy"),
        (["metamap"], lambda d: d["kind"] == "MetamapReport"),
        (["hpa-explain", "nginxext", "-n", "default"], lambda d: d["kind"]),
        (["env-check", "--fail-on", "never"], lambda d: d["kind"] == "EnvCheckReport"),
    ]:
        r = run(c, binary, *args, "-o", "json")
        assert r.returncode == 0, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert check(json.loads(r.stdout)), args
    r = run(c, binary, "hpa-explain", "nginxext", "-n", "default")
    assert "2472 / 3 replicas = 824" in r.stdout
    for args in (["--version"], ["--help"], ["metamap", "-o", "yaml"], ["leader", "-o", "wide"]):
        r = run(c, binary, *args)
        assert r.returncode == 0 and r.stdout, (args, r.stderr)
