"""Typed views of the Kubernetes objects the commands read, parsed from plain API dicts.

Parsing lives here, once, for the real client and the fake alike. Secrets never pass through
these types as plain strings: see model.SecretValue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from kubectl_datadog.model import SecretValue
from kubectl_datadog.times import parse_time

TRUE_STRINGS = {"1", "t", "true", "yes", "y", "on"}  # viper/cast.ToBool, as the agents parse env


def as_bool(value: str | None, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_STRINGS


@dataclass(frozen=True)
class EnvVar:
    """One env var of a container spec. `value` is the literal or resolved value (never for
    secrets); `source` says where it comes from: value, secret, configmap, field, resource."""

    name: str
    value: str | None
    source: str = "value"
    ref_name: str = ""  # Secret/ConfigMap name, or the fieldPath
    ref_key: str = ""

    @property
    def is_env_from(self) -> bool:
        """An envFrom source (named `<prefix>*`): every key of a Secret/ConfigMap becomes a variable."""
        return self.name.endswith("*")

    def env_from_key(self, variable: str) -> str | None:
        """The key of this envFrom source that would set `variable` (its name without the prefix),
        or None when `variable` does not carry the prefix or this is not an envFrom source."""
        prefix = self.name[:-1]
        if not self.is_env_from or not variable.startswith(prefix):
            return None
        return variable[len(prefix):]

    def describe_source(self) -> str:
        if self.source == "secret":
            return f"secret {self.ref_name}/{self.ref_key}" if self.ref_key else f"secret {self.ref_name}"
        if self.source == "configmap":
            return f"configmap {self.ref_name}/{self.ref_key}" if self.ref_key else f"configmap {self.ref_name}"
        if self.source == "field":
            return f"field {self.ref_name}"
        return self.source


def parse_env(container: Mapping[str, Any]) -> tuple[EnvVar, ...]:
    out: list[EnvVar] = []
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        if src.get("secretRef"):
            out.append(EnvVar(f"{prefix}*", None, "secret", src["secretRef"].get("name", "")))
        elif src.get("configMapRef"):
            out.append(EnvVar(f"{prefix}*", None, "configmap", src["configMapRef"].get("name", "")))
    for e in container.get("env") or []:
        name = e.get("name", "")
        vf = e.get("valueFrom")
        if not vf:
            out.append(EnvVar(name, str(e.get("value", ""))))
        elif vf.get("secretKeyRef"):
            r = vf["secretKeyRef"]
            out.append(EnvVar(name, None, "secret", r.get("name", ""), r.get("key", "")))
        elif vf.get("configMapKeyRef"):
            r = vf["configMapKeyRef"]
            out.append(EnvVar(name, None, "configmap", r.get("name", ""), r.get("key", "")))
        elif vf.get("fieldRef"):
            out.append(EnvVar(name, None, "field", vf["fieldRef"].get("fieldPath", "")))
        else:
            out.append(EnvVar(name, None, "resource", str(next(iter(vf), ""))))
    return tuple(out)


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    env: tuple[EnvVar, ...]
    ports: tuple[tuple[str, int], ...]  # (name, containerPort)
    ready: bool = False

    def env_map(self) -> dict[str, EnvVar]:
        return {e.name: e for e in self.env if not e.is_env_from}


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    node: str
    phase: str
    ready: bool
    ip: str
    labels: Mapping[str, str]
    containers: tuple[Container, ...]
    owner_kind: str
    owner_name: str
    created: datetime | None
    deleting: bool
    service_account: str
    enable_service_links: bool

    @property
    def ref(self) -> str:
        return f"pod/{self.namespace}/{self.name}"

    def container(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name), None)

    def port_named(self, name: str) -> int | None:
        """The containerPort called `name` in any of the pod's containers, as Kubernetes resolves a
        Service's named targetPort; None when no container names a port so."""
        return next((number for c in self.containers for n, number in c.ports if n == name), None)

    @property
    def ready_count(self) -> str:
        return f"{sum(c.ready for c in self.containers)}/{len(self.containers)}"

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "Pod":
        meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
        statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
        containers = []
        for c in spec.get("containers") or []:
            st = statuses.get(c.get("name")) or {}
            ports = tuple((p.get("name", ""), int(p.get("containerPort", 0))) for p in c.get("ports") or [])
            containers.append(Container(c.get("name", ""), c.get("image", ""), parse_env(c), ports,
                                        bool(st.get("ready"))))
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        owner = next(iter(meta.get("ownerReferences") or []), {})
        return cls(
            namespace=meta.get("namespace", ""), name=meta.get("name", ""),
            node=spec.get("nodeName", "") or "", phase=status.get("phase", "") or "Unknown",
            ready=conditions.get("Ready") == "True", ip=status.get("podIP", "") or "",
            labels=dict(meta.get("labels") or {}), containers=tuple(containers),
            owner_kind=owner.get("kind", ""), owner_name=owner.get("name", ""),
            created=parse_time(meta.get("creationTimestamp")), deleting=bool(meta.get("deletionTimestamp")),
            service_account=spec.get("serviceAccountName", "")
            or "default", enable_service_links=spec.get("enableServiceLinks", True) is not False)


def selector_selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A Service's selector against a pod's labels: every pair must match, and an empty selector
    selects nothing (such a Service gets no endpoints from the endpoints controller)."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def endpoint_ready(endpoint: Mapping[str, Any]) -> bool:
    """An EndpointSlice endpoint's readiness: an unset `conditions.ready` means ready
    (discovery.k8s.io/v1: "nil should be interpreted as true")."""
    return (endpoint.get("conditions") or {}).get("ready") is not False


def _decode_b64(b64: Any) -> str:
    """A Secret's `data` value as text (a value that is not base64 decodes to empty)."""
    import base64
    import binascii

    try:
        raw = base64.b64decode(str(b64 or ""), validate=False)
    except (binascii.Error, ValueError):
        raw = b""
    return raw.decode("utf-8", "replace")


def decode_base64_field(b64: Any) -> str:
    """A base64 API field that holds text (a webhook's caBundle, a Secret's certificate) as text."""
    return _decode_b64(b64)


def secret_values(secret: Mapping[str, Any] | None) -> dict[str, SecretValue]:
    """A Secret's keys and values, decoded, each wrapped at once so it can be measured but never
    printed. `data` is base64 (a value that is not decodes to empty); `stringData` is plain text."""
    out: dict[str, SecretValue] = {}
    for key, b64 in ((secret or {}).get("data") or {}).items():
        out[str(key)] = SecretValue(_decode_b64(b64))
    for key, text in ((secret or {}).get("stringData") or {}).items():
        out[str(key)] = SecretValue(str(text or ""))
    return out


def setting_from_secret(secret: Mapping[str, Any] | None, key: str) -> str | None:
    """A DCA setting (one of install.SETTING_NAMES, never a key or token) that its pod takes from a
    Secret, as text; None when the Secret has no such key."""
    data = (secret or {}).get("data") or {}
    if key in data:
        return _decode_b64(data[key])
    string_data = (secret or {}).get("stringData") or {}
    return str(string_data[key]) if key in string_data else None


def resolve_field(pod: Pod, path: str) -> str | None:
    return {"metadata.name": pod.name, "metadata.namespace": pod.namespace, "spec.nodeName": pod.node,
            "status.podIP": pod.ip, "spec.serviceAccountName": pod.service_account}.get(path)


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    target_port: str  # number or name, as a string
    protocol: str = "TCP"


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    cluster_ip: str
    ports: tuple[ServicePort, ...]
    selector: Mapping[str, str]
    created: datetime | None = None
    type: str = "ClusterIP"

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "Service":
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        ports = tuple(ServicePort(p.get("name", "") or "", int(p.get("port", 0)),
                                  str(p.get("targetPort", p.get("port", ""))), p.get("protocol", "TCP"))
                      for p in spec.get("ports") or [])
        return cls(meta.get("namespace", ""), meta.get("name", ""), spec.get("clusterIP", "") or "", ports,
                   dict(spec.get("selector") or {}), parse_time(meta.get("creationTimestamp")),
                   spec.get("type", "ClusterIP"))


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition: datetime | None = None
    last_update: datetime | None = None

    @classmethod
    def from_dict(cls, c: Mapping[str, Any]) -> "Condition":
        return cls(str(c.get("type", "")), str(c.get("status", "")), str(c.get("reason", "") or ""),
                   str(c.get("message", "") or ""), parse_time(c.get("lastTransitionTime")),
                   parse_time(c.get("lastUpdateTime")))


def conditions(obj: Mapping[str, Any]) -> dict[str, Condition]:
    return {c.type: c for c in (Condition.from_dict(x) for x in (obj.get("status") or {}).get("conditions") or [])}
