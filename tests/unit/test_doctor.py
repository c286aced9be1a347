"""doctor's own checks and its report: pure functions over typed snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_datadog.cluster import AccessCheck
from kubectl_datadog.diagnose import doctor_pods, doctor_sweep
from kubectl_datadog.diagnose.doctor import AreaResult, Check, area_result, needed_permission, score, with_ignored
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.install import Install, Leftover
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.doctor import (
    ROLE_AGENT,
    ROLE_DCA,
    AccessNeed,
    Budget,
    HealthReport,
    SweepSnapshot,
    image_version,
    pod_health,
)

DCA = "deployment/datadog/datadog-cluster-agent"


def pod(name: str = "dca-abc12", *, owner: str = "ReplicaSet", owner_name: str = "datadog-cluster-agent-5d4f",
        phase: str = "Running", ready: bool = True, node: str = "n1", container: str = "cluster-agent",
        image: str = "gcr.io/datadoghq/cluster-agent:7.62.2", restarts: int = 0, waiting: str = "",
        last: str = "", limits: dict[str, str] | None = None, scheduled: tuple[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"name": container, "ready": ready, "restartCount": restarts,
                              "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}}}
    if last:
        status["lastState"] = {"terminated": {"reason": last, "exitCode": 137}}
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    if scheduled:
        conditions.append({"type": "PodScheduled", "status": "False", "reason": scheduled[0], "message": scheduled[1]})
    return {"metadata": {"namespace": "datadog", "name": name, "labels": {"pod-template-hash": "5d4f", "app": "dca"},
                         "ownerReferences": [{"kind": owner, "name": owner_name}]},
            "spec": {"nodeName": node, "containers": [{"name": container, "image": image,
                                                       "resources": {"limits": limits or {}}}]},
            "status": {"phase": phase, "conditions": conditions, "containerStatuses": [status]}}


def sweep(pods: list[dict[str, Any]] | None = None, roles: list[str] | None = None, **kw: Any) -> SweepSnapshot:
    objs = pods or []
    health = tuple(pod_health(o, (roles or [ROLE_DCA] * len(objs))[i]) for i, o in enumerate(objs))
    base: dict[str, Any] = dict(installs=(), scope=None, pods=health, dca_replicas={}, budgets=(),
                                budgets_forbidden=None, dca_labels={}, runners_forbidden=None, access=(),
                                leftovers=(), leftovers_forbidden=(), health=(), exec_allowed=True)
    base.update(kw)
    return SweepSnapshot(**base)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


@pytest.mark.parametrize(("kw", "expected"), [
    ({}, []),
    ({"waiting": "CrashLoopBackOff", "restarts": 9, "ready": False}, ["pod-crash-looping"]),
    ({"waiting": "CrashLoopBackOff", "restarts": 9, "last": "OOMKilled", "ready": False},
     ["pod-oom-killed", "pod-crash-looping"]),
    ({"last": "OOMKilled", "restarts": 1}, ["pod-oom-killed"]),
    ({"waiting": "ImagePullBackOff", "phase": "Pending", "ready": False}, ["pod-image-pull-failing"]),
    ({"phase": "Pending", "ready": False, "scheduled": ("Unschedulable", "0/3 nodes are available")},
     ["pod-unschedulable"]),
    ({"phase": "Pending", "ready": False, "waiting": "ContainerCreating"}, ["pod-pending"]),
    ({"ready": False}, ["pod-not-ready"]),
    ({"restarts": 7, "last": "Error"}, ["pod-restarting"]),
    ({"restarts": 4, "last": "Error"}, []),
    ({"restarts": 6, "last": "Error", "ready": False}, ["pod-restarting", "pod-not-ready"]),
    ({"phase": "Failed", "ready": False}, ["pod-failed"]),
], ids=["healthy", "crashloop", "crashloop-from-oom", "oom", "image-pull", "unschedulable", "pending",
        "not-ready", "restarting", "few-restarts", "restarting-not-ready", "failed"])
def test_pod_problems(kw: dict[str, Any], expected: list[str]) -> None:
    assert [p.code for p in doctor_pods.pod_problems(pod_health(pod(**kw), ROLE_DCA))] == expected


def test_a_crash_loop_after_an_oom_kill_names_it_as_its_cause() -> None:
    findings, checked = doctor_pods.pod_findings(sweep([pod(waiting="CrashLoopBackOff", last="OOMKilled",
                                                            restarts=3, limits={"memory": "256Mi"})]))
    crash = next(f for f in findings if f.code == "pod-crash-looping")
    assert crash.caused_by == ("pod-oom-killed",) and crash.subject == DCA
    assert "memory limit 256Mi" in next(f for f in findings if f.code == "pod-oom-killed").message
    assert checked == [DCA]


def test_pods_of_one_workload_make_one_finding() -> None:
    pods = [pod(f"agent-{i}", owner="DaemonSet", owner_name="datadog", container="agent",
                waiting="CrashLoopBackOff") for i in range(5)]
    findings, _ = doctor_pods.pod_findings(sweep(pods, [ROLE_AGENT] * 5))
    assert len(findings) == 1
    assert findings[0].subject == "daemonset/datadog/datadog"
    assert "5 node Agent pod(s) (agent-0, agent-1, agent-2 and 2 more)" in findings[0].message


@pytest.mark.parametrize(("replicas", "budget", "expected"), [
    (1, None, ["dca-single-replica"]), (1, {"app": "dca"}, []), (1, {"app": "other"}, ["dca-single-replica"]),
    (2, None, []),
], ids=["alone", "covered", "other-budget", "two"])
def test_single_replica_without_a_budget(replicas: int, budget: dict[str, str] | None, expected: list[str]) -> None:
    snap = sweep([pod()], dca_replicas={DCA: replicas}, dca_labels={DCA: {"app": "dca"}},
                 budgets=(Budget("datadog", "pdb", budget),) if budget else ())
    assert codes(doctor_pods.placement_findings(snap)[0]) == expected


def test_replicas_on_one_node_and_cpu_limits() -> None:
    pods = [pod("dca-a", limits={"cpu": "100m"}), pod("dca-b", limits={"cpu": "100m"})]
    findings = doctor_pods.placement_findings(sweep(pods, dca_replicas={DCA: 2}))[0]
    assert codes(findings) == ["dca-cpu-limited", "dca-replicas-one-node"]
    assert findings[0].severity == Severity.WARNING
    relaxed = doctor_pods.placement_findings(sweep([pod("dca-a", limits={"cpu": "2"}, node="n1"),
                                                    pod("dca-b", node="n2")]))[0]
    assert codes(relaxed) == ["dca-cpu-limited"] and relaxed[0].severity == Severity.INFO


def test_images_differing_across_replicas() -> None:
    pods = [pod("dca-a"), pod("dca-b", image="gcr.io/datadoghq/cluster-agent:7.63.0", node="n2")]
    findings = doctor_pods.placement_findings(sweep(pods))[0]
    assert codes(findings) == ["image-differs-across-replicas"]
    assert "7.62.2 on 1 pod(s) (dca-a)" in findings[0].message


def _install(agents: bool = True) -> Install:
    from kubectl_datadog.objects import Pod

    dca = Pod.from_dict(pod())
    agent = Pod.from_dict(pod("agent-1", owner="DaemonSet", owner_name="datadog", container="agent"))
    return Install("datadog", "datadog", "helm", "datadog-cluster-agent", (dca,), (agent,) if agents else ())


@pytest.mark.parametrize(("agent_image", "expected"), [
    ("gcr.io/datadoghq/agent:7.62.0", []),
    ("gcr.io/datadoghq/agent:7.63.1-jmx", ["agent-dca-version-skew"]),
    ("gcr.io/datadoghq/agent:7.50.0", ["agent-dca-version-skew"]),
    ("gcr.io/datadoghq/agent@sha256:abc", []),
], ids=["same-minor", "newer", "older", "digest-unknown"])
def test_version_skew(agent_image: str, expected: list[str]) -> None:
    pods = [pod(), pod("agent-1", owner="DaemonSet", owner_name="datadog", container="agent", image=agent_image)]
    snap = sweep(pods, [ROLE_DCA, ROLE_AGENT], installs=(_install(),))
    findings, checked = doctor_pods.version_findings(snap)
    assert codes(findings) == expected and checked == [DCA]


def test_image_version() -> None:
    assert image_version("gcr.io/datadoghq/agent:7.62.2-jmx") == "7.62.2"
    assert image_version("registry:5000/agent:latest") == ""
    assert image_version("registry:5000/agent") == ""


def test_denied_permissions_are_grouped_per_feature_and_unknown_ones_are_not_checked() -> None:
    user = "system:serviceaccount:datadog:dca"
    needs = (AccessNeed("datadog/dca", ROLE_DCA, "external metrics", AccessCheck("create", "tokenreviews",
                                                                                 "authentication.k8s.io", user=user), False),
             AccessNeed("datadog/dca", ROLE_DCA, "external metrics", AccessCheck("list", "horizontalpodautoscalers",
                                                                                 "autoscaling", user=user), False),
             AccessNeed("datadog/dca", ROLE_DCA, "the map", AccessCheck("list", "pods", user=user), True),
             AccessNeed("datadog/agent", ROLE_AGENT, "kubelet", AccessCheck("get", "nodes/proxy", user=user), None))
    findings, checked, unchecked = doctor_sweep.access_findings(sweep(access=needs), "permissions")
    assert codes(findings) == ["serviceaccount-permission-missing"]
    assert "create tokenreviews.authentication.k8s.io, list horizontalpodautoscalers.autoscaling" in findings[0].message
    assert findings[0].command.endswith("--as system:serviceaccount:datadog:dca")
    assert checked == ["serviceaccount/datadog/dca"]  # the agent's review could not be made: not judged
    assert [u.permission for u in unchecked] == ["create subjectaccessreviews.authorization.k8s.io"]


def test_several_installs_and_leftovers() -> None:
    apiservice = Leftover("APIService", "", "v1beta1.external.metrics.k8s.io", "external-metrics-apiservice")
    findings, _ = doctor_sweep.install_findings(sweep(installs=(_install(), _install()), leftovers=(apiservice,)))
    assert codes(findings) == ["several-installs", "old-install-leftovers"]
    assert findings[1].severity == Severity.ERROR  # an APIService nobody serves breaks every external metric


def test_health_output() -> None:
    text = "Agent health: FAIL\n=== 2 healthy components ===\na, b\n=== 1 unhealthy components ===\nc\n"
    report = HealthReport.parse(text)
    assert (report.passed, report.healthy, report.unhealthy) == (False, ("a", "b"), ("c",))
    assert HealthReport.parse("garbage").passed is None


def test_score_and_checks() -> None:
    f = [Finding("x", Severity.ERROR, "a", "m"), Finding("y", Severity.WARNING, "b", "m"),
         Finding("z", Severity.INFO, "c", "m")]
    result = area_result("area", f, checked=("a", "d"))
    assert [c.subject for c in result.checks] == ["a", "d", "b", "c"]
    assert result.score == int(100 * (0 + 1 + 0.5 + 1) // 4)
    assert score([]) is None and score([Check("a", "s", ())]) == 100


def test_missing_read_permissions_are_not_checked_not_findings() -> None:
    forbidden = forbidden_finding("pod/datadog/x", "cannot create pods/exec", Severity.INFO, verb="create",
                                  resource="pods/exec", namespace="datadog")
    result = area_result("env-check", [forbidden, Finding("x", Severity.WARNING, "s", "m")])
    assert codes(list(result.findings)) == ["x"]
    assert [(u.area, u.permission) for u in result.unchecked] == [("env-check", "create pods/exec in datadog")]


def test_ignored_codes_are_kept_aside() -> None:
    result = with_ignored(area_result("a", [Finding("x", Severity.ERROR, "s", "m")]), frozenset({"x"}))
    assert isinstance(result, AreaResult) and result.findings == () and codes(list(result.ignored)) == ["x"]
    assert result.score == 100


def test_needed_permission() -> None:
    assert needed_permission("kubectl auth can-i get secrets -n datadog") == "get secrets in datadog"
    assert needed_permission("kubectl auth can-i list nodes") == "list nodes"
    assert needed_permission("kubectl get pods") == ""


def test_completion_codes_are_the_codes_doctors_checks_emit() -> None:
    import re
    from pathlib import Path

    from kubectl_datadog.commands.doctor import OWN_CODES

    sources = "".join(p.read_text() for p in (Path(doctor_pods.__file__).parent).glob("doctor_*.py"))
    emitted = set(re.findall(r'(?:Finding|_Problem)\(\s*"([a-z-]+)"', sources))
    assert set(OWN_CODES) == emitted


def test_ignore_completes_doctor_codes() -> None:
    from kubectl_datadog import completion
    from kubectl_datadog.cli import root

    cands, _ = completion.complete(root, ["doctor", "--ignore", "pod-c"])
    assert [c.value for c in cands] == ["pod-crash-looping"]


def test_bindings_and_webhooks_pointing_at_a_namespace_with_no_install() -> None:
    from kubectl_datadog.snapshots.doctor import binding_leftover, webhook_leftover

    crb = {"metadata": {"name": "datadog-old"}, "roleRef": {"name": "datadog-cluster-agent"},
           "subjects": [{"kind": "ServiceAccount", "namespace": "old", "name": "dca"}]}
    assert binding_leftover(crb, {"datadog"}) is not None
    assert binding_leftover(crb, {"old"}) is None
    assert binding_leftover({**crb, "metadata": {"name": "other"}, "roleRef": {"name": "other"}}, {"datadog"}) is None
    mwc = {"metadata": {"name": "datadog-webhook"},
           "webhooks": [{"clientConfig": {"service": {"namespace": "old", "name": "svc"}}}]}
    found = webhook_leftover(mwc, "MutatingWebhookConfiguration", {"datadog"})
    assert found is not None and found.detail == "calls service old/svc"
    assert webhook_leftover(mwc, "MutatingWebhookConfiguration", {"old"}) is None


@pytest.mark.parametrize(("fixture", "expected"), [
    ("check-failing.txt", [("kube_state_metrics_core", "ERROR", "dca-check-failing", Severity.ERROR)]),
    ("check-not-loaded.txt", [("kube_state_metrics_core", "not-loaded", "dca-check-not-loaded", Severity.WARNING)]),
])
def test_the_leaders_other_cluster_checks(fixture: str, expected: list[tuple[str, str, str, Severity]]) -> None:
    from pathlib import Path

    from kubectl_datadog.snapshots.doctor import collector_checks

    text = (Path(__file__).parents[1] / "statusfixtures" / "dca" / "dca-7.5x-component" / fixture).read_text()
    # The corpus renders kubernetes_apiserver (leader's check): the same block under another check's name.
    checks = collector_checks(text.replace("kubernetes_apiserver", "kube_state_metrics_core"))
    findings = doctor_sweep.status_findings(checks, "datadog/dca-0", "cluster-agent")
    assert [(c.name, c.state) for c in checks] == [e[:2] for e in expected]
    assert [(f.code, f.severity) for f in findings] == [e[2:] for e in expected]
    assert checks[0].error
    # kubernetes_apiserver itself is leader's: not reported twice
    assert doctor_sweep.status_findings(collector_checks(text), "datadog/dca-0", "cluster-agent") == []


STATUS_OUT = "pods/datadog/datadog-cluster-agent-8568545574-x9tc9/exec/datadog-cluster-agent_status.out"


@pytest.mark.parametrize(("text", "keys", "codes"), [
    # rendered by tests/statusfixtures/generator from the forwarder's own template
    ("doctor-api-key-invalid", [("4f2a1", "API Key invalid")], ["dca-api-key-invalid"]),
    # a status without a Forwarder section (the other fixtures): nothing to judge
    ("helm", [], []),
    # the same key valid, under "API Keys status"
    ("valid", [("4f2a1", "API Key valid")], []),
    # on a terminal the errors are yellow; a longer key is still cut to what the DCA prints
    ("coloured", [("4f2a1", "API Key invalid")], ["dca-api-key-invalid"]),
], ids=["invalid", "no-forwarder-section", "valid", "coloured"])
def test_the_leaders_api_keys(text: str, keys: list[tuple[str, str]], codes: list[str]) -> None:
    from pathlib import Path

    from kubectl_datadog.snapshots.doctor import api_key_states

    scenarios = Path(__file__).parents[1] / "scenarios"
    invalid = (scenarios / "doctor-api-key-invalid" / STATUS_OUT).read_text()
    texts = {
        "doctor-api-key-invalid": invalid,
        "helm": (scenarios / "helm" / STATUS_OUT).read_text(),
        "valid": invalid.replace("API Keys errors", "API Keys status").replace("API Key invalid", "API Key valid"),
        "coloured": invalid.replace("API key ending with 4f2a1: API Key invalid",
                                    "\x1b[33mAPI key ending with abcdef4f2a1\x1b[0m\x1b[33m:\x1b[0m "
                                    "\x1b[33mAPI Key invalid\x1b[0m"),
    }
    states = api_key_states(texts[text])
    assert [(k.ending, k.status) for k in states] == keys
    findings = doctor_sweep.api_key_findings(states, "datadog/dca-0", "cluster-agent")
    assert [f.code for f in findings] == codes
    assert all("abcdef" not in f.message for f in findings)


def test_area_data_cannot_shadow_the_reports_keys() -> None:
    with pytest.raises(ValueError, match="checks"):
        area_result("a", [], data={"checks": []})


def test_dca_down_links_only_known_symptoms_and_only_for_one_install() -> None:
    from kubectl_datadog.diagnose.doctor import link_dca_down

    pods = area_result("pods", [Finding("pod-crash-looping", Severity.ERROR, DCA, "m")])
    leader = area_result("leader", [Finding("leader-stale", Severity.ERROR, "configmap/datadog/l", "m"),
                                    Finding("leader-flapping", Severity.WARNING, "configmap/datadog/l", "m")])
    linked = link_dca_down((pods, leader), (DCA,))
    assert {f.code: f.caused_by for f in linked[1].findings} == {"leader-stale": ("pod-crash-looping",),
                                                                 "leader-flapping": ()}
    assert link_dca_down((pods, leader), (DCA, "deployment/other/dca")) == (pods, leader)
    assert link_dca_down((pods, leader), ()) == (pods, leader)


@pytest.mark.parametrize(("proxy", "pods", "denied"), [
    (True, False, []), (False, True, []), (False, False, ["get nodes/proxy", "get nodes/pods"]),
], ids=["proxy", "fine-grained", "neither"])
def test_the_kubelet_pod_list_needs_either_permission(proxy: bool, pods: bool, denied: list[str]) -> None:
    user = "system:serviceaccount:datadog:agent"
    needs = tuple(AccessNeed("datadog/agent", ROLE_AGENT, "kubelet", AccessCheck("get", r, user=user), a)
                  for r, a in (("nodes/proxy", proxy), ("nodes/pods", pods), ("nodes/stats", True)))
    findings, _, _ = doctor_sweep.access_findings(sweep(access=needs), "permissions")
    assert [f.message.split("may not ")[1].split(", which")[0] for f in findings] == \
        ([", ".join(denied)] if denied else [])


def test_a_not_ready_workload_finding_names_its_failing_pods() -> None:
    from kubectl_datadog.diagnose.doctor import link_pod_causes

    runners = "deployment/datadog/datadog-clusterchecks"
    pods = area_result("pods", [Finding("pod-unschedulable", Severity.ERROR, runners, "m")])
    checks = area_result("clusterchecks", [Finding("clusterchecks-runners-not-ready", Severity.ERROR, runners, "m"),
                                           Finding("clusterchecks-runners-not-ready", Severity.ERROR, "other", "m")])
    linked = link_pod_causes((pods, checks), ())
    assert {f.subject: f.caused_by for f in linked[1].findings} == {runners: ("pod-unschedulable",), "other": ()}
