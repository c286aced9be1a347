"""What `make demo` shows a newcomer, on the real harness: the seed's nginxext pinned at max by the
real HPA controller, and the broken HPA named as such. (Found for real once: two HPAs on one
Deployment make the controller report AmbiguousSelector.) Every other command is clean on it, and
stays clean for as long as the demo runs: the harness renews the DCA's lock and refreshes its
metrics store as the running DCA would (harness/dca.py)."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from harness import missing_binaries
from kubectl_datadog.collect.exec import status_and_env_argv
from tests.conftest import invoke_cli

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
NS = "datadog"
LEADER = "datadog-cluster-agent-8568545574-x9tc9"
LOCK = "datadog-leader-election"
NGINXEXT_KEY = "external_metric-horizontal-default-nginxext-nginx.net.request_per_s"
ONLY_BROKEN = {"nginxext": "pinned-at-max", "nginx-typo": "metric-name-invalid"}


def plugin_json(c, *args, code=0):
    r = c.run(["kubectl-datadog", *args, "-o", "json"])
    assert r.returncode == code, (r.stdout[-2000:], r.stderr)
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout)


def lock_record(c) -> dict:
    cm = c.api.read("v1", "ConfigMap", LOCK, NS)
    return json.loads(cm["metadata"]["annotations"]["control-plane.alpha.kubernetes.io/leader"])


def renewed_at(c) -> dt.datetime:
    return dt.datetime.fromisoformat(lock_record(c)["renewTime"].replace("Z", "+00:00"))


def metric_ts(c) -> int:
    cm = c.api.read("v1", "ConfigMap", "datadog-custom-metrics", NS)
    return json.loads(cm["data"][NGINXEXT_KEY])["ts"]


def assert_only_the_broken_hpa_is_reported(c) -> None:
    """The demo's promise: leader healthy, env-check clean, metamap matching, one broken HPA."""
    leader = plugin_json(c, "leader")
    assert leader["verdict"] == "healthy" and leader["findings"] == [], leader["findings"]
    hpas = plugin_json(c, "hpa-explain", "-A")
    assert {h["name"]: h["verdict"] for h in hpas["hpas"]} == ONLY_BROKEN
    assert [(f["code"], f["object"]) for f in hpas["findings"] if f["severity"] != "info"] == \
        [("metric-name-invalid", "hpa/default/nginx-typo")]
    env = plugin_json(c, "env-check")
    assert env["findings"] == [], env["findings"]
    assert {(a["verdict"], a["connected"], a["token"]) for a in env["agents"]} == {("ok", "yes", "ok")}
    both = c.run(["kubectl-datadog", "metamap", "--source", "both"])
    assert both.returncode == 0 and "No differences" in both.stdout, (both.stdout, both.stderr)


def test_demo_scenario(e2e_cluster):
    c = e2e_cluster("demo")
    r = c.run(["kubectl-datadog", "hpa-explain", "-n", "default", "-o", "json"])
    assert r.returncode == 0, r.stderr
    verdicts = {h["name"]: h["verdict"] for h in json.loads(r.stdout)["hpas"]}
    assert verdicts == ONLY_BROKEN
    text = c.run(["kubectl-datadog", "hpa-explain", "nginxext", "-n", "default"]).stdout
    assert "2472 / 3 replicas = 824" in text and "pinned at maxReplicas 3" in text
    assert "AmbiguousSelector" not in text
    broken = c.run(["kubectl-datadog", "hpa-explain", "nginx-typo", "-n", "default", "-o", "json"])
    assert "metric-name-invalid" in {f["code"] for f in json.loads(broken.stdout)["findings"]}


def test_every_command_on_the_demo_reports_only_the_broken_hpa(e2e_cluster):
    c = e2e_cluster("demo")
    assert_only_the_broken_hpa_is_reported(c)
    # The stand-ins answer the plugin's own combined exec (`/bin/sh -c` running `agent status`
    # and `env`), both commands found, both exit 0.
    r = c.kubectl("exec", "-n", NS, "datadog-9d5bl", "-c", "agent", "--", *status_and_env_argv("END_MARK"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("\nEND_MARK 0 0\n")
    assert "Successfully connected to the Datadog Cluster Agent." in r.stdout
    assert "DD_CLUSTER_AGENT_AUTH_TOKEN=" in r.stdout and "DD_FIXTURE_DIR" not in r.stdout
    # The demo's DCA leader is played at the real cadence: 60 s lease renewed every 15 s, the
    # metrics store every 30 s.
    [dca] = c.dcas
    assert (dca.holder, dca.lease_duration, dca.refresh_period, dca.fresh_entries) == \
        (LEADER, 60, 30, (NGINXEXT_KEY,))


def test_the_fake_and_the_harness_agree_on_the_demo(e2e_cluster):
    """The same scenario on FakeCluster (at FIXTURE_NOW) gives the same verdicts."""
    c = e2e_cluster("demo")
    for args in (["leader"], ["hpa-explain", "-A"], ["env-check"]):
        fake = invoke_cli(*args, "-o", "json", scenario="demo")
        real = plugin_json(c, *args)
        assert fake.exit_code == 0
        key = "hpas" if "hpas" in real else "agents" if "agents" in real else None
        if key:
            assert sorted(x["verdict"] for x in fake.json[key]) == sorted(x["verdict"] for x in real[key])
        else:
            assert fake.json["verdict"] == real["verdict"]
        assert sorted(f["code"] for f in fake.json["findings"]) == sorted(f["code"] for f in real["findings"])


def test_the_demo_stays_healthy_past_two_lease_durations_and_the_metrics_max_age(e2e_cluster):
    """demo-short-lease is the demo with a 6 s lease and a 10 s max age (refresh every 3 s). Waiting
    2.5 lease durations proves the lock is renewed and the store refreshed; then the DCA is
    stopped, and the same wait makes both go stale: the renewal was what kept the demo healthy."""
    c = e2e_cluster("demo-short-lease", fresh=True)
    [dca] = c.dcas
    assert (dca.lease_duration, dca.refresh_period) == (6, 3)
    first_renewal, first_ts = renewed_at(c), metric_ts(c)
    assert_only_the_broken_hpa_is_reported(c)
    time.sleep(2.5 * 6)
    now = dt.datetime.now(dt.timezone.utc)
    assert renewed_at(c) > first_renewal and (now - renewed_at(c)).total_seconds() < 6
    assert dca.renewals >= 4 and dca.refreshes >= 3 and dca.alive
    assert metric_ts(c) > first_ts and now.timestamp() - metric_ts(c) < 10
    # ... written by the DCA's own ServiceAccount, through the scenario's RBAC.
    writes = {(e["verb"], e["objectRef"]["name"], e["responseStatus"]["code"])
              for e in c.audit_events("system:serviceaccount:datadog:datadog-cluster-agent") if e.get("objectRef")}
    assert {("update", LOCK, 200), ("update", "datadog-custom-metrics", 200)} <= writes, writes
    assert_only_the_broken_hpa_is_reported(c)
    # Without the running DCA the same wait breaks it, as the issue saw with a 60 s lease.
    dca.stop()
    time.sleep(2.5 * 6)
    leader = plugin_json(c, "leader")
    assert leader["verdict"] == "stale" and "leader-stale" in {f["code"] for f in leader["findings"]}
    codes = {f["code"] for f in plugin_json(c, "hpa-explain", "nginxext", "-n", "default")["findings"]}
    assert "metric-stale" in codes or "dca-no-leader" in codes, codes


def test_the_running_dca_stops_when_its_pod_is_deleted(e2e_cluster):
    c = e2e_cluster("demo-short-lease", fresh=True)
    [dca] = c.dcas
    c.delete_pod(NS, LEADER)
    deadline = time.monotonic() + 10
    while dca.alive and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not dca.alive and dca.stopped_because == f"its pod {NS}/{LEADER} is gone"


# -- one command to a working shell ------------------------------------------------------------
def _make(*args: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, **kw)


def test_make_demo_prints_the_lines_that_give_a_clean_shell_kubectl_datadog(tmp_path):
    if missing_binaries():
        pytest.skip(f"e2e binaries not built ({', '.join(missing_binaries())})")
    demo_dir = tmp_path / "demo"
    up = _make("demo", f"DEMO_DIR={demo_dir}")
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        assert "pinned at maxReplicas 3" in up.stdout
        closing = up.stdout[up.stdout.index("The demo cluster runs."):]
        sources = [line.strip() for line in closing.splitlines() if line.strip().startswith("source ")]
        assert len(sources) == 1, closing
        assert "make demo-shell" in closing and "make demo-stop" in closing
        # Exactly the printed line, in a shell that has nothing of ours (no venv, no KUBECONFIG).
        clean = subprocess.run(["env", "-i", "bash", "-c", f"{sources[0]} && kubectl datadog leader"],
                               capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert clean.returncode == 0, clean.stderr
        assert LEADER in clean.stdout and "healthy" in clean.stdout
        assert "kubectl" in subprocess.run(["env", "-i", "bash", "-c", f"{sources[0]} && command -v kubectl"],
                                           capture_output=True, text=True).stdout
        # `make demo-shell`: a new interactive shell, set up the same way (from a login-like
        # environment: only a system PATH and a HOME).
        shell = subprocess.run(
            ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={tmp_path}", "bash", "-c",
             f"cd {shlex.quote(str(REPO))} && make -s demo-shell DEMO_DIR={demo_dir}"],
            input="kubectl datadog leader --no-headers\nexit\n", capture_output=True, text=True, timeout=120)
        assert shell.returncode == 0, shell.stderr
        assert LEADER in shell.stdout and "healthy" in shell.stdout
    finally:
        down = _make("demo-stop", f"DEMO_DIR={demo_dir}", timeout=120)
    assert down.returncode == 0, down.stderr
