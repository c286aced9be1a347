"""One measured cold-build time, stated in the same words wherever the repository states one."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from harness.binaries import COLD_BUILD  # noqa: E402

STATED_IN = ["README.md", "tests/e2e/README.md", "Makefile", "scripts/e2e-build-binaries"]
USES_THE_CONSTANT = ["tests/e2e/conftest.py", "scripts/e2e-cluster"]
# Any other figure for the whole first build ("~15 min", "6 minutes; budget up to 15", "5.7 minutes").
# Minutes are only ever written as part of a measured "N min M s".
OTHER_CLAIM = re.compile(r"(\d+(\.\d+)?\s*min(utes?)?\b(?!\s*\d+ s\b)|budget)", re.IGNORECASE)


def test_the_measurement_names_its_machine():
    assert re.match(r"^\d+ min \d+ s measured with empty Go module and build caches on \d+ cores, .+, Go \d",
                    COLD_BUILD)


def test_every_place_states_the_same_measured_cold_build_time():
    for rel in STATED_IN:
        text = " ".join((REPO / rel).read_text().split())   # line breaks do not count
        assert COLD_BUILD in text, rel
    for rel in USES_THE_CONSTANT:
        assert "COLD_BUILD" in (REPO / rel).read_text(), rel


def test_no_other_build_time_figure_is_left():
    for rel in STATED_IN + USES_THE_CONSTANT:
        text = (REPO / rel).read_text()
        assert [m.group(0) for m in OTHER_CLAIM.finditer(text)] == [], rel
