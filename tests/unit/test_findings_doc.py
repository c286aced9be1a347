"""docs/findings.md documents every finding code the tests exercise, and is kept up to date."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load_script():
    loader = importlib.machinery.SourceFileLoader("findings_doc", str(REPO / "scripts" / "findings-doc"))
    spec = importlib.util.spec_from_loader("findings_doc", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_findings_doc_is_up_to_date() -> None:
    assert (REPO / "docs" / "findings.md").read_text() == _load_script().render(), \
        "run scripts/findings-doc --write"


def test_every_command_documents_findings() -> None:
    codes = _load_script().collect()
    assert set(codes) == {"leader", "metamap", "hpa-explain", "env-check"}
    assert all(len(c) >= 3 for c in codes.values())
    assert all(code == code.lower() and " " not in code for c in codes.values() for code in c)
