"""kubectl-style tables through tabulate: the only module that imports tabulate.

kubectl prints with Go's tabwriter (cli-runtime printers: padding 3, left-aligned, no borders,
no trailing spaces). tabulate's `plain` format differs (2-space gaps, numbers right-aligned,
MIN_PADDING added to headers), so the format is defined here and pinned by golden files.
"""

from __future__ import annotations

from typing import Sequence


def kubectl_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, no_headers: bool = False) -> str:
    import tabulate as tab

    fmt = tab.TableFormat(lineabove=None, linebelowheader=None, linebetweenrows=None, linebelow=None,
                          headerrow=tab.DataRow("", "   ", ""), datarow=tab.DataRow("", "   ", ""),
                          padding=0, with_header_hide=None)
    tab.MIN_PADDING = 0  # module global; only this module uses tabulate
    text = tab.tabulate([list(r) for r in rows], headers=() if no_headers else list(headers), tablefmt=fmt,
                        disable_numparse=True, stralign="left", missingval="<none>")
    return "\n".join(line.rstrip() for line in text.splitlines())
