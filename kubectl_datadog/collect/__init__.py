"""Collection: the only stage that talks to the Cluster. Each command's collect function issues its
reads concurrently and returns a snapshot of plain data for the pure diagnosis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Generic, Mapping, TypeVar

from kubectl_datadog.errors import Forbidden, PluginError

T = TypeVar("T")

MAX_PARALLEL_READS = 16


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """The outcome of one read: a value, or the PluginError that prevented it."""

    value: T | None = None
    error: PluginError | None = None

    @property
    def forbidden(self) -> Forbidden | None:
        return self.error if isinstance(self.error, Forbidden) else None

    def get(self) -> T | None:
        """The value; re-raises errors other than Forbidden (which callers turn into findings)."""
        if self.error is not None and not isinstance(self.error, Forbidden):
            raise self.error
        return self.value

    def require(self) -> T:
        """The value, or raise whatever prevented it (the command cannot go on without it)."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


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
