"""`clusterchecks` through the real CLI boundary on FakeCluster scenarios: rows, verdicts, findings
root cause first, goldens in every format, exit codes, read-only."""

from __future__ import annotations

import pytest

from tests.conftest import invoke_cli
from tests.fakes import FakeCluster, secret_values, writes

FORMATS = ["table", "wide", "json", "yaml"]
RUNNER_A, RUNNER_B = "datadog-clusterchecks-7d9c6b5f4-2xk8p", "datadog-clusterchecks-7d9c6b5f4-9qv7m"
N1, N2 = "gke-test-default-pool-068cb9c0-sf1w", "gke-test-default-pool-068cb9c0-wntj"
TAINTED = "gke-test-tainted-pool-5f1c2a3b-q8zv"
KSM_HELM = "configmap/datadog-cluster-agent-confd:kubernetes_state_core.yaml.default"

# scenario -> ({(check, source, node): (dca says, verdict)}, finding codes in order)
EXPECTED = {
    "clusterchecks-helm": (
        {("redisdb", "service/default/redis", None): (RUNNER_A, "dispatched"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): (RUNNER_B, "dispatched")}, []),
    "clusterchecks-operator": (
        {("redisdb", "service/default/redis", None): (N1, "dispatched"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core",
          "configmap/datadog-kube-state-metrics-core-config:kubernetes_state_core.yaml.default", None):
             (None, "runs-on-dca")}, []),
    "clusterchecks-helm-no-runners": (
        {("redisdb", "service/default/redis", None): (N1, "dispatched"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): (None, "runs-on-dca")}, []),
    "clusterchecks-operator-runners": (
        {("redisdb", "service/default/redis", None): ("datadog-cluster-checks-runner-6f8d7c9b5-4hz2w", "dispatched"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core",
          "configmap/datadog-kube-state-metrics-core-config:kubernetes_state_core.yaml.default", None):
             ("datadog-cluster-checks-runner-6f8d7c9b5-m8k3t", "dispatched")}, []),
    "clusterchecks-invalid-json": (
        {("?", "service/default/memcached", None): ("not listed", "invalid"),
         ("redisdb", "service/default/redis", None): (RUNNER_A, "dispatched"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): (RUNNER_B, "dispatched")},
        ["clusterchecks-annotation-invalid"]),
    "clusterchecks-endpoint-no-agent": (
        {("redisdb", "service/default/redis", None): (RUNNER_A, "dispatched"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("nginx", "service/default/nginx", TAINTED): (TAINTED, "no-agent"),
         ("kubernetes_state_core", KSM_HELM, None): (RUNNER_B, "dispatched")},
        ["clusterchecks-endpoint-no-agent"]),
    "clusterchecks-runners-not-ready": (
        {("redisdb", "service/default/redis", None): ("unassigned", "no-worker"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): ("unassigned", "no-worker")},
        ["clusterchecks-runners-not-ready", "clusterchecks-no-worker", "clusterchecks-zero-reporting"]),
    "clusterchecks-disabled": (
        {("redisdb", "service/default/redis", None): (None, "not-dispatched"),
         ("nginx", "service/default/nginx", N2): (None, "not-dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): (None, "runs-on-dca")},
        ["clusterchecks-disabled", "clusterchecks-endpointschecks-provider-missing"]),
    "clusterchecks-check-error": (
        {("redisdb", "service/default/redis", None): (RUNNER_A, "error"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): (RUNNER_B, "dispatched")},
        ["clusterchecks-check-error"]),
    "clusterchecks-not-picked-up": (
        {("postgres", "service/default/postgres", None): ("not listed", "unknown-to-dca"),
         ("redisdb", "service/default/redis", None): (RUNNER_A, "dispatched"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): (RUNNER_B, "dispatched")},
        ["clusterchecks-unknown-to-dca"]),
    "clusterchecks-dca-rbac": (
        {("redisdb", "service/default/redis", None): ("not listed", "unknown-to-dca"),
         ("nginx", "service/default/nginx", N2): ("not listed", "unknown-to-dca"),
         ("kubernetes_state_core", KSM_HELM, None): (RUNNER_B, "dispatched")},
        ["clusterchecks-dca-rbac-missing", "clusterchecks-unknown-to-dca", "clusterchecks-unknown-to-dca"]),
    "clusterchecks-warmup": (
        {("redisdb", "service/default/redis", None): ("not listed", "expected"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): ("not listed", "expected")},
        ["clusterchecks-warmup"]),
    "clusterchecks-telemetry": (  # no exec: the DCA's telemetry through pods/proxy
        {("redisdb", "service/default/redis", None): (RUNNER_A, "dispatched"),
         ("nginx", "service/default/nginx", N2): ("not shown", "expected"),
         ("kubernetes_state_core", KSM_HELM, None): (RUNNER_B, "dispatched")},
        ["clusterchecks-dca-telemetry"]),
    "clusterchecks-ksm-rbac": (
        {("redisdb", "service/default/redis", None): (RUNNER_A, "dispatched"),
         ("nginx", "service/default/nginx", N2): (N2, "dispatched"),
         ("kubernetes_state_core", KSM_HELM, None): (RUNNER_B, "dispatched")},
        ["clusterchecks-rbac-missing"]),
}


def _rows(doc: dict) -> dict:
    return {(c["check"], c["source"], c["node"]): (c["dcaSays"], c["verdict"]) for c in doc["configs"]}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_rows_and_findings(scenario: str) -> None:
    r = invoke_cli("clusterchecks", "-o", "json", scenario=scenario)
    assert r.exit_code == 0, r.stderr
    rows, codes = EXPECTED[scenario]
    assert _rows(r.json) == rows
    assert [f["code"] for f in r.json["findings"]] == codes
    assert r.json["kind"] == "ClusterChecksReport"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_golden(scenario: str, fmt: str, golden) -> None:
    r = invoke_cli("clusterchecks", "-o", fmt, scenario=scenario)
    assert (r.exit_code, r.stderr) == (0, "")
    golden.check(f"clusterchecks/{scenario}.{fmt}", r.stdout)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_read_only_and_no_secrets(scenario: str) -> None:
    r = invoke_cli("clusterchecks", "-o", "yaml", scenario=scenario)
    assert r.fake is not None and writes(r.fake.calls) == []
    for value in secret_values(scenario):
        assert value not in r.stdout + r.stderr


def test_the_root_cause_comes_first_and_symptoms_name_it() -> None:
    r = invoke_cli("clusterchecks", "-o", "json", scenario="clusterchecks-runners-not-ready")
    by_code = {f["code"]: f for f in r.json["findings"]}
    assert by_code["clusterchecks-no-worker"]["causedBy"] == ["clusterchecks-runners-not-ready"]
    assert by_code["clusterchecks-zero-reporting"]["causedBy"] == ["clusterchecks-no-worker",
                                                                    "clusterchecks-runners-not-ready"]
    assert by_code["clusterchecks-runners-not-ready"]["causedBy"] == []


def test_disabled_makes_the_missing_agent_provider_a_consequence() -> None:
    r = invoke_cli("clusterchecks", "-o", "json", scenario="clusterchecks-disabled")
    by_code = {f["code"]: f for f in r.json["findings"]}
    assert by_code["clusterchecks-endpointschecks-provider-missing"]["causedBy"] == ["clusterchecks-disabled"]
    assert r.json["dca"]["state"]["enabled"] is False


@pytest.mark.parametrize("scenario,fail_on,code", [
    ("clusterchecks-helm", "warning", 0),
    ("clusterchecks-runners-not-ready", "error", 3),
    ("clusterchecks-invalid-json", "warning", 3),
    ("clusterchecks-invalid-json", "never", 0),
])
def test_fail_on(scenario: str, fail_on: str, code: int) -> None:
    assert invoke_cli("clusterchecks", "--fail-on", fail_on, scenario=scenario).exit_code == code


def test_check_argument_keeps_its_rows_and_findings() -> None:
    r = invoke_cli("clusterchecks", "redisdb", "-o", "json", scenario="clusterchecks-helm")
    assert [(c["check"], c["verdict"]) for c in r.json["configs"]] == [("redisdb", "dispatched")]
    r = invoke_cli("clusterchecks", "kubernetes_state_core", "-o", "json", scenario="clusterchecks-not-picked-up")
    assert [(c["check"], c["verdict"]) for c in r.json["configs"]] == [("kubernetes_state_core", "dispatched")]
    assert r.json["findings"] == []


def test_namespace_filter_limits_the_services_read() -> None:
    r = invoke_cli("clusterchecks", "-n", "kube-system", "--no-exec", "-o", "json", scenario="clusterchecks-helm")
    assert [c["source"] for c in r.json["configs"]] == [KSM_HELM]
    assert r.fake is not None
    assert [c.namespace for c in r.fake.calls if c.resource == "services"] == ["kube-system"]


def test_no_exec_says_what_could_not_be_seen_and_runs_no_exec() -> None:
    r = invoke_cli("clusterchecks", "--no-exec", "-o", "json", scenario="clusterchecks-helm")
    assert {c["verdict"] for c in r.json["configs"]} == {"expected"}
    # clusterchecks-helm serves no telemetry: the proxy read fails as on a pod with nothing on :5000
    assert [f["code"] for f in r.json["findings"]] == ["clusterchecks-dispatch-unseen"]
    assert "connection refused" in r.json["findings"][0]["message"]
    assert r.fake is not None and not [c for c in r.fake.calls if c.resource == "pods/exec"]
    assert r.json["dca"]["source"] is None and r.json["dca"]["telemetry"]["port"] == 5000


def test_exec_forbidden_is_a_finding_and_the_api_view_stays() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-helm")
    fake.scenario["forbidden"] = [{"verb": "create", "resource": "pods/exec"}]
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    assert r.exit_code == 0
    assert [f["code"] for f in r.json["findings"]] == ["clusterchecks-dispatch-unseen", "rbac-forbidden"]
    assert "create pods/exec" in r.json["findings"][1]["command"]
    assert {c["verdict"] for c in r.json["configs"]} == {"expected"}


def test_services_forbidden_is_unknown_not_empty() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-helm")
    fake.scenario["forbidden"] = [{"verb": "list", "resource": "services"}]
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    codes = [f["code"] for f in r.json["findings"]]
    assert "rbac-forbidden" in codes
    # the DCA's own view still shows the configs the API could not
    assert {c["origin"] for c in r.json["configs"]} == {"confd", "dca"}


def test_a_config_only_the_dca_knows_is_listed() -> None:
    r = invoke_cli("clusterchecks", "-o", "json", scenario="clusterchecks-operator")
    assert all(c["origin"] != "dca" for c in r.json["configs"])
    fake = FakeCluster.from_scenario("clusterchecks-operator")
    fake.objects = [o for o in fake.objects if o["metadata"].get("name") != "redis"]
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    only_dca = [c for c in r.json["configs"] if c["origin"] == "dca"]
    assert [(c["check"], c["source"], c["dcaSays"]) for c in only_dca] == [
        ("redisdb", "kube_services:kube_service://default/redis", N1)]


def test_check_argument_keeps_only_the_findings_of_its_sources() -> None:
    r = invoke_cli("clusterchecks", "redisdb", "-o", "json", scenario="clusterchecks-endpoint-no-agent")
    assert r.json["findings"] == []
    r = invoke_cli("clusterchecks", "nginx", "-o", "json", scenario="clusterchecks-endpoint-no-agent")
    assert [f["code"] for f in r.json["findings"]] == ["clusterchecks-endpoint-no-agent"]
    assert {c["check"] for c in r.json["configs"]} == {"nginx"}


def test_an_unreadable_leader_lock_is_unknown_not_no_leader() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-helm")
    fake.scenario["forbidden"] = [{"verb": "get", "resource": "configmaps", "namespace": "datadog"}]
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    codes = [f["code"] for f in r.json["findings"]]
    assert "clusterchecks-leader-unknown" in codes and "clusterchecks-no-leader" not in codes
    assert "clusterchecks-confd-unreadable" in codes  # the conf.d ConfigMap is a configmap too


def test_settings_an_env_from_source_may_set_are_unknown_never_false() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-helm")
    for obj in fake.objects:
        if obj["kind"] == "Pod" and obj["metadata"]["name"].startswith("datadog-cluster-agent-"):
            c = obj["spec"]["containers"][0]
            c["env"] = [e for e in c["env"] if e["name"] != "DD_CLUSTER_CHECKS_ENABLED"]
            c["envFrom"] = [{"configMapRef": {"name": "datadog-cluster-agent-env"}, "prefix": "DD_"}]
        if obj["kind"] == "Pod" and obj["metadata"]["name"] == "datadog-9d5bl":
            c = obj["spec"]["containers"][0]
            c["env"] = [e for e in c["env"] if e["name"] != "DD_EXTRA_CONFIG_PROVIDERS"]
            c["envFrom"] = [{"configMapRef": {"name": "datadog-agent-env"}}]
    r = invoke_cli("clusterchecks", "--no-exec", "-o", "json", fake=fake)
    assert r.json["settings"]["enabled"] is None and r.json["setup"]["clusterChecksEnabled"] is None
    codes = [f["code"] for f in r.json["findings"]]
    assert "clusterchecks-disabled" not in codes and "clusterchecks-setting-unknown" in codes
    assert [w["configProviders"] for w in r.json["workers"] if w["pod"] == "datadog-9d5bl"] == [None]


def test_a_confd_file_bound_to_a_service_that_does_not_exist() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-helm")
    confd = next(o for o in fake.objects if o["kind"] == "ConfigMap"
                 and o["metadata"]["name"] == "datadog-cluster-agent-confd")
    confd["data"]["http_check.yaml"] = (
        "cluster_check: true\nadvanced_ad_identifiers:\n  - kube_service:\n      name: redis\n      namespace: default\n"
        "  - kube_service:\n      name: api\n      namespace: shop\ninstances:\n  - url: http://%%host%%\n")
    r = invoke_cli("clusterchecks", "http_check", "--no-exec", "-o", "json", fake=fake)
    (row,) = r.json["configs"]
    assert (row["verdict"], row["detail"]) == ("no-target", "no service shop/api")
    assert [f["code"] for f in r.json["findings"]] == ["clusterchecks-target-missing"]


def test_an_endpoint_on_a_notready_node_says_so() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-endpoint-no-agent")
    node = next(o for o in fake.objects if o["kind"] == "Node" and o["metadata"]["name"] == TAINTED)
    node["status"]["conditions"][0]["status"] = "False"
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    (f,) = r.json["findings"]
    assert "no Ready node Agent runs (the node is NotReady)" in f["message"]


@pytest.mark.parametrize(("scenario", "code", "severity"), [
    ("helm", "clusterchecks-dca-unavailable", "info"),  # no config, and an image without the CLI's answer
    ("helm-agents", "clusterchecks-no-cluster-agent", "info"),
])
def test_installs_without_configs_are_quiet_but_say_what_they_could_not_see(scenario: str, code: str,
                                                                            severity: str) -> None:
    r = invoke_cli("clusterchecks", "-o", "json", scenario=scenario)
    assert r.exit_code == 0 and r.json["configs"] == []
    assert [(f["code"], f["severity"]) for f in r.json["findings"]] == [(code, severity)]
    r = invoke_cli("clusterchecks", scenario=scenario)
    assert "No cluster or endpoint check configs found." in r.stderr


def test_only_leftovers() -> None:
    r = invoke_cli("clusterchecks", "-o", "json", scenario="leftovers-only")
    assert r.exit_code == 0 and r.json["install"] is None and r.json["configs"] == []
    assert [f["code"] for f in r.json["findings"]] == ["install-leftovers-only"]


def test_row_findings_are_capped_and_the_rest_counted() -> None:
    import copy

    fake = FakeCluster.from_scenario("clusterchecks-not-picked-up")
    late = next(o for o in fake.objects if o["kind"] == "Service" and o["metadata"]["name"] == "postgres")
    for i in range(24):
        clone = copy.deepcopy(late)
        clone["metadata"]["name"] = f"postgres-{i:02d}"
        fake.objects.append(clone)
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    codes = [f["code"] for f in r.json["findings"]]
    assert codes.count("clusterchecks-unknown-to-dca") == 20
    (more,) = [f for f in r.json["findings"] if f["code"] == "clusterchecks-more-configs"]
    assert more["message"].startswith("5 more config(s) are unknown-to-dca")
    assert sum(1 for c in r.json["configs"] if c["verdict"] == "unknown-to-dca") == 25


VARIANTS = {"no-exec": ("clusterchecks-helm", ["--no-exec"]), "agents-only": ("helm-agents", []),
            "no-configs": ("helm", [])}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_golden_variants(variant: str, golden) -> None:
    scenario, args = VARIANTS[variant]
    for fmt in ("table", "json"):
        r = invoke_cli("clusterchecks", *args, "-o", fmt, scenario=scenario)
        assert r.exit_code == 0
        golden.check(f"clusterchecks/{scenario}.{variant}.{fmt}", r.stdout)
