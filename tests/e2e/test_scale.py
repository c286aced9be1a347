"""A small version of the scale benchmark's cluster (scripts/bench-scale) on the real apiserver:
200 nodes, 50 Services with 5,000 ready endpoints in EndpointSlices and Endpoints, 50 extra node
Agents with kwok exec/log fixtures. Asserts correctness at that size (every endpoint mapped by
metamap in both modes, every Agent checked by env-check), never time."""
from __future__ import annotations

import json

import pytest

from tests.scripts import load_script

NODES, SERVICES, ENDPOINTS, AGENTS = 200, 50, 5000, 50


def _bench():
    return load_script("bench-scale")


@pytest.fixture(scope="module")
def scale():
    """One private cluster for the module: the Helm base with the nginxext HPA, plus the scale objects."""
    from harness import Cluster, missing_binaries
    if missing_binaries():
        pytest.skip(f"e2e binaries not built ({', '.join(missing_binaries())})")
    bench = _bench()
    c = Cluster()
    c.start()
    try:
        c.apply_scenario("hpa-nginxext")
        expected = bench.build_metamap(c, NODES, SERVICES, ENDPOINTS)
        agents = bench.build_agents(c, AGENTS, existing_nodes=NODES)
        yield c, expected, agents
    finally:
        c.stop()


def _metamap(c, *args, user="viewer"):
    r = c.run(["kubectl-datadog", "metamap", "-o", "json", *args], user=user, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _assert_every_endpoint_mapped(report, expected):
    assert len(expected) == ENDPOINTS
    missing = [e for e in expected if e[3] not in report["nodes"].get(e[0], {}).get(e[1], {}).get(e[2], [])]
    assert not missing, f"{len(missing)} endpoints not in the map, e.g. {missing[:3]}"
    scale_pods = {(node, ns, pod) for node, by_ns in report["nodes"].items() for ns, pods in by_ns.items()
                  if ns.startswith("scale-") for pod in pods}
    assert scale_pods == {e[:3] for e in expected}   # nothing invented either
    assert {n for n in report["nodes"] if n.startswith("scale-node-")} == {e[0] for e in expected}


@pytest.mark.parametrize("mode", ["endpointslices", "endpoints"])
def test_metamap_maps_every_endpoint(scale, mode):
    c, expected, _ = scale
    report = _metamap(c, "--mode", mode)
    assert report["mode"] == mode
    _assert_every_endpoint_mapped(report, expected)


def test_metamap_table_has_a_row_per_scale_pod(scale):
    c, _expected, _ = scale
    r = c.run(["kubectl-datadog", "metamap", "--mode", "endpointslices", "--no-headers"], user="viewer",
              timeout=300)
    assert r.returncode == 0, r.stderr
    rows = [ln for ln in r.stdout.splitlines() if " scale-" in ln and "svc-" in ln]
    assert len(rows) == ENDPOINTS, r.stdout[-2000:]


def test_metamap_both_agrees_with_a_full_dca_map(scale):
    c, expected, _ = scale
    bench = _bench()
    assert bench.install_dca_metamap(c, c.env("admin"))
    report = _metamap(c, "--mode", "endpointslices", "--source", "both", "--fail-on", "never",
                      user="nosecrets")   # exec into the DCA leader
    assert report["dca"]["exec"]["ok"] is True, report["dca"]
    _assert_every_endpoint_mapped({"nodes": report["dca"]["nodes"]}, expected)   # the DCA's side, parsed
    differing = json.dumps(report["differences"])
    assert not [e for e in expected if e[2] in differing], "scale pods reported as differing"


def test_env_check_checks_every_agent(scale):
    c, _, agents = scale
    r = c.run(["kubectl-datadog", "env-check", "-o", "json", "--fail-on", "never"], user="admin", timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    by_name = {a["name"]: a for a in report["agents"]}
    assert set(agents) <= set(by_name), sorted(set(agents) - set(by_name))[:5]
    assert report["summary"]["agents"] == len(agents) + 2
    template = by_name["datadog-9d5bl"]
    for name in agents:
        a = by_name[name]
        # each copy has the template's fixtures: the same verdict, and its own exec answered
        assert a["verdict"] == template["verdict"], (name, a)
        assert a["connected"] == template["connected"] and a["connected"] is not None, (name, a)
        assert a["node"] == f"scale-node-{int(name.rsplit('-', 1)[1]):05d}"
