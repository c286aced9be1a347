"""A user bound to a Role in the install's namespace only, on the real apiserver: listing pods (and
endpointslices) at the cluster scope is forbidden for real; each command looks in the context's
namespace, goes on, and names the denied list, as on the fake (tests/cli/test_namespace_reader.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
COMMANDS = {"leader": ["leader"], "env_check": ["env-check"], "metamap": ["metamap"], "hpa_explain": ["hpa-explain"],
            "clusterchecks": ["clusterchecks"], "admission_explain": ["admission-explain"]}
FAILING = {"admission_explain": 3}  # --fail-on error by default, and this install has no admission controller


@pytest.fixture
def reader(e2e_cluster, tmp_path):
    c = e2e_cluster("namespace-reader")  # its objects bind `nsreader` to a Role in datadog only
    config = yaml.safe_load(Path(c.kubeconfig("nsreader")).read_text())
    config["contexts"][0]["context"]["namespace"] = "datadog"  # the context names the install's namespace
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return c, str(path)


def _findings(doc: dict) -> list[tuple[str, str, str | None]]:
    return sorted((f["code"], f["object"], f["command"]) for f in doc["findings"])


@pytest.mark.parametrize("folder", sorted(COMMANDS))
def test_each_command_names_the_denied_cluster_wide_list_and_goes_on(reader, folder: str) -> None:
    c, kubeconfig = reader
    r = c.run(["kubectl-datadog", *COMMANDS[folder], "--kubeconfig", kubeconfig, "-o", "json"], user="nsreader")
    assert r.returncode == FAILING.get(folder, 0), r.stderr
    doc = json.loads(r.stdout)
    fake = json.loads((GOLDEN / folder / "namespace-reader.json").read_text())
    assert ("rbac-forbidden", "namespace/datadog", "kubectl auth can-i list pods --all-namespaces") in _findings(doc)
    # what the real apiserver forbids and allows is what the fake's scenario says
    assert _findings(doc) == _findings(fake)
    # and the denied list was really tried, then the namespace (audit log)
    pods = [e["objectRef"].get("namespace") for e in c.audit_events(user="nsreader")
            if e.get("verb") == "list" and e.get("objectRef", {}).get("resource") == "pods"]
    assert None in pods and "datadog" in pods


def test_without_the_context_namespace_both_places_are_named(reader) -> None:
    c, _ = reader
    r = c.run(["kubectl-datadog", "leader"], user="nsreader")  # the harness's context namespace is default
    assert r.returncode == 1
    assert r.stderr.startswith("error: forbidden: cannot list pods at the cluster scope, nor in the namespace default")
    r = c.run(["kubectl-datadog", "leader", "--install-namespace", "datadog", "-o", "json"], user="nsreader")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "healthy"
