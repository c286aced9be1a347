"""docs/output.md documents the json/yaml shape of every command and is kept up to date, so a
change to the shape scripts depend on is always deliberate."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load_script():
    loader = importlib.machinery.SourceFileLoader("output_doc", str(REPO / "scripts" / "output-doc"))
    spec = importlib.util.spec_from_loader("output_doc", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_output_doc_is_up_to_date() -> None:
    assert (REPO / "docs" / "output.md").read_text() == _load_script().render(), "run scripts/output-doc --write"


def test_every_report_has_the_envelope() -> None:
    for command, (kinds, fields) in _load_script().collect().items():
        assert kinds and all(k[0].isupper() for k in kinds), command
        for key in (".apiVersion", ".kind", ".metadata.context", ".metadata.generatedAt", ".findings"):
            assert key in fields, (command, key)
