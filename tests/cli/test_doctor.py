"""`doctor` through the real CLI boundary on FakeCluster scenarios: areas, score, shared reads,
degradation, --ignore, --fail-on, -o junit, goldens."""

from __future__ import annotations

from collections import Counter
from xml.etree import ElementTree as ET

import pytest

from kubectl_datadog.commands.doctor import FORMATS, JUNIT
from kubectl_datadog.output import render
from tests.conftest import invoke_cli
from tests.fakes import FakeCluster, secret_values, writes

SCENARIOS = ["doctor-helm", "doctor-operator", "doctor-faults", "doctor-viewer", "doctor-degraded", "doctor-dca-down",
             "doctor-runner-rbac", "doctor-api-key-invalid"]
# The five independent faults of doctor-faults, each in its own area.
FAULTS = {"pod-crash-looping": "pods", "pod-oom-killed": "pods", "serviceaccount-permission-missing": "permissions",
          "old-install-leftovers": "installs", "dca-unhealthy-components": "dca-health",
          "agent-dca-version-skew": "placement"}


def test_formats_match_the_renderer() -> None:
    assert (FORMATS, JUNIT) == (render.FORMATS, render.JUNIT)


@pytest.mark.parametrize("fmt", [*FORMATS, JUNIT])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden(scenario: str, fmt: str, golden) -> None:
    r = invoke_cli("doctor", "-o", fmt, "--fail-on", "never", scenario=scenario)
    assert (r.exit_code, r.stderr) == (0, "")
    golden.check(f"doctor/{scenario}.{fmt}", r.stdout)


@pytest.mark.parametrize("scenario", ["doctor-helm", "doctor-operator"])
def test_healthy_installs_report_no_warning(scenario: str) -> None:
    r = invoke_cli("doctor", "-o", "json", scenario=scenario)
    assert r.exit_code == 0, r.stderr
    assert [f for f in r.json["findings"] if f["severity"] in ("warning", "error")] == []
    assert r.json["score"] == 100 and r.json["notChecked"] == []
    assert [a["area"] for a in r.json["areas"]] == ["installs", "pods", "placement", "permissions", "leader",
                                                    "env-check", "hpa-explain", "metamap", "admission-explain",
                                                    "clusterchecks", "dca-health", "dca-status"]
    assert all(a["score"] in (100, None) for a in r.json["areas"])


def test_every_independent_fault_is_reported_in_its_area_root_cause_first() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-faults")
    assert r.exit_code == 3  # --fail-on defaults to error for doctor
    found = {f["code"] for a in r.json["areas"] for f in a["findings"]}
    by_area = {a["area"]: {f["code"] for f in a["findings"]} for a in r.json["areas"]}
    assert set(FAULTS) <= found
    for code, area in FAULTS.items():
        assert code in by_area[area], (code, area)
    codes = [f["code"] for f in r.json["findings"]]
    assert codes.index("pod-oom-killed") < codes.index("pod-crash-looping")
    crash = next(f for f in r.json["findings"] if f["code"] == "pod-crash-looping")
    assert crash["causedBy"] == ["pod-oom-killed"]
    assert 0 < r.json["score"] < 100


def test_table_groups_findings_by_area_with_a_summary_line_per_area() -> None:
    r = invoke_cli("doctor", scenario="doctor-faults")
    out = r.stdout
    assert out.index("Findings (installs):") < out.index("Findings (pods):") < out.index("Findings (dca-health):")
    assert "Findings:" not in out
    rows = {line.split()[0]: line for line in out.splitlines()[1:10]}
    assert rows["pods"].split()[1:4] == ["1/2", "1", "1"]
    assert out.count("Score ") == 1


def test_degraded_install_pods_and_placement() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-degraded")
    by_area = {a["area"]: sorted({(f["code"], f["object"]) for f in a["findings"]}) for a in r.json["areas"]}
    assert by_area["pods"] == [("pod-image-pull-failing", "daemonset/datadog/datadog"),
                               ("pod-not-ready", "daemonset/datadog/datadog"),
                               ("pod-restarting", "daemonset/datadog/datadog"),
                               ("pod-unschedulable", "deployment/datadog/datadog-clusterchecks")]
    assert by_area["placement"] == [("dca-cpu-limited", "deployment/datadog/datadog-cluster-agent"),
                                    ("dca-single-replica", "deployment/datadog/datadog-cluster-agent"),
                                    ("image-differs-across-replicas", "daemonset/datadog/datadog"),
                                    ("image-differs-across-replicas", "deployment/datadog/datadog-clusterchecks")]


def test_a_runner_account_missing_a_permission_is_named_with_verb_and_resource() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-runner-rbac")
    assert r.exit_code == 3, r.stderr
    permissions = next(a for a in r.json["areas"] if a["area"] == "permissions")
    [missing] = permissions["findings"]
    assert (missing["code"], missing["severity"]) == ("serviceaccount-permission-missing", "error")
    assert missing["object"] == "serviceaccount/datadog/datadog-cluster-checks"
    assert "Cluster Checks Runner" in missing["message"] and "may not get endpoints" in missing["message"]
    assert missing["command"] == "kubectl auth can-i get endpoints --as system:serviceaccount:datadog:datadog-cluster-checks"
    # the DCA's and the node Agents' accounts are still judged beside it
    assert {"serviceaccount/datadog/datadog-cluster-agent", "serviceaccount/datadog/datadog"} <= {
        c["object"] for c in permissions["checks"]}


def test_an_api_key_the_leader_reports_invalid_is_an_error_naming_only_its_last_five_characters() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-api-key-invalid")
    assert r.exit_code == 3, r.stderr
    status = next(a for a in r.json["areas"] if a["area"] == "dca-status")
    [invalid] = status["findings"]
    assert (invalid["code"], invalid["severity"]) == ("dca-api-key-invalid", "error")
    assert invalid["object"] == "pod/datadog/datadog-cluster-agent-8568545574-x9tc9"
    assert "API key ending with 4f2a1 invalid" in invalid["message"]
    assert status["apiKeys"] == [{"ending": "4f2a1", "status": "API Key invalid"}]
    # the healthy install's leader prints no Forwarder section: nothing judged, nothing reported
    healthy = invoke_cli("doctor", "-o", "json", scenario="doctor-helm").json
    assert next(a for a in healthy["areas"] if a["area"] == "dca-status")["apiKeys"] == []


def test_score_formula() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-faults")
    results = [c["result"] for a in r.json["areas"] for c in a["checks"]]
    points = {"ok": 1, "info": 1, "warning": 0.5, "error": 0}
    assert r.json["score"] == int(100 * sum(points[x] for x in results) // len(results))


def test_ignore_accepts_findings_and_changes_the_exit_code() -> None:
    errors = ["pod-crash-looping", "serviceaccount-permission-missing", "dca-unhealthy-components"]
    args = [a for code in errors for a in ("--ignore", code)]
    r = invoke_cli("doctor", "-o", "json", *args, scenario="doctor-faults")
    assert r.exit_code == 0
    assert not {f["code"] for f in r.json["findings"]} & set(errors)
    ignored = {c for a in r.json["areas"] for c in a["ignored"]}
    assert ignored == set(errors)
    assert invoke_cli("doctor", "--fail-on", "warning", *args, scenario="doctor-faults").exit_code == 3


@pytest.mark.parametrize(("scenario", "fail_on", "code"), [
    ("doctor-helm", "error", 0), ("doctor-helm", "warning", 0), ("doctor-helm", "info", 3), ("doctor-faults", "warning", 3), ("doctor-faults", "error", 3),
    ("doctor-faults", "never", 0), ("doctor-viewer", "error", 0), ("doctor-viewer", "warning", 0),
])
def test_fail_on_exit_codes(scenario: str, fail_on: str, code: int) -> None:
    assert invoke_cli("doctor", "--fail-on", fail_on, scenario=scenario).exit_code == code


def test_reads_are_shared_nothing_is_fetched_twice() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-helm")
    repeated = [(c, n) for c, n in Counter(r.fake.calls).items() if n > 1]
    assert repeated == []
    # leader, hpa-explain and metamap all read the lock; discovery's pod lists answer every area's own.
    # (at most once each: a get may also be answered from the leftovers check's list of all ConfigMaps)
    lock_gets = [c for c in r.fake.calls if c.verb == "get" and c.name == "datadog-leader-election"]
    assert len(lock_gets) == len({c.resource for c in lock_gets}) <= 2
    # Discovery's three label lists answer every area's discovery (the runner lists, doctor's and
    # clusterchecks', are narrowed from each other when one is made first: their count varies by race).
    pod_lists = {c.detail for c in r.fake.calls if c.verb == "list" and c.resource == "pods"}
    assert {d for d in pod_lists if " in (" in d} == {f"{k} in (cluster-agent,agent)|" for k in (
        "agent.datadoghq.com/component", "app.kubernetes.io/component")} | {"app in (datadog-cluster-agent,datadog-agent)|"}
    assert len(pod_lists) <= 3 + 4


def test_read_only_and_no_secrets() -> None:
    for scenario in SCENARIOS:
        r = invoke_cli("doctor", "-o", "yaml", scenario=scenario)
        assert writes(r.fake.calls) == []
        for value in secret_values(scenario):
            assert value not in r.stdout and value not in r.stderr


def test_view_only_user_gets_every_check_that_can_run_and_what_would_allow_the_rest() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-viewer")
    assert r.exit_code == 0
    assert r.json["findings"] == [] or all(f["severity"] == "info" for f in r.json["findings"])
    needs = {u["needs"] for u in r.json["notChecked"]}
    assert needs == {"create pods/exec in datadog", "get secrets in datadog",
                     "create subjectaccessreviews.authorization.k8s.io"}
    ran = {a["area"] for a in r.json["areas"] if a["checks"]}
    assert {"installs", "pods", "placement", "leader", "env-check"} <= ran


def test_no_exec_skips_the_exec_areas_and_execs_nothing() -> None:
    r = invoke_cli("doctor", "--no-exec", "-o", "json", scenario="doctor-helm")
    assert r.exit_code == 0
    assert not [c for c in r.fake.calls if c.resource == "pods/exec"]
    skipped = {u["area"]: u["needs"] for u in r.json["notChecked"]}
    assert skipped["metamap"] == skipped["dca-health"] == skipped["dca-status"] == "exec (--no-exec was given)"


def test_junit_has_one_testcase_per_check_and_per_unchecked_item() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-faults")
    checks = sum(len(a["checks"]) for a in r.json["areas"])
    x = invoke_cli("doctor", "-o", "junit", scenario="doctor-faults")
    root = ET.fromstring(x.stdout)
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == checks + len(r.json["notChecked"])
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    assert ("pods", "daemonset/datadog/datadog") in failed
    assert ("permissions", "serviceaccount/datadog/datadog-cluster-agent") in failed
    assert int(root.get("failures", "0")) == len(failed)
    assert {s.get("name") for s in root.findall("testsuite")} == {a["area"] for a in r.json["areas"] if a["checks"]}


def test_only_leftovers_is_a_finding_in_the_doctor_report() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="leftovers-only")
    assert r.exit_code == 0  # a warning, below the default --fail-on error
    assert r.json["kind"] == "DoctorReport"
    assert [f["code"] for f in r.json["findings"]] == ["install-leftovers-only"]


def test_no_install_is_the_shared_error() -> None:
    r = invoke_cli("doctor", fake=FakeCluster())
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr.startswith("error: no Datadog install found")


def test_several_installs_get_one_area_per_install_for_one_install_commands() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="env-two-installs")
    names = [a["area"] for a in r.json["areas"]]
    assert names[:8] == ["installs", "pods", "placement", "permissions", "leader (datadog)",
                         "leader (datadog-staging)", "env-check", "hpa-explain"]
    assert {a["verdict"] for a in r.json["areas"] if a["area"].startswith("leader")} == {"healthy"}
    assert "several-installs" in {f["code"] for f in r.json["findings"]}
    picked = invoke_cli("doctor", "-o", "json", "--install-namespace", "datadog", scenario="env-two-installs")
    assert "leader" in [a["area"] for a in picked.json["areas"]]


def test_junit_of_an_install_known_only_by_its_leftovers_fails_its_one_case() -> None:
    r = invoke_cli("doctor", "-o", "junit", scenario="leftovers-only")
    cases = ET.fromstring(r.stdout).findall("./testsuite/testcase")
    assert len(cases) == 1 and cases[0].find("failure") is not None
    assert cases[0].find("failure").get("message", "").startswith("install-leftovers-only: ")


def test_namespace_narrows_the_sweep_to_one_install() -> None:
    r = invoke_cli("doctor", "-o", "json", "-n", "datadog-staging", scenario="env-two-installs")
    assert r.json["installs"] == ["datadog-staging/datadog-staging-cluster-agent (helm)"]
    assert "several-installs" not in {f["code"] for f in r.json["findings"]}


def test_a_cluster_agent_down_leads_and_the_other_areas_name_it_as_their_cause() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-dca-down")
    assert r.exit_code == 3
    first, *rest = r.json["findings"]
    assert (first["code"], first["object"]) == ("pod-crash-looping", "deployment/datadog/datadog-cluster-agent")
    symptom = next(f for f in rest if f["code"] == "leader-holder-not-ready")
    assert symptom["causedBy"] == ["pod-crash-looping"]
    table = invoke_cli("doctor", scenario="doctor-dca-down").stdout
    assert "because pod-crash-looping (deployment/datadog/datadog-cluster-agent): 2 Cluster Agent pod(s)" in table


@pytest.mark.parametrize(("scenario", "area", "summary", "codes"), [
    ("hpa-nginxext", "hpa-explain", "1 HPA(s) on external metrics: 1 pinned-at-max", {"hpa-pinned-at-max"}),
    ("hpa-independent-breaks", "hpa-explain", "1 HPA(s) on external metrics: 1 apiservice-other-adapter",
     {"apiservice-other-adapter", "datadogmetric-error"}),
    ("metamap-stale", "metamap", "the Cluster Agent's map against the API's over 8 pod(s): 1 missing, "
     "1 node-missing, 2 stale", {"metamap-stale-service", "metamap-missing-service", "metamap-node-missing"}),
    ("clusterchecks-check-error", "clusterchecks", "3 check config(s): 2 dispatched, 1 error",
     {"clusterchecks-check-error"}),
    ("admission-no-endpoints", "admission-explain", "3 pod(s) in 2 namespace(s): 2 not-selected, 1 webhook-unreachable",
     {"admission-no-endpoints", "admission-pods-unmutated"}),
])
def test_the_commands_areas_report_what_the_commands_do(scenario: str, area: str, summary: str,
                                                        codes: set[str]) -> None:
    r = invoke_cli("doctor", "-o", "json", scenario=scenario)
    found = next(a for a in r.json["areas"] if a["area"] == area)
    assert found["summary"] == summary
    assert codes <= {f["code"] for f in found["findings"]}
    args = {"hpa-explain": ["-A"], "metamap": ["--source", "both"], "clusterchecks": ["-A"],
            "admission-explain": ["-A"]}[area]
    alone = invoke_cli(area, *args, "-o", "json", scenario=scenario)
    assert {f["code"] for f in found["findings"]} <= {f["code"] for f in alone.json["findings"]}


def test_a_running_datadog_named_workload_elsewhere_is_not_a_leftover() -> None:
    fake = FakeCluster.from_scenario("doctor-faults")
    old = next(o for o in fake.objects if o["kind"] == "Deployment" and o["metadata"]["namespace"] == "datadog-old")
    old["status"] = {"replicas": 1, "readyReplicas": 1}
    r = invoke_cli("doctor", "-o", "json", fake=fake)
    leftovers = next(a for a in r.json["areas"] if a["area"] == "installs")["leftovers"]
    assert "deployment/datadog-old/datadog-cluster-agent" not in {lo["object"] for lo in leftovers}
    assert {lo["object"] for lo in leftovers} == {"clusterrolebinding/datadog-old-cluster-agent",
                                                  "mutatingwebhookconfiguration/datadog-webhook-old"}


def test_an_admission_controller_not_enabled_is_said_not_counted() -> None:
    r = invoke_cli("doctor", "-o", "json", scenario="doctor-helm")
    area = next(a for a in r.json["areas"] if a["area"] == "admission-explain")
    assert [(f["code"], f["severity"]) for f in area["findings"]] == [("admission-disabled", "info")]
    assert invoke_cli("admission-explain", "-A", "-o", "json", scenario="doctor-helm").json["findings"][0]["severity"] \
        == "error"
