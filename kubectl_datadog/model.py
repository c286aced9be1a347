"""Plain data shared by every stage: severities, findings, object references, secret fingerprints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    OK = 0
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One problem: a stable kebab-case `code` (public API: never reuse one), the object it concerns
    (`kind/namespace/name`), one line saying what is wrong and one saying what to do, and the exact
    command that verifies it where there is one."""

    code: str
    severity: Severity
    subject: str
    message: str
    hint: str = ""
    command: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity.label, "object": self.subject,
                "message": self.message, "hint": self.hint or None, "command": self.command or None}


def sort_findings(findings: list[Finding] | tuple[Finding, ...]) -> tuple[Finding, ...]:
    """Most severe first, then by object and code, so output is stable."""
    return tuple(sorted(set(findings), key=lambda f: (-f.severity, f.subject, f.code, f.message)))


def worst(findings: tuple[Finding, ...] | list[Finding]) -> Severity:
    return max((f.severity for f in findings), default=Severity.OK)


class SecretValue:
    """A secret read from the cluster (API key, app key, DCA token).

    It can be compared and measured but never shown: str() and repr() print a mask, and the only
    derived values are its length and a short SHA-256 fingerprint, which identify equal tokens
    without revealing them.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __len__(self) -> int:
        return len(self._value)

    @property
    def length(self) -> int:
        return len(self._value)

    @property
    def fingerprint(self) -> str:
        import hashlib  # only when a secret is actually read; keeps start-up light

        return "sha256:" + hashlib.sha256(self._value.encode()).hexdigest()[:8]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"<secret {self.length} chars {self.fingerprint}>"

    __str__ = __repr__

