"""docs/findings.md and docs/output.md are generated from the golden outputs and kept up to date:
finding codes and the json/yaml shape are public API, so a change to either is always deliberate."""

from __future__ import annotations

from pathlib import Path

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]


def test_findings_doc_is_up_to_date() -> None:
    assert (REPO / "docs" / "findings.md").read_text() == load_script("findings-doc").render(), \
        "run scripts/findings-doc --write"


def test_every_command_documents_findings() -> None:
    codes = load_script("findings-doc").collect()
    assert set(codes) == {"leader", "metamap", "hpa-explain", "env-check", "clusterchecks", "admission-explain",
                          "doctor"}
    assert all(len(c) >= 3 for c in codes.values())
    assert all(code == code.lower() and " " not in code for c in codes.values() for code in c)


def test_output_doc_is_up_to_date() -> None:
    assert (REPO / "docs" / "output.md").read_text() == load_script("output-doc").render(), \
        "run scripts/output-doc --write"


def test_every_report_has_the_envelope() -> None:
    for command, (kinds, fields) in load_script("output-doc").collect().items():
        assert kinds and all(k[0].isupper() for k in kinds), command
        for key in (".apiVersion", ".kind", ".metadata.context", ".metadata.generatedAt", ".findings"):
            assert key in fields, (command, key)
