"""metamap's pure parts: the DCA text format, the per-object reducers, filters and the comparison."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kubectl_datadog.collect.metamap import (
    ApiMap,
    Filters,
    endpoints_entries,
    reduce_into,
    resolve_mode,
    slice_entries,
)
from kubectl_datadog.diagnose.metamap import compare
from kubectl_datadog.textformats.metamap import MetaMap, MetamapParseError, parse_metamap, render_metamap

SEED = Path(__file__).parents[1] / "scenarios/metamap-seed/pods/default/datadog-cluster-agent-8568545574-x9tc9/exec"
N1, N2 = "gke-test-default-pool-068cb9c0-sf1w", "gke-test-default-pool-068cb9c0-wntj"


def seed_text() -> str:
    return (SEED / "datadog-cluster-agent_metamap.out").read_text()


# --- the DCA's text format ----------------------------------------------------------------

def test_seed_sample_parses_and_renders_back_byte_for_byte() -> None:
    m = parse_metamap(seed_text())
    assert sorted(m.nodes) == [N1, N2]
    assert m.services(N2, "default", "datadog-cluster-agent-8568545574-x9tc9") == {"datadog-custom-metrics-server", "dca"}
    assert m.services(N1, "kube-system", "kube-dns-788979dc8f-hzbj5") == {"kube-dns"}
    assert m.pod_count == 8 and m.warnings == [] and m.errors == ""
    assert render_metamap(m) == seed_text()


TEMPLATE_LAYOUT = (  # what the Go template really prints: two-space lines, unsorted services
    "===============\nMetadata Mapper\n===============\n\nNode detected: n1\n  \n  - Namespace: a\n"
    "      - Pod: p1\n        Services: [s2 s1]\n  \n  - Namespace: b\n      - Pod: p2\n        Services: [s3]\n  \n"
    "Node detected: n2\n  \n")


@pytest.mark.parametrize("text,nodes,warnings,errors", [
    (TEMPLATE_LAYOUT, {"n1": {"a": {"p1": {"s1", "s2"}}, "b": {"p2": {"s3"}}}, "n2": {}}, [], ""),
    ("===============\nMetadata Mapper\n===============\nWarnings:\n   - Node x could not be added to the service "
     "map bundle: the key agent/KubernetesMetadataMapping/x was not found in the cache\n\n   - second\n\n"
     "Node detected: y\n", {"y": {}},
     ["Node x could not be added to the service map bundle: the key agent/KubernetesMetadataMapping/x was not "
      "found in the cache", "second"], ""),
    ("===============\nMetadata Mapper\n===============Could not run the service mapper: Failed to get nodes "
     "from the API server: forbidden\n", {}, [], "Failed to get nodes from the API server: forbidden"),
    ("===============\nMetadata Mapper\n===============\n\nCould not run the service mapper: boom\n", {}, [], "boom"),
    ("Could not reach agent: Get \"https://localhost:5005/api/v1/tags/pod\": 503\n Make sure the agent is properly "
     "running before requesting the map of services to pods.\n", {}, [],
     "Get \"https://localhost:5005/api/v1/tags/pod\": 503 Make sure the agent is properly running before "
     "requesting the map of services to pods."),
    ("===============\nMetadata Mapper\n===============\n", {}, [], ""),
], ids=["template-layout-and-empty-node", "warnings", "error-glued-to-banner", "error-own-line",
        "could-not-reach-agent", "empty-map"])
def test_parse(text: str, nodes: dict, warnings: list, errors: str) -> None:
    m = parse_metamap(text)
    assert m.nodes == nodes
    assert m.warnings == warnings
    assert m.errors == errors


@pytest.mark.parametrize("text", [
    "Error: unknown command \"metamap\" for \"datadog-cluster-agent\"\n",
    "===============\nMetadata Mapper\n===============\n      - Pod: p\n",
    "===============\nMetadata Mapper\n===============\nNode detected: n\n      - Pod: p\n",
    "===============\nMetadata Mapper\n===============\nNode detected: n\n  something else\n",
], ids=["not-metamap", "pod-before-node", "pod-without-namespace", "garbage-line"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(MetamapParseError):
        parse_metamap(text)


def test_render_warnings_errors_and_empty_nodes_round_trip() -> None:
    m = MetaMap(warnings=["Node z could not be added"])
    m.add_node("empty")
    m.add("n", "ns", "p", "b")
    m.add("n", "ns", "p", "a")
    text = render_metamap(m)
    assert "Warnings:\n   - Node z could not be added\n" in text
    assert "Node detected: empty\n\nNode detected: n\n\n  - Namespace: ns\n      - Pod: p\n        Services: [a b]\n" in text
    again = parse_metamap(text)
    assert again.nodes == m.nodes and again.warnings == m.warnings
    assert render_metamap(MetaMap(errors="boom")).endswith("\nCould not run the service mapper: boom\n")


# --- what one Endpoints / EndpointSlice gives the DCA ------------------------------------

def _addr(pod: str | None, node: str | None, kind: str = "Pod", ns: str = "default") -> dict:
    a: dict = {"ip": "10.0.0.1"}
    if pod is not None:
        a["targetRef"] = {"kind": kind, "name": pod, "namespace": ns}
    if node is not None:
        a["nodeName"] = node
    return a


@pytest.mark.parametrize("subset,entries,skipped", [
    ({"addresses": [_addr("p", "n")]}, [("n", "default", "p", "svc", True)], {}),
    ({"notReadyAddresses": [_addr("p", "n")]}, [("n", "default", "p", "svc", False)], {}),
    ({"addresses": [_addr(None, "n")]}, [], {"noPodTargetRef": 1}),
    ({"addresses": [_addr("p", None)]}, [], {"noNodeName": 1}),
    ({"addresses": [_addr("n1", "n", kind="Node")]}, [], {"noPodTargetRef": 1}),
    ({"addresses": [_addr("p", "n", ns="")]}, [], {"noPodTargetRef": 1}),
    ({"addresses": [_addr("p", "n", ns="other")]}, [("n", "other", "p", "svc", True)], {}),
], ids=["ready", "not-ready", "no-targetref", "no-node", "node-targetref", "incomplete-ref", "pod-namespace-from-ref"])
def test_endpoints_entries(subset: dict, entries: list, skipped: dict) -> None:
    counter: Counter[str] = Counter()
    obj = {"metadata": {"name": "svc", "namespace": "default"}, "subsets": [subset]}
    assert list(endpoints_entries(obj, counter)) == entries
    assert dict(counter) == skipped


def _slice(endpoints: list[dict], label: str | None = "svc") -> dict:
    labels = {"kubernetes.io/service-name": label} if label is not None else {}
    return {"metadata": {"name": "svc-abcde", "namespace": "default", "labels": labels}, "endpoints": endpoints}


def _ep(pod: str | None, node: str | None, ready: bool | None = True) -> dict:
    e: dict = {"addresses": ["10.0.0.1"]}
    if ready is not None:
        e["conditions"] = {"ready": ready}
    if pod is not None:
        e["targetRef"] = {"kind": "Pod", "name": pod, "namespace": "default"}
    if node is not None:
        e["nodeName"] = node
    return e


@pytest.mark.parametrize("obj,entries", [
    (_slice([_ep("p", "n")]), [("n", "default", "p", "svc", True)]),
    (_slice([_ep("p", "n", ready=False)]), [("n", "default", "p", "svc", False)]),
    (_slice([_ep("p", "n", ready=None)]), [("n", "default", "p", "svc", True)]),
    (_slice([_ep(None, "n")]), []),
    (_slice([_ep("p", None)]), []),
    (_slice([_ep("p", "n")], label=None), []),
    (_slice([_ep("p", "n")], label=""), []),
], ids=["ready", "not-ready-is-still-an-entry", "ready-unknown", "no-targetref", "no-node", "no-label", "empty-label"])
def test_slice_entries(obj: dict, entries: list) -> None:
    assert list(slice_entries(obj)) == entries


@pytest.mark.parametrize("mode,mapped,not_ready", [
    ("endpoints", {"ready-pod"}, {("n", "default", "unready-pod", "svc")}),
    ("endpointslices", {"ready-pod", "unready-pod"}, set()),
], ids=["endpoints-ignores-not-ready", "slices-do-not-check-ready"])
def test_reduce_not_ready_follows_the_dca(mode: str, mapped: set, not_ready: set) -> None:
    if mode == "endpoints":
        items = [{"metadata": {"name": "svc"}, "subsets": [{"addresses": [_addr("ready-pod", "n")],
                                                            "notReadyAddresses": [_addr("unready-pod", "n")]}]}]
    else:
        items = [_slice([_ep("ready-pod", "n"), _ep("unready-pod", "n", ready=False)])]
    target = ApiMap(mode, MetaMap(), None)
    reduce_into(target, iter(items), Filters())
    assert set(target.map.nodes["n"]["default"]) == mapped
    assert target.not_ready == not_ready
    assert target.objects == 1


def test_slices_of_one_service_aggregate() -> None:
    target = ApiMap("endpointslices", MetaMap(), None)
    reduce_into(target, iter([_slice([_ep("a", "n1")]), _slice([_ep("b", "n2")]),
                              _slice([_ep("a", "n1")], label="other")]), Filters())
    assert target.map.nodes == {"n1": {"default": {"a": {"svc", "other"}}}, "n2": {"default": {"b": {"svc"}}}}


@pytest.mark.parametrize("filters,pods", [
    (Filters(node="n1"), {"web-1", "dns-1"}),
    (Filters(namespace="kube-system"), {"dns-1", "dns-2"}),
    (Filters(pod="dns-*"), {"dns-1", "dns-2"}),
    (Filters(pod="web-1"), {"web-1"}),
    (Filters(node="n2", pod="dns-*"), {"dns-2"}),
], ids=["node", "namespace", "pod-pattern", "pod-exact", "node-and-pod"])
def test_filters_apply_while_streaming(filters: Filters, pods: set) -> None:
    items = [{"metadata": {"name": "web"}, "subsets": [{"addresses": [_addr("web-1", "n1"), _addr("web-2", "n2")]}]},
             {"metadata": {"name": "dns"}, "subsets": [{"addresses": [_addr("dns-1", "n1", ns="kube-system"),
                                                                      _addr("dns-2", "n2", ns="kube-system")]}]}]
    target = ApiMap("endpoints", MetaMap(), None)
    reduce_into(target, iter(items), filters)
    assert {p for _, _, p, _ in target.map.rows()} == pods


@pytest.mark.parametrize("requested,use_slices,expected", [
    ("endpoints", True, "endpoints"),
    ("endpointslices", False, "endpointslices"),
    ("auto", True, "endpointslices"),
    ("auto", False, "endpoints"),
    ("auto", None, "endpoints"),
], ids=["flag-endpoints", "flag-slices", "auto-slices", "auto-endpoints", "auto-no-install"])
def test_resolve_mode(requested: str, use_slices: bool | None, expected: str) -> None:
    from kubectl_datadog.install import DcaSettings, Install
    from kubectl_datadog.objects import EnvVar

    install = None
    if use_slices is not None:
        env = {"DD_KUBERNETES_USE_ENDPOINT_SLICES": EnvVar("DD_KUBERNETES_USE_ENDPOINT_SLICES", str(use_slices).lower())}
        install = Install("datadog", "datadog", "helm", "datadog-cluster-agent", (), (),
                          settings=DcaSettings.from_env(env, "datadog"))
    assert resolve_mode(requested, install)[0] == expected


# --- comparison -----------------------------------------------------------------------------

def _map(*entries: tuple[str, str, str, str], nodes: tuple[str, ...] = ()) -> MetaMap:
    m = MetaMap()
    for n in nodes:
        m.add_node(n)
    for e in entries:
        m.add(*e)
    return m


@pytest.mark.parametrize("api,dca,api_nodes,not_ready,diffs", [
    (_map(("n", "ns", "p", "s")), _map(("n", "ns", "p", "s")), frozenset({"n"}), set(), []),
    (_map(nodes=("n",)), _map(("n", "ns", "old", "s")), frozenset({"n"}), set(), [("old", "stale")]),
    (_map(("n", "ns", "p", "s")), _map(nodes=("n",)), frozenset({"n"}), set(), [("p", "missing")]),
    (_map(("n", "ns", "p", "a")), _map(("n", "ns", "p", "b")), frozenset({"n"}), set(), [("p", "stale+missing")]),
    (_map(nodes=("n",)), _map(("n", "ns", "p", "s")), frozenset({"n"}), {("n", "ns", "p", "s")}, [("p", "not-ready")]),
    (_map(("n", "ns", "p", "s"), nodes=("m",)), _map(("n", "ns", "p", "s")), frozenset({"n", "m"}), set(),
     [("", "node-missing")]),
    (_map(("n", "ns", "p", "s")), _map(nodes=("n",)), None, set(), [("p", "missing")]),
    (_map(("m", "ns", "p1", "s"), ("m", "ns2", "p2", "t"), nodes=("m",)), _map(), frozenset({"m"}), set(),
     [("p1", "node-missing"), ("p2", "node-missing")]),
], ids=["equal", "stale-pod", "missing-pod", "service-changed", "not-ready-explained", "node-missing",
        "nodes-not-listed", "node-missing-lists-its-pods"])
def test_compare(api: MetaMap, dca: MetaMap, api_nodes: frozenset | None, not_ready: set, diffs: list) -> None:
    rows = compare(api, dca, api_nodes=api_nodes, not_ready=not_ready)
    assert [(r.pod, r.difference) for r in rows] == diffs


def test_report_rows_are_the_maps_rows_read_lazily() -> None:
    from kubectl_datadog.diagnose.metamap import MapRow, MapRows

    m = MetaMap()
    m.add_node("empty")
    m.add("n2", "ns", "b", "s2")
    m.add("n2", "ns", "a", "s1")
    m.add("n2", "ns", "a", "s0")
    m.add("n1", "kube-system", "dns", "kube-dns")
    rows = MapRows(m)
    expected = [MapRow("empty", "", "", ()), MapRow("n1", "kube-system", "dns", ("kube-dns",)),
                MapRow("n2", "ns", "a", ("s0", "s1")), MapRow("n2", "ns", "b", ("s2",))]
    assert list(rows) == expected and list(rows) == expected  # iterable more than once
    assert len(rows) == 4 and bool(rows) and rows[1].pod == "dns" and rows[-1] == expected[-1]
    m.add("n1", "kube-system", "dns2", "kube-dns")  # produced when read, from the map as it is
    assert len(rows) == 5 and [r.pod for r in rows][:3] == ["", "dns", "dns2"]
    assert not MapRows(MetaMap())


# --- what the DCA's log says about its mapper ------------------------------------------------------

_FORBIDDEN = ('endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:datadog:dca" cannot list '
              'resource "endpointslices" in API group "discovery.k8s.io" at the cluster scope')
_PLAIN = ("2026-11-27 11:59:31 UTC | CLUSTER | WARN | (pkg/util/log/klog_redirect.go:39 in Write) | reflector.go:561] "
          "k8s.io/client-go/informers/factory.go:160: failed to list *v1.EndpointSlice: " + _FORBIDDEN)
_STRUCTURED = ('2026-11-27 11:59:31 UTC | CLUSTER | ERROR | (pkg/util/log/klog_redirect.go:39 in Write) | '
               'reflector.go:158] "Unhandled Error" err="k8s.io/client-go/informers/factory.go:160: Failed to watch '
               '*v1.EndpointSlice: failed to list *v1.EndpointSlice: ' + _FORBIDDEN.replace('"', '\\"')
               + '" logger="UnhandledError"')
_NODES = ("E1127 11:59:40.000000       1 reflector.go:561] failed to watch *v1.Node: Get "
          '"https://10.0.0.1:443/api/v1/nodes?watch=true": dial tcp 10.0.0.1:443: i/o timeout')


@pytest.mark.parametrize("lines,failures", [
    ([_PLAIN], [("list", "endpointslices", _FORBIDDEN, 1, True)]),
    ([_STRUCTURED, _PLAIN], [("list", "endpointslices", _FORBIDDEN, 2, True)]),
    ([_NODES], [("watch", "nodes", 'Get "https://10.0.0.1:443/api/v1/nodes?watch=true": dial tcp 10.0.0.1:443: '
                 "i/o timeout", 1, False)]),
    (["failed to list *v1.ConfigMap: configmaps is forbidden"], []),  # not something the mapper reads
], ids=["plain-klog", "structured-klog-unescaped", "not-forbidden", "other-kind-ignored"])
def test_mapper_log(lines: list[str], failures: list[tuple]) -> None:
    from kubectl_datadog.textformats.metamap import mapper_log

    log = mapper_log("\n".join(["... | Starting metadata controller", *lines]))
    assert [(f.verb, f.resource, f.message, f.count, f.forbidden) for f in log.failures] == failures
    assert log.started and log.lines == len(lines) + 1
