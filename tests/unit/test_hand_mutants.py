"""scripts/hand-mutants stays applicable: each mutant's original text is in its file exactly once
(a refactor that moves a rule must move its mutant too), and docs/mutation-testing.md lists every
mutant and every accepted survivor."""

from __future__ import annotations

from pathlib import Path

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]


def test_every_mutant_applies_once() -> None:
    mutants = load_script("hand-mutants")
    for name, (rel, original, mutated) in mutants.MUTANTS.items():
        assert (REPO / rel).read_text().count(original) == 1, name
        assert original != mutated, name


def test_the_doc_lists_every_mutant_and_accepted_survivor() -> None:
    mutants = load_script("hand-mutants")
    doc = (REPO / "docs" / "mutation-testing.md").read_text()
    for name in [*mutants.MUTANTS, *mutants.ACCEPTED]:
        assert f"`{name}`" in doc, name
