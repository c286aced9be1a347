"""`admission-explain` on a real kube-apiserver: the apiserver's own MutatingAdmissionWebhook plugin
calls a stand-in webhook (harness/webhook.py) on the admission Service's ClusterIP, so whether a pod
created through the API is mutated, times out, passes unmutated or fails TLS is observed here, not
asserted from fixtures. The plugin then explains the pods it finds."""

from __future__ import annotations

import json
import time

import pytest

from kubectl_datadog.diagnose.admission_evidence import classify

pytestmark = pytest.mark.e2e

ENABLED = "admission.datadoghq.com/enabled"
NODE = "gke-test-default-pool-068cb9c0-sf1w"


def run(c, *args, user="admin"):
    r = c.run(["kubectl-datadog", "admission-explain", *args], user=user)
    assert "Traceback" not in r.stderr
    return r


def run_json(c, *args, user="admin"):
    r = run(c, *args, "-o", "json", user=user)
    assert r.returncode in (0, 3), r.stderr
    return json.loads(r.stdout)


def new_pod(name: str, labels: dict, namespace: str = "shop") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "ghcr.io/example/shop:1.4.2"}]}}


def create(c, pod: dict, timeout: float = 60):
    """Create through kubectl (the apiserver runs its admission chain); the CompletedProcess and seconds taken."""
    t0 = time.monotonic()
    r = c.kubectl("create", "-f", "-", input=json.dumps(pod), timeout=timeout)
    return r, time.monotonic() - t0


def env_names(c, name: str) -> set[str]:
    pod = c.api.read("v1", "Pod", name, "shop")
    return {e["name"] for ctr in pod["spec"]["containers"] for e in ctr.get("env") or []}


def patch_webhook(c, **fields) -> None:
    mwc = c.api.read("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "datadog-webhook")
    for w in mwc["webhooks"]:
        w.update(fields)
    c.api.request("PUT", c.api.path_for("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration",
                                        name="datadog-webhook"), mwc)
    time.sleep(1.5)  # the apiserver's webhook informer picks the change up


def test_a_created_pod_is_mutated_or_not_and_the_plugin_says_why(e2e_cluster):
    c = e2e_cluster("admission-helm", fresh=True)
    webhook = c.webhooks[0]
    r, _ = create(c, new_pod("fresh-labelled", {"app": "fresh", ENABLED: "true"}))
    assert r.returncode == 0, r.stderr
    assert {"DD_ENTITY_ID", "DD_TRACE_AGENT_URL", "DD_DOGSTATSD_URL"} <= env_names(c, "fresh-labelled")
    assert ("/injectconfig", "fresh-labelled") in webhook.requests  # the apiserver really called it
    r, _ = create(c, new_pod("fresh-unlabelled", {"app": "fresh"}))
    assert r.returncode == 0, r.stderr
    assert "DD_ENTITY_ID" not in env_names(c, "fresh-unlabelled")
    assert not [p for p in webhook.requests if p[1] == "fresh-unlabelled"]  # objectSelector: never called

    # a pod created while no webhook configuration existed, which then came back (as a DCA would create it)
    gv, kind = "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"
    mwc = c.api.read(gv, kind, "datadog-webhook")
    c.api.delete(gv, kind, "datadog-webhook")
    time.sleep(1.5)  # the apiserver's webhook informer drops it
    r, _ = create(c, new_pod("early", {"app": "early", ENABLED: "true"}))
    assert r.returncode == 0, r.stderr
    assert "DD_ENTITY_ID" not in env_names(c, "early")
    time.sleep(1.1)  # creationTimestamps have one-second resolution
    for key in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
        mwc["metadata"].pop(key, None)
    c.api.create(mwc)
    time.sleep(1.5)

    before = len(c.audit_events(user="kubernetes-admin"))
    doc = run_json(c, "-n", "shop")
    # read-only: every request the plugin (as admin) made was a read, or the DCA status exec
    made = c.audit_events(user="kubernetes-admin")[before:]
    assert made and not [e for e in made if e.get("verb") not in ("get", "list", "watch")
                         and (e.get("objectRef") or {}).get("subresource") != "exec"]
    verdicts = {p["name"]: p["verdict"] for p in doc["pods"]}
    assert verdicts["fresh-labelled"] == "mutated"
    assert verdicts["fresh-unlabelled"] == "not-selected"
    assert verdicts["early"] == "created-before-webhook"
    assert verdicts["web-5d8f7c9b4-a1b2c"] == "mutated"
    # the fixture pods whose verdict does not depend on when the harness created them: as on the fake
    assert verdicts["search-4a5b6c7d8-y1z2a"] == "injection-partial"
    assert verdicts["api-8b7c6d5e4-s6t7u"] == verdicts["batch-9c8d7e6f5-v8w9x"] == "not-selected"
    chain = {s["step"]: s for s in doc["chain"]}
    assert chain["certificate"]["state"] == "ok" and "matches secret/datadog/webhook-certificate" in \
        chain["certificate"]["detail"]
    assert chain["service"]["state"] == "ok"  # endpoints from the real endpointslice controller
    detail = run(c, "fresh-unlabelled", "-n", "shop").stdout
    assert "objectSelector admission.datadoghq.com/enabled=true: the pod's label " \
           "admission.datadoghq.com/enabled is absent" in detail


def test_an_unanswering_webhook_times_out_with_fail_and_lets_pods_in_with_ignore(e2e_cluster):
    c = e2e_cluster("admission-helm", fresh=True)
    webhook = c.webhooks[0]
    patch_webhook(c, timeoutSeconds=2, failurePolicy="Fail")
    webhook.set_delay(5)
    r, took = create(c, new_pod("slow-fail", {"app": "slow", ENABLED: "true"}))
    assert r.returncode != 0
    assert 'failed calling webhook "datadog.webhook.agent.config"' in r.stderr
    assert "context deadline exceeded" in r.stderr or "timeout" in r.stderr.lower()
    assert 2 <= took < 30
    assert classify(r.stderr, "datadog-webhook") == "webhook-unreachable"

    patch_webhook(c, failurePolicy="Ignore")
    r, took = create(c, new_pod("slow-ignore", {"app": "slow", ENABLED: "true"}))
    assert r.returncode == 0, r.stderr
    assert took >= 2  # it waited for the webhook, then let the pod in
    assert "DD_ENTITY_ID" not in env_names(c, "slow-ignore")

    webhook.set_delay(0)
    doc = run_json(c, "slow-ignore", "-n", "shop")
    pod = doc["pods"][0]
    assert pod["verdict"] == "not-mutated"  # selected, everything visible healthy: the network is the suspect
    assert "admission-not-mutated" in [f["code"] for f in doc["findings"]]
    assert "admission-timeout-long" not in [f["code"] for f in doc["findings"]]


def test_a_wrong_cabundle_gives_the_apiservers_x509_error(e2e_cluster):
    c = e2e_cluster("admission-cert-mismatch", fresh=True)
    patch_webhook(c, failurePolicy="Fail")
    r, _ = create(c, new_pod("tls-fail", {"app": "tls", ENABLED: "true"}))
    assert r.returncode != 0
    assert "x509" in r.stderr, r.stderr
    assert not c.webhooks[0].requests  # the handshake failed: the webhook never saw a review
    # a ReplicaSet's FailedCreate event carries this text: the plugin reads it as a certificate problem
    assert classify(r.stderr, "datadog-webhook") == "certificate-invalid"

    patch_webhook(c, failurePolicy="Ignore")
    r, _ = create(c, new_pod("tls-ignore", {"app": "tls", ENABLED: "true"}))
    assert r.returncode == 0, r.stderr
    assert "DD_ENTITY_ID" not in env_names(c, "tls-ignore")
    doc = run_json(c, "tls-ignore", "-n", "shop")
    assert doc["pods"][0]["verdict"] == "certificate-invalid"
    assert "admission-cabundle-mismatch" in [f["code"] for f in doc["findings"]]


def test_viewer_without_secrets_gets_unknown_not_mismatch(e2e_cluster):
    c = e2e_cluster("admission-cert-mismatch")
    doc = run_json(c, "-n", "shop", user="viewer")
    codes = [f["code"] for f in doc["findings"]]
    assert "admission-cabundle-mismatch" not in codes
    assert "rbac-forbidden" in codes


# Scenarios whose verdicts do not depend on when the harness created the pods (their fixtures' labelled
# unmutated pods would all meet a webhook configuration created a moment later): the same verdicts as on
# the fake (tests/cli/test_admission_explain.py), with real selectors, endpoints and RBAC.
PARITY = {
    "admission-disabled": {"web-5d8f7c9b4-a1b2c": "admission-disabled"},
    "admission-webhook-missing": {"web-5d8f7c9b4-a1b2c": "webhook-missing"},
    "admission-unlabelled": {"api-8b7c6d5e4-s6t7u": "mutated", "batch-9c8d7e6f5-v8w9x": "not-selected"},
    "admission-operator": {"web-5d8f7c9b4-a1b2c": "mutated"},
}


@pytest.mark.parametrize("scenario", sorted(PARITY))
def test_verdicts_match_the_fake(e2e_cluster, scenario):
    c = e2e_cluster(scenario)
    doc = run_json(c, "-n", "shop")
    assert {p["name"]: p["verdict"] for p in doc["pods"]} == PARITY[scenario]


def test_ssi_targets_only_its_namespace(e2e_cluster):
    c = e2e_cluster("admission-ssi")
    doc = run_json(c, "-A")
    verdicts = {p["name"]: p["verdict"] for p in doc["pods"]}
    assert verdicts["api-8b7c6d5e4-s6t7u"] == "mutated" and verdicts["report-1a2b3c4d5-h7i8j"] == "ssi-not-targeted"
    # SSI's accept-all objectSelector: an unlabelled pod created now in `shop` is sent to the webhook
    r, _ = create(c, new_pod("ssi-fresh", {"app": "fresh"}))
    assert r.returncode == 0, r.stderr
    assert "DD_ENTITY_ID" in env_names(c, "ssi-fresh")


def test_a_service_selecting_nothing_has_no_endpoints_for_real(e2e_cluster):
    c = e2e_cluster("admission-no-endpoints")
    doc = run_json(c, "-n", "shop")
    service = next(s for s in doc["chain"] if s["step"] == "service")
    assert service["state"] == "error" and "0 ready endpoint(s)" in service["detail"]
    assert doc["findings"][0]["code"] == "admission-no-endpoints"
    owner = next(f for f in doc["findings"] if f["code"] == "admission-owner-create-failed")
    assert owner["causedBy"] == ["admission-no-endpoints"]
    # and the apiserver agrees: with failurePolicy Fail a selected pod cannot be created
    r, _ = create(c, new_pod("no-endpoints", {"app": "x", ENABLED: "true"}))
    assert r.returncode != 0
    assert 'failed calling webhook "datadog.webhook.agent.config"' in r.stderr, r.stderr
    assert c.webhooks[0].refused and not c.webhooks[0].requests
    assert classify(r.stderr, "datadog-webhook") in ("webhook-unreachable", "webhook-failed")


def test_podsecurity_rejects_the_injected_hostpath_for_real(e2e_cluster):
    c = e2e_cluster("admission-helm")
    # the namespace enforces PodSecurity baseline; the webhook (socket mode) adds the `datadog` hostPath
    r, _ = create(c, new_pod("psa-labelled", {"app": "psa", ENABLED: "true"}, namespace="secure"))
    assert r.returncode != 0
    assert 'violates PodSecurity "baseline:latest": hostPath volumes (volume "datadog")' in r.stderr, r.stderr
    assert classify(r.stderr, "datadog-webhook") == "rejected-by-policy"
    # unlabelled, the webhook leaves it alone and PodSecurity lets it in
    r, _ = create(c, new_pod("psa-unlabelled", {"app": "psa"}, namespace="secure"))
    assert r.returncode == 0, r.stderr
    c.api.delete("v1", "Pod", "psa-unlabelled", "secure", grace=0)  # leave the shared cluster as found
    doc = run_json(c, "-n", "secure")
    assert [o["verdict"] for o in doc["owners"]] == ["rejected-by-policy"]  # the scenario's ReplicaSet event
