"""`clusterchecks` without exec: the DCA leader's telemetry (`cluster_checks_*` on :5000 /metrics)
read through pods/proxy feeds the same comparison as `clusterchecks` run in the pod; a denied or
failing read says what could not be seen."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.conftest import invoke_cli
from tests.fakes import FakeCluster, writes

DCA = "datadog-cluster-agent-8568545574-x9tc9"
RUNNER_A, RUNNER_B = "datadog-clusterchecks-7d9c6b5f4-2xk8p", "datadog-clusterchecks-7d9c6b5f4-9qv7m"


class TelemetryCluster(FakeCluster):
    """A FakeCluster whose DCA serves `text` on :5000 /metrics (for layouts no scenario holds)."""

    text: str = ""

    def proxy_get(self, namespace: str, pod: str, port: int, path: str, timeout: float | None = None) -> str:
        super().proxy_get(namespace, pod, port, path, timeout)  # records the call, applies the permissions
        return self.text

def _telemetry_fake(text: str, **scenario: Any) -> TelemetryCluster:
    base = FakeCluster.from_scenario("clusterchecks-telemetry")
    fake = TelemetryCluster(objects=base.objects, scenario={**base.scenario, **scenario}, source=base.source)
    fake.text = text
    return fake


def _codes(doc: dict) -> list[str]:
    return [f["code"] for f in doc["findings"]]


def test_without_exec_the_telemetry_is_read_through_pods_proxy_only() -> None:
    r = invoke_cli("clusterchecks", "--no-exec", "-o", "json", scenario="clusterchecks-helm")
    assert r.fake is not None
    proxied = [c for c in r.fake.calls if c.resource == "pods/proxy"]
    assert [(c.verb, c.namespace, c.name, c.detail) for c in proxied] == [("get", "datadog", DCA, "5000/metrics")]
    assert writes(r.fake.calls) == []


def test_the_output_says_which_source_was_used() -> None:
    r = invoke_cli("clusterchecks", "-o", "json", scenario="clusterchecks-telemetry")
    assert r.json["dca"]["source"] == "telemetry"
    assert r.json["dca"]["state"]["source"] == "telemetry"
    assert r.json["dca"]["telemetry"]["clusterChecks"]["busyness"] == {RUNNER_A: 12.0, RUNNER_B: 431.0}
    finding = r.json["findings"][0]
    assert finding["code"] == "clusterchecks-dca-telemetry"
    assert finding["command"] == f"kubectl get --raw /api/v1/namespaces/datadog/pods/{DCA}:5000/proxy/metrics"
    with_exec = invoke_cli("clusterchecks", "-o", "json", scenario="clusterchecks-helm")
    assert with_exec.json["dca"]["source"] == "exec" and with_exec.json["dca"]["telemetry"] is None
    assert with_exec.fake is not None and not [c for c in with_exec.fake.calls if c.resource == "pods/proxy"]


def test_a_forbidden_proxy_read_is_a_finding_naming_get_pods_proxy() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-telemetry")
    fake.scenario["forbidden"] = fake.scenario["forbidden"] + [{"verb": "get", "resource": "pods/proxy"}]
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    assert r.exit_code == 0
    forbidden = [f for f in r.json["findings"] if f["code"] == "rbac-forbidden"]
    assert {f["command"] for f in forbidden} == {"kubectl auth can-i create pods/exec -n datadog",
                                                  "kubectl auth can-i get pods/proxy -n datadog"}
    assert any("pods/proxy" in f["message"] for f in forbidden)
    assert {c["verdict"] for c in r.json["configs"]} == {"expected"}
    assert r.json["dca"]["source"] is None


def test_a_failing_exec_falls_back_to_the_telemetry() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-telemetry")
    fake.scenario["forbidden"] = []  # exec allowed, but the binary is missing in this DCA image
    assert fake.source is not None
    fake.source = replace(fake.source, directories=fake.source.directories[:1])  # without the base's exec texts
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    assert r.json["dca"]["clusterchecks"]["exitCode"] == 127
    assert r.json["dca"]["source"] == "telemetry"
    assert "exited 127" in r.json["findings"][0]["message"]


def test_dangling_configs_counted_by_the_telemetry_are_a_finding() -> None:
    text = ('cluster_checks_nodes_reporting{join_leader="true"} 1\n'
            'cluster_checks_configs_dangling{join_leader="true"} 1\n'
            f'cluster_checks_configs_dispatched{{join_leader="true",node="{RUNNER_B}"}} 1\n'
            f'cluster_checks_configs_info{{check_id="kubernetes_state_core:d4",join_leader="true",node="{RUNNER_B}"}} 1\n')
    r = invoke_cli("clusterchecks", "-o", "json", fake=_telemetry_fake(text))
    rows = {c["check"]: (c["dcaSays"], c["verdict"]) for c in r.json["configs"]}
    assert rows["redisdb"] == ("unassigned or not listed", "expected")  # may be the dangling one: no verdict
    assert rows["kubernetes_state_core"] == (RUNNER_B, "dispatched")
    dangling = [f for f in r.json["findings"] if f["code"] == "clusterchecks-dangling"]
    assert len(dangling) == 1 and dangling[0]["message"].startswith("1 config(s) are unassigned")
    # a runner missing from the telemetry is not called "not reporting": it may simply run nothing
    assert "clusterchecks-runner-not-reporting" not in _codes(r.json)


def test_zero_reporting_in_the_telemetry_is_the_same_finding() -> None:
    text = 'cluster_checks_nodes_reporting{join_leader="true"} 0\ncluster_checks_configs_dangling 2\n'
    r = invoke_cli("clusterchecks", "-o", "json", fake=_telemetry_fake(text))
    assert "clusterchecks-zero-reporting" in _codes(r.json)
    assert {c["verdict"] for c in r.json["configs"]} == {"expected"}


def test_counts_without_names_leave_the_rows_unseen() -> None:
    text = f'cluster_checks__nodes_reporting 2\ncluster_checks__configs_dispatched{{node="{RUNNER_A}"}} 2\n'
    r = invoke_cli("clusterchecks", "-o", "json", fake=_telemetry_fake(text))
    assert {(c["dcaSays"], c["verdict"]) for c in r.json["configs"]} == {("not shown", "expected")}
    assert _codes(r.json) == ["clusterchecks-dca-telemetry"]


def test_a_follower_in_the_telemetry_is_not_dispatching() -> None:
    text = 'leader_election_is_leader{is_leader="false",join_leader="true"} 1\n'
    r = invoke_cli("clusterchecks", "-o", "json", fake=_telemetry_fake(text))
    assert "clusterchecks-dca-not-dispatching" in _codes(r.json)


def test_an_answer_that_is_not_telemetry_says_what_could_not_be_seen() -> None:
    r = invoke_cli("clusterchecks", "-o", "json", fake=_telemetry_fake("<html>404 page not found</html>\n"))
    assert _codes(r.json) == ["clusterchecks-dispatch-unseen", "rbac-forbidden"]
    assert "not Prometheus text" in r.json["findings"][0]["message"]
    assert {c["verdict"] for c in r.json["configs"]} == {"expected"}


def test_a_proxy_error_is_said_with_the_api_servers_words() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-telemetry")
    fake.scenario["proxyErrors"] = [{"pod": f"datadog/{DCA}", "port": 5000, "code": 503,
                                     "message": "error trying to reach service: dial tcp 10.244.1.5:5000: i/o timeout"}]
    r = invoke_cli("clusterchecks", "-o", "json", fake=fake)
    unseen = r.json["findings"][0]
    assert unseen["code"] == "clusterchecks-dispatch-unseen" and "i/o timeout" in unseen["message"]
    assert "check that the DCA serves its telemetry on port 5000" in unseen["hint"]
    assert r.json["dca"]["telemetry"]["problem"].endswith("i/o timeout")


def test_the_port_helm_names_agentmetrics_is_the_one_asked() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-helm")
    for obj in fake.objects:
        if obj["kind"] == "Pod" and obj["metadata"]["name"] == DCA:
            obj["spec"]["containers"][0]["ports"].append({"name": "agentmetrics", "containerPort": 5001})
    r = invoke_cli("clusterchecks", "--no-exec", "-o", "json", fake=fake)
    assert r.fake is not None
    assert [c.detail for c in r.fake.calls if c.resource == "pods/proxy"] == ["5001/metrics"]
