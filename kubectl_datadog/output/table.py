"""kubectl-style tables through tabulate: the only module that imports tabulate.

kubectl prints with Go's tabwriter (cli-runtime printers: padding 3, left-aligned, no borders,
no trailing spaces). tabulate's `plain` format differs (2-space gaps, numbers right-aligned,
MIN_PADDING added to headers), so the format is defined here and pinned by golden files.

Large tables (metamap prints a row per pod: 100,000 rows on a big cluster) take a fast path:
tabulate spends ~16 µs per 4-column row (measured: 1.6 s for 100,000 rows) where one width
pass and one format per row cost ~1.3 µs. The fast path only takes tables whose every
cell is printable ASCII without surrounding spaces, where tabulate's result is plainly "pad
each cell to its column's width, join with three spaces, strip the line end"; anything else
(wide or combining characters, newlines, ANSI colours, cells tabulate would strip) falls back to
tabulate. tests/unit/test_table.py checks both paths give the same text.
"""

from __future__ import annotations

from typing import Sequence

FAST_PATH_MIN_ROWS = 1000  # below this tabulate's cost does not matter (a few ms)
GAP = "   "


def kubectl_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, no_headers: bool = False) -> str:
    if len(rows) >= FAST_PATH_MIN_ROWS:
        text = plain_ascii_table(headers, rows, no_headers=no_headers)
        if text is not None:
            return text
    return tabulate_table(headers, rows, no_headers=no_headers)


def tabulate_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, no_headers: bool = False) -> str:
    import tabulate as tab

    fmt = tab.TableFormat(lineabove=None, linebelowheader=None, linebetweenrows=None, linebelow=None,
                          headerrow=tab.DataRow("", GAP, ""), datarow=tab.DataRow("", GAP, ""),
                          padding=0, with_header_hide=None)
    tab.MIN_PADDING = 0  # module global; only this module uses tabulate
    text = tab.tabulate([list(r) for r in rows], headers=() if no_headers else list(headers), tablefmt=fmt,
                        disable_numparse=True, stralign="left", missingval="<none>")
    return "\n".join(line.rstrip() for line in text.splitlines())


def _plain_column(cells: Sequence[str]) -> int | None:
    """The column's width, or None when a cell is not a plain printable-ASCII string without
    leading or trailing spaces (the cases where tabulate measures or strips differently)."""
    try:
        joined = "".join(cells)
    except TypeError:  # a cell that is not a string (tabulate would print missingval for None)
        return None
    if not (joined.isascii() and joined.isprintable()):
        return None
    if " " in joined:
        lined = "\n" + "\n".join(cells) + "\n"
        if " \n" in lined or "\n " in lined:
            return None
    return max(map(len, cells), default=0)


def plain_ascii_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
                      no_headers: bool = False) -> str | None:
    """The table tabulate would print, computed in one pass per column; None when the cells are
    not all plain ASCII (the caller then uses tabulate)."""
    width = len(headers)
    if not rows or width == 0 or any(len(r) != width for r in rows):
        return None
    columns = list(zip(*rows, strict=True))
    if not no_headers:
        columns = [(h, *col) for h, col in zip(headers, columns, strict=True)]
    widths = []
    for col in columns:
        w = _plain_column(col)
        if w is None:
            return None
        widths.append(w)
    # Pad every column but the last (lines are right-stripped anyway, as kubectl's are).
    fmt = GAP.join([f"%-{w}s" for w in widths[:-1]] + ["%s"])
    text = "\n".join([(fmt % r).rstrip() for r in zip(*columns, strict=True)])
    # tabulate_table's last step, splitlines + join, drops one trailing empty line (a last row of
    # empty cells); do the same.
    return text[:-1] if text.endswith("\n") else text
