"""kubectl's ways of writing times and missing values."""

from __future__ import annotations

from datetime import datetime, timezone

NONE = "<none>"
UNKNOWN = "<unknown>"


def rfc3339(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_duration(seconds: float) -> str:
    """kubectl's `duration.HumanDuration` (apimachinery), as printed in AGE columns."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{hours // 24 // 365}y"


def age(then: datetime | None, now: datetime) -> str:
    return NONE if then is None else human_duration((now - then).total_seconds())


def ago(then: datetime | None, now: datetime) -> str:
    """`12s ago` for past times, `in 12s` for future ones (clock skew shows up honestly)."""
    if then is None:
        return NONE
    delta = (now - then).total_seconds()
    return f"{human_duration(delta)} ago" if delta >= 0 else f"in {human_duration(-delta)}"


def or_none(value: object) -> str:
    return NONE if value is None or value == "" else str(value)
