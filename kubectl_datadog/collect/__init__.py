"""Collection: the only stage that talks to the Cluster. Each command's collect function issues its
reads concurrently and returns a snapshot of plain data for the pure diagnosis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping

from kubectl_datadog.errors import PluginError
from kubectl_datadog.snapshots import Fetched  # collect modules take it from here too

MAX_PARALLEL_READS = 16


def gather(calls: Mapping[str, Callable[[], Any]]) -> dict[str, Fetched[Any]]:
    """Run independent reads at once; a healthy command then costs about one round trip per phase.
    Expected failures come back as Fetched.error; bugs propagate."""
    if not calls:
        return {}

    def run(fn: Callable[[], Any]) -> Fetched[Any]:
        try:
            return Fetched(value=fn())
        except PluginError as exc:
            return Fetched(error=exc)

    if len(calls) == 1:
        ((key, fn),) = calls.items()
        return {key: run(fn)}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_READS, len(calls))) as pool:
        futures = {key: pool.submit(run, fn) for key, fn in calls.items()}
        return {key: fut.result() for key, fut in futures.items()}
