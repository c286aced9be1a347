"""Credentials as kubectl users have them: an exec credential plugin (as cloud CLIs and OIDC helpers
are wired into kubeconfigs), and KUBECONFIG naming several files. Real apiserver, real TLS."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e


def _admin(c) -> dict:
    return yaml.safe_load(open(c.kubeconfig("admin")))


def test_exec_credential_plugin(e2e_cluster, tmp_path: Path):
    c = e2e_cluster("helm")
    cfg = _admin(c)
    user = cfg["users"][0]["user"]
    cert = base64.b64decode(user["client-certificate-data"]).decode()
    key = base64.b64decode(user["client-key-data"]).decode()
    calls = tmp_path / "plugin-calls"
    plugin = tmp_path / "credential-plugin"
    credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"clientCertificateData": cert, "clientKeyData": key}}
    plugin.write_text("#!/bin/sh\n" f"echo called >> {calls}\n" f"cat <<'EOF'\n{json.dumps(credential)}\nEOF\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    cfg["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                        "interactiveMode": "Never"}}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    before = path.read_bytes()
    r = c.run(["kubectl-datadog", "leader", "-o", "json", "--kubeconfig", str(path)])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "healthy"
    assert calls.read_text().count("called") >= 1
    assert path.read_bytes() == before  # the kubeconfig is never rewritten


def test_failing_credential_plugin_is_one_line(e2e_cluster, tmp_path: Path):
    c = e2e_cluster("helm")
    cfg = _admin(c)
    cfg["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                        "command": str(tmp_path / "no-such-plugin"), "interactiveMode": "Never"}}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    r = c.run(["kubectl-datadog", "leader", "--kubeconfig", str(path)])
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_kubeconfig_split_across_files(e2e_cluster, tmp_path: Path):
    c = e2e_cluster("helm")
    cfg = _admin(c)
    users = tmp_path / "users.yaml"
    rest = tmp_path / "clusters.yaml"
    users.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": cfg["users"]}))
    rest.write_text(yaml.safe_dump({**{k: v for k, v in cfg.items() if k != "users"}}))
    env = {**c.env("admin"), "KUBECONFIG": f"{rest}:{users}"}
    r = subprocess.run(["kubectl-datadog", "leader", "--no-headers"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[1] == "configmap/datadog-leader-election"
