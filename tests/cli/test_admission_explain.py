"""`admission-explain` through the real CLI boundary on FakeCluster scenarios: each pod's verdict
(the first that holds), the chain, root cause first, goldens for every format, read-only, unknown
is not false, exit codes and errors."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from tests import conftest
from tests.fakes import FakeCluster, _hold_unready, writes
from tests.scenario import Scenario, load_scenario

FORMATS = ["table", "wide", "json", "yaml"]

# (scenario, namespace) -> {pod: verdict}
VERDICTS: dict[tuple[str, str], dict[str, str]] = {
    ("admission-helm", "shop"): {
        "web-5d8f7c9b4-a1b2c": "mutated", "web-5d8f7c9b4-d3e4f": "mutated",
        "legacy-6c7d8e9f0-k8m2n": "created-before-webhook", "cart-7f9c8b6d5-p4q5r": "created-while-dca-unavailable",
        "api-8b7c6d5e4-s6t7u": "not-selected", "batch-9c8d7e6f5-v8w9x": "not-selected",
        "search-4a5b6c7d8-y1z2a": "injection-partial", "orders-3b4c5d6e7-b3c4d": "not-mutated"},
    ("admission-helm", "kube-system"): {"probe-2c3d4e5f6-e5f6g": "not-selected"},
    ("admission-disabled", "shop"): {"web-5d8f7c9b4-a1b2c": "admission-disabled"},
    ("admission-webhook-missing", "shop"): {"web-5d8f7c9b4-a1b2c": "webhook-missing"},
    ("admission-cert-mismatch", "shop"): {"web-5d8f7c9b4-a1b2c": "certificate-invalid"},
    ("admission-no-endpoints", "shop"): {"api-8b7c6d5e4-s6t7u": "webhook-unreachable"},
    ("admission-unlabelled", "shop"): {"api-8b7c6d5e4-s6t7u": "mutated", "batch-9c8d7e6f5-v8w9x": "not-selected"},
    ("admission-ssi", "shop"): {"api-8b7c6d5e4-s6t7u": "mutated"},
    ("admission-ssi", "other"): {"report-1a2b3c4d5-h7i8j": "ssi-not-targeted"},
    ("admission-operator", "shop"): {"web-5d8f7c9b4-a1b2c": "mutated"},
    ("admission-probe-failing", "shop"): {"orders-3b4c5d6e7-b3c4d": "webhook-unreachable"},
    # the Secret is missing (certificate-invalid) and nothing is Ready (webhook-unreachable): the first wins
    ("admission-misconfigured", "secure"): {"payments-6d4f8b7c9-m2n3o": "certificate-invalid"},
}


@functools.lru_cache(maxsize=None)
def _scenario(name: str) -> Scenario:
    return load_scenario(name)


def fake_of(scenario: str, **config: Any) -> FakeCluster:
    """A fake of its own: tests that edit objects must not leak into the cached scenario."""
    sc = _scenario(scenario)
    objects = copy.deepcopy(sc.objects)
    _hold_unready(objects, set(sc.config.get("unreadyPods") or []))
    return FakeCluster(objects=objects, scenario={**sc.config, **config}, source=sc)


def explain(scenario: str, *args: str, fake: FakeCluster | None = None) -> conftest.Result:
    return conftest.invoke_cli("admission-explain", *args, fake=fake or fake_of(scenario))


@pytest.mark.parametrize("scenario,namespace", sorted(VERDICTS))
def test_each_pod_gets_its_verdict(scenario: str, namespace: str) -> None:
    r = explain(scenario, "-n", namespace, "-o", "json")
    assert r.stderr == "" and r.exit_code in (0, 3)
    assert {p["name"]: p["verdict"] for p in r.json["pods"]} == VERDICTS[(scenario, namespace)]


def test_every_documented_verdict_is_reached_by_a_scenario() -> None:
    from kubectl_datadog.diagnose.admission import VERDICTS as ORDER

    reached = {v for pods in VERDICTS.values() for v in pods.values()}
    assert set(ORDER) - reached == {"unknown"}  # unknown: test_unreadable_namespaces_make_selection_unknown


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario,args", [
    ("admission-helm", ("-A",)), ("admission-helm", ("search-4a5b6c7d8-y1z2a", "-n", "shop")),
    ("admission-no-endpoints", ("-n", "shop")), ("admission-cert-mismatch", ("-n", "shop")),
    ("admission-ssi", ("-A",)), ("admission-disabled", ("-n", "shop")), ("admission-probe-failing", ("-n", "shop")),
    ("admission-misconfigured", ("-n", "secure")),
])
def test_golden(scenario: str, args: tuple[str, ...], fmt: str, golden: conftest.Golden) -> None:
    r = explain(scenario, *args, "-o", fmt)
    assert r.stderr == ""
    name = "-".join([scenario, *[a for a in args if not a.startswith("-") and a != "shop"]]) or scenario
    golden.check(f"admission_explain/{name}.{fmt}", r.stdout)


def test_root_cause_first_and_symptoms_name_it() -> None:
    findings = explain("admission-no-endpoints", "-n", "shop", "-o", "json").json["findings"]
    codes = [f["code"] for f in findings]
    assert codes[0] == "admission-no-endpoints"
    owner = next(f for f in findings if f["code"] == "admission-owner-create-failed")
    assert owner["causedBy"] == ["admission-no-endpoints"]
    assert 'no endpoints available for service "datadog-cluster-agent-admission-controller"' in owner["message"]
    pods = next(f for f in findings if f["code"] == "admission-pods-unmutated")
    assert pods["causedBy"] == ["admission-no-endpoints"]


def test_policy_rejection_is_an_owner_row_with_the_exact_event_text() -> None:
    r = explain("admission-helm", "-n", "secure", "-o", "json")
    assert r.json["pods"] == []
    (owner,) = r.json["owners"]
    assert owner["owner"] == "replicaset/secure/payments-6d4f8b7c9" and owner["verdict"] == "rejected-by-policy"
    assert 'violates PodSecurity "baseline:latest": hostPath volumes (volume "datadog")' in owner["message"]
    assert "admission-rejected-by-policy" in [f["code"] for f in r.json["findings"]]
    assert r.exit_code == 3


def test_detail_names_the_selector_that_excluded_the_pod() -> None:
    r = explain("admission-helm", "api-8b7c6d5e4-s6t7u", "-n", "shop")
    assert r.exit_code == 0
    assert "objectSelector admission.datadoghq.com/enabled=true: the pod's label admission.datadoghq.com/enabled " \
           "is absent" in r.stdout
    kube = explain("admission-helm", "probe-2c3d4e5f6-e5f6g", "-n", "kube-system").stdout
    assert "namespaceSelector kubernetes.io/metadata.name notin (kube-system,datadog) excludes namespace " \
           "kube-system" in kube


def test_timing_findings_name_the_rollout_that_fixes_them() -> None:
    findings = explain("admission-helm", "-n", "shop", "-o", "json").json["findings"]
    before = next(f for f in findings if f["code"] == "admission-created-before-webhook")
    assert before["object"] == "deployment/shop/legacy"
    assert "kubectl -n shop rollout restart deployment/legacy" in before["hint"]
    while_down = next(f for f in findings if f["code"] == "admission-created-while-dca-unavailable")
    assert while_down["object"] == "deployment/shop/cart"


def test_psa_namespace_with_socket_mode_is_flagged() -> None:
    fake = fake_of("admission-helm")
    for o in fake.objects:
        if o["kind"] == "Namespace" and o["metadata"]["name"] == "shop":
            o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "restricted"
    findings = explain("admission-helm", "-n", "shop", "-o", "json", fake=fake).json["findings"]
    psa = next(f for f in findings if f["code"] == "admission-psa-hostpath")
    assert psa["object"] == "namespace/shop" and "'restricted'" in psa["message"]


def test_read_only_and_one_pod_list() -> None:
    fake = fake_of("admission-helm")
    r = explain("admission-helm", "-n", "shop", fake=fake)
    assert r.exit_code == 0
    assert writes(fake.calls) == []
    pod_lists = [c for c in fake.calls if c.verb == "list" and c.resource == "pods" and c.namespace == "shop"]
    assert len(pod_lists) == 1
    assert {c.resource for c in fake.calls if c.verb == "create"} <= {"pods/exec"}  # the DCA's status only
    assert not [c for c in explain_no_exec_calls("admission-helm") if c.verb == "create"]


def explain_no_exec_calls(scenario: str) -> list[Any]:
    fake = fake_of(scenario)
    explain(scenario, "-n", "shop", "--no-exec", fake=fake)
    return fake.calls


def test_secret_forbidden_leaves_the_certificate_match_unknown() -> None:
    fake = fake_of("admission-cert-mismatch", forbidden=[{"verb": "get", "resource": "secrets", "namespace": "datadog"}])
    r = explain("admission-cert-mismatch", "-n", "shop", "-o", "json", fake=fake)
    codes = [f["code"] for f in r.json["findings"]]
    assert "admission-cabundle-mismatch" not in codes  # unknown, not false
    assert "rbac-forbidden" in codes
    step = next(s for s in r.json["chain"] if s["step"] == "certificate")
    assert "Secret not readable" in step["detail"]


def test_unreadable_namespaces_make_selection_unknown() -> None:
    fake = fake_of("admission-helm", forbidden=[{"verb": "list", "resource": "namespaces"}])
    r = explain("admission-helm", "-n", "shop", "-o", "json", fake=fake)
    verdicts = {p["name"]: p["verdict"] for p in r.json["pods"]}
    assert verdicts["legacy-6c7d8e9f0-k8m2n"] == "unknown"
    assert verdicts["web-5d8f7c9b4-a1b2c"] == "mutated"  # what it carries is seen whatever the selectors
    f = next(f for f in r.json["findings"] if f["code"] == "rbac-forbidden")
    assert f["command"] == "kubectl auth can-i list namespaces"


def test_webhook_list_forbidden_is_unknown_not_missing() -> None:
    fake = fake_of("admission-helm", forbidden=[{"verb": "list",
                                                 "resource": "mutatingwebhookconfigurations.admissionregistration.k8s.io"}])
    r = explain("admission-helm", "-n", "shop", "-o", "json", fake=fake)
    codes = [f["code"] for f in r.json["findings"]]
    assert "admission-webhook-missing" not in codes and "rbac-forbidden" in codes
    assert r.json["pods"][0]["verdict"] in ("unknown", "mutated")


def test_label_selector_narrows_the_pods() -> None:
    r = explain("admission-helm", "-n", "shop", "-l", "app=web", "-o", "json")
    assert [p["name"] for p in r.json["pods"]] == ["web-5d8f7c9b4-a1b2c", "web-5d8f7c9b4-d3e4f"]


def test_errors() -> None:
    r = explain("admission-helm", "nope", "-n", "shop")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.startswith('error: pod "nope" not found in the namespace "shop"')
    r = explain("admission-helm", "web-5d8f7c9b4-a1b2c", "-A")
    assert r.exit_code == 2 and r.stderr.startswith("error: a POD cannot be combined with -A")
    r = explain("admission-helm", "-l", "a==b==c")
    assert r.exit_code == 2 and r.stderr.startswith("error:") and "\n" == r.stderr[-1] and r.stderr.count("\n") == 1


def test_fail_on() -> None:
    assert explain("admission-helm", "-n", "shop").exit_code == 0  # warnings only
    assert explain("admission-helm", "-n", "shop", "--fail-on", "warning").exit_code == 3
    assert explain("admission-disabled", "-n", "shop").exit_code == 3


def test_empty_namespace_still_shows_the_chain() -> None:
    r = explain("admission-helm", "-n", "nothing-here", "-o", "json")
    assert r.exit_code == 0 and r.json["pods"] == []
    assert [s["step"] for s in r.json["chain"]] == ["settings", "webhook", "certificate", "service", "cluster-agent",
                                                 "status"]


def test_the_dcas_failing_probe_is_the_root_cause_of_unmutated_pods() -> None:
    r = explain("admission-probe-failing", "-n", "shop", "-o", "json")
    findings = r.json["findings"]
    assert findings[0]["code"] == "admission-probe-failing"
    assert "dry-run probe configmap was not annotated by the webhook" in findings[0]["message"]
    assert findings[0]["hint"].startswith("GKE detected")
    pods = next(f for f in findings if f["code"] == "admission-pods-unmutated")
    assert pods["causedBy"] == ["admission-probe-failing"]
    # without exec the same pod has no visible cause
    r = explain("admission-probe-failing", "-n", "shop", "--no-exec", "-o", "json")
    assert r.json["pods"][0]["verdict"] == "not-mutated"
    assert "status" not in [s["step"] for s in r.json["chain"]]


def test_the_dcas_status_settles_the_certificate_when_the_secret_is_unreadable() -> None:
    fake = fake_of("admission-helm", forbidden=[{"verb": "get", "resource": "secrets", "namespace": "datadog"}])
    r = explain("admission-helm", "-n", "shop", "-o", "json", fake=fake)
    status = next(s for s in r.json["chain"] if s["step"] == "status")
    assert status["state"] == "ok" and "digests match" in status["detail"]
    assert status["object"] == "pod/datadog/datadog-cluster-agent-8568545574-x9tc9"  # the lock's holder
    verdicts = {p["name"]: p["verdict"] for p in r.json["pods"]}
    assert verdicts["orders-3b4c5d6e7-b3c4d"] == "not-mutated"  # certificate known good, so not blamed


def test_exec_forbidden_is_a_finding_not_an_error() -> None:
    fake = fake_of("admission-helm", forbidden=[{"verb": "create", "resource": "pods/exec"}])
    r = explain("admission-helm", "-n", "shop", "-o", "json", fake=fake)
    assert r.exit_code == 0
    f = next(f for f in r.json["findings"] if f["code"] == "rbac-forbidden")
    assert f["command"] == "kubectl auth can-i create pods/exec -n datadog"


def test_a_library_asked_for_but_not_injected_is_a_partial_injection() -> None:
    fake = fake_of("admission-ssi")
    for o in fake.objects:
        if o["kind"] == "Pod" and o["metadata"]["name"] == "api-8b7c6d5e4-s6t7u":
            o["metadata"]["annotations"]["admission.datadoghq.com/java-lib.version"] = "v1.45.0"
    r = explain("admission-ssi", "-n", "shop", "-o", "json", fake=fake)
    (pod,) = r.json["pods"]
    assert pod["verdict"] == "injection-partial"
    lib = next(i for i in pod["injections"] if i["role"] == "lib")
    assert lib["missing"] == ["init container datadog-lib-java-init (asked by its annotation)"]
    assert "init container datadog-lib-python-init (gcr.io/datadoghq/dd-lib-python-init:v3)" in lib["found"]


def _label_nodes(fake: FakeCluster, labels: dict[str, str]) -> FakeCluster:
    for o in fake.objects:
        if o["kind"] == "Node":
            o["metadata"].setdefault("labels", {}).update(labels)
    return fake


def test_platform_hints_come_from_the_nodes() -> None:
    fake = _label_nodes(fake_of("admission-helm"), {"cloud.google.com/gke-nodepool": "default-pool"})
    findings = explain("admission-helm", "-n", "shop", "--no-exec", "-o", "json", fake=fake).json["findings"]
    hint = next(f for f in findings if f["code"] == "admission-platform-hint")
    assert "GKE: a private cluster's firewall must allow the control plane to reach the nodes on TCP 8000" \
        in hint["message"]
    plain = explain("admission-helm", "-n", "shop", "--no-exec", "-o", "json").json["findings"]
    assert "GKE" not in next(f for f in plain if f["code"] == "admission-platform-hint")["message"]


def test_autopilot_with_socket_mode_is_flagged() -> None:
    fake = _label_nodes(fake_of("admission-helm"), {"cloud.google.com/gke-provisioning": "standard",
                                                    "cloud.google.com/gke-nodepool": "default-pool"})
    findings = explain("admission-helm", "-n", "shop", "-o", "json", fake=fake).json["findings"]
    f = next(f for f in findings if f["code"] == "admission-socket-mode-platform")
    assert f["message"].startswith("gke-autopilot rejects the hostPath volume that socket mode injects")


def test_an_entry_calling_another_webhooks_path_is_flagged() -> None:
    fake = fake_of("admission-helm")
    mwc = next(o for o in fake.objects if o["kind"] == "MutatingWebhookConfiguration")
    mwc["webhooks"][0]["clientConfig"]["service"]["path"] = "/injecttags"  # datadog.webhook.agent.config
    findings = explain("admission-helm", "-n", "shop", "-o", "json", fake=fake).json["findings"]
    f = next(f for f in findings if f["code"] == "admission-webhook-path-mismatch")
    assert f["message"].startswith("webhook datadog.webhook.agent.config is a config webhook by its name but calls "
                                   "/injecttags")


def test_every_independent_problem_is_reported_in_one_run() -> None:
    findings = explain("admission-misconfigured", "-n", "secure", "-o", "json").json["findings"]
    codes = {f["code"]: f for f in findings}
    for code in ("admission-csi-disabled", "admission-timeout-long", "admission-webhook-entry-missing",
                 "admission-certificate-secret-missing", "admission-dca-not-ready", "admission-no-endpoints",
                 "admission-psa-hostpath"):
        assert code in codes, code
    assert codes["admission-no-endpoints"]["causedBy"] == ["admission-dca-not-ready"]
    order = [f["code"] for f in findings]
    assert order.index("admission-dca-not-ready") < order.index("admission-no-endpoints")


@pytest.mark.parametrize("fmt", ["wide", "json", "yaml"])
def test_no_secret_value_is_ever_printed(fmt: str) -> None:
    from tests.fakes import secret_values

    r = explain("admission-helm", "-A", "-o", fmt)
    out = r.stdout + r.stderr
    values = [v for v in secret_values("admission-helm") if len(v) >= 8]
    assert values and not [v for v in values if v in out]
    key = next(v for v in values if "PRIVATE KEY" in v)  # the webhook certificate's key: never read into output
    assert key.splitlines()[1] not in out


def _ssi_with_targets(targets: str) -> FakeCluster:
    fake = fake_of("admission-ssi")
    for o in fake.objects:
        if o["kind"] == "Pod" and "cluster-agent" in o["metadata"]["name"]:
            c = o["spec"]["containers"][0]
            c["env"] = [e for e in c["env"] if e["name"] != "DD_APM_INSTRUMENTATION_ENABLED_NAMESPACES"] + [
                {"name": "DD_APM_INSTRUMENTATION_TARGETS", "value": targets}]
    return fake


def test_ssi_targets_first_match_wins() -> None:
    targets = ('[{"name": "reports", "namespaceSelector": {"matchNames": ["other"]}, '
               '"podSelector": {"matchLabels": {"app": "report"}}}]')
    pod = explain("admission-ssi", "-n", "other", "-o", "json", fake=_ssi_with_targets(targets)).json["pods"][0]
    lib = next(i for i in pod["injections"] if i["role"] == "lib")
    assert lib["expected"] is True and lib["because"] == "SSI target 'reports' matches"
    assert pod["verdict"] == "not-mutated"
    pod = explain("admission-ssi", "-n", "shop", "-o", "json", fake=_ssi_with_targets(targets)).json["pods"][0]
    assert pod["verdict"] == "mutated"  # what it carries; SSI no longer targets shop
    bad = explain("admission-ssi", "-n", "other", "-o", "json", fake=_ssi_with_targets("[{")).json["pods"][0]
    assert bad["verdict"] == "ssi-not-targeted"
    assert bad["reason"].startswith("DD_APM_INSTRUMENTATION_TARGETS is not valid JSON")
    findings = explain("admission-ssi", "-n", "other", "-o", "json", fake=_ssi_with_targets("[{")).json["findings"]
    assert "admission-ssi-targets-invalid" in [f["code"] for f in findings]


@pytest.mark.parametrize("created,verdict", [
    ("2026-11-20T09:05:59Z", "created-before-webhook"),
    ("2026-11-20T09:06:01Z", "created-before-webhook"),  # within the timestamps' resolution of the webhook's
    ("2026-11-20T09:06:02Z", "created-while-dca-unavailable"),  # after it, but before today's DCA was Ready
])
def test_timing_boundaries(created: str, verdict: str) -> None:
    fake = fake_of("admission-helm")
    pod = next(o for o in fake.objects if o["kind"] == "Pod" and o["metadata"]["name"] == "legacy-6c7d8e9f0-k8m2n")
    pod["metadata"]["creationTimestamp"] = created
    r = explain("admission-helm", "legacy-6c7d8e9f0-k8m2n", "-n", "shop", "-o", "json", fake=fake)
    assert r.json["pods"][0]["verdict"] == verdict


def test_without_a_cluster_agent_nothing_mutates() -> None:
    r = explain("helm-agents", "-n", "datadog", "-o", "json")
    assert r.exit_code == 3
    assert {p["verdict"] for p in r.json["pods"]} == {"admission-disabled"}
    assert r.json["pods"][0]["reason"] == "no Cluster Agent runs, so nothing mutates pods"
    assert r.json["findings"][0]["code"] == "admission-no-cluster-agent"
