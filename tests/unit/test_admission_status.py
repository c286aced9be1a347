"""The DCA status "Admission Controller" section (textformats/admission_status.py) and the digest the
plugin computes from the webhook's caBundle, against the status the scenario generator wrote with an
FNV-1 of its own."""

from __future__ import annotations

from pathlib import Path

from kubectl_datadog.snapshots.admission_cert import certificate_not_after, fnv1_64
from kubectl_datadog.textformats.admission_status import admission_status
from tests.scenario import load_scenario

LEADER = "datadog-cluster-agent-8568545574-x9tc9"


def status_text(scenario: str) -> str:
    path = Path(load_scenario(scenario).directories[0]) / "pods" / "datadog" / LEADER / "exec" / \
        "datadog-cluster-agent_status.out"
    return path.read_text()


def test_healthy_section() -> None:
    st = admission_status(status_text("admission-helm"))
    assert st is not None and not st.disabled and not st.error
    assert st.webhook_name == "datadog-webhook"
    assert sorted(st.webhook_digests) == ["datadog.webhook.agent.config", "datadog.webhook.lib.injection",
                                          "datadog.webhook.standard.tags"]
    assert set(st.webhook_digests.values()) == {st.secret_digest}
    assert st.cert_expires_in == "8565h2m14.113s" and st.probe == {}


def test_the_plugins_digest_is_the_dcas() -> None:
    import base64

    sc = load_scenario("admission-helm")
    mwc = next(o for o in sc.objects if o["kind"] == "MutatingWebhookConfiguration")
    bundle = base64.b64decode(mwc["webhooks"][0]["clientConfig"]["caBundle"])
    assert fnv1_64(bundle) == admission_status(status_text("admission-helm")).secret_digest  # type: ignore[union-attr]
    assert fnv1_64(b"") == "cbf29ce484222325"  # FNV-1's offset basis: nothing hashed
    assert fnv1_64(b"a") == "af63bd4c8601b7be"  # FNV-1 (multiply, then xor), not FNV-1a (af63dc4c8601ec8c)
    assert certificate_not_after(bundle.decode()).strftime("%Y-%m-%d") == "2027-11-20"  # type: ignore[union-attr]


def test_failing_probe() -> None:
    st = admission_status(status_text("admission-probe-failing"))
    assert st is not None and st.probe_failing
    assert st.probe["Last Error"] == "dry-run probe configmap was not annotated by the webhook"
    assert st.probe["Success Rate"] == "0.0%"


def test_disabled_and_error_forms() -> None:
    frame = "====================\nAdmission Controller\n====================\n"
    st = admission_status(frame + "  Disabled: The admission controller is not enabled on the Cluster Agent\n")
    assert st is not None and st.disabled == "The admission controller is not enabled on the Cluster Agent"
    st = admission_status(frame + "  MutatingWebhookConfigurations name: datadog-webhook\n"
                                  '  Error: mutatingwebhookconfigurations.admissionregistration.k8s.io "datadog-webhook" '
                                  "not found\n")
    assert st is not None and st.webhook_name == "datadog-webhook" and "not found" in st.error
    assert admission_status("=========\nCollector\n=========\n  Running Checks\n") is None
