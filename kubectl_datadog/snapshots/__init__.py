"""What collection hands to diagnosis: plain, immutable data, and the pure parsing that builds it
from API dicts. Nothing here talks to the cluster, so diagnose/ depends on these types only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from kubectl_datadog.errors import Forbidden, PluginError

T = TypeVar("T")


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
