"""clusterchecks' diagnosis of the DCA's own view, from a collected fake snapshot whose DCA answer is
replaced by the layouts the other DCA versions and states print (tests/fixtures/clusterchecks/)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kubectl_datadog.collect.clusterchecks import ClusterChecksOptions, collect_clusterchecks
from kubectl_datadog.collect.request import Request
from kubectl_datadog.diagnose.clusterchecks import explain
from kubectl_datadog.snapshots.clusterchecks import ClusterChecksSnapshot
from kubectl_datadog.textformats.clusterchecks import parse_clusterchecks
from tests.fakes import FakeCluster

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clusterchecks"
REDIS_ON_RUNNER = """=== 1 agents reporting ===

Name                                    Running checks
datadog-clusterchecks-7d9c6b5f4-2xk8p   1

===== Checks on datadog-clusterchecks-7d9c6b5f4-2xk8p =====

=== redisdb check ===
Configuration provider: kubernetes-services
Configuration source: kube_services:kube_service://default/redis
Config for instance ID: redisdb:6e3b9a1c2f4d5e70
host: 127.96.40.10
~
===
{status}
"""


def _snapshot(scenario: str = "clusterchecks-helm") -> ClusterChecksSnapshot:
    return collect_clusterchecks(FakeCluster.from_scenario(scenario), Request(), ClusterChecksOptions())


def _with_answer(snap: ClusterChecksSnapshot, text: str) -> ClusterChecksSnapshot:
    assert snap.dca is not None
    return replace(snap, dca=replace(snap.dca, state=parse_clusterchecks(text)))


def _verdicts(snap: ClusterChecksSnapshot) -> dict[tuple[str, str], tuple[str | None, str]]:
    return {(r.check, r.origin): (r.dca_says, r.verdict) for r in explain(snap).rows}


def test_execution_status_error_is_the_row_verdict_and_a_finding() -> None:
    text = REDIS_ON_RUNNER.format(status="    Instance ID: redisdb:6e3b9a1c2f4d5e70 [ERROR]\n"
                                         "    Error: Error 111 connecting to 127.96.40.10:6379. Connection refused.")
    report = explain(_with_answer(_snapshot(), text))
    redis = next(r for r in report.rows if r.check == "redisdb")
    assert (redis.verdict, redis.detail) == ("error", "Error 111 connecting to 127.96.40.10:6379. Connection refused.")
    assert "clusterchecks-check-error" in [f.code for f in report.findings]


def test_execution_status_ok_says_so_and_none_says_nothing() -> None:
    ok = explain(_with_answer(_snapshot(), REDIS_ON_RUNNER.format(
        status="    Instance ID: redisdb:6e3b9a1c2f4d5e70 [OK]"))).rows
    plain = explain(_with_answer(_snapshot(), REDIS_ON_RUNNER.format(status=""))).rows
    assert [(r.verdict, r.detail) for r in ok if r.check == "redisdb"] == [("dispatched", "ran OK")]
    assert [(r.verdict, r.detail) for r in plain if r.check == "redisdb"] == [("dispatched", "")]


def test_a_config_the_dca_does_not_list_is_unknown_to_it() -> None:
    report = explain(_with_answer(_snapshot(), REDIS_ON_RUNNER.format(status="")))
    ksm = next(r for r in report.rows if r.check == "kubernetes_state_core")
    assert (ksm.dca_says, ksm.verdict) == ("not listed", "unknown-to-dca")
    # no endpoints section printed (an older DCA or no kube_endpoints): not shown, not a verdict
    nginx = next(r for r in report.rows if r.check == "nginx")
    assert (nginx.dca_says, nginx.verdict) == ("not shown", "expected")
    assert [f.code for f in report.findings] == ["clusterchecks-unknown-to-dca", "clusterchecks-runner-not-reporting"]


def test_warmup_is_not_unknown_to_dca() -> None:
    report = explain(_with_answer(_snapshot(), (FIXTURES / "warmup.txt").read_text()))
    assert {r.verdict for r in report.rows} == {"expected"}
    assert [f.code for f in report.findings] == ["clusterchecks-warmup"]


def test_a_follower_is_not_dispatching() -> None:
    report = explain(_with_answer(_snapshot(), (FIXTURES / "follower.txt").read_text()))
    assert [f.code for f in report.findings] == ["clusterchecks-dca-not-dispatching"]
    assert {r.dca_says for r in report.rows} == {None}


def test_dca_says_disabled_while_its_spec_says_enabled() -> None:
    report = explain(_with_answer(_snapshot(), (FIXTURES / "not-enabled.txt").read_text()))
    assert [f.code for f in report.findings] == ["clusterchecks-dca-disabled"]


def test_unreadable_answer_is_a_warning_and_verdicts_stay_from_the_api() -> None:
    snap = _snapshot()
    assert snap.dca is not None
    snap = replace(snap, dca=replace(snap.dca, state=None, parse_error="no cluster-check section found"))
    report = explain(snap)
    assert [f.code for f in report.findings] == ["clusterchecks-dca-unavailable"]
    assert {r.verdict for r in report.rows} == {"expected"}


def test_exclude_checks_setting() -> None:
    snap = _snapshot()
    assert snap.settings is not None
    snap = replace(snap, settings=replace(snap.settings, exclude_checks=("redisdb",)))
    report = explain(snap)
    assert [r.verdict for r in report.rows if r.check == "redisdb"] == ["excluded"]
    assert "clusterchecks-check-excluded" in [f.code for f in report.findings]


def test_node_agents_in_the_runner_pool() -> None:
    snap = _snapshot()
    workers = tuple(replace(w, providers=frozenset({"clusterchecks", "endpointschecks"}))
                    if w.role == "node-agent" else w for w in snap.workers)
    report = explain(replace(snap, workers=workers))
    found = [f for f in report.findings if f.code == "clusterchecks-node-agents-in-runner-pool"]
    assert len(found) == 1 and "disables advanced dispatching" in found[0].message


def test_unknown_providers_are_not_a_missing_provider() -> None:
    snap = _snapshot("clusterchecks-runners-not-ready")
    workers = tuple(replace(w, providers=None) for w in snap.workers)
    codes = [f.code for f in explain(replace(snap, workers=workers)).findings]
    assert "clusterchecks-no-worker" not in codes and "clusterchecks-runners-not-ready" in codes


def test_a_ready_runner_missing_from_the_reporting_list() -> None:
    report = explain(_with_answer(_snapshot(), REDIS_ON_RUNNER.format(status="")))
    (f,) = [f for f in report.findings if f.code == "clusterchecks-runner-not-reporting"]
    assert f.subject == "pod/datadog/datadog-clusterchecks-7d9c6b5f4-9qv7m"
    # not when the runner is not Ready (its own finding says why), nor while the DCA warms up
    snap = _with_answer(_snapshot("clusterchecks-runners-not-ready"), REDIS_ON_RUNNER.format(status=""))
    assert "clusterchecks-runner-not-reporting" not in [f.code for f in explain(snap).findings]


def test_status_section_counting_other_agents_than_clusterchecks() -> None:
    from kubectl_datadog.textformats.clusterchecks import DispatchingStatus

    snap = _snapshot()
    assert snap.dca is not None
    agreeing = replace(snap, dca=replace(snap.dca, dispatching=DispatchingStatus("leader", "", 2, 2, 2, 0)))
    disagreeing = replace(snap, dca=replace(snap.dca, dispatching=DispatchingStatus("leader", "", 3, 2, 2, 0)))
    assert explain(agreeing).findings == ()
    assert [f.code for f in explain(disagreeing).findings] == ["clusterchecks-status-disagrees"]
