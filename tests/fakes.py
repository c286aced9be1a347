"""FakeCluster: the Cluster protocol served from a scenario directory (tests/scenarios/README.md).

It answers like an API server from the same plain dicts a real one returns: label and field
selectors are applied with the production matcher, lists are paged, 404s are None, forbidden
requests raise Forbidden with the verb and resource, execs without a fixture fail like a missing
binary. Every call is recorded so tests can assert what a command read (and that it wrote nothing).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

from kubectl_datadog.cluster import AccessCheck, Context, ExecResult, Resource
from kubectl_datadog.cluster.selectors import parse_field_selector, parse_label_selector
from kubectl_datadog.errors import ApiError, Forbidden, NotFound, Unreachable
from tests.scenario import Scenario, load_scenario, scenario_names  # noqa: F401 - re-exported for tests

FIXTURE_NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Call:
    verb: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    detail: str = ""
    metadata_only: bool = False  # a list that asked for metadata only (Cluster.list(metadata_only=True))


def _key(api_version: str, kind: str) -> tuple[str, str]:
    return api_version, kind


@dataclass
class FakeCluster:
    objects: list[dict[str, Any]] = field(default_factory=list)
    scenario: dict[str, Any] = field(default_factory=dict)
    source: Scenario | None = None
    context_namespace: str = "default"
    unreachable: bool = False
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_scenario(cls, name: str, **kw: Any) -> "FakeCluster":
        sc = load_scenario(name)
        _hold_unready(sc.objects, set(sc.config.get("unreadyPods") or []))
        return cls(objects=sc.objects, scenario=sc.config, source=sc, **kw)

    # --- helpers --------------------------------------------------------------------------
    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _check_reachable(self) -> None:
        if self.unreachable:
            raise Unreachable("cannot reach the API server at https://127.0.0.1:1: Connection refused",
                              hint="is the cluster running, and are --context/--kubeconfig right?")

    def _check_allowed(self, verb: str, resource: str, namespace: str | None, name: str | None = None) -> None:
        only = self.scenario.get("onlyNamespaces")
        if only is not None and namespace not in only:
            # A user bound to Roles in those namespaces only: nothing at the cluster scope, nothing elsewhere.
            raise Forbidden(verb, resource, namespace, name)
        for rule in self.scenario.get("forbidden") or []:
            if rule.get("verb") not in (verb, "*"):
                continue
            if rule.get("resource") != resource:
                continue
            if rule.get("namespace") not in (None, namespace):
                continue
            raise Forbidden(verb, resource, namespace, name)

    def _of(self, resource: Resource) -> Iterator[dict[str, Any]]:
        for obj in self.objects:
            if obj.get("kind") != resource.kind:
                continue
            group = obj.get("apiVersion", "").rpartition("/")[0]
            if group != resource.group:
                continue
            yield obj

    @property
    def context(self) -> Context:
        return Context("fake", "https://127.0.0.1:6443", self.context_namespace, "admin")

    # --- Cluster protocol -----------------------------------------------------------------
    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self._check_reachable()
        self._record(Call("get", resource.display, namespace, name))
        self._check_allowed("get", resource.display, namespace, name)
        for obj in self._of(resource):
            meta = obj.get("metadata") or {}
            if meta.get("name") == name and (not resource.namespaced or meta.get("namespace") == namespace):
                return obj
        return None

    def list(self, resource: Resource, namespace: str | None = None, *, label_selector: str = "",
             field_selector: str = "", page_size: int = 500,
             metadata_only: bool = False) -> Iterator[dict[str, Any]]:
        # metadata_only: the whole objects are returned (allowed by the protocol); callers read
        # only their metadata.
        self._check_reachable()
        self._record(Call("list", resource.display, namespace, None, f"{label_selector}|{field_selector}",
                          metadata_only))
        self._check_allowed("list", resource.display, namespace)
        labels_ok = parse_label_selector(label_selector)
        fields_ok = parse_field_selector(field_selector)
        matched = [o for o in self._of(resource)
                   if (namespace is None or not resource.namespaced
                       or (o.get("metadata") or {}).get("namespace") == namespace)
                   and labels_ok((o.get("metadata") or {}).get("labels") or {}) and fields_ok(o)]
        return iter(matched)

    def get_raw(self, path: str, query: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        self._check_reachable()
        self._record(Call("get", "raw", None, path, "&".join(f"{k}={v}" for k, v in query)))
        discovery = self.scenario.get("discovery") or {}
        if path in discovery:
            return discovery[path]
        if path == "/apis/coordination.k8s.io/v1":
            return {"kind": "APIResourceList", "groupVersion": "coordination.k8s.io/v1",
                    "resources": [{"name": "leases", "namespaced": True, "kind": "Lease"}]}
        prefix = "/apis/external.metrics.k8s.io/v1beta1/namespaces/"
        if path.startswith(prefix):
            return self._external_metric(path[len(prefix):], dict(query))
        raise NotFound(f"{path}: the server could not find the requested resource")

    def _external_metric(self, rest: str, query: dict[str, str]) -> dict[str, Any]:
        if self.scenario.get("externalMetricsDown"):
            raise ApiError("the server is currently unable to handle the request", status=503,
                           reason="ServiceUnavailable")
        namespace, _, metric = rest.partition("/")
        selector = query.get("labelSelector", "")
        for entry in self.scenario.get("externalMetrics") or []:
            if entry.get("namespace") != namespace or str(entry.get("metricName", "")).lower() != metric:
                continue
            want = ",".join(f"{k}={v}" for k, v in sorted((entry.get("labelSelector") or {}).items()))
            if want and want != ",".join(sorted(selector.split(","))):
                continue
            if entry.get("error"):
                err = entry["error"]
                raise ApiError(err.get("message", "error"), status=int(err.get("code", 500)),
                               reason=err.get("reason", "InternalError"))
            return {"kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1",
                    "metadata": {}, "items": [{"metricName": metric, "metricLabels": entry.get("labelSelector") or {},
                                               "timestamp": entry.get("timestamp"), "value": str(entry["value"])}]}
        raise NotFound(f"the server could not find the requested resource (get {metric}.external.metrics.k8s.io)")

    def proxy_get(self, namespace: str, pod: str, port: int, path: str, timeout: float | None = None) -> str:
        self._check_reachable()
        self._record(Call("get", "pods/proxy", namespace, pod, f"{port}/{path.lstrip('/')}"))
        self._check_allowed("get", "pods/proxy", namespace, pod)
        obj = self.get_quiet(namespace, pod)
        if obj is None:
            raise NotFound(f'pods "{pod}" not found')
        for entry in self.scenario.get("proxyErrors") or []:
            if entry.get("pod") == f"{namespace}/{pod}" and int(entry.get("port", port)) == int(port):
                raise ApiError(entry.get("message", "error"), status=int(entry.get("code", 503)),
                               reason=entry.get("reason", "ServiceUnavailable"))
        found = self.source.pod_file(namespace, pod, "proxy", str(port), path.strip("/")) if self.source else None
        if found is None:
            # What the API server answers when nothing listens on the pod's port.
            ip = (obj.get("status") or {}).get("podIP", "")
            raise ApiError(f"error trying to reach service: dial tcp {ip}:{port}: connect: connection refused",
                           status=503, reason="ServiceUnavailable")
        return found.read_text()

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        self._check_reachable()
        self._record(Call("create", "pods/exec", namespace, pod, " ".join(argv)))
        self._check_allowed("create", "pods/exec", namespace, pod)
        if self.get_quiet(namespace, pod) is None:
            return ExecResult("", "", None, f'pod "{pod}" not found (it may have been deleted)')
        key = "_".join(argv)
        found = self.source.pod_file(namespace, pod, "exec", f"{key}.out") if self.source else None
        if found is None:
            return ExecResult("", "", 127, f'exec: "{argv[0]}": executable file not found in $PATH')
        base = found.parent
        out = found.read_text()
        err = (base / f"{key}.err").read_text() if (base / f"{key}.err").exists() else ""
        rc = int((base / f"{key}.rc").read_text().strip()) if (base / f"{key}.rc").exists() else 0
        return ExecResult(out, err, rc, "" if rc == 0 else f"command terminated with exit code {rc}")

    def get_quiet(self, namespace: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.objects if o.get("kind") == "Pod"
                     and (o.get("metadata") or {}).get("namespace") == namespace
                     and (o.get("metadata") or {}).get("name") == name), None)

    def logs(self, namespace: str, pod: str, container: str, *, since_seconds: int | None = None,
             tail_lines: int | None = None) -> str:
        self._check_reachable()
        self._record(Call("get", "pods/log", namespace, pod, container))
        self._check_allowed("get", "pods/log", namespace, pod)
        path = self.source.pod_file(namespace, pod, "logs", f"{container}.log") if self.source else None
        if path is None:
            raise ApiError(f'container "{container}" in pod "{pod}" has no logs', status=400, reason="BadRequest")
        lines = path.read_text().splitlines()
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines else []
        return "".join(line + "\n" for line in lines)

    def access(self, checks: Sequence[AccessCheck]) -> list[bool | None]:
        self._check_reachable()
        answers = self.scenario.get("accessReviews") or {}
        out: list[bool | None] = []
        for c in checks:
            self._record(Call("create", "subjectaccessreviews" if c.user else "selfsubjectaccessreviews",
                              c.namespace, c.name, c.describe()))
            if answers.get("unavailable") or self.scenario.get("onlyNamespaces") is not None:
                out.append(None)
                continue
            denied = (answers.get("deny") or []) + ((answers.get("denyFor") or {}).get(c.user or "") or [])
            out.append(not any(c.describe().startswith(d) or d == f"{c.verb} {c.resource}" for d in denied))
        return out


def _hold_unready(objects: list[dict[str, Any]], unready: set[str]) -> None:
    """What the harness does for `unreadyPods`: Running, but Ready=False and containers not ready."""
    for obj in objects:
        meta = obj.get("metadata") or {}
        if obj.get("kind") != "Pod" or f"{meta.get('namespace')}/{meta.get('name')}" not in unready:
            continue
        status = obj.setdefault("status", {})
        status["phase"] = "Running"
        for cond in status.get("conditions") or []:
            if cond.get("type") in ("Ready", "ContainersReady"):
                cond["status"] = "False"
        for cs in status.get("containerStatuses") or []:
            cs["ready"] = False


def writes(calls: list[Call]) -> list[Call]:
    """Requests that would change the cluster (pods/exec and access reviews are allowed)."""
    allowed = {"pods/exec", "subjectaccessreviews", "selfsubjectaccessreviews"}
    return [c for c in calls if c.verb not in ("get", "list", "watch") and c.resource not in allowed]


def secret_values(name: str) -> list[str]:
    """Every secret value in a scenario (decoded Secret data and stringData), to assert they never leak."""
    import base64

    values = []
    for obj in load_scenario(name).objects:
        if obj.get("kind") != "Secret":
            continue
        for v in (obj.get("data") or {}).values():
            values.append(base64.b64decode(v).decode("utf-8", "replace"))
        values.extend(str(v) for v in (obj.get("stringData") or {}).values())
    return [v for v in values if len(v) >= 8]


