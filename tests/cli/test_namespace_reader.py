"""A user who may read only the install's namespace (a Role there, nothing cluster-wide): every command
that discovers the install looks in the namespace --install-namespace, -n or the context names, goes
on with what it can read there, and names each permission it lacks (verb and resource)."""

from __future__ import annotations

import pytest

from tests.conftest import invoke_cli
from tests.fakes import FakeCluster

SCENARIO = "namespace-reader"
COMMANDS = {"leader": ("leader",), "env_check": ("env-check",), "metamap": ("metamap",),
            "hpa_explain": ("hpa-explain",), "clusterchecks": ("clusterchecks",),
            "admission_explain": ("admission-explain",)}
FAILING = {"admission_explain": 3}  # its --fail-on defaults to error: admission-disabled is one
CLUSTER_WIDE_PODS = "kubectl auth can-i list pods --all-namespaces"


def _reader(context_namespace: str = "datadog") -> FakeCluster:
    return FakeCluster.from_scenario(SCENARIO, context_namespace=context_namespace)


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("folder", sorted(COMMANDS))
def test_golden(folder: str, fmt: str, golden) -> None:
    r = invoke_cli(*COMMANDS[folder], "-o", fmt, fake=_reader())
    empty = {"hpa_explain": "No HorizontalPodAutoscalers with External metrics found in the datadog namespace.\n",
             "clusterchecks": "No cluster or endpoint check configs found.\n"}  # a table's empty message
    # admission-explain fails on errors by default, and this install has no admission controller
    assert (r.exit_code, r.stderr) == (FAILING.get(folder, 0), empty.get(folder, "") if fmt == "table" else "")
    golden.check(f"{folder}/{SCENARIO}.{fmt}", r.stdout)


@pytest.mark.parametrize("folder", sorted(COMMANDS))
def test_the_install_is_found_in_the_contexts_namespace_and_the_missing_list_is_named(folder: str) -> None:
    fake = _reader()
    r = invoke_cli(*COMMANDS[folder], "-o", "json", fake=fake)
    assert r.exit_code == FAILING.get(folder, 0), r.stderr
    (named,) = [f for f in r.json["findings"] if f["command"] == CLUSTER_WIDE_PODS]
    assert named["code"] == "rbac-forbidden" and named["object"] == "namespace/datadog"
    assert "cannot list pods at the cluster scope" in named["message"]
    # tried everywhere first, then only where the user may look
    pod_lists = [c.namespace for c in fake.calls if c.verb == "list" and c.resource == "pods"]
    assert None in pod_lists and "datadog" in pod_lists and set(pod_lists) <= {None, "datadog"}


def test_each_command_goes_on_with_what_it_can_read() -> None:
    leader = invoke_cli("leader", "-o", "json", fake=_reader()).json
    assert leader["verdict"] == "healthy"
    env = invoke_cli("env-check", "-o", "json", fake=_reader()).json
    assert env["summary"]["agents"] == 2
    metamap = invoke_cli("metamap", "-o", "json", fake=_reader()).json
    assert metamap["filters"]["namespace"] == "datadog" and metamap["summary"]["pods"] == 2
    (scope,) = [f for f in metamap["findings"] if f["object"] == "metamap/api"]
    assert scope["command"] == "kubectl auth can-i list endpointslices.discovery.k8s.io --all-namespaces"
    assert "shows only the namespace datadog" in scope["message"]


@pytest.mark.parametrize("flags", [("--install-namespace", "datadog"), ("-n", "datadog")])
def test_the_namespace_can_be_given_instead_of_the_context(flags: tuple[str, ...]) -> None:
    r = invoke_cli("env-check", *flags, "-o", "json", fake=_reader("default"))
    assert r.exit_code == 0, r.stderr
    assert r.json["summary"]["agents"] == 2


def test_nothing_readable_names_both_places() -> None:
    r = invoke_cli("leader", fake=_reader("default"))
    assert r.exit_code == 1
    assert r.stderr == ("error: forbidden: cannot list pods at the cluster scope, nor in the namespace default (from "
                        "-n or the context) (pass --install-namespace with the install's namespace (check with: kubectl "
                        "auth can-i list pods -n NAMESPACE))\n")


def test_no_install_in_the_only_namespace_searched_says_so() -> None:
    fake = _reader("default")
    fake.scenario = {**fake.scenario, "onlyNamespaces": ["datadog", "default"]}
    r = invoke_cli("env-check", fake=fake)
    assert r.exit_code == 1
    assert r.stderr.startswith("error: no Datadog install found in the namespace default, the only one searched: "
                               "forbidden: cannot list pods at the cluster scope")
