"""`kubectl datadog clusterchecks <TAB>`: check names from the Services' annotations and KSM core."""

from __future__ import annotations

from kubectl_datadog import completion as comp
from kubectl_datadog.cli import root
from tests.fakes import FakeCluster


def _complete(words: list[str], fake: FakeCluster) -> list[tuple[str, str]]:
    cands, directive = comp.complete(root, words, cluster_factory=lambda opts: fake)
    assert directive == comp.DIRECTIVE_NO_FILE_COMP
    return [(c.value, c.description) for c in cands]


def test_check_names_from_every_namespace_unless_n() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-invalid-json")
    assert _complete(["clusterchecks", ""], fake) == [
        ("kubernetes_state_core", "kube-state-metrics core"), ("nginx", "service default/nginx"),
        ("redisdb", "service default/redis")]
    assert _complete(["clusterchecks", "-n", "kube-system", ""], fake) == [
        ("kubernetes_state_core", "kube-state-metrics core")]
    assert _complete(["clusterchecks", "re"], fake) == [("redisdb", "service default/redis")]


def test_unreachable_cluster_completes_nothing() -> None:
    fake = FakeCluster.from_scenario("clusterchecks-helm")
    fake.unreachable = True
    assert _complete(["clusterchecks", ""], fake) == []
