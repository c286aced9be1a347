"""Truthy env strings have one home (objects.as_bool): leader's "who elects" and the install's
DCA settings read DD_LEADER_ELECTION alike, so `leader` and `env-check` agree about the same Agent."""

from __future__ import annotations

import pytest

from kubectl_datadog.collect.install import AGENT_CONTAINER
from kubectl_datadog.collect.leader import _runs_leader_election
from kubectl_datadog.install import DcaSettings
from kubectl_datadog.objects import Pod, as_bool


def agent_pod(value: str) -> Pod:
    return Pod.from_dict({"metadata": {"namespace": "datadog", "name": "agent-1"},
                          "spec": {"containers": [{"name": AGENT_CONTAINER, "image": "agent",
                                                   "env": [{"name": "DD_LEADER_ELECTION", "value": value}]}]}})


@pytest.mark.parametrize("value,expected", [
    ("1", True), ("t", True), ("true", True), ("TRUE", True), ("yes", True), ("y", True), ("Y", True),
    ("on", True), (" true ", True), ("0", False), ("false", False), ("no", False), ("off", False), ("n", False),
    ("", False), ("maybe", False),
])
def test_leader_and_install_settings_read_the_same_truth(value: str, expected: bool) -> None:
    assert as_bool(value) is expected
    assert _runs_leader_election(agent_pod(value)) is expected
    env = agent_pod(value).containers[0].env_map()
    assert DcaSettings.from_env(env, "datadog").leader_election is expected


def test_unset_takes_the_default() -> None:
    assert as_bool(None) is False and as_bool(None, default=True) is True and as_bool("  ", default=True) is True
