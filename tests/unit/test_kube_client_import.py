"""KubeCluster loads the kubernetes client without running its package __init__ files (which import
every typed API class and model), and every other name of the client still resolves on demand.
Each case runs in a fresh interpreter: the deferral happens once per process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t0ken}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: team}}]
current-context: x
"""


def fresh(tmp_path: Path, code: str) -> dict:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG, encoding="utf-8")
    prelude = ("import json, sys\n"
               "from kubectl_datadog.cluster.kube import KubeCluster\n"
               f"k = KubeCluster(kubeconfig={str(path)!r})\n"
               "loaded = sorted(m for m in sys.modules if m.startswith('kubernetes'))\n")
    out = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_client_loads_without_its_typed_api_and_models(tmp_path: Path) -> None:
    got = fresh(tmp_path, "print(json.dumps({'loaded': loaded, 'host': k.context.server, "
                          "'ns': k.context.namespace, 'auth': k._headers('a')['Authorization']}))")
    assert got["host"] == "https://127.0.0.1:6443" and got["ns"] == "team"
    assert got["auth"] == "Bearer t0ken"
    assert "kubernetes.config.kube_config" in got["loaded"]
    assert not [m for m in got["loaded"] if m.startswith(("kubernetes.client.models", "kubernetes.client.api."))]
    assert len(got["loaded"]) < 30, got["loaded"]


def test_every_other_name_of_the_client_still_resolves(tmp_path: Path) -> None:
    got = fresh(tmp_path, (
        "import kubernetes, kubernetes.client as c\n"
        "from kubernetes.client import ApiClient\n"
        "from kubernetes import watch\n"
        "print(json.dumps({'version': kubernetes.__version__, 'pod': c.V1Pod.__name__,\n"
        "                  'api_client': type(ApiClient()).__module__, 'watch': watch.Watch.__name__}))"))
    assert got["pod"] == "V1Pod" and got["watch"] == "Watch"
    assert got["api_client"] == "kubernetes.client.api_client"
    assert got["version"].split(".")[0].isdigit()


@pytest.mark.parametrize("first", ["import kubernetes", "import kubernetes.client"])
def test_a_client_imported_before_is_used_as_it_is(tmp_path: Path, first: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG, encoding="utf-8")
    code = (f"{first}\nimport sys\nfrom kubectl_datadog.cluster.kube import KubeCluster\n"
            f"k = KubeCluster(kubeconfig={str(path)!r})\n"
            "print(k.context.server, 'kubernetes.client.models' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["https://127.0.0.1:6443", "True"]
