"""The lease-expiry rule has one home (LockRecord.expires): `leader` and `hpa-explain` both judge a
lock through it, whoever holds it (a Cluster Agent or a node Agent)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kubectl_datadog.snapshots.leader import LockRecord

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)


def lock(renewed: datetime | None, duration: int | None) -> LockRecord:
    return LockRecord("ConfigMap", "datadog", "datadog-leader-election", True, "datadog-9d5bl",
                      lease_duration=duration, renewed=renewed)


def test_expiry_is_renew_time_plus_the_written_lease() -> None:
    renewed = NOW - timedelta(seconds=50)
    assert lock(renewed, 60).expires(15) == renewed + timedelta(seconds=60)
    assert not lock(renewed, 60).expired(NOW, 15)
    assert lock(renewed, 30).expired(NOW, 60)


def test_the_configured_duration_applies_when_the_record_has_none() -> None:
    renewed = NOW - timedelta(seconds=50)
    assert lock(renewed, None).expires(60) == renewed + timedelta(seconds=60)
    assert lock(renewed, None).expired(NOW, 30)


def test_a_lock_is_expired_at_its_expiry() -> None:
    """client-go holds a lease valid while renewTime + leaseDuration is after now."""
    renewed = NOW - timedelta(seconds=60)
    assert lock(renewed, 60).expired(NOW, 15)
    assert not lock(renewed, 61).expired(NOW, 15)


def test_never_renewed_is_not_expired() -> None:
    assert lock(None, 60).expires(60) is None and not lock(None, 60).expired(NOW, 60)
