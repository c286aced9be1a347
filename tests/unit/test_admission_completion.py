"""Shell completion of admission-explain's POD argument: pod names from the cluster, in -n's namespace."""

from __future__ import annotations

from kubectl_datadog import completion as comp
from kubectl_datadog.cli import root
from tests.fakes import FakeCluster


def test_pod_names_in_the_namespace_flag() -> None:
    fake = FakeCluster.from_scenario("admission-helm")
    cands, directive = comp.complete(root, ["admission-explain", "-n", "shop", "web"], cluster_factory=lambda o: fake)
    assert [c.value for c in cands] == ["web-5d8f7c9b4-a1b2c", "web-5d8f7c9b4-d3e4f"]
    assert cands[0].description == "namespace shop"
    assert directive == comp.DIRECTIVE_NO_FILE_COMP
    cands, _ = comp.complete(root, ["admission-explain", "-n", "kube-system", ""], cluster_factory=lambda o: fake)
    assert [c.value for c in cands] == ["probe-2c3d4e5f6-e5f6g"]
