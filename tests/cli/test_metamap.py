"""`metamap` through the real CLI boundary on FakeCluster scenarios: goldens, modes, sources, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import invoke_cli
from tests.fakes import FakeCluster, secret_values, writes

FORMATS = ["table", "wide", "json", "yaml"]
SCENARIOS = ["metamap-seed", "metamap-edge", "metamap-stale", "helm", "operator", "legacy"]
SEED_OUT = (Path(__file__).parents[1] / "scenarios/metamap-seed/pods/default/datadog-cluster-agent-8568545574-x9tc9"
            / "exec/datadog-cluster-agent_metamap.out")
N1, N2, N3 = ("gke-test-default-pool-068cb9c0-sf1w", "gke-test-default-pool-068cb9c0-wntj",
              "gke-test-default-pool-068cb9c0-zq3k")
SEED_ROWS = [
    [N1, "kube-system", "kube-dns-788979dc8f-hzbj5", "kube-dns"],
    [N1, "kube-system", "kube-state-metrics-5587867c9f-xllnm", "kube-state-metrics"],
    [N1, "kube-system", "kubernetes-dashboard-598d75cb96-5khmj", "kubernetes-dashboard"],
    [N2, "default", "datadog-cluster-agent-8568545574-x9tc9", "datadog-custom-metrics-server,dca"],
    [N2, "kube-system", "heapster-v1.5.2-6d59ff54cf-g7q4h", "heapster"],
    [N2, "kube-system", "kube-dns-788979dc8f-q9qkt", "kube-dns"],
    [N2, "kube-system", "l7-default-backend-5d5b9874d5-b2lts", "default-http-backend"],
    [N2, "kube-system", "metrics-server-v0.2.1-7486f5bd67-v827f", "metrics-server"],
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden(scenario: str, fmt: str, golden) -> None:
    r = invoke_cli("metamap", "-o", fmt, scenario=scenario)
    assert (r.exit_code, r.stderr) == (0, "")
    golden.check(f"metamap/{scenario}.{fmt}", r.stdout)


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_both_stale(fmt: str, golden) -> None:
    r = invoke_cli("metamap", "--source", "both", "-o", fmt, scenario="metamap-stale")
    assert (r.exit_code, r.stderr) == (0, "")
    golden.check(f"metamap/metamap-stale.both.{fmt}", r.stdout)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario", ["metamap-dca-rbac", "metamap-dca-empty"])
def test_golden_both_incomplete(scenario: str, fmt: str, golden) -> None:
    r = invoke_cli("metamap", "--source", "both", "-o", fmt, scenario=scenario)
    assert (r.exit_code, r.stderr) == (0, "")
    golden.check(f"metamap/{scenario}.both.{fmt}", r.stdout)


def test_a_map_lacking_pods_names_the_dcas_missing_permission_as_its_root_cause() -> None:
    """The DCA's ClusterRole lacks endpointslices: the denied access reviews and the log's forbidden informer
    come first; the one incomplete-map finding follows from them, and each pod it lacks from that."""
    r = invoke_cli("metamap", "--source", "both", "-o", "json", scenario="metamap-dca-rbac")
    findings = r.json["findings"]
    codes = [f["code"] for f in findings]
    assert codes == ["dca-rbac-missing", "dca-rbac-missing", "dca-mapper-list-failing", "dca-metamap-incomplete",
                     "metamap-missing-service", "metamap-missing-service"]
    denied = {f["command"] for f in findings if f["code"] == "dca-rbac-missing"}
    assert denied == {f"kubectl auth can-i {v} endpointslices.discovery.k8s.io --as "
                      "system:serviceaccount:datadog:datadog-cluster-agent" for v in ("list", "watch")}
    by_code = {f["code"]: f for f in findings}
    assert by_code["dca-mapper-list-failing"]["causedBy"] == ["dca-rbac-missing"]
    assert set(by_code["dca-metamap-incomplete"]["causedBy"]) == {"dca-rbac-missing", "dca-mapper-list-failing"}
    assert "lacks 2 of the 2 pod(s)" in by_code["dca-metamap-incomplete"]["message"]
    for f in findings[4:]:
        assert f["causedBy"] == ["dca-metamap-incomplete"]
        assert "list and watch on endpointslices.discovery.k8s.io" in f["hint"]
    # what the DCA was asked about follows its DD_KUBERNETES_USE_ENDPOINT_SLICES=true: not endpoints
    asked = {a["resource"] for a in r.json["dca"]["mapper"]["access"]}
    assert asked == {"endpointslices.discovery.k8s.io", "nodes", "pods", "services"}
    assert {(d["pod"], d["difference"]) for d in r.json["differences"]} == {
        ("datadog-cluster-agent-8568545574-q2m7d", "missing"), ("datadog-cluster-agent-8568545574-x9tc9", "missing")}


def test_an_empty_dca_map_lists_every_pod_it_lacks_under_one_root_cause() -> None:
    r = invoke_cli("metamap", "--source", "both", "-o", "json", scenario="metamap-dca-empty")
    assert r.json["dca"]["parseError"] is None and r.json["dca"]["nodes"] == {}
    rows = [(d["node"], d["pod"], d["difference"]) for d in r.json["differences"]]
    assert rows == [(n, p, "node-missing") for n, _, p, _ in SEED_ROWS]  # the pods, not only a node count
    (root,) = [f for f in r.json["findings"] if f["causedBy"] == []]
    assert root["code"] == "dca-metamap-incomplete"
    assert "lacks 2 of the 2 node(s) the API lists and 8 of the 8 pod(s)" in root["message"]
    assert "may list and watch endpoints, nodes, pods and services" in root["message"]
    assert "shows no informer failure" in root["message"]
    assert {f["code"] for f in r.json["findings"] if f["causedBy"] == ["dca-metamap-incomplete"]} == \
        {"metamap-node-missing"}
    # the same empty answer asked alone is an empty map, not an unreadable one
    alone = invoke_cli("metamap", "--source", "dca", "-o", "json", scenario="metamap-dca-empty")
    assert (alone.exit_code, alone.json["nodes"], alone.json["findings"]) == (0, {}, [])


def test_the_dcas_mapper_is_checked_only_when_both_maps_are_compared() -> None:
    for source, asked in (("both", True), ("dca", False), ("api", False)):
        r = invoke_cli("metamap", "--source", source, scenario="metamap-dca-rbac")
        reviews = [c for c in r.fake.calls if c.resource == "subjectaccessreviews"]
        logs = [c for c in r.fake.calls if c.resource == "pods/log"]
        assert bool(reviews) == bool(logs) == asked, source


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_dca_seed(fmt: str, golden) -> None:
    r = invoke_cli("metamap", "--source", "dca", "-o", fmt, scenario="metamap-seed")
    assert (r.exit_code, r.stderr) == (0, "")
    golden.check(f"metamap/metamap-seed.dca.{fmt}", r.stdout)


def test_seed_table_is_the_sample() -> None:
    r = invoke_cli("metamap", "--no-headers", scenario="metamap-seed")
    rows = [line.split() for line in r.stdout.splitlines()]
    assert rows == SEED_ROWS


@pytest.mark.parametrize("args", [(), ("--mode", "endpoints"), ("--mode", "endpointslices"), ("--source", "dca")],
                         ids=["auto", "endpoints", "endpointslices", "from-the-dca"])
def test_seed_dca_text_is_the_sample_byte_for_byte(args: tuple[str, ...]) -> None:
    r = invoke_cli("metamap", "-o", "dca-text", *args, scenario="metamap-seed")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout == SEED_OUT.read_text()


@pytest.mark.parametrize("scenario", ["metamap-seed", "helm", "operator", "legacy"])
def test_endpoints_and_endpointslices_give_the_same_map(scenario: str) -> None:
    a = invoke_cli("metamap", "--mode", "endpoints", "-o", "json", scenario=scenario)
    b = invoke_cli("metamap", "--mode", "endpointslices", "-o", "json", scenario=scenario)
    assert a.json["nodes"] == b.json["nodes"]
    assert a.json["summary"]["pods"] > 0


@pytest.mark.parametrize("scenario,mode,resource", [
    ("metamap-seed", "endpoints", "endpoints"),  # legacy DCA: no DD_KUBERNETES_USE_ENDPOINT_SLICES
    ("helm", "endpointslices", "endpointslices.discovery.k8s.io"),
    ("operator", "endpointslices", "endpointslices.discovery.k8s.io"),
])
def test_auto_mode_follows_the_install_and_lists_only_that_resource(scenario: str, mode: str, resource: str) -> None:
    r = invoke_cli("metamap", "-o", "json", scenario=scenario)
    assert r.json["mode"] == mode
    listed = {c.resource for c in r.fake.calls if c.verb == "list"}
    assert resource in listed
    assert ({"endpoints", "endpointslices.discovery.k8s.io"} - {resource}).isdisjoint(listed)


def test_edge_cases_behave_as_the_dca() -> None:
    ep = invoke_cli("metamap", "--mode", "endpoints", "-n", "default", "-o", "json", scenario="metamap-edge").json
    sl = invoke_cli("metamap", "--mode", "endpointslices", "-n", "default", "-o", "json", scenario="metamap-edge").json
    # hostNetwork pods are mapped (the node Agent, not the DCA, skips their tag)
    for doc in (ep, sl):
        assert doc["nodes"][N1]["default"]["node-exporter-m4x7q"] == ["node-exporter"]
        assert doc["nodes"][N1]["default"]["web-5c8d7f6b9-ready"] == ["web"]
        # no node, no targetRef, no service-name label: skipped
        assert "web-5c8d7f6b9-nonode" not in str(doc["nodes"])
        assert doc["api"]["skippedAddresses"]["noNodeName"] == 1
        assert doc["api"]["skippedAddresses"]["noPodTargetRef"] == 1
    # notReadyAddresses are not mapped from Endpoints; a slice's ready=false endpoint is
    assert "web-5c8d7f6b9-unrdy" not in ep["nodes"][N2]["default"]
    assert ep["api"]["notReadyAddresses"] == 1
    assert sl["nodes"][N2]["default"]["web-5c8d7f6b9-unrdy"] == ["web"]
    assert sl["api"]["skippedAddresses"]["sliceWithoutServiceName"] == 1


def test_leader_election_endpoints_without_targetref_are_skipped() -> None:
    doc = invoke_cli("metamap", "--mode", "endpoints", "-n", "kube-system", "-o", "json", scenario="metamap-edge").json
    assert doc["nodes"] == {} and doc["api"]["skippedAddresses"] == {"noPodTargetRef": 1}


def test_empty_nodes_are_listed() -> None:
    r = invoke_cli("metamap", "--no-headers", scenario="metamap-stale")
    assert [N3, "<none>", "<none>", "<none>"] in [line.split() for line in r.stdout.splitlines()]


def test_source_both_reports_exactly_the_differing_pods() -> None:
    r = invoke_cli("metamap", "--source", "both", "-o", "json", scenario="metamap-stale")
    diffs = {(d["node"], d["pod"], d["difference"]) for d in r.json["differences"]}
    assert diffs == {
        (N2, "kube-dns-788979dc8f-zz9xx", "stale"),
        (N2, "l7-default-backend-5d5b9874d5-b2lts", "stale"),
        (N2, "metrics-server-v0.2.1-7486f5bd67-v827f", "missing"),
        (N3, None, "node-missing"),
    }
    codes = sorted((f["code"], f["object"]) for f in r.json["findings"])
    dca = "pod/default/datadog-cluster-agent-8568545574-x9tc9"
    assert codes == [
        ("dca-metamap-incomplete", dca),  # what the DCA lacks (N3, metrics-server) follows from it
        ("dca-metamap-warning", f"node/{N3}"),
        ("logs-unavailable", dca),  # the scenario's DCA has no log: why its map is incomplete stays unknown
        ("metamap-missing-service", "pod/kube-system/metrics-server-v0.2.1-7486f5bd67-v827f"),
        ("metamap-node-missing", f"node/{N3}"),
        ("metamap-stale-service", "pod/kube-system/kube-dns-788979dc8f-zz9xx"),
        ("metamap-stale-service", "pod/kube-system/l7-default-backend-5d5b9874d5-b2lts"),
    ]


def test_source_both_agrees_on_the_seed_and_execs_in_the_leader() -> None:
    r = invoke_cli("metamap", "--source", "both", scenario="metamap-seed")
    assert r.exit_code == 0
    assert r.stdout.startswith("No differences: the Cluster Agent's map matches the API (8 pods on 2 nodes).")
    execs = [c for c in r.fake.calls if c.resource == "pods/exec"]
    assert [(c.name, c.detail) for c in execs] == [("datadog-cluster-agent-8568545574-x9tc9",
                                                     "datadog-cluster-agent metamap")]


@pytest.mark.parametrize("fail_on,code", [("never", 0), ("error", 0), ("warning", 3)])
def test_fail_on(fail_on: str, code: int) -> None:
    r = invoke_cli("metamap", "--source", "both", "--fail-on", fail_on, scenario="metamap-stale")
    assert r.exit_code == code


def test_fail_on_with_dca_text_reports_findings_on_stderr() -> None:
    r = invoke_cli("metamap", "--source", "dca", "-o", "dca-text", "--fail-on", "warning", scenario="metamap-stale")
    assert r.exit_code == 3
    assert r.stdout.startswith("===============\nMetadata Mapper\n===============\nWarnings:\n")
    assert r.stderr.startswith("warning: dca-metamap-warning: node/")


def test_node_argument_filters_server_side_and_execs_with_the_node() -> None:
    r = invoke_cli("metamap", N1, "-o", "json", scenario="metamap-seed")
    assert list(r.json["nodes"]) == [N1]
    node_lists = [c for c in r.fake.calls if c.verb == "list" and c.resource == "nodes"]
    assert [c.detail for c in node_lists] == [f"|metadata.name={N1}"]
    r = invoke_cli("metamap", N1, "--source", "dca", scenario="metamap-seed")
    execs = [c.detail for c in r.fake.calls if c.resource == "pods/exec"]
    assert execs[0] == f"datadog-cluster-agent metamap {N1}"


def test_namespace_and_pod_filters() -> None:
    r = invoke_cli("metamap", "-n", "kube-system", "--pod", "kube-dns-*", "--no-headers", scenario="metamap-seed")
    assert [line.split()[2] for line in r.stdout.splitlines()] == ["kube-dns-788979dc8f-hzbj5",
                                                                   "kube-dns-788979dc8f-q9qkt"]
    lists = {(c.resource, c.namespace) for c in r.fake.calls if c.verb == "list"}
    assert ("endpoints", "kube-system") in lists
    assert not any(res == "nodes" for res, _ in lists)  # a narrowed answer has no empty nodes to show


def test_all_namespaces_is_the_default() -> None:
    a = invoke_cli("metamap", "-o", "json", scenario="metamap-seed").json["nodes"]
    b = invoke_cli("metamap", "-A", "-o", "json", scenario="metamap-seed").json["nodes"]
    assert a == b and {"default", "kube-system"} <= set(a[N2])


def test_no_match_prints_nothing_and_says_so_on_stderr() -> None:
    r = invoke_cli("metamap", "--pod", "nope", scenario="metamap-seed")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "No pods are mapped to services.\n")


def test_unknown_node_is_an_error() -> None:
    r = invoke_cli("metamap", "no-such-node", scenario="metamap-seed")
    assert r.exit_code == 1
    assert r.stderr == 'error: node "no-such-node" not found (list them with: kubectl get nodes)\n'


def test_explicit_mode_without_install_needs_no_discovery() -> None:
    r = invoke_cli("metamap", "--mode", "endpointslices", scenario="metamap-seed")
    assert r.exit_code == 0
    assert not any(c.resource == "pods" for c in r.fake.calls)


def test_no_install_in_auto_mode_falls_back_to_endpoints_with_a_finding() -> None:
    fake = FakeCluster.from_scenario("metamap-seed")
    fake.objects = [o for o in fake.objects if not (o.get("kind") == "Pod" and "datadog" in o["metadata"]["name"])]
    r = invoke_cli("metamap", "-o", "json", fake=fake)
    assert r.exit_code == 0
    assert r.json["mode"] == "endpoints"
    assert [f["code"] for f in r.json["findings"]] == ["metamap-no-install"]
    # --source dca needs the DCA: without its pods, what is left of the install is the one finding.
    r = invoke_cli("metamap", "--source", "dca", "-o", "json", fake=FakeCluster(objects=fake.objects))
    assert r.exit_code == 0, r.stderr
    assert [f["code"] for f in r.json["findings"]] == ["install-leftovers-only"]
    assert "deployment/default/datadog-cluster-agent" in {lo["object"] for lo in r.json["leftovers"]}
    gone = {"Deployment", "DaemonSet", "ConfigMap", "Lease", "Secret", "APIService"}
    r = invoke_cli("metamap", "--source", "dca", fake=FakeCluster(objects=[o for o in fake.objects
                                                                           if o.get("kind") not in gone]))
    assert r.exit_code == 1 and r.stderr.startswith("error: no Datadog install found")


def test_source_dca_with_no_exec_is_a_usage_error() -> None:
    r = invoke_cli("metamap", "--source", "dca", "--no-exec", scenario="metamap-seed")
    assert r.exit_code == 2
    assert "cannot be used with --no-exec" in r.stderr


def test_bad_output_and_source_are_usage_errors() -> None:
    assert invoke_cli("metamap", "-o", "xml", scenario="metamap-seed").exit_code == 2
    assert invoke_cli("metamap", "--source", "kubelet", scenario="metamap-seed").exit_code == 2
    # dca-text is this command's own: other commands keep the shared choices
    assert invoke_cli("leader", "-o", "dca-text", scenario="metamap-seed").exit_code == 2


def test_dca_without_metamap_fixture_fails_cleanly() -> None:
    # the helm base has no metamap exec fixture: the exec answers "executable file not found"
    r = invoke_cli("metamap", "--source", "dca", scenario="helm")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: cannot get the Cluster Agent's map:")
    both = invoke_cli("metamap", "--source", "both", "-o", "json", scenario="helm")
    assert both.exit_code == 0
    assert [f["code"] for f in both.json["findings"]] == ["dca-metamap-unavailable"]
    assert both.json["differences"] == []


def test_exec_forbidden() -> None:
    fake = FakeCluster.from_scenario("metamap-seed")
    fake.scenario = {**fake.scenario, "forbidden": [{"verb": "create", "resource": "pods/exec"}]}
    r = invoke_cli("metamap", "--source", "dca", fake=fake)
    assert r.exit_code == 1 and "exec is forbidden" in r.stderr
    r = invoke_cli("metamap", "--source", "both", "-o", "json", fake=fake)
    assert r.exit_code == 0 and r.json["findings"][0]["code"] == "dca-metamap-unavailable"


def test_dca_error_answer() -> None:
    fake = FakeCluster.from_scenario("metamap-seed")
    r = invoke_cli("metamap", "--source", "dca", "-o", "json", fake=fake)
    assert r.json["dca"]["errors"] is None
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "pods/default/datadog-cluster-agent-8568545574-x9tc9/exec"
        d.mkdir(parents=True)
        (d / "datadog-cluster-agent_metamap.out").write_text(
            "===============\nMetadata Mapper\n===============Could not run the service mapper: Failed to get nodes "
            "from the API server: nodes is forbidden\n")
        assert fake.source is not None
        fake.source.directories.insert(0, Path(tmp))
        r = invoke_cli("metamap", "--source", "both", "-o", "json", "--fail-on", "error", fake=fake)
        # the DCA's service account may not list nodes: that is the error's root cause
        fake.scenario = {**fake.scenario, "accessReviews": {"deny": ["list nodes"]}}
        denied = invoke_cli("metamap", "--source", "both", "-o", "json", fake=fake)
    assert r.exit_code == 3
    assert r.json["dca"]["errors"] == "Failed to get nodes from the API server: nodes is forbidden"
    assert [f["code"] for f in r.json["findings"]] == ["dca-metamap-error"]
    assert r.json["differences"] == []
    assert [(f["code"], f["causedBy"]) for f in denied.json["findings"]] == [
        ("dca-rbac-missing", []), ("dca-metamap-error", ["dca-rbac-missing"])]
    assert denied.json["findings"][1]["hint"].startswith(
        "grant the Cluster Agent's service account default/datadog-cluster-agent list on nodes")


def test_forbidden_endpoints() -> None:
    fake = FakeCluster.from_scenario("metamap-seed")
    fake.scenario = {**fake.scenario, "forbidden": [{"verb": "list", "resource": "endpoints"}]}
    r = invoke_cli("metamap", "--mode", "endpoints", fake=fake)
    assert r.exit_code == 1
    assert r.stderr == ("error: forbidden: cannot list endpoints at the cluster scope, nor in the namespace default "
                        "(from -n or the context) (check with: kubectl auth can-i list endpoints --all-namespaces)\n")
    r = invoke_cli("metamap", "--source", "both", "--mode", "endpoints", "-o", "json", fake=fake)
    assert r.exit_code == 0
    assert [f["code"] for f in r.json["findings"]] == ["rbac-forbidden"]
    assert set(r.json["nodes"]) == {N1, N2}  # the DCA's map is what there is to show


def test_forbidden_nodes_is_a_finding() -> None:
    fake = FakeCluster.from_scenario("metamap-stale")
    fake.scenario = {**fake.scenario, "forbidden": [{"verb": "list", "resource": "nodes"}]}
    r = invoke_cli("metamap", "-o", "json", fake=fake)
    assert r.exit_code == 0
    assert [(f["code"], f["object"]) for f in r.json["findings"]] == [("rbac-forbidden", "metamap/nodes")]
    assert N3 not in r.json["nodes"]


def test_leader_lock_unreadable_uses_a_ready_replica() -> None:
    fake = FakeCluster.from_scenario("metamap-seed")
    fake.scenario = {**fake.scenario, "forbidden": [{"verb": "get", "resource": "configmaps"},
                                                    {"verb": "get", "resource": "leases.coordination.k8s.io"}]}
    r = invoke_cli("metamap", "--source", "dca", "-o", "json", fake=fake)
    assert r.exit_code == 0
    assert r.json["dca"]["chosenBecause"].startswith("cannot read the leader lock")
    assert [f["code"] for f in r.json["findings"]] == ["dca-metamap-not-leader"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_read_only_and_no_secrets(scenario: str) -> None:
    r = invoke_cli("metamap", "--source", "both", "-o", "yaml", scenario=scenario)
    assert writes(r.fake.calls) == []
    for value in secret_values(scenario):
        assert value not in r.stdout and value not in r.stderr


def test_help_mentions_dca_text() -> None:
    r = invoke_cli("metamap", "--help")
    assert r.exit_code == 0 and "dca-text" in r.stdout and "--source" in r.stdout


def test_nodes_are_listed_metadata_only_and_the_collector_is_back_on() -> None:
    import gc

    assert gc.isenabled()
    r = invoke_cli("metamap", "-o", "json", scenario="metamap-seed")
    lists = {(c.resource, c.metadata_only) for c in r.fake.calls if c.verb == "list"}
    assert ("nodes", True) in lists  # only the names are read
    assert {m for res, m in lists if res != "nodes"} == {False}  # the endpoints are read in full
    assert gc.isenabled()  # paused only while the lists are reduced


def test_source_dca_on_leftovers_only_is_one_finding() -> None:
    r = invoke_cli("metamap", "--source", "dca", "-o", "json", scenario="leftovers-only")
    assert r.exit_code == 0 and r.stderr == ""
    assert r.json["kind"] == "MetamapReport" and r.json["install"] is None
    assert [f["code"] for f in r.json["findings"]] == ["install-leftovers-only"]
    assert "no Cluster Agent to ask for its map" in r.json["findings"][0]["message"]
    assert not [c for c in r.fake.calls if c.resource == "pods/exec"]
    text = invoke_cli("metamap", "--source", "dca", "-o", "dca-text", scenario="leftovers-only")
    assert text.stdout == "" and text.stderr.startswith("warning: install-leftovers-only: ")


@pytest.mark.parametrize("scenario", ["helm", "operator", "legacy"])
def test_install_object_has_the_shape_of_every_other_command(scenario: str) -> None:
    # Install.to_dict is the one home of the `install` JSON object; metamap did not search for node
    # Agents, so its count is unknown (null), never 0.
    mine = invoke_cli("metamap", "-o", "json", scenario=scenario).json["install"]
    leader = invoke_cli("leader", "-o", "json", scenario=scenario).json["install"]
    assert mine.keys() == leader.keys()
    assert mine["settings"] == leader["settings"] and mine["nodeAgentPods"] is None
    assert {k: v for k, v in mine.items() if k != "nodeAgentPods"} == \
        {k: v for k, v in leader.items() if k != "nodeAgentPods"}


def test_source_api_goes_on_when_the_install_can_be_looked_for_nowhere() -> None:
    """Listing pods is forbidden everywhere: the API's map needs no install, so it is computed in the
    agent's default mode and the denied list is named."""
    fake = FakeCluster.from_scenario("metamap-seed")
    fake.scenario = {**fake.scenario, "forbidden": [{"verb": "list", "resource": "pods"}]}
    r = invoke_cli("metamap", "-o", "json", fake=fake)
    assert (r.exit_code, r.json["mode"], r.json["summary"]) == (0, "endpoints", {"nodes": 2, "pods": 8})
    assert r.json["modeReason"].startswith("could not look for the Cluster Agent (forbidden: cannot list pods")
    assert [(f["code"], f["command"]) for f in r.json["findings"]] == [("rbac-forbidden", "kubectl auth can-i list pods")]
    assert invoke_cli("metamap", "--source", "dca", fake=fake).exit_code == 1  # the DCA's map needs the install
