"""The DCA's pod -> services map (`MetadataResponse`) and its `metamap` text format. No I/O.

The DCA serves `{"Nodes": {node: {"services": {ns: {pod: {svc: {}}}}}}, "Warnings": [...],
"Errors": "..."}` and `datadog-cluster-agent metamap` prints it through the `metadatamapper.tmpl`
Go template (reference 2.3):

    ===============
    Metadata Mapper
    ===============

    Node detected: <node>

      - Namespace: <ns>
          - Pod: <pod>
            Services: [svc1 svc2]

Nodes, namespaces and pods come out in sorted order (Go templates range over map keys sorted);
the services inside the brackets are a Go set, so their order is arbitrary: we sort them.
The real template leaves two-space lines where the docs show blank ones; the parser accepts both
and the renderer writes the docs' (seed) layout. With warnings the template prints
`Warnings:` and `   - <warning>` lines; with errors `Could not run the service mapper: <err>`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Iterator

BANNER = "==============="
TITLE = "Metadata Mapper"
ERROR_PREFIX = "Could not run the service mapper:"
UNREACHABLE_PREFIX = "Could not reach agent:"

_NODE = re.compile(r"^Node detected:\s*(\S*)\s*$")
_NS = re.compile(r"^\s*- Namespace:\s*(\S+)\s*$")
_POD = re.compile(r"^\s*- Pod:\s*(\S+)\s*$")
_SERVICES = re.compile(r"^\s*Services:\s*\[(.*)\]\s*$")
_WARNING = re.compile(r"^\s+- (.+?)\s*$")

PodServices = dict[str, set[str]]  # pod -> services


@dataclass
class MetaMap:
    """node -> namespace -> pod -> services, plus the warnings and error of the answer.

    Built incrementally (`add`) from streamed list pages: strings are interned so ten thousand
    endpoints on one node share one node-name string, and nothing of the raw objects is kept."""

    nodes: dict[str, dict[str, PodServices]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: str = ""

    def add_node(self, node: str) -> None:
        self.nodes.setdefault(sys.intern(node), {})

    def add(self, node: str, namespace: str, pod: str, service: str) -> None:
        # Called once per endpoint (100,000 times on a large cluster): look up before creating,
        # and intern a node or namespace only when it becomes a key.
        by_ns = self.nodes.get(node)
        if by_ns is None:
            by_ns = self.nodes[sys.intern(node)] = {}
        pods = by_ns.get(namespace)
        if pods is None:
            pods = by_ns[sys.intern(namespace)] = {}
        services = pods.get(pod)
        if services is None:
            pods[pod] = {sys.intern(service)}
        else:
            services.add(sys.intern(service))

    def services(self, node: str, namespace: str, pod: str) -> set[str]:
        return self.nodes.get(node, {}).get(namespace, {}).get(pod, set())

    def rows(self) -> Iterator[tuple[str, str, str, tuple[str, ...]]]:
        """(node, namespace, pod, services) sorted like the DCA prints them; an empty node gives
        one row (node, "", "", ())."""
        for node in sorted(self.nodes):
            namespaces = self.nodes[node]
            if not any(namespaces.values()):
                yield node, "", "", ()
                continue
            for ns in sorted(namespaces):
                pods = namespaces[ns]
                for pod in sorted(pods):
                    yield node, ns, pod, tuple(sorted(pods[pod]))

    @property
    def pod_count(self) -> int:
        return sum(len(pods) for nss in self.nodes.values() for pods in nss.values())

    def filtered(self, *, node: str | None = None, namespace: str | None = None,
                 pod: str | None = None) -> "MetaMap":
        """The entries matching the filters (pod: exact name or shell-style pattern). With a pod or
        namespace filter, nodes left without entries are dropped: they answer nothing asked."""
        out = MetaMap(warnings=list(self.warnings), errors=self.errors)
        for n, namespaces in self.nodes.items():
            if node is not None and n != node:
                continue
            kept: dict[str, PodServices] = {}
            for ns, pods in namespaces.items():
                if namespace is not None and ns != namespace:
                    continue
                chosen = {p: s for p, s in pods.items() if pod is None or fnmatchcase(p, pod)}
                if chosen:
                    kept[ns] = chosen
            if kept or (pod is None and namespace is None):
                out.nodes[n] = kept
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON shape close to the DCA's MetadataResponse, services as sorted lists."""
        # Sorting the keys, not the items: comparing tuples costs twice as much at 100,000 pods.
        return {"nodes": {n: {ns: {p: sorted(pods[p]) for p in sorted(pods)}
                              for ns in sorted(nss) for pods in (nss[ns],)}
                          for n in sorted(self.nodes) for nss in (self.nodes[n],)},
                "warnings": list(self.warnings), "errors": self.errors or None}


def render_metamap(m: MetaMap) -> str:
    """The map in `datadog-cluster-agent metamap`'s text layout (the docs'/seed's rendering)."""
    lines = [BANNER, TITLE, BANNER]
    if m.errors:
        lines += ["", f"{ERROR_PREFIX} {m.errors}"]
        return "\n".join(lines) + "\n"
    if m.warnings:
        lines.append("Warnings:")
        for w in m.warnings:
            lines += [f"   - {w}", ""]
    for node in sorted(m.nodes):
        if lines[-1] != "":
            lines.append("")
        lines += [f"Node detected: {node}", ""]
        for ns in sorted(m.nodes[node]):
            pods = m.nodes[node][ns]
            if not pods:
                continue
            lines.append(f"  - Namespace: {ns}")
            for pod in sorted(pods):
                lines += [f"      - Pod: {pod}", f"        Services: [{' '.join(sorted(pods[pod]))}]"]
            lines.append("")
    while len(lines) > 3 and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


class MetamapParseError(ValueError):
    pass


def parse_metamap(text: str) -> MetaMap:
    """Parse `metamap` output (also the flare's cluster-agent-metadatamapper.log). Raises
    MetamapParseError when the text is not a metamap answer at all (no banner, no error line)."""
    m = MetaMap()
    if UNREACHABLE_PREFIX in text:
        # The CLI could not get the map (e.g. the 503 of "Failed to get nodes from the API server").
        m.errors = " ".join(text[text.index(UNREACHABLE_PREFIX) + len(UNREACHABLE_PREFIX):].split())
        return m
    if TITLE not in text and ERROR_PREFIX not in text:
        raise MetamapParseError("not a metamap answer (no \"Metadata Mapper\" banner)")
    if ERROR_PREFIX in text:
        # The template glues the error to the banner line in some versions: find it anywhere.
        rest = text[text.index(ERROR_PREFIX) + len(ERROR_PREFIX):].strip()
        m.errors = rest.splitlines()[0].strip() if rest else "unknown error"
        return m
    node = ns = pod = None
    in_warnings = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.strip() in (BANNER, TITLE) or set(line.strip()) == {"="}:
            continue
        if line.strip() == "Warnings:":
            in_warnings = True
            continue
        match = _NODE.match(line)
        if match:
            in_warnings = False
            node, ns, pod = match.group(1), None, None
            m.add_node(node)
            continue
        if in_warnings:
            w = _WARNING.match(line)
            if w:
                m.warnings.append(w.group(1))
                continue
        if node is None:
            raise MetamapParseError(f"unexpected line before any node: {line.strip()!r}")
        match = _NS.match(line)
        if match:
            ns, pod = match.group(1), None
            continue
        match = _POD.match(line)
        if match:
            if ns is None:
                raise MetamapParseError(f"pod without a namespace: {line.strip()!r}")
            pod = match.group(1)
            m.nodes[node].setdefault(ns, {}).setdefault(pod, set())
            continue
        match = _SERVICES.match(line)
        if match and pod is not None and ns is not None:
            for svc in match.group(1).split():
                m.add(node, ns, pod, svc)
            continue
        raise MetamapParseError(f"unexpected line: {line.strip()!r}")
    return m


# --- what the DCA's log says about its metadata mapper --------------------------------------------
#
# The mapper is fed by client-go informers (Endpoints or EndpointSlices, and Nodes through
# workloadmeta, which also watches Pods and Services). A reflector that cannot list or watch logs
# `failed to list *v1.EndpointSlice: <the API server's error>` (older client-go), or
# `"Failed to watch" err="failed to list *v1.EndpointSlice: ..."` (newer, structured); the DCA
# redirects client-go's klog output into its own log (datadog-agent pkg/util/log/klog_redirect.go).
# The last `failed to <verb> *v1.<Kind>` of a line is the innermost error, the one that names it.

MAPPER_KINDS = {"Endpoints": "endpoints", "EndpointSlice": "endpointslices", "Pod": "pods", "Node": "nodes",
                "Service": "services"}
MAPPER_STARTED = "Starting metadata controller"
_REFLECTOR_FAILURE = re.compile(r"failed to (list|watch) \*v1\.(" + "|".join(MAPPER_KINDS) + r")\b:?\s*",
                                re.IGNORECASE)
_STRUCTURED_REST = re.compile(r'"\s+\w+=')  # where a structured line's err="..." field ends


@dataclass(frozen=True)
class MapperFailure:
    """The last reflector failure the log shows for one (verb, resource) the mapper needs."""

    verb: str  # list | watch
    resource: str  # endpoints | endpointslices | pods | nodes | services
    message: str  # the API server's error, e.g. `endpointslices.discovery.k8s.io is forbidden: ...`
    count: int = 1  # lines with this failure in the window read

    @property
    def forbidden(self) -> bool:
        return " is forbidden" in self.message or "Forbidden" in self.message

    def to_dict(self) -> dict[str, object]:
        return {"verb": self.verb, "resource": self.resource, "message": self.message, "lines": self.count}


@dataclass(frozen=True)
class MapperLog:
    failures: tuple[MapperFailure, ...]
    started: bool  # the window shows "Starting metadata controller"
    lines: int  # lines read

    def to_dict(self) -> dict[str, object]:
        return {"linesRead": self.lines, "controllerStarted": self.started,
                "failures": [f.to_dict() for f in self.failures]}


def mapper_log(text: str) -> MapperLog:
    """The informer failures (per verb and resource, the last one) and the controller's start in a
    DCA log."""
    found: dict[tuple[str, str], MapperFailure] = {}
    started = False
    lines = text.splitlines()
    for line in lines:
        if MAPPER_STARTED in line:
            started = True
        matches = list(_REFLECTOR_FAILURE.finditer(line))
        if not matches:
            continue
        last = matches[-1]
        verb, kind = last.group(1).lower(), next(k for k in MAPPER_KINDS if k.lower() == last.group(2).lower())
        message = _STRUCTURED_REST.split(line[last.end():], 1)[0].replace('\\"', '"').strip().strip('"')
        key = (verb, MAPPER_KINDS[kind])
        count = found[key].count + 1 if key in found else 1
        found[key] = MapperFailure(verb, MAPPER_KINDS[kind], message, count)
    return MapperLog(tuple(found[k] for k in sorted(found)), started, len(lines))
