"""Collection: the only stage that talks to the Cluster. Each command's collect function issues its
reads concurrently and returns a snapshot of plain data for the pure diagnosis."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Mapping

from kubectl_datadog.errors import PluginError
from kubectl_datadog.snapshots import Fetched  # collect modules take it from here too

MAX_PARALLEL_READS = 16


def _run(fn: Callable[[], Any]) -> Fetched[Any]:
    try:
        return Fetched(value=fn())
    except PluginError as exc:
        return Fetched(error=exc)


def gather(calls: Mapping[str, Callable[[], Any]]) -> dict[str, Fetched[Any]]:
    """Run independent reads at once; a healthy command then costs about one round trip per phase.
    Expected failures come back as Fetched.error; bugs propagate."""
    if not calls:
        return {}
    if len(calls) == 1:
        ((key, fn),) = calls.items()
        return {key: _run(fn)}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_READS, len(calls))) as pool:
        futures = {key: pool.submit(_run, fn) for key, fn in calls.items()}
        return {key: fut.result() for key, fut in futures.items()}


class Started:
    """Reads running in the background (see `start`); `results()` waits for them."""

    def __init__(self, futures: dict[str, Future[Fetched[Any]]]) -> None:
        self._futures = futures

    def results(self) -> dict[str, Fetched[Any]]:
        return {key: fut.result() for key, fut in self._futures.items()}


def start(calls: Mapping[str, Callable[[], Any]]) -> Started:
    """Start reads that later steps do not wait for, so they overlap what comes next (another
    phase, an exec) instead of adding their round trips to it; `results()` is `gather`'s answer."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_READS, len(calls))))
    futures = {key: pool.submit(_run, fn) for key, fn in calls.items()}
    pool.shutdown(wait=False)
    return Started(futures)
