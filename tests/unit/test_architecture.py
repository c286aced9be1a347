"""The stage boundaries, enforced: one module owns the cluster, diagnosis is pure, tabulate stays
in the table module. Walks the package's imports with ast."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kubectl_datadog"


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def modules_importing(name: str, within: Path = PACKAGE) -> set[str]:
    return {str(p.relative_to(PACKAGE.parent)) for p in within.rglob("*.py") if name in imports_of(p)}


def test_only_cluster_kube_imports_kubernetes() -> None:
    assert modules_importing("kubernetes") == {"kubectl_datadog/cluster/kube.py"}


def test_diagnose_and_textformats_are_pure() -> None:
    for pkg in ("diagnose", "textformats"):
        for forbidden in ("click", "kubernetes", "tabulate", "yaml", "subprocess", "socket"):
            assert not modules_importing(forbidden, PACKAGE / pkg), (pkg, forbidden)


def test_diagnose_never_reads_the_clock() -> None:
    for path in (PACKAGE / "diagnose").rglob("*.py"):
        text = path.read_text()
        assert "datetime.now(" not in text and "time.time(" not in text, path


def test_only_the_table_module_imports_tabulate() -> None:
    assert modules_importing("tabulate") == {"kubectl_datadog/output/table.py"}


def test_commands_are_registered_statically() -> None:
    # PyInstaller follows static imports only: no importlib/__import__ discovery.
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "importlib.import_module" not in text and "__import__(" not in text, path
