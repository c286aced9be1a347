"""The fake must behave like the harness for what scenarios declare, or fake-only tests drift."""

from __future__ import annotations

import pytest

from kubectl_datadog.cluster import PODS
from kubectl_datadog.objects import Pod
from tests.fakes import FakeCluster
from tests.scenario import load_scenario, scenario_names

WITH_UNREADY = [n for n in scenario_names() if load_scenario(n).config.get("unreadyPods")]


def test_some_scenarios_keep_pods_unready() -> None:
    assert WITH_UNREADY


@pytest.mark.parametrize("name", WITH_UNREADY)
def test_unready_pods_are_running_but_not_ready(name: str) -> None:
    fake = FakeCluster.from_scenario(name)
    pods = {f"{p.namespace}/{p.name}": p for p in map(Pod.from_dict, fake.list(PODS))}
    for ref in fake.scenario["unreadyPods"]:
        assert pods[ref].phase == "Running" and not pods[ref].ready, ref
        assert not any(c.ready for c in pods[ref].containers), ref


def test_label_selectors_are_applied_like_a_server() -> None:
    fake = FakeCluster.from_scenario("helm")
    got = [o["metadata"]["name"] for o in fake.list(PODS, "datadog", label_selector="app in (datadog),!nope")]
    assert got == ["datadog-9d5bl", "datadog-k4x2n"]
