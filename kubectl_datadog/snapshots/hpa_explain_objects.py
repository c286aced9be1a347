"""hpa-explain's chain objects as plain data: the APIService, its Service and endpoints, the
DatadogMetrics, the legacy ConfigMap store's entries and the HPA's events, each parsed from the API
object once, here, so the diagnosis never reads an API object."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from kubectl_datadog.objects import Condition, conditions, endpoint_ready
from kubectl_datadog.textformats.quantity import parse_quantity
from kubectl_datadog.times import parse_go_duration, parse_time


@dataclass(frozen=True)
class ApiService:
    """v1beta1.external.metrics.k8s.io: the Service it sends requests to (name "" when served
    locally, i.e. not by an extension API server) and its Available condition."""

    service_namespace: str
    service_name: str
    service_port: int
    available: Condition | None


def parse_apiservice(obj: Mapping[str, Any]) -> ApiService:
    ref = (obj.get("spec") or {}).get("service") or {}
    return ApiService(str(ref.get("namespace", "")), str(ref.get("name", "")), int(ref.get("port") or 443),
                      conditions(obj).get("Available"))


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    target_port: str  # a number or a container port's name, as written (the port itself when unset)


@dataclass(frozen=True)
class Service:
    selector: Mapping[str, str]
    labels: Mapping[str, str]
    ports: tuple[ServicePort, ...]


def parse_service(obj: Mapping[str, Any]) -> Service:
    spec = obj.get("spec") or {}
    ports = tuple(ServicePort(str(p.get("name") or ""), int(p.get("port", 0)), str(p.get("targetPort", p.get("port"))))
                  for p in spec.get("ports") or [])
    return Service({str(k): str(v) for k, v in (spec.get("selector") or {}).items()},
                   {str(k): str(v) for k, v in ((obj.get("metadata") or {}).get("labels") or {}).items()}, ports)


@dataclass(frozen=True)
class EndpointGroup:
    """One subset of an Endpoints object, or one EndpointSlice: the ports it serves as (name, number)
    and how many of its addresses are ready."""

    ports: tuple[tuple[str, int | None], ...]
    ready: int
    not_ready: int

    def serves(self, port_name: str, port: int | None) -> bool:
        """No ports listed means every port."""
        return not self.ports or any(name == port_name or number == port for name, number in self.ports)


def _port_pairs(ports: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, int | None], ...]:
    return tuple((str(p.get("name") or ""), p.get("port") if isinstance(p.get("port"), int) else None)
                 for p in ports)


def endpoint_groups(endpoints: Mapping[str, Any] | None,
                    slices: Sequence[Mapping[str, Any]]) -> tuple[EndpointGroup, ...]:
    """The Service's addresses from its Endpoints object when it has one, else from its EndpointSlices."""
    if endpoints is not None:
        return tuple(EndpointGroup(_port_pairs(s.get("ports") or []), len(s.get("addresses") or []),
                                   len(s.get("notReadyAddresses") or []))
                     for s in endpoints.get("subsets") or [])
    groups = []
    for sl in slices:
        ready = sum(1 for e in sl.get("endpoints") or [] if endpoint_ready(e))
        groups.append(EndpointGroup(_port_pairs(sl.get("ports") or []), ready,
                                    len(sl.get("endpoints") or []) - ready))
    return tuple(groups)


@dataclass(frozen=True)
class DatadogMetricState:
    """A DatadogMetric's query, value and conditions."""

    namespace: str
    name: str
    query: str
    current_value: str | None  # status.currentValue as written
    max_age: float | None  # spec.maxAge in seconds (None: not set, the DCA's default applies)
    external_metric_name: str  # spec.externalMetricName (autogen ones)
    autoscaler_references: str  # status.autoscalerReferences
    active: Condition | None
    valid: Condition | None
    error: Condition | None
    updated: Condition | None

    @property
    def ref(self) -> str:
        return f"datadogmetric/{self.namespace}/{self.name}"


def parse_datadogmetric(obj: Mapping[str, Any]) -> DatadogMetricState:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    conds = conditions(obj)
    current = status.get("currentValue")
    return DatadogMetricState(
        str(meta.get("namespace", "")), str(meta.get("name", "")), str(spec.get("query") or ""),
        None if current is None else str(current), parse_go_duration(spec.get("maxAge")),
        str(spec.get("externalMetricName", "")), str(status.get("autoscalerReferences", "")),
        conds.get("Active"), conds.get("Valid"), conds.get("Error"), conds.get("Updated"))


@dataclass(frozen=True)
class ConfigMapEntry:
    """One entry of the legacy external-metrics ConfigMap (a JSON document the leader writes)."""

    key: str
    valid: bool  # "valid" is true
    valid_text: str  # "valid" as written, lower-cased, for display
    value: float | None
    ts: datetime | None  # "ts", a unix time


def parse_configmap_entry(key: str, raw: str) -> ConfigMapEntry | None:
    """None when the entry is not a JSON object."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    return ConfigMapEntry(key, doc.get("valid") is True, str(doc.get("valid")).lower(),
                          parse_quantity(doc.get("value")), _unix(doc.get("ts")))


def _unix(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def configmap_data(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}


@dataclass(frozen=True)
class HpaEvent:
    type: str  # Normal | Warning
    reason: str
    message: str
    when: datetime | None
    count: int


def parse_event(ev: Mapping[str, Any]) -> HpaEvent:
    series = ev.get("series") or {}
    when = (parse_time(ev.get("lastTimestamp")) or parse_time(ev.get("eventTime"))
            or parse_time(series.get("lastObservedTime")) or parse_time(ev.get("firstTimestamp")))
    return HpaEvent(str(ev.get("type", "")), str(ev.get("reason", "")), str(ev.get("message") or ev.get("note") or ""),
                    when, int(ev.get("count") or series.get("count") or 1))
