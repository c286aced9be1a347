"""SharedReads: one Cluster that several collections share, so a sweep reads each object once.

`doctor` runs many commands' collections on one cluster, at once. Each collection asks for what it
needs as if it were alone (leader reads the lock, hpa-explain reads it too); this wrapper answers
the second ask from the first answer:

- every read is keyed by what it asks (resource, namespace, name, selectors; exec argv; access
  check), and a second ask of the same key, even while the first is in flight, waits for that one
  request instead of sending its own (single flight);
- a list with a label selector is answered from a list already made of the same resource whose
  selector it narrows (`k in (a,b)` answers `k=a`), filtered with the API server's matcher, and a
  get from a whole list of the resource's namespace (or of all namespaces);
- errors are answers too (a Forbidden read stays forbidden for the sweep: asking again would only
  cost another round trip).

Thread-safe: the collections run concurrently (collect.gather/start). It changes nothing about what
a collection sees, only how often the API server is asked, so every command's collection runs
unchanged on it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterator, Sequence

from kubectl_datadog.cluster import AccessCheck, Cluster, Context, ExecResult, Resource
from kubectl_datadog.cluster.selectors import parse_field_selector, parse_label_selector

_IN = re.compile(r"^\s*([\w./-]+)\s+in\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([\w./-]+)\s*==?\s*([\w./-]*)\s*$")


def _requirements(selector: str) -> dict[str, frozenset[str]] | None:
    """`k in (a,b),j=c` as {k: {a, b}, j: {c}}; None when a term is of another kind (!=, notin,
    exists), which this narrowing test does not reason about."""
    out: dict[str, frozenset[str]] = {}
    depth, term, terms = 0, "", []
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(term)
            term = ""
        else:
            term += ch
    terms.append(term)
    for t in (t for t in terms if t.strip()):
        m = _IN.match(t)
        if m:
            values = frozenset(v.strip() for v in m.group(2).split(",") if v.strip())
        else:
            m = _EQ.match(t)
            if not m:
                return None
            values = frozenset({m.group(2)})
        key = m.group(1)
        out[key] = out[key] & values if key in out else values
    return out


def narrows(wide: str, narrow: str) -> bool:
    """Every object `narrow` selects is also selected by `wide` (as far as this can tell)."""
    if wide == narrow or not wide.strip():
        return True
    w, n = _requirements(wide), _requirements(narrow)
    if w is None or n is None:
        return False
    return all(k in n and n[k] <= values for k, values in w.items())


@dataclass
class _Flight:
    """One request: the first asker runs it, the others wait for its answer."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None

    def answer(self) -> Any:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


@dataclass(frozen=True)
class _ListKey:
    resource: Resource
    namespace: str | None
    label_selector: str
    field_selector: str
    metadata_only: bool


class SharedReads:
    """A Cluster that asks the wrapped one at most once per read (see the module docstring)."""

    def __init__(self, cluster: Cluster, *, streamed: Sequence[Resource] = ()) -> None:
        """streamed: resources whose whole (unselected) lists pass through page by page, unshared:
        a list one reader reduces as it comes (metamap's 100,000 endpoints) would otherwise be held
        whole for the sweep's lifetime."""
        self._cluster = cluster
        self._streamed = frozenset(streamed)
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}
        self.asked = 0  # reads asked of this wrapper
        self.sent = 0  # reads sent to the wrapped cluster (access reviews: one per check)

    # --- the single-flight core ----------------------------------------------------------
    def _once(self, key: Hashable, fn: Callable[[], Any]) -> Any:
        with self._lock:
            self.asked += 1
            flight = self._flights.get(key)
            owner = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
                self.sent += 1
        if owner:
            try:
                flight.value = fn()
            except BaseException as exc:  # noqa: BLE001 - stored, and raised to every asker
                flight.error = exc
            finally:
                flight.done.set()
        return flight.answer()

    def _covering_list(self, resource: Resource, namespace: str | None, label_selector: str,
                       field_selector: str, metadata_only: bool) -> _Flight | None:
        """A list already asked for (done or in flight) whose answer contains every object this
        list would return."""
        with self._lock:
            for key, flight in self._flights.items():
                if not isinstance(key, _ListKey) or key.resource != resource:
                    continue
                if key.metadata_only and not metadata_only:
                    continue
                if key.namespace is not None and key.namespace != namespace and resource.namespaced:
                    continue
                if key.field_selector and key.field_selector != field_selector:
                    continue
                if narrows(key.label_selector, label_selector):
                    return flight
        return None

    # --- the Cluster protocol --------------------------------------------------------------
    @property
    def context(self) -> Context:
        return self._cluster.context

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        whole = self._covering_list(resource, namespace if resource.namespaced else None, "", "", False)
        if whole is not None and whole.done.is_set() and whole.error is None:
            with self._lock:
                self.asked += 1
            return next((o for o in whole.value if (o.get("metadata") or {}).get("name") == name
                         and (not resource.namespaced or (o.get("metadata") or {}).get("namespace") == namespace)),
                        None)
        return self._once(("get", resource, namespace, name), lambda: self._cluster.get(resource, name, namespace))

    def list(self, resource: Resource, namespace: str | None = None, *, label_selector: str = "",
             field_selector: str = "", page_size: int = 500,
             metadata_only: bool = False) -> Iterator[dict[str, Any]]:
        if resource in self._streamed and not label_selector and not field_selector:
            with self._lock:
                self.asked += 1
                self.sent += 1
            return self._cluster.list(resource, namespace, page_size=page_size, metadata_only=metadata_only)
        key = _ListKey(resource, namespace if resource.namespaced else None, label_selector, field_selector,
                       metadata_only)
        with self._lock:
            exact = key in self._flights
        if not exact:
            wider = self._covering_list(resource, key.namespace, label_selector, field_selector, metadata_only)
            if wider is not None:
                wider.done.wait()
                if wider.error is None:
                    with self._lock:
                        self.asked += 1
                    labels_ok = parse_label_selector(label_selector)
                    fields_ok = parse_field_selector(field_selector)
                    return iter([o for o in wider.value
                                 if (key.namespace is None
                                     or (o.get("metadata") or {}).get("namespace") == key.namespace)
                                 and labels_ok((o.get("metadata") or {}).get("labels") or {}) and fields_ok(o)])
        items = self._once(key, lambda: list(self._cluster.list(
            resource, namespace, label_selector=label_selector, field_selector=field_selector,
            page_size=page_size, metadata_only=metadata_only)))
        return iter(items)

    def get_raw(self, path: str, query: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        result: dict[str, Any] = self._once(("raw", path, tuple(query)), lambda: self._cluster.get_raw(path, query))
        return result

    def proxy_get(self, namespace: str, pod: str, port: int, path: str, timeout: float | None = None) -> str:
        text: str = self._once(("proxy", namespace, pod, port, path),
                               lambda: self._cluster.proxy_get(namespace, pod, port, path, timeout))
        return text

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        result: ExecResult = self._once(("exec", namespace, pod, container, tuple(argv)),
                                        lambda: self._cluster.exec(namespace, pod, container, argv, timeout))
        return result

    def logs(self, namespace: str, pod: str, container: str, *, since_seconds: int | None = None,
             tail_lines: int | None = None) -> str:
        text: str = self._once(("logs", namespace, pod, container, since_seconds, tail_lines),
                               lambda: self._cluster.logs(namespace, pod, container, since_seconds=since_seconds,
                                                          tail_lines=tail_lines))
        return text

    def access(self, checks: Sequence[AccessCheck]) -> list[bool | None]:
        """Each check asked once: the new ones go to the wrapped cluster in one call."""
        mine: dict[AccessCheck, _Flight] = {}
        flights: list[_Flight] = []
        with self._lock:
            for check in checks:
                self.asked += 1
                key = ("access", check)
                flight = self._flights.get(key)
                if flight is None:
                    flight = mine.get(check)
                    if flight is None:
                        flight = mine[check] = self._flights[key] = _Flight()
                        self.sent += 1
                flights.append(flight)
        if mine:
            try:
                answers = self._cluster.access(list(mine))
                for flight, answer in zip(mine.values(), answers, strict=True):
                    flight.value = answer
            except BaseException as exc:  # noqa: BLE001 - every asker of these checks gets it
                for flight in mine.values():
                    flight.error = exc
            finally:
                for flight in mine.values():
                    flight.done.set()
        return [f.answer() for f in flights]

    # --- beyond the protocol: what the sweep already read ----------------------------------
    def once(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """`compute()` once per key for the sweep (e.g. install discovery: the same pods parsed
        once for every collection); concurrent askers wait for the first, errors included."""
        return self._once(("once", key), compute)

    def seen(self, resource: Resource) -> dict[tuple[str, str], dict[str, Any]]:
        """Every object of `resource` that a finished read returned (any list or get), by (namespace,
        name), without asking again: one pass, so a caller looking up 500 pods pays once."""
        with self._lock:
            flights = [(k, f) for k, f in self._flights.items() if f.done.is_set() and f.error is None]
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for key, flight in flights:
            if isinstance(key, _ListKey) and key.resource == resource and not key.metadata_only:
                objs = flight.value
            elif isinstance(key, tuple) and len(key) == 4 and key[:2] == ("get", resource) and flight.value:
                objs = [flight.value]
            else:
                continue
            for o in objs:
                meta = o.get("metadata") or {}
                out.setdefault((str(meta.get("namespace", "")), str(meta.get("name", ""))), o)
        return out
