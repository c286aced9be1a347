"""`kubectl-datadog metamap` against the real apiserver: Endpoints and EndpointSlices written by the real
controllers (or, for selectorless Services, by the scenario), the DCA's answer through kwok exec."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.cli.test_metamap import N1, N2, N3, SEED_ROWS  # the guide's sample map, shared with the fake tests

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SEED_OUT = SCENARIOS / "metamap-seed/pods/default/datadog-cluster-agent-8568545574-x9tc9/exec/datadog-cluster-agent_metamap.out"


def _until(fn, timeout: float = 60.0):
    """The endpoints controllers fill Endpoints/EndpointSlices asynchronously: wait for them."""
    deadline = time.monotonic() + timeout
    last = fn()
    while not last[0] and time.monotonic() < deadline:
        time.sleep(1)
        last = fn()
    return last[1]


def _rows(c, *args: str) -> list[list[str]]:
    def once():
        r = c.run(["kubectl-datadog", "metamap", "--no-headers", *args])
        rows = [line.split() for line in r.stdout.splitlines()]
        return r.returncode == 0 and rows == SEED_ROWS, rows
    return _until(once)


@pytest.mark.parametrize("mode", ["endpoints", "endpointslices"])
def test_seed_table_matches_the_sample_in_both_modes(e2e_cluster, mode: str) -> None:
    c = e2e_cluster("metamap-seed")
    assert _rows(c, "--mode", mode) == SEED_ROWS


def test_seed_dca_text_and_source_both_through_kubectl(e2e_cluster) -> None:
    c = e2e_cluster("metamap-seed")
    _rows(c)
    r = c.run(["kubectl-datadog", "metamap", "-o", "dca-text"])
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == SEED_OUT.read_text()
    # the DCA's own answer, exec'd in the leader through the real pods/exec stream
    r = c.kubectl("datadog", "metamap", "--source", "dca", "-o", "dca-text")
    assert (r.returncode, r.stdout) == (0, SEED_OUT.read_text()), r.stderr
    r = c.kubectl("datadog", "metamap", "--source", "both", "--fail-on", "warning")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("No differences: the Cluster Agent's map matches the API (8 pods on 2 nodes).")


def test_stale_dca_map_reports_exactly_the_differing_pods(e2e_cluster) -> None:
    c = e2e_cluster("metamap-stale")
    _rows(c, "-n", "kube-system")  # wait for the controllers (kube-system rows are a subset: ignore the result)

    def once():
        r = c.run(["kubectl-datadog", "metamap", "--source", "both", "-o", "json"])
        if r.returncode != 0:
            return False, r
        diffs = {(d["node"], d["pod"], d["difference"]) for d in json.loads(r.stdout)["differences"]}
        return len(diffs) == 4, r
    r = _until(once)
    doc = json.loads(r.stdout)
    assert {(d["node"], d["pod"], d["difference"]) for d in doc["differences"]} == {
        (N2, "kube-dns-788979dc8f-zz9xx", "stale"),
        (N2, "l7-default-backend-5d5b9874d5-b2lts", "stale"),
        (N2, "metrics-server-v0.2.1-7486f5bd67-v827f", "missing"),
        (N3, None, "node-missing"),
    }
    r = c.run(["kubectl-datadog", "metamap", "--source", "both", "--fail-on", "warning"])
    assert r.returncode == 3


def test_edge_cases_on_the_helm_install(e2e_cluster) -> None:
    c = e2e_cluster("metamap-edge")

    def doc(mode: str):
        def once():
            r = c.run(["kubectl-datadog", "metamap", "--mode", mode, "-o", "json"])
            d = json.loads(r.stdout) if r.returncode == 0 else {}
            dca_pods = d.get("nodes", {}).get(N2, {}).get("datadog", {})
            return bool(dca_pods) and bool(d["nodes"].get(N1, {}).get("default")), d
        return _until(once)

    ep, sl = doc("endpoints"), doc("endpointslices")
    for d in (ep, sl):
        assert d["nodes"][N1]["default"]["node-exporter-m4x7q"] == ["node-exporter"]  # hostNetwork: mapped
        assert d["nodes"][N1]["default"]["web-5c8d7f6b9-ready"] == ["web"]
        assert "web-5c8d7f6b9-nonode" not in json.dumps(d["nodes"])
        assert "datadog-cluster-agent" in d["nodes"][N2]["datadog"]["datadog-cluster-agent-8568545574-x9tc9"]
    assert "web-5c8d7f6b9-unrdy" not in ep["nodes"][N2].get("default", {})
    assert sl["nodes"][N2]["default"]["web-5c8d7f6b9-unrdy"] == ["web"]
    # the helm install sets DD_KUBERNETES_USE_ENDPOINT_SLICES=true: auto follows it
    r = c.run(["kubectl-datadog", "metamap", "-o", "json"])
    assert json.loads(r.stdout)["mode"] == "endpointslices"


def test_restricted_users(e2e_cluster) -> None:
    c = e2e_cluster("metamap-seed")
    _rows(c)
    r = c.run(["kubectl-datadog", "metamap", "--source", "dca"], user="noexec")
    assert r.returncode == 1 and "exec is forbidden" in r.stderr
    r = c.run(["kubectl-datadog", "metamap", "--source", "both", "-o", "json"], user="noexec")
    assert r.returncode == 0, r.stderr
    assert [f["code"] for f in json.loads(r.stdout)["findings"]] == ["dca-metamap-unavailable"]
    # viewer may not list nodes: the map is still computed, the empty-node part is a finding
    r = c.run(["kubectl-datadog", "metamap", "-o", "json"], user="viewer")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [(f["code"], f["object"]) for f in doc["findings"]] == [("rbac-forbidden", "metamap/nodes")]
    assert doc["summary"] == {"nodes": 2, "pods": 8}


def test_metadata_only_list_on_the_real_apiserver(e2e_cluster) -> None:
    """Cluster.list(metadata_only=True), which metamap uses for node names, gets the server's
    PartialObjectMetadataList: the same names, page by page, without spec or status."""
    from kubectl_datadog.cluster import NODES
    from kubectl_datadog.cluster.kube import KubeCluster

    c = e2e_cluster("metamap-seed")
    kc = KubeCluster(kubeconfig=str(c.kubeconfig("admin")))
    full = list(kc.list(NODES, page_size=1))
    meta = list(kc.list(NODES, page_size=1, metadata_only=True))
    assert len(full) >= 2  # more than one page
    assert [o["metadata"]["name"] for o in meta] == [o["metadata"]["name"] for o in full]
    assert {o["kind"] for o in meta} == {"PartialObjectMetadata"}
    assert not [o for o in meta if "status" in o or "spec" in o]
    assert all("status" in o for o in full)


def _both(c, expect_rows: int):
    """`--source both` once the endpoints controllers have written what the API map needs."""
    def once():
        r = c.run(["kubectl-datadog", "metamap", "--source", "both", "-o", "json"])
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        return len(doc.get("differences") or ()) == expect_rows, (r, doc)
    return _until(once)


def test_dca_map_lacking_pods_is_caused_by_its_missing_permission(e2e_cluster) -> None:
    """The DCA's real ClusterRole lacks endpointslices: the apiserver's own SubjectAccessReviews deny it,
    the DCA's log (a kwok Logs object) shows the forbidden informer, and each lacking pod follows."""
    c = e2e_cluster("metamap-dca-rbac")
    r, doc = _both(c, 2)
    assert r.returncode == 0, r.stderr
    assert [f["code"] for f in doc["findings"]] == [
        "dca-rbac-missing", "dca-rbac-missing", "dca-mapper-list-failing", "dca-metamap-incomplete",
        "metamap-missing-service", "metamap-missing-service"]
    assert [a for a in doc["dca"]["mapper"]["access"] if not a["allowed"]] == [
        {"verb": "list", "resource": "endpointslices.discovery.k8s.io", "allowed": False},
        {"verb": "watch", "resource": "endpointslices.discovery.k8s.io", "allowed": False}]
    assert {f["causedBy"][0] for f in doc["findings"][4:]} == {"dca-metamap-incomplete"}
    table = c.run(["kubectl-datadog", "metamap", "--source", "both"]).stdout
    assert "because dca-rbac-missing (serviceaccount/datadog/datadog-cluster-agent)" in table


def test_empty_dca_map_lists_the_pods_it_lacks(e2e_cluster) -> None:
    c = e2e_cluster("metamap-dca-empty")
    r, doc = _both(c, len(SEED_ROWS))
    assert r.returncode == 0, r.stderr
    assert doc["dca"]["parseError"] is None and doc["dca"]["nodes"] == {}
    assert sorted((d["node"], d["pod"]) for d in doc["differences"]) == sorted((n, p) for n, _, p, _ in SEED_ROWS)
    (root,) = [f for f in doc["findings"] if not f["causedBy"]]
    assert root["code"] == "dca-metamap-incomplete" and "shows no informer failure" in root["message"]
    assert "may list and watch endpoints, nodes, pods and services" in root["message"]
