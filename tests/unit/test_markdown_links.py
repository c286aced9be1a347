"""The repository's Markdown must not send a reader outside the repository or to a missing file.

Relative link targets (`[text](path)`, `[ref]: path`, `<img src="path">`) must resolve to a file or
directory inside the repository; so must a path in backticks that climbs out of its directory
(`` `../x/y.md` ``), which reads as a reference to a file. URLs (`https:`, `mailto:`) and in-page
anchors (`#section`) are not checked here.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_HTML = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
_CODE_PATH = re.compile(r"`(\.\./[^`\s]+)`")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def markdown_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    return sorted(REPO / p for p in out.split("\0") if p)


def relative_targets(text: str) -> list[str]:
    """Every relative path the Markdown points at (links outside fenced code, and `../` paths)."""
    prose = _FENCE.sub("", text)
    found = [m.group(1) for rx in (_INLINE, _REFERENCE, _HTML) for m in rx.finditer(prose)]
    found += [m.group(1) for m in _CODE_PATH.finditer(text)]
    return [t for t in found if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t) and not t.startswith("#")]


def broken_targets(md: Path, root: Path = REPO) -> list[str]:
    problems = []
    for target in relative_targets(md.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not path:
            continue
        resolved = (root / path.lstrip("/")) if path.startswith("/") else (md.parent / path)
        resolved = resolved.resolve()
        if resolved != root and root not in resolved.parents:
            problems.append(f"{target}: leaves the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file in the repository")
    return problems


def test_the_checker_catches_links_out_of_the_repo_and_to_missing_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("x")
    md = tmp_path / "docs" / "README.md"
    md.write_text("[ok](there.md#a) [up](../docs/there.md) [out](../../elsewhere.md) [gone](missing.md)\n"
                  "see `../../shared/reference/x.md` and [web](https://example.com) [anchor](#b)\n"
                  "[ref]: ../../outside.md\n```\n[in a fence](nowhere.md)\n```\n")
    assert broken_targets(md, tmp_path.resolve()) == [
        "../../elsewhere.md: leaves the repository", "missing.md: no such file in the repository",
        "../../outside.md: leaves the repository", "../../shared/reference/x.md: leaves the repository"]


@pytest.mark.parametrize("md", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_stay_inside_the_repository_and_exist(md: Path) -> None:
    assert broken_targets(md) == []
