"""The one home of time and duration parsing (kubectl_datadog.times), used by objects, snapshots,
hpa-explain's DatadogMetric maxAge and the --request-timeout flag."""

from __future__ import annotations

from datetime import datetime, timezone

import click
import pytest

from kubectl_datadog.cli_options import parse_duration
from kubectl_datadog.times import parse_go_duration, parse_time


@pytest.mark.parametrize("text,seconds", [
    ("90s", 90), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("1.5h", 5400), ("0", 0), ("0s", 0),
    ("2us", 2e-6), ("2µs", 2e-6), ("3ns", 3e-9), (" 5m ", 300),
    ("", None), (None, None), ("5 minutes", None), ("30", None), ("m", None), ("5m junk", None), ("-5m", None),
])
def test_go_durations(text: str | None, seconds: float | None) -> None:
    got = parse_go_duration(text)
    assert got == pytest.approx(seconds) if seconds is not None else got is None


@pytest.mark.parametrize("text,seconds", [("0", None), ("", None), ("30", 30), ("2.5", 2.5), ("30s", 30),
                                          ("1m", 60), ("1h", 3600), ("500ms", 0.5), ("1m30s", 90)])
def test_request_timeout_takes_seconds_or_a_go_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "0s", "30x", "1m soon", "-1s"])
def test_request_timeout_rejects_what_is_not_a_positive_duration(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_duration(text)


@pytest.mark.parametrize("text,expected", [
    ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ("2026-01-02T03:04:05.123456Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)),
    ("2026-01-02T03:04:05.123456789Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)),
    ("2026-01-02T04:04:05+01:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ("", None), (None, None), ("yesterday", None),
])
def test_rfc3339_times(text: str | None, expected: datetime | None) -> None:
    assert parse_time(text) == expected
