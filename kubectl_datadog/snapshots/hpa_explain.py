"""hpa-explain's snapshot: the HPA(s) as plain data (parsed from autoscaling/v2, v2beta2, and v1 with
its metrics annotation), the outcomes of the reads, and the DCA's `datadogmetric@` reference syntax."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Generic, Mapping, Sequence, TypeVar
from urllib.parse import quote

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.cluster.selectors import match_labels_selector
from kubectl_datadog.errors import ApiError, Forbidden, NotFound, PluginError
from kubectl_datadog.install import Install, Leftover
from kubectl_datadog.objects import Condition
from kubectl_datadog.snapshots.hpa_explain_objects import (
    ApiService,
    ConfigMapEntry,
    DatadogMetricState,
    EndpointGroup,
    HpaEvent,
    Service,
)
from kubectl_datadog.times import parse_time
from kubectl_datadog.snapshots import Fetched
from kubectl_datadog.snapshots.leader import LockRecord

APISERVICE_NAME = "v1beta1.external.metrics.k8s.io"
EXTERNAL_METRICS_PREFIX = "/apis/external.metrics.k8s.io/v1beta1/namespaces"
DATADOGMETRIC_CRD = "datadogmetrics.datadoghq.com"
V1_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
V1_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
V1_CURRENT_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
T = TypeVar("T")


# --- the HPA, as plain data ------------------------------------------------------------------------

@dataclass(frozen=True)
class ExternalMetric:
    index: int  # position among the HPA's metrics
    name: str  # as the HPA spec writes it
    match_labels: Mapping[str, str]
    match_expressions: tuple[str, ...]  # "key op [values]", for display: the DCA ignores them
    target_type: str  # AverageValue | Value
    target: str  # the target quantity as written
    current: str = ""  # status.currentMetrics: the value the HPA last saw ("" unknown)

    @property
    def label_selector(self) -> str:
        return match_labels_selector(self.match_labels)

    def raw_path(self, namespace: str) -> str:
        return f"{EXTERNAL_METRICS_PREFIX}/{namespace}/{self.name.lower()}"

    def raw_query(self) -> list[tuple[str, str]]:
        return [("labelSelector", self.label_selector)] if self.match_labels else []

    def kubectl_raw(self, namespace: str) -> str:
        path = self.raw_path(namespace)
        if self.match_labels:
            path += "?labelSelector=" + quote(self.label_selector, safe="")
        return f'kubectl get --raw "{path}"'

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "selector": {"matchLabels": dict(self.match_labels),
                                                "matchExpressions": list(self.match_expressions)},
                "target": {"type": self.target_type, "value": self.target}, "current": self.current or None}


@dataclass(frozen=True)
class Hpa:
    namespace: str
    name: str
    api_version: str
    scale_target: str  # Kind/name
    min_replicas: int
    max_replicas: int
    current_replicas: int | None
    desired_replicas: int | None
    external: tuple[ExternalMetric, ...]
    other_metrics: tuple[str, ...]  # the non-External metrics, e.g. "Resource cpu"
    conditions: tuple[Condition, ...]
    last_scale: datetime | None = None

    @property
    def ref(self) -> str:
        return f"hpa/{self.namespace}/{self.name}"

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in reversed(self.conditions) if c.type == kind), None)  # the last one wins


def _selector_parts(selector: Mapping[str, Any] | None) -> tuple[dict[str, str], tuple[str, ...]]:
    sel = selector or {}
    labels = {str(k): str(v) for k, v in (sel.get("matchLabels") or {}).items()}
    exprs = tuple(f"{e.get('key', '')} {e.get('operator', '')} {list(e.get('values') or [])}".strip()
                  for e in sel.get("matchExpressions") or [])
    return labels, exprs


def _current_by_name(entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for cm in entries:
        if cm.get("type") != "External":
            continue
        ext = cm.get("external") or {}
        name = (ext.get("metric") or {}).get("name") or ext.get("metricName") or ""
        cur = ext.get("current") or {}
        value = cur.get("averageValue") or cur.get("value") or ext.get("currentAverageValue") or ext.get("currentValue")
        if name and value is not None:
            out.setdefault(str(name), str(value))
    return out


def parse_hpa(obj: Mapping[str, Any]) -> Hpa:
    """autoscaling/v2 and v2beta2 (metrics in spec.metrics) and v1 (metrics in an annotation, in the
    v2beta1 shape: metricName/metricSelector/targetValue/targetAverageValue)."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    api_version = str(obj.get("apiVersion", ""))
    annotations = meta.get("annotations") or {}
    if api_version == "autoscaling/v1":
        metrics = _json_list(annotations.get(V1_METRICS_ANNOTATION))
        conds = _json_list(annotations.get(V1_CONDITIONS_ANNOTATION))
        current = _current_by_name(_json_list(annotations.get(V1_CURRENT_ANNOTATION)))
        if spec.get("targetCPUUtilizationPercentage") is not None:
            metrics = [{"type": "Resource", "resource": {"name": "cpu"}}] + metrics
    else:
        metrics = list(spec.get("metrics") or [])
        conds = list(status.get("conditions") or [])
        current = _current_by_name(list(status.get("currentMetrics") or []))
    external: list[ExternalMetric] = []
    others: list[str] = []
    for i, m in enumerate(metrics):
        mtype = str(m.get("type", ""))
        if mtype != "External":
            key = {"Resource": "resource", "Pods": "pods", "Object": "object", "ContainerResource": "containerResource"}
            inner = m.get(key.get(mtype, ""), {}) or {}
            others.append(f"{mtype} {inner.get('name') or (inner.get('metric') or {}).get('name') or inner.get('metricName') or ''}".strip())
            continue
        ext = m.get("external") or {}
        if "metric" in ext:  # v2 / v2beta2
            name = str((ext.get("metric") or {}).get("name", ""))
            labels, exprs = _selector_parts((ext.get("metric") or {}).get("selector"))
            target = ext.get("target") or {}
            ttype = str(target.get("type", ""))
            tvalue = target.get("averageValue") if ttype == "AverageValue" else target.get("value")
        else:  # v2beta1 shape, as in the v1 annotation
            name = str(ext.get("metricName", ""))
            labels, exprs = _selector_parts(ext.get("metricSelector"))
            if ext.get("targetAverageValue") is not None:
                ttype, tvalue = "AverageValue", ext.get("targetAverageValue")
            else:
                ttype, tvalue = "Value", ext.get("targetValue")
        external.append(ExternalMetric(i, name, labels, exprs, ttype, "" if tvalue is None else str(tvalue),
                                       current.get(name, "")))
    target_ref = spec.get("scaleTargetRef") or {}

    def _int(v: Any) -> int | None:
        return int(v) if isinstance(v, (int, float)) or (isinstance(v, str) and v.isdigit()) else None

    return Hpa(
        namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")), api_version=api_version,
        scale_target=f"{target_ref.get('kind', '')}/{target_ref.get('name', '')}",
        min_replicas=_int(spec.get("minReplicas")) or 1, max_replicas=_int(spec.get("maxReplicas")) or 0,
        current_replicas=_int(status.get("currentReplicas")), desired_replicas=_int(status.get("desiredReplicas")),
        external=tuple(external), other_metrics=tuple(others),
        conditions=tuple(Condition.from_dict(c) for c in conds if isinstance(c, Mapping)),
        last_scale=parse_time(status.get("lastScaleTime")))


def _json_list(raw: Any) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        doc = json.loads(raw)
    except (TypeError, ValueError):
        return []
    return [d for d in doc if isinstance(d, dict)] if isinstance(doc, list) else []


# --- outcomes of reads, as plain data ------------------------------------------------------------

@dataclass(frozen=True)
class ReadError:
    """Why a read gave no object: forbidden, or the API answered an error (status, message)."""

    kind: str  # forbidden | not-found | unavailable | error
    message: str
    status: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "status": self.status, "message": self.message}


def read_error(exc: PluginError | None) -> ReadError | None:
    if exc is None:
        return None
    if isinstance(exc, Forbidden):
        return ReadError("forbidden", exc.message, 403)
    if isinstance(exc, NotFound):
        return ReadError("not-found", exc.message, 404)
    if isinstance(exc, ApiError):
        return ReadError("unavailable" if exc.status == 503 else "error", exc.message, exc.status or None)
    return ReadError("error", exc.message)


@dataclass(frozen=True)
class Got(Generic[T]):
    """A parsed object (None: it does not exist) or the error that kept us from reading it."""

    value: T | None = None
    error: ReadError | None = None

    @classmethod
    def of(cls, fetched: Fetched[Any] | None, parse: Callable[[Any], T]) -> "Got[T]":
        if fetched is None:
            return cls()
        return cls(None if fetched.value is None else parse(fetched.value), read_error(fetched.error))


@dataclass(frozen=True)
class LiveValue:
    """What GET /apis/external.metrics.k8s.io/... answered."""

    items: tuple[tuple[str, str | None], ...] = ()  # (quantity, timestamp) per item
    error: ReadError | None = None

    def to_dict(self) -> dict[str, object]:
        return {"items": [{"value": v, "timestamp": t} for v, t in self.items],
                "error": self.error.to_dict() if self.error else None}


@dataclass(frozen=True)
class KeyCheck:
    """Whether the DCA gets an API/app key. Only presence and length are kept, never the value."""

    var: str  # DD_API_KEY | DD_APP_KEY
    source: str  # "secret datadog/api-key", "value", "" (not set)
    present: bool | None  # None: could not check (Secret not readable)
    length: int = 0
    problem: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"env": self.var, "source": self.source or None, "present": self.present,
                "length": self.length or None, "problem": self.problem or None}


@dataclass(frozen=True)
class MetricSource:
    """Where the DCA keeps the metric's value: a DatadogMetric, or a legacy ConfigMap entry."""

    datadogmetric: Got[DatadogMetricState] | None = None  # the referenced one (datadogmetric@ns:name)
    autogen: tuple[DatadogMetricState, ...] = ()  # dcaautogen-* DatadogMetrics naming this HPA/metric
    configmap_key: str = ""
    configmap_entry: ConfigMapEntry | None = None
    configmap_entry_malformed: bool = False  # the entry exists but is not a JSON object


@dataclass(frozen=True)
class DcaLog:
    """The tail of the log of the Cluster Agent replica that queries Datadog (the leader), or why it
    could not be read. Read for the Datadog API errors it records; nothing else of it is shown."""

    namespace: str
    pod: str
    container: str
    tail: int  # lines asked for
    text: str = ""
    error: ReadError | None = None


@dataclass
class HpaSnapshot:
    namespace: str | None  # the HPA namespace (None with -A)
    name: str | None
    hpas: tuple[Hpa, ...]
    autoscaling_version: str
    events: dict[tuple[str, str], tuple[HpaEvent, ...]]
    events_error: ReadError | None
    apiservice: Got[ApiService]
    service: Got[Service]
    endpoints: tuple[EndpointGroup, ...]  # the APIService's Service's addresses
    install: Install | None
    install_error: str
    keys: tuple[KeyCheck, ...]
    lock: LockRecord | None
    crd: Got[str]  # the DatadogMetric CRD, by name
    configmap: Got[Mapping[str, str]]  # the legacy metrics ConfigMap's data (not read outside legacy mode)
    sources: dict[tuple[str, str, int], MetricSource] = field(default_factory=dict)
    live: dict[tuple[str, str, int], LiveValue] = field(default_factory=dict)
    datadogmetrics_error: ReadError | None = None
    leftovers: tuple[Leftover, ...] = ()  # no Datadog pod found: what the install left behind
    install_scope: str | None = None  # --install-namespace
    # What the access reviews answered for the Cluster Agent's service account (None: could not ask).
    dca_access: tuple[tuple[AccessCheck, bool | None], ...] = ()
    dca_log: DcaLog | None = None


# The DCA's own parsing of `datadogmetric@<ns>:<name>` (reference §3.4), after lower-casing.
DATADOGMETRIC_PREFIX = "datadogmetric@"
DATADOGMETRIC_REF = re.compile(r"^datadogmetric@([a-z0-9](?:[-a-z0-9]*[a-z0-9])?):([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)$")


def parse_datadogmetric_ref(metric_name: str) -> tuple[str, str] | None:
    """(namespace, name) of a well-formed `datadogmetric@ns:name`, else None."""
    m = DATADOGMETRIC_REF.match(metric_name.lower())
    return (m.group(1), m.group(2)) if m else None
