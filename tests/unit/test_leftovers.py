"""find_leftovers: which objects make "an install known only by what it left behind", and which
never do (other software's leader locks, Secrets without a token, another adapter's APIService)."""

from __future__ import annotations

from kubectl_datadog.collect.install import find_leftovers
from tests.conftest import invoke_cli
from tests.fakes import FakeCluster
from tests.scenario import load_scenario
from tests.scenarios.gen_installs import configmap_lock, lease, secret


def test_other_softwares_locks_and_secrets_are_not_leftovers() -> None:
    fake = FakeCluster(objects=[
        lease("cert-manager-controller-leader-election", "kube-system", "cert-manager-6d4f"),
        configmap_lock("ingress-controller-leader-election", "ingress", "ingress-nginx-abc"),
        secret("datadog", "datadog", {"api-key": "0123456789abcdef0123456789abcdef"}),  # no token key
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
         "metadata": {"name": "v1beta1.external.metrics.k8s.io"},
         "spec": {"service": {"name": "keda-operator-metrics-apiserver", "namespace": "keda", "port": 443},
                  "group": "external.metrics.k8s.io", "version": "v1beta1"}},
    ])
    assert find_leftovers(fake, None) == ()


def test_a_datadog_lease_lock_and_the_scope_are_honoured() -> None:
    fake = FakeCluster(objects=[lease("dd-agent-datadog-leader-election", "monitoring", "dd-agent-xyz12"),
                                configmap_lock("datadog-leader-election", "other", "datadog-abcde")])
    found = find_leftovers(fake, "monitoring")
    assert [(lo.ref, lo.role, lo.detail) for lo in found] == [
        ("lease/monitoring/dd-agent-datadog-leader-election", "leader-lock", "last held by dd-agent-xyz12")]


def test_secret_values_never_reach_the_leftovers() -> None:
    sc = load_scenario("leftovers-only")
    found = find_leftovers(FakeCluster(objects=sc.objects), None)
    token = next(lo for lo in found if lo.role == "cluster-agent-token")
    assert token.detail == "" and "Zk9xTW1nc2J1Q2hZd0V0cnFQbnVWa2Rh" not in repr(found)


def test_the_finding_names_the_one_namespace_or_the_cluster_and_the_scope_searched() -> None:
    """Through `leader`: the finding's object is the leftovers' namespace when they share one, the
    cluster when they do not; with -n the message says where no pod matched."""
    def finding(*args: str, extra: list[dict] | None = None) -> tuple[str, str]:
        fake = FakeCluster.from_scenario("leftovers-only")
        fake.objects += extra or []
        (f,) = invoke_cli("leader", "-o", "json", *args, fake=fake).json["findings"]
        return f["object"], f["message"]

    subject, message = finding()
    assert subject == "namespace/datadog"
    assert "No Cluster Agent pod and no node Agent pod matched: nothing runs" in message
    subject, message = finding(extra=[configmap_lock("datadog-leader-election", "monitoring", "datadog-abcde")])
    assert subject == "cluster" and "configmap/monitoring/datadog-leader-election" in message
    subject, message = finding("-n", "datadog")
    assert subject == "namespace/datadog"
    assert "No Cluster Agent pod and no node Agent pod matched in the namespace datadog: nothing runs" in message
