"""The check configs the DCA should know, parsed from API dicts: Service annotations
(ad.datadoghq.com/service.* and .../endpoints.*), endpoint addresses, and the DCA's conf.d files
(reference: admission-and-clusterchecks.md B2). Pure parsing, no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from kubectl_datadog.errors import Forbidden

AD_PREFIX = "ad.datadoghq.com/"
LEGACY_ENDPOINTS_PREFIX = "service-discovery.datadoghq.com/endpoints."
SERVICE_PREFIX = AD_PREFIX + "service."
ENDPOINTS_PREFIX = AD_PREFIX + "endpoints."


@dataclass(frozen=True)
class Template:
    check: str
    instances: int

    def to_dict(self) -> dict[str, object]:
        return {"check": self.check, "instances": self.instances}


@dataclass(frozen=True)
class Annotations:
    """The check templates one annotation prefix declares (`service.` or `endpoints.`), or why they
    do not parse. `error` is what the DCA would log as "Cannot parse ... template"."""

    prefix: str  # the annotation prefix, e.g. ad.datadoghq.com/endpoints.
    form: str  # checks (AD v2) | check_names (v1)
    templates: tuple[Template, ...]
    error: str = ""
    key: str = ""  # the annotation at fault

    def to_dict(self) -> dict[str, object]:
        return {"prefix": self.prefix, "form": self.form, "templates": [t.to_dict() for t in self.templates],
                "error": self.error or None}


def _json(annotations: Mapping[str, str], key: str) -> tuple[Any, str]:
    try:
        return json.loads(annotations[key]), ""
    except ValueError as exc:
        return None, f"{key}: invalid JSON ({exc})"


def parse_annotations(annotations: Mapping[str, str], prefix: str) -> Annotations | None:
    """The templates under `prefix`, in the agent's order: `checks` (AD v2) wins over the v1 trio
    `check_names`/`init_configs`/`instances`, whose lists must be as long as each other."""
    checks_key = prefix + "checks"
    if checks_key in annotations:
        doc, err = _json(annotations, checks_key)
        if err:
            return Annotations(prefix, "checks", (), err, checks_key)
        if not isinstance(doc, dict) or not doc:
            return Annotations(prefix, "checks", (), f"{checks_key}: expected a JSON object of check names",
                               checks_key)
        out: list[Template] = []
        for name, body in doc.items():
            if not isinstance(body, dict):
                return Annotations(prefix, "checks", (), f"{checks_key}: {name} is not a JSON object", checks_key)
            instances = body.get("instances")
            if not isinstance(instances, list) or not instances:
                return Annotations(prefix, "checks", tuple(out), f"{checks_key}: {name} has no instances",
                                   checks_key)
            out.append(Template(str(name), len(instances)))
        return Annotations(prefix, "checks", tuple(out))
    names_key = prefix + "check_names"
    if names_key not in annotations:
        return None
    parsed: dict[str, Any] = {}
    for suffix in ("check_names", "init_configs", "instances"):
        key = prefix + suffix
        if key not in annotations:
            return Annotations(prefix, "check_names", (), f"{key} is missing", key)
        doc, err = _json(annotations, key)
        if err:
            return Annotations(prefix, "check_names", (), err, key)
        if not isinstance(doc, list):
            return Annotations(prefix, "check_names", (), f"{key}: expected a JSON list", key)
        parsed[suffix] = doc
    names, inits, insts = parsed["check_names"], parsed["init_configs"], parsed["instances"]
    if not (len(names) == len(inits) == len(insts)):
        return Annotations(prefix, "check_names", (),
                           f"{prefix}check_names, init_configs and instances have {len(names)}, {len(inits)} and "
                           f"{len(insts)} items: they must be as many", names_key)
    return Annotations(prefix, "check_names",
                       tuple(Template(str(n), len(i) if isinstance(i, list) else 1) for n, i in zip(names, insts, strict=True)))


@dataclass(frozen=True)
class Address:
    """A ready endpoint address: with a Pod targetRef (an endpoint check on that pod's node, in
    `auto` resolve mode) or without (a plain cluster check)."""

    ip: str
    pod: str  # namespace/name, "" without a Pod targetRef
    node: str

    def to_dict(self) -> dict[str, object]:
        return {"ip": self.ip, "pod": self.pod or None, "node": self.node or None}


@dataclass(frozen=True)
class AnnotatedService:
    namespace: str
    name: str
    service: Annotations | None  # ad.datadoghq.com/service.*
    endpoints: Annotations | None  # ad.datadoghq.com/endpoints.*
    resolve: str = "auto"  # ad.datadoghq.com/endpoints.resolve
    endpoints_read: bool = False  # the Endpoints (or slices) were read
    endpoints_exist: bool = False
    endpoints_forbidden: Forbidden | None = None
    addresses: tuple[Address, ...] = ()
    not_ready: int = 0

    @property
    def ref(self) -> str:
        return f"service/{self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, object]:
        return {"namespace": self.namespace, "name": self.name,
                "service": self.service.to_dict() if self.service else None,
                "endpoints": self.endpoints.to_dict() if self.endpoints else None,
                "resolve": self.resolve, "endpointsExist": self.endpoints_exist if self.endpoints_read else None,
                "readyAddresses": [a.to_dict() for a in self.addresses], "notReadyAddresses": self.not_ready}


def annotated_service(obj: Mapping[str, Any]) -> AnnotatedService | None:
    meta = obj.get("metadata") or {}
    ann = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    svc = parse_annotations(ann, SERVICE_PREFIX)
    ep = parse_annotations(ann, ENDPOINTS_PREFIX) or parse_annotations(ann, LEGACY_ENDPOINTS_PREFIX)
    if svc is None and ep is None:
        return None
    resolve = (ann.get(ENDPOINTS_PREFIX + "resolve") or "auto").strip() or "auto"
    return AnnotatedService(meta.get("namespace", ""), meta.get("name", ""), svc, ep, resolve)


def endpoints_addresses(obj: Mapping[str, Any]) -> tuple[tuple[Address, ...], int]:
    """Ready addresses of an Endpoints object (the provider skips notReadyAddresses), and how many
    are not ready."""
    out: list[Address] = []
    not_ready = 0
    for subset in obj.get("subsets") or ():
        for addr in subset.get("addresses") or ():
            out.append(_address(addr.get("ip", ""), addr.get("targetRef"), addr.get("nodeName")))
        not_ready += len(subset.get("notReadyAddresses") or ())
    return tuple(out), not_ready


def slice_addresses(objs: list[Mapping[str, Any]]) -> tuple[tuple[Address, ...], int]:
    from kubectl_datadog.objects import endpoint_ready

    out: list[Address] = []
    not_ready = 0
    for obj in objs:
        for ep in obj.get("endpoints") or ():
            if not endpoint_ready(ep):
                not_ready += 1
                continue
            for ip in ep.get("addresses") or ():
                out.append(_address(ip, ep.get("targetRef"), ep.get("nodeName")))
    return tuple(out), not_ready


def _address(ip: str, ref: Any, node: Any) -> Address:
    pod = ""
    if isinstance(ref, dict) and ref.get("kind") == "Pod" and ref.get("name"):
        pod = f"{ref.get('namespace', '')}/{ref['name']}"
    return Address(str(ip), pod, str(node or ""))


@dataclass(frozen=True)
class ConfdFile:
    """A check file the DCA reads from its conf.d (a ConfigMap key)."""

    configmap: str
    key: str
    check: str
    cluster_check: bool
    instances: int
    error: str = ""
    # advanced_ad_identifiers: the Services (kube_service) or Endpoints (kube_endpoints) it is bound to,
    # as (kind, namespace, name); `missing` holds those the API does not have (filled by collection).
    targets: tuple[tuple[str, str, str], ...] = ()
    missing: tuple[tuple[str, str, str], ...] = ()

    @property
    def ref(self) -> str:
        return f"configmap/{self.configmap}"

    def to_dict(self) -> dict[str, object]:
        return {"configMap": self.configmap, "key": self.key, "check": self.check, "clusterCheck": self.cluster_check,
                "instances": self.instances, "error": self.error or None,
                "targets": [f"{k}://{ns}/{n}" for k, ns, n in self.targets],
                "missingTargets": [f"{k}://{ns}/{n}" for k, ns, n in self.missing]}


def confd_file(configmap: str, key: str, text: str, check_dir: str = "") -> ConfdFile | None:
    """One ConfigMap key as a check file; None for keys that are not YAML check files."""
    if not (key.endswith((".yaml", ".yml", ".yaml.default"))):
        return None
    import yaml  # only when a conf.d ConfigMap is read: keeps the command's start-up light

    stem = key.split(".", 1)[0]
    check = check_dir or stem.split("--", 1)[0]
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return ConfdFile(configmap, key, check, False, 0, f"invalid YAML ({str(exc).splitlines()[0]})")
    if not isinstance(doc, dict):
        return ConfdFile(configmap, key, check, False, 0, "not a YAML mapping")
    instances = doc.get("instances")
    count = len(instances) if isinstance(instances, list) else 0
    return ConfdFile(configmap, key, check, bool(doc.get("cluster_check")), count,
                     "" if count or doc.get("ad_identifiers") else "no instances",
                     _targets(doc.get("advanced_ad_identifiers")))


def _targets(ids: Any) -> tuple[tuple[str, str, str], ...]:
    out = []
    for entry in ids if isinstance(ids, list) else ():
        for kind in ("kube_service", "kube_endpoints"):
            ref = entry.get(kind) if isinstance(entry, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                out.append((kind, str(ref.get("namespace") or "default"), str(ref["name"])))
    return tuple(out)
