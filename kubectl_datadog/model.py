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
    command that verifies it where there is one.

    `caused_by` holds the codes of the findings this one follows from (a symptom names its root
    cause: an Agent refused by its DCA because its token is too short). Set it only when the
    diagnosis knows the cause; the hint of such a finding then points at the cause."""

    code: str
    severity: Severity
    subject: str
    message: str
    hint: str = ""
    command: str = ""
    caused_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity.label, "object": self.subject,
                "message": self.message, "hint": self.hint or None, "command": self.command or None,
                "causedBy": list(self.caused_by)}


def _base_key(f: Finding) -> tuple[int, str, str, str]:
    return (-f.severity, f.subject, f.code, f.message)


def sort_findings(findings: list[Finding] | tuple[Finding, ...]) -> tuple[Finding, ...]:
    """Root cause first: a finding comes after every reported finding it is caused by, right after
    the last of them; root causes are ordered by the worst severity among themselves and what
    follows from them (a WARNING that causes an ERROR leads the ERRORs), then by object and code,
    so output is stable. Every command orders its findings here."""
    items = sorted(set(findings), key=_base_key)
    by_code: dict[str, list[Finding]] = {}
    for f in items:
        by_code.setdefault(f.code, []).append(f)
    causes = {f: tuple(c for c in dict.fromkeys(f.caused_by) if c in by_code and c != f.code) for f in items}
    consequences: dict[str, list[Finding]] = {}
    for f in items:
        for c in causes[f]:
            consequences.setdefault(c, []).append(f)

    lifts: dict[str, Severity] = {}

    def lift(code: str, seen: frozenset[str]) -> Severity:
        """The worst severity among the findings that follow from `code`, directly or further down.
        Only consequences lift a finding: another finding with the same code does not (an INFO
        `rbac-forbidden` stays behind a WARNING one)."""
        if code in lifts:
            return lifts[code]
        worst_seen = Severity.OK
        for f in consequences.get(code, ()):
            worst_seen = max(worst_seen, f.severity)
            if f.code not in seen:
                worst_seen = max(worst_seen, lift(f.code, seen | {f.code}))
        lifts[code] = worst_seen
        return worst_seen

    def key(f: Finding) -> tuple[int, str, str, str]:
        return (-max(f.severity, lift(f.code, frozenset({f.code}))), f.subject, f.code, f.message)

    out: list[Finding] = []
    emitted: set[Finding] = set()

    def ready(f: Finding) -> bool:
        return all(g in emitted for c in causes[f] for g in by_code[c])

    def emit(f: Finding) -> None:
        out.append(f)
        emitted.add(f)
        for g in sorted(consequences.get(f.code, ()), key=key):
            if g not in emitted and ready(g):
                emit(g)

    for f in sorted((f for f in items if not causes[f]), key=key):
        if f not in emitted:
            emit(f)
    out += [f for f in items if f not in emitted]  # a cycle of causes: keep them, in plain order
    return tuple(out)


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

