"""rbac-forbidden has one constructor (diagnose/forbidden.py): it names the verb and resource in
its hint and in the `kubectl auth can-i` that checks it, and no other module builds the finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Severity

PACKAGE = Path(__file__).resolve().parents[2] / "kubectl_datadog"


def test_names_verb_resource_and_namespace() -> None:
    f = forbidden_finding("configmap/datadog/x", "cannot read the lock: forbidden", Severity.WARNING,
                          verb="get", resource="configmaps", namespace="datadog")
    assert (f.code, f.severity, f.subject) == ("rbac-forbidden", Severity.WARNING, "configmap/datadog/x")
    assert f.hint == "ask for get on configmaps in datadog"
    assert f.command == "kubectl auth can-i get configmaps -n datadog"


def test_cluster_scope_and_own_hint() -> None:
    f = forbidden_finding("metamap/nodes", "cannot list nodes", Severity.INFO, verb="list", resource="nodes",
                          hint="accept the gap")
    assert (f.hint, f.command, f.severity) == ("accept the gap", "kubectl auth can-i list nodes", Severity.INFO)


def test_without_verb_and_resource_the_caller_says_what_to_do() -> None:
    with pytest.raises(ValueError):
        forbidden_finding("x", "y", Severity.INFO)
    f = forbidden_finding("x", "y", Severity.INFO, hint="h", command="c")
    assert (f.hint, f.command) == ("h", "c")


def test_one_home() -> None:
    builders = [p for p in PACKAGE.rglob("*.py") if '"rbac-forbidden"' in p.read_text()]
    assert builders == [PACKAGE / "diagnose" / "forbidden.py"]


def test_cluster_scope_asks_without_a_namespace() -> None:
    f = forbidden_finding("metamap/nodes", "cannot list nodes", Severity.INFO, verb="list", resource="nodes")
    assert (f.hint, f.command) == ("ask for list on nodes", "kubectl auth can-i list nodes")


@pytest.mark.parametrize("given", [
    {"hint": "h"}, {"command": "c"},                      # what is not given must be derivable
    {"verb": "get", "hint": "h"}, {"resource": "secrets", "command": "c"},
])
def test_a_default_needs_both_verb_and_resource(given: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        forbidden_finding("x", "y", Severity.INFO, **given)
