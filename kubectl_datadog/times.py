"""Reading times and durations as Kubernetes and Go write them.

Parsing only, no presentation: objects, snapshots, diagnosis and flags all read times and durations,
and none of them should need the output package for it (output/humanize.py writes them back out).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

# Go's time.ParseDuration units, in seconds. `µs` and `μs` are the two spellings Go accepts.
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_TERM = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_time(value: str | None) -> datetime | None:
    """RFC3339 (with or without fractional seconds, `Z` or an offset) to an aware datetime."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    if "." in text:  # Python < 3.11 rejects >6 fractional digits; MicroTime has exactly 6, be lenient
        head, _, tail = text.partition(".")
        frac = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(frac):]
        text = f"{head}.{frac[:6].ljust(6, '0')}{rest}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def parse_go_duration(text: str | None) -> float | None:
    """A non-negative Go duration (`90s`, `5m`, `1h30m`, `500ms`, `0`) in seconds; None when `text` is
    empty or not one (a value we could not read is unknown, not zero)."""
    if text is None:
        return None
    text = text.strip()
    if text == "0":  # the one unitless duration Go accepts
        return 0.0
    total, pos = 0.0, 0
    for m in _GO_TERM.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return total if pos and pos == len(text) else None
