"""The e2e suite runs the plugin users install: under `make test`, `kubectl-datadog` and
`kubectl datadog` resolve to the released wheel's virtualenv (KUBECTL_DATADOG_UNDER_TEST), whose
Python imports the package from its own site-packages, never from this checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import binaries

REPO = Path(__file__).resolve().parents[2]


def test_the_suite_runs_the_plugin_under_test(e2e_cluster) -> None:
    c = e2e_cluster("e2e-smoke")
    path = c.env()["PATH"]
    found = shutil.which("kubectl-datadog", path=path)
    assert found is not None and Path(found).parent == binaries.plugin_bin()
    assert shutil.which("python", path=path) in (None, str(binaries.plugin_bin() / "python"))
    if not os.environ.get(binaries.UNDER_TEST_ENV):
        pytest.skip("the dev loop runs the editable checkout; `make test` sets " + binaries.UNDER_TEST_ENV)
    # -I and a working directory outside the checkout: sys.path as the console script has it (no
    # current directory, no PYTHONPATH).
    r = subprocess.run([str(binaries.plugin_bin() / "python"), "-I", "-c",
                        "import kubectl_datadog; print(kubectl_datadog.__file__)"],
                       env=c.env(), cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=60)
    where = Path(r.stdout.strip()).resolve()
    assert r.returncode == 0 and not where.is_relative_to(REPO / "kubectl_datadog"), (where, r.stderr)
    # kubectl finds the plugin the same way a user's kubectl does.
    listed = [line for line in c.kubectl("plugin", "list").stdout.splitlines() if "kubectl-datadog" in line]
    assert listed and listed[0] == str(binaries.plugin_bin() / "kubectl-datadog"), listed
