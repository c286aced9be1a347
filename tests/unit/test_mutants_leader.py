"""`leader` decisions that a mutmut run (docs/mutation-testing.md) found no test pinned: each test
below fails with one of those mutants applied. Through the real CLI on a scenario changed in one
place, with exact expectations (verdict, severity, object, command), and the flapping rule as the
pure function it is."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest

from kubectl_datadog.cluster import ExecResult
from kubectl_datadog.diagnose.leader import _flapping
from kubectl_datadog.snapshots.leader import LockRecord
from tests.conftest import invoke_cli
from tests.fakes import FIXTURE_NOW, FakeCluster

LOCK = "datadog-leader-election"
ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
HOLDER = "datadog-cluster-agent-8568545574-x9tc9"
FOLLOWER = "datadog-cluster-agent-8568545574-q2m7d"


def ago(seconds: float) -> str:
    return (FIXTURE_NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def obj(fake: FakeCluster, kind: str, name: str) -> dict[str, Any]:
    return next(o for o in fake.objects if o["kind"] == kind and o["metadata"]["name"] == name)


def set_record(fake: FakeCluster, record: dict[str, Any] | str, name: str = LOCK) -> None:
    """The ConfigMap lock's leader annotation, as client-go writes it (or any text)."""
    meta = obj(fake, "ConfigMap", name)["metadata"]
    meta.setdefault("annotations", {})[ANNOTATION] = record if isinstance(record, str) else json.dumps(record)


def set_env(fake: FakeCluster, pod_prefix: str, name: str, value: str | None) -> None:
    """Set (or, with None, drop) an env var in every container of the pods whose name starts so."""
    for o in fake.objects:
        if o["kind"] == "Pod" and o["metadata"]["name"].startswith(pod_prefix):
            for c in o["spec"]["containers"]:
                env = [e for e in c.get("env", []) if e["name"] != name]
                c["env"] = env + ([{"name": name, "value": value}] if value is not None else [])


def remove_pod(fake: FakeCluster, name: str) -> None:
    fake.objects.remove(obj(fake, "Pod", name))


def leader(fake: FakeCluster) -> dict[str, Any]:
    r = invoke_cli("leader", "-o", "json", fake=fake)
    assert r.exit_code == 0, r.stderr
    return r.json


def only(doc: dict[str, Any], code: str) -> dict[str, Any]:
    (f,) = [f for f in doc["findings"] if f["code"] == code]
    return f


# --- leader election off ------------------------------------------------------------------------

def test_leader_election_off_is_an_error_with_several_replicas_and_a_warning_with_one() -> None:
    """Several replicas without election all act as leader; one replica only misses events."""
    two = leader(FakeCluster.from_scenario("leader-disabled"))
    assert two["verdict"] == "disabled" and len(two["replicas"]) == 2
    assert only(two, "leader-election-disabled")["severity"] == "error"
    fake = FakeCluster.from_scenario("leader-disabled")
    remove_pod(fake, FOLLOWER)
    one = leader(fake)
    assert one["verdict"] == "disabled" and len(one["replicas"]) == 1
    f = only(one, "leader-election-disabled")
    assert (f["severity"], f["object"]) == ("warning", "deployment/datadog/datadog-cluster-agent")


# --- the lease duration -------------------------------------------------------------------------

def record(renewed: float, **extra: Any) -> dict[str, Any]:
    return {"holderIdentity": HOLDER, "acquireTime": ago(3600), "renewTime": ago(renewed), "leaderTransitions": 2,
            **extra}


def test_a_record_without_lease_duration_expires_after_the_configured_duration() -> None:
    """Renewed 30 s ago with DD_LEADER_LEASE_DURATION=15: stale, not fresh by a 60 s default."""
    fake = FakeCluster.from_scenario("helm")
    set_record(fake, record(30))
    set_env(fake, "datadog-cluster-agent-", "DD_LEADER_LEASE_DURATION", "15")
    doc = leader(fake)
    assert doc["verdict"] == "stale" and doc["expires"] == ago(15)
    assert "with a 15s lease it expired 15s ago" in only(doc, "leader-stale")["message"]


def test_a_lock_is_stale_from_the_second_it_expires() -> None:
    """client-go lets another candidate take the lock once renewTime + leaseDuration is not after now."""
    fake = FakeCluster.from_scenario("helm")
    set_record(fake, record(60, leaseDurationSeconds=60))
    doc = leader(fake)
    assert doc["verdict"] == "stale" and doc["expires"] == ago(0)
    set_record(fake, record(59, leaseDurationSeconds=60))
    assert leader(fake)["verdict"] == "healthy"


def test_without_the_setting_the_default_lease_duration_is_60_seconds() -> None:
    fake = FakeCluster.from_scenario("helm")
    set_record(fake, record(30))
    set_env(fake, "datadog-cluster-agent-", "DD_LEADER_LEASE_DURATION", None)
    doc = leader(fake)
    assert doc["verdict"] == "healthy" and doc["expires"] == ago(30 - 60)
    assert doc["install"]["settings"]["leaseDurationSeconds"] == 60


def test_node_agents_electing_use_their_own_lease_duration() -> None:
    """Without a Cluster Agent the node Agents' settings rule the lock, not a DCA's (there is none)."""
    fake = FakeCluster.from_scenario("helm-agents")
    set_record(fake, {**record(30), "holderIdentity": "datadog-9d5bl"})
    set_env(fake, "datadog-", "DD_LEADER_LEASE_DURATION", "15")
    doc = leader(fake)
    assert doc["elector"] == "node-agents"
    assert doc["verdict"] == "stale" and doc["expires"] == ago(15)


# --- records that name no leader ----------------------------------------------------------------

def test_a_leader_annotation_that_is_not_json_is_no_leader() -> None:
    fake = FakeCluster.from_scenario("helm")
    set_record(fake, '{"holderIdentity": "datadog-cluster-agent-8568545574-x9tc9"')
    doc = leader(fake)
    assert doc["verdict"] == "no-leader"
    f = only(doc, "leader-record-invalid")
    assert (f["severity"], f["object"], f["message"], f["command"]) == (
        "error", f"configmap/datadog/{LOCK}", f"the {ANNOTATION} annotation is not valid JSON",
        f"kubectl -n datadog get configmap {LOCK} -o yaml")
    assert f["hint"] == "delete the annotation; the DCA writes a new record"


def test_a_released_lock_names_no_holder() -> None:
    """client-go's release (ReleaseOnCancel) empties holderIdentity and keeps the lock fresh."""
    fake = FakeCluster.from_scenario("helm")
    set_record(fake, {"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": ago(5), "renewTime": ago(5),
                      "leaderTransitions": 3})
    doc = leader(fake)
    assert doc["verdict"] == "no-leader"
    f = only(doc, "leader-no-holder")
    assert (f["severity"], f["object"], f["message"], f["command"]) == (
        "error", f"configmap/datadog/{LOCK}", "the lock names no holder: no Cluster Agent replica is leading",
        "kubectl -n datadog logs deploy/datadog-cluster-agent | grep -i leader")


# --- a stale lock: what happened to the holder, why nobody took over ----------------------------

def test_a_stale_lock_whose_holder_pod_is_gone_says_so() -> None:
    fake = FakeCluster.from_scenario("leader-stale")
    remove_pod(fake, HOLDER)
    doc = leader(fake)
    assert doc["verdict"] == "stale"
    message = only(doc, "leader-stale")["message"]
    assert f"the holder {HOLDER} is no current Cluster Agent pod (deleted)" in message
    assert f"{FOLLOWER} is Running and Ready" in message


def test_a_stale_lock_with_no_other_replica_says_nobody_could_take_over() -> None:
    fake = FakeCluster.from_scenario("leader-stale")
    remove_pod(fake, FOLLOWER)
    message = only(leader(fake), "leader-stale")["message"]
    assert "no other Cluster Agent pod exists to take over" in message


def test_a_stale_lease_names_the_lease_permission_the_replicas_lack() -> None:
    fake = FakeCluster.from_scenario("leader-lease")
    obj(fake, "Lease", LOCK)["spec"]["renewTime"] = ago(300)
    fake.scenario["accessReviews"] = {"deny": [f'update leases.coordination.k8s.io "{LOCK}"']}
    doc = leader(fake)
    assert doc["verdict"] == "stale"
    f = only(doc, "leader-stale")
    assert (f'their service account datadog-cluster-agent cannot update leases.coordination.k8s.io "{LOCK}"'
            in f["message"])
    assert f["causedBy"] == ["dca-rbac-missing"]
    assert f["hint"].startswith("grant the DCA's service account update on the lock")


def test_a_stale_lock_claims_the_permissions_only_when_they_were_checked() -> None:
    checked = only(leader(FakeCluster.from_scenario("leader-stale")), "leader-stale")["message"]
    assert checked.endswith("their service account may get, update and create the lock")
    fake = FakeCluster.from_scenario("leader-stale")
    fake.scenario["accessReviews"] = {"unavailable": True}
    unchecked = only(leader(fake), "leader-stale")["message"]
    assert "service account" not in unchecked


def test_a_terminating_holder_is_not_ready() -> None:
    fake = FakeCluster.from_scenario("helm")
    obj(fake, "Pod", HOLDER)["metadata"]["deletionTimestamp"] = ago(10)
    doc = leader(fake)
    assert doc["verdict"] == "holder-not-ready"
    f = only(doc, "leader-holder-not-ready")
    assert (f["severity"], f["object"], f["message"]) == (
        "warning", f"pod/datadog/{HOLDER}", f"the leader {HOLDER} is Running, terminating")


# --- flapping -----------------------------------------------------------------------------------

def lock(acquired: float | None, created: float | None, transitions: int | None) -> LockRecord:
    def at(seconds: float | None) -> datetime | None:
        return None if seconds is None else FIXTURE_NOW - timedelta(seconds=seconds)

    return LockRecord("Lease", "datadog", LOCK, True, HOLDER, 60, at(acquired), at(5), transitions, at(created))


@pytest.mark.parametrize(("acquired", "created", "transitions", "flapping"), [
    (20, 6 * 3600, 40, True),           # 40 changes in 6 h, the last 20 s ago
    (20, 3600, 5, True),                # 5 an hour: above the threshold
    (20, 3600, 4, False),               # 4 an hour: the threshold itself is not flapping
    (20, 10 * 3600, 5, False),          # 0.5 an hour
    (179, 3600, 40, True),              # changed within 3 lease durations (180 s) ...
    (180, 3600, 40, False),             # ... and not at 3 durations
    (200, 3600, 40, False),             # a high rate, but no recent change
    (20, 30, 1, True),                  # a lock a minute old or less counts as a minute old
    (20, 3600, 0, False),               # never changed hands
    (20, 3600, None, False),
    (None, 3600, 40, False),            # times not written: not judged
    (20, None, 40, False),
])
def test_flapping_is_a_recent_change_and_more_than_4_changes_an_hour(
        acquired: float | None, created: float | None, transitions: int | None, flapping: bool) -> None:
    assert _flapping(lock(acquired, created, transitions), 60, FIXTURE_NOW) is flapping


def test_a_lease_lock_flaps_by_its_creation_time() -> None:
    """The Lease's own metadata.creationTimestamp dates the transitions (a Lease record has none)."""
    fake = FakeCluster.from_scenario("leader-lease")
    lease = obj(fake, "Lease", LOCK)
    lease["spec"].update(acquireTime=ago(20), leaseTransitions=40)
    lease["metadata"]["creationTimestamp"] = ago(6 * 3600)
    doc = leader(fake)
    assert doc["verdict"] == "flapping"
    f = only(doc, "leader-flapping")
    assert f["severity"] == "warning"
    assert f["message"] == "leadership changed hands 20s ago and 40 times since the lock was created 6h ago"
    lease["metadata"]["creationTimestamp"] = ago(20 * 3600)  # 2 an hour
    assert leader(fake)["verdict"] == "healthy"


# --- other locks --------------------------------------------------------------------------------

def second_lock(fake: FakeCluster, rec: dict[str, Any]) -> list[dict[str, Any]]:
    set_record(fake, rec, name=LOCK)
    return [f for f in leader(fake)["findings"] if f["code"] == "leader-second-lock-active"]


def test_a_legacy_lock_renewed_within_60_seconds_is_a_second_lock_whatever_duration_it_wrote() -> None:
    fake = FakeCluster.from_scenario("leader-second-lock")
    old = "datadog-old-cluster-agent-5f6d7c8b9-abcde"
    (f,) = second_lock(fake, {"holderIdentity": old, "renewTime": ago(30)})
    assert (f["severity"], f["object"]) == ("warning", f"configmap/datadog/{LOCK}")
    assert second_lock(fake, {"holderIdentity": old, "renewTime": ago(60)}) == []
    assert second_lock(fake, {"holderIdentity": old}) == []  # never renewed


def test_a_legacy_lock_released_this_second_is_no_second_lock() -> None:
    fake = FakeCluster.from_scenario("leader-second-lock")
    assert second_lock(fake, {"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": ago(0)}) == []


def test_a_lease_and_configmap_of_one_name_both_held_are_one_lock() -> None:
    """client-go's configmapsleases MultiLock writes both kinds under one name during a migration."""
    fake = FakeCluster.from_scenario("leader-lease")
    set_record(fake, {"holderIdentity": HOLDER, "leaseDurationSeconds": 60, "renewTime": ago(4)})
    doc = leader(fake)
    assert doc["lock"]["kind"] == "Lease" and doc["verdict"] == "healthy"
    assert doc["findings"] == []


# --- node Agents electing without a DaemonSet to name -------------------------------------------

def without_owners(scenario: str) -> FakeCluster:
    fake = FakeCluster.from_scenario(scenario)
    for o in fake.objects:
        if o["kind"] == "Pod":
            o["metadata"].pop("ownerReferences", None)
    return fake


def test_node_agents_of_no_daemonset_get_commands_that_name_none() -> None:
    """The commands name the DaemonSet when there is one (the scenarios' goldens); without one they
    still work: all pods, and the lock itself instead of a DaemonSet's logs."""
    gone = leader(without_owners("leader-without-dca-holder-gone"))
    assert only(gone, "leader-holder-gone")["command"] == "kubectl -n datadog get pods -o wide"
    stale = leader(without_owners("leader-without-dca-stale"))
    assert only(stale, "leader-stale")["command"] == f"kubectl -n datadog get configmap {LOCK} -o yaml"
    named = leader(FakeCluster.from_scenario("leader-without-dca-stale"))
    assert only(named, "leader-stale")["command"] == "kubectl -n datadog logs ds/datadog -c agent | grep -i leader"


# --- what the leader's own `status` says --------------------------------------------------------

@dataclass
class LeaderStatusSays(FakeCluster):
    """The scenario, with the leader's `datadog-cluster-agent status` output passed through `edit`."""

    edit: Callable[[str], str] = lambda out: out

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        result = super().exec(namespace, pod, container, argv, timeout)
        if pod == HOLDER and list(argv) == ["datadog-cluster-agent", "status"]:
            return replace(result, stdout=self.edit(result.stdout))
        return result


def with_status(edit: Callable[[str], str], scenario: str = "helm") -> LeaderStatusSays:
    fake = LeaderStatusSays.from_scenario(scenario)
    assert isinstance(fake, LeaderStatusSays)
    fake.edit = edit
    return fake


STATUS_CMD = f"kubectl -n datadog exec {HOLDER} -c cluster-agent -- datadog-cluster-agent status"


def without_events_check(out: str) -> str:
    return re.sub(r"    kubernetes_apiserver\n.*?(?=^=+$)", "", out, count=1, flags=re.S | re.M)


def test_a_status_exec_that_printed_nothing_is_said_not_judged() -> None:
    doc = leader(with_status(lambda out: ""))
    assert doc["verdict"] == "healthy"
    assert [f["code"] for f in doc["findings"]] == ["exec-failed"]
    f = doc["findings"][0]
    assert (f["severity"], f["object"], f["command"]) == ("info", f"pod/datadog/{HOLDER}", STATUS_CMD)
    assert f["message"] == ("could not read the leader's own status: `datadog-cluster-agent status` printed nothing "
                            "(the exec stream may have been cut)")


def test_a_dca_that_believes_another_leader_is_warned() -> None:
    doc = leader(with_status(lambda out: out.replace(f"Leader Name is: {HOLDER}", f"Leader Name is: {FOLLOWER}")))
    f = only(doc, "dca-leader-mismatch")
    assert (f["severity"], f["object"], f["command"]) == ("warning", f"pod/datadog/{HOLDER}", STATUS_CMD)
    assert f["message"] == f"the DCA believes {FOLLOWER} leads, but the lock names {HOLDER}"


def test_an_events_check_not_running_is_a_warning_only_while_events_are_collected() -> None:
    assert "kubernetes_apiserver" not in without_events_check(
        (Path(__file__).parents[1] / "scenarios/helm/pods/datadog" / HOLDER / "exec/datadog-cluster-agent_status.out")
        .read_text())
    doc = leader(with_status(without_events_check))
    f = only(doc, "events-check-not-running")
    assert (f["severity"], f["object"], f["command"]) == ("warning", f"pod/datadog/{HOLDER}", STATUS_CMD)
    off = with_status(without_events_check)
    set_env(off, "datadog-cluster-agent-", "DD_COLLECT_KUBERNETES_EVENTS", "false")
    codes = [g["code"] for g in leader(off)["findings"]]
    assert "events-check-not-running" not in codes and "events-collection-disabled" in codes


# --- event collection's prerequisites -----------------------------------------------------------

def test_node_agents_electing_need_events_access_as_an_error_while_they_collect() -> None:
    """Without a DCA the electing node Agents' own settings say whether events are collected, and
    the event token ConfigMap counts among the permissions collection needs."""
    fake = FakeCluster.from_scenario("helm-agents")
    fake.scenario["accessReviews"] = {"deny": ["list events", 'update configmaps "datadogtoken"']}
    missing = [(f["severity"], f["message"]) for f in leader(fake)["findings"] if f["code"] == "agent-rbac-missing"]
    assert missing == [
        ("error", "the node Agents' service account cannot list events: Kubernetes events cannot be collected"),
        ("error", "the node Agents' service account cannot update configmaps \"datadogtoken\" in \"datadog\": "
                  "Kubernetes events cannot be collected")]
    set_env(fake, "datadog-", "DD_COLLECT_KUBERNETES_EVENTS", "false")
    missing = [(f["severity"], f["message"]) for f in leader(fake)["findings"] if f["code"] == "agent-rbac-missing"]
    assert [severity for severity, _ in missing] == ["warning", "warning"]
    assert all(m.endswith(": needed to collect Kubernetes events once DD_COLLECT_KUBERNETES_EVENTS is on")
               for _, m in missing)


def test_node_agents_competing_with_a_dca_are_named_up_to_three() -> None:
    fake = FakeCluster.from_scenario("env-leader-election")
    agent = obj(fake, "Pod", "datadog-9d5bl")
    for i in range(3):
        extra = copy.deepcopy(agent)
        extra["metadata"]["name"] = f"datadog-x{i}"
        extra["metadata"]["uid"] = f"pod-datadog-x{i}"
        fake.objects.append(extra)
    f = only(leader(fake), "agents-leader-election")
    assert f["message"].startswith("leader election is enabled on 5 node Agent(s) "
                                   "(datadog-9d5bl, datadog-k4x2n, datadog-x0 and 2 more)")
    fake.objects.remove(obj(fake, "Pod", "datadog-x2"))
    f = only(leader(fake), "agents-leader-election")
    assert "(datadog-9d5bl, datadog-k4x2n, datadog-x0 and 1 more)" in f["message"]
    fake.objects.remove(obj(fake, "Pod", "datadog-x1"))
    assert "(datadog-9d5bl, datadog-k4x2n, datadog-x0)" in only(leader(fake), "agents-leader-election")["message"]


def test_flapping_node_agents_get_the_command_that_lists_them() -> None:
    fake = FakeCluster.from_scenario("helm-agents")
    set_record(fake, {"holderIdentity": "datadog-9d5bl", "leaseDurationSeconds": 60, "acquireTime": ago(20),
                      "renewTime": ago(5), "leaderTransitions": 40})
    obj(fake, "ConfigMap", LOCK)["metadata"]["creationTimestamp"] = ago(6 * 3600)
    doc = leader(fake)
    assert doc["verdict"] == "flapping"
    f = only(doc, "leader-flapping")
    assert f["command"] == "kubectl -n datadog get pods -o wide | grep datadog-"
    assert f["hint"] == "look for node Agent restarts (OOM, probes) and for other processes competing for the lock"


def test_a_lock_nobody_elects_through_expires_after_the_60_second_default() -> None:
    """Agents without a DCA and without election: no settings name a duration."""
    fake = FakeCluster.from_scenario("helm-agents")
    set_env(fake, "datadog-", "DD_LEADER_ELECTION", None)
    set_record(fake, {"holderIdentity": "datadog-9d5bl", "renewTime": ago(300)})
    doc = leader(fake)
    assert (doc["elector"], doc["verdict"], doc["expires"]) == ("none", "disabled", ago(240))
