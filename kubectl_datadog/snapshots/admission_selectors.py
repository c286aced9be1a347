"""Label selectors as the API server evaluates a webhook's objectSelector and namespaceSelector
(matchLabels and In/NotIn/Exists/DoesNotExist), and the SSI targets that use the same shape
(shared/reference/admission-and-clusterchecks.md A2.4, A6). Kubernetes semantics: an empty selector
selects everything (unlike a Service's selector, objects.selector_selects)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        return False  # an operator the API server would have rejected

    def describe(self) -> str:
        if self.operator in ("Exists", "DoesNotExist"):
            return self.key if self.operator == "Exists" else "!" + self.key
        return f"{self.key} {self.operator.lower()} ({','.join(self.values)})"


@dataclass(frozen=True)
class LabelSelector:
    """A webhook's objectSelector/namespaceSelector. Unset or empty selects everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def from_dict(cls, sel: Mapping[str, Any] | None) -> "LabelSelector":
        reqs = [Requirement(str(k), "In", (str(v),)) for k, v in sorted(((sel or {}).get("matchLabels") or {}).items())]
        reqs += [Requirement(str(e.get("key", "")), str(e.get("operator", "")),
                             tuple(str(v) for v in e.get("values") or []))
                 for e in (sel or {}).get("matchExpressions") or []]
        return cls(tuple(reqs))

    def failing(self, labels: Mapping[str, str]) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if not r.matches(labels))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return not self.failing(labels)

    def describe(self) -> str:
        return ",".join(r.describe() for r in self.requirements) or "(everything)"


def describe_requirement_for(r: Requirement) -> str:
    """`key=value` for a single-value In (matchLabels), else the set form."""
    if r.operator == "In" and len(r.values) == 1:
        return f"{r.key}={r.values[0]}"
    return r.describe()


@dataclass(frozen=True)
class SsiTarget:
    """One SSI target of DD_APM_INSTRUMENTATION_TARGETS (A6): first match wins."""

    name: str
    namespace_names: tuple[str, ...]  # namespaceSelector.matchNames
    namespace_selector: LabelSelector
    pod_selector: LabelSelector

    def matches(self, namespace: str, ns_labels: Mapping[str, str], pod_labels: Mapping[str, str]) -> bool:
        ns_ok = namespace in self.namespace_names if self.namespace_names else self.namespace_selector.matches(ns_labels)
        return ns_ok and self.pod_selector.matches(pod_labels)


def parse_ssi_targets(raw: str) -> tuple[tuple[SsiTarget, ...], str]:
    """(targets, error): the JSON list the DCA reads; an error when it is not one."""
    import json

    if not raw:
        return (), ""
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        return (), f"DD_APM_INSTRUMENTATION_TARGETS is not valid JSON ({exc})"
    if not isinstance(doc, list):
        return (), "DD_APM_INSTRUMENTATION_TARGETS is not a JSON list"
    out = []
    for t in doc:
        if not isinstance(t, Mapping):
            continue
        raw_ns, raw_pod = t.get("namespaceSelector"), t.get("podSelector")
        ns_sel: Mapping[str, Any] = raw_ns if isinstance(raw_ns, Mapping) else {}
        pod_sel: Mapping[str, Any] | None = raw_pod if isinstance(raw_pod, Mapping) else None
        out.append(SsiTarget(str(t.get("name", "?")), tuple(str(n) for n in ns_sel.get("matchNames") or []),
                             LabelSelector.from_dict(ns_sel), LabelSelector.from_dict(pod_sel)))
    return tuple(out), ""
