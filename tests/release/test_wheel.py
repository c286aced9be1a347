"""What pip users get is the package tree: the wheel holds every module of kubectl_datadog/ (and
nothing from tests/ or scripts/), byte for byte, and the sdist rebuilds the same wheel.

The last release's wheel lacked kubectl_datadog/diagnose (no __init__.py, so `packages = find:`
skipped it) and crashed on every command while the editable install passed every test."""
from __future__ import annotations

import configparser
import hashlib
import subprocess
import sys
from pathlib import Path

from tests.release.conftest import PACKAGE, REPO, wheel_files
from tests.scripts import load_script


def tree_modules() -> dict[str, bytes]:
    """Every file under kubectl_datadog/ that Python would import, as wheel paths."""
    return {p.relative_to(REPO).as_posix(): p.read_bytes() for p in PACKAGE.rglob("*.py")
            if "__pycache__" not in p.parts}


def test_every_package_directory_is_a_regular_package() -> None:
    # setuptools' find: (and PyInstaller's analysis) skip directories without __init__.py.
    missing = sorted(str(d.relative_to(REPO)) for d in [PACKAGE, *PACKAGE.rglob("*")]
                     if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
                     and not (d / "__init__.py").exists())
    assert missing == []


def test_the_wheel_holds_exactly_the_package_tree(wheel: Path) -> None:
    files = wheel_files(wheel)
    shipped = {n: b for n, b in files.items() if ".dist-info/" not in n}
    tree = tree_modules()
    assert sorted(set(tree) - set(shipped)) == [], "modules missing from the wheel (pip users would crash)"
    assert sorted(set(shipped) - set(tree)) == [], "files in the wheel that are not package modules"
    stale = sorted(n for n in tree if files[n] != tree[n])
    assert stale == [], "the wheel is older than the tree (run: make release)"
    assert not any(n.startswith(("tests/", "scripts/")) for n in files)


def test_the_wheel_declares_the_console_script_and_the_dependency_ranges(wheel: Path) -> None:
    files = wheel_files(wheel)
    info = next(n for n in files if n.endswith(".dist-info/entry_points.txt"))
    assert "kubectl-datadog = kubectl_datadog.cli:main" in files[info].decode()
    metadata = files[next(n for n in files if n.endswith(".dist-info/METADATA"))].decode()
    from packaging.requirements import Requirement

    def normal(text: str) -> tuple[str, str]:
        req = Requirement(text)
        return req.name.lower(), ",".join(sorted(str(s) for s in req.specifier))

    requires = sorted(normal(line.split(":", 1)[1]) for line in metadata.splitlines()
                      if line.startswith("Requires-Dist:") and "extra ==" not in line)
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    declared = sorted(normal(line) for line in cfg["options"]["install_requires"].splitlines()
                      if line.strip() and not line.strip().startswith("#"))
    assert requires == declared


def test_the_sdist_builds_the_same_wheel_as_the_tree(wheel: Path, tmp_path: Path) -> None:
    # dist/'s wheel was built from the sdist (python -m build's default); build one straight from the
    # tree and compare every file but RECORD (its hashes follow from the rest).
    out = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path),
                          str(REPO)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    direct = wheel_files(next(tmp_path.glob("*.whl")))
    from_sdist = wheel_files(wheel)

    def digest(files: dict[str, bytes]) -> dict[str, str]:
        return {n: hashlib.sha256(b).hexdigest() for n, b in files.items() if not n.endswith("/RECORD")}

    assert digest(from_sdist) == digest(direct)


def test_the_onefile_bundles_every_module_of_the_wheel(wheel: Path) -> None:
    from tests.release.conftest import DIST, unavailable

    exe = DIST / "kubectl-datadog"
    if not exe.exists():
        unavailable(f"{exe} is missing (run: make binary)")
    bundled = load_script("build-binary").bundled_modules(exe)
    # __main__ is `python -m kubectl_datadog` only; the onefile's entry script calls cli.main itself.
    modules = {n[:-len(".py")].replace("/", ".").removesuffix(".__init__") for n in wheel_files(wheel)
               if n.endswith(".py") and not n.endswith("/__main__.py")}
    assert sorted(modules - bundled) == []
    assert not any(m.startswith(("tests", "scripts", "pydantic", "aiohttp")) for m in bundled)


def test_the_onefile_runs_no_runtime_hook_for_modules_it_never_uses_at_start() -> None:
    from tests.release.conftest import DIST, unavailable

    exe = DIST / "kubectl-datadog"
    if not exe.exists():
        unavailable(f"{exe} is missing (run: make binary)")
    build_binary = load_script("build-binary")
    scripts = build_binary.runtime_hooks(exe)
    assert scripts[-1] == "kubectl_datadog_main"
    assert set(build_binary.SKIPPED_RUNTIME_HOOKS) & set(scripts) == set()
