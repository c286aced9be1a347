"""One link of admission-explain's chain, as the CHAIN table and the json `chain` list show it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChainStep:
    step: str  # settings | webhook | certificate | service | cluster-agent
    subject: str
    state: str  # ok | warning | error | unknown | off
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"step": self.step, "object": self.subject, "state": self.state, "detail": self.detail}
