"""Proof that the harness is the real thing: every test here talks to real processes, no mocks."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness import Cluster

pytestmark = pytest.mark.e2e

SMOKE = "e2e-smoke"
NS = "datadog"
DCA_LEADER = "datadog-cluster-agent-6c9f8b7d4-x9tc9"
DCA_UNREADY = "datadog-cluster-agent-6c9f8b7d4-k2v7p"
AGENT_POD = "datadog-9d5bl"
METRIC_PATH = ("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/nginx.net.request_per_s"
               "?labelSelector=kube_container_name%3Dnginx")
REPO = Path(__file__).resolve().parents[2]


def poll(fn, timeout=60.0, interval=1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    return last


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (its parent has not reaped it yet).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def test_apiserver_is_v1_36_3(e2e_cluster):
    c = e2e_cluster(SMOKE)
    r = c.kubectl("version", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["serverVersion"]["gitVersion"] == "v1.36.3"


def test_rbac_users_are_enforced_by_the_apiserver(e2e_cluster):
    c = e2e_cluster(SMOKE)
    denied = c.kubectl("get", "secrets", "-n", NS, user="viewer")
    assert denied.returncode != 0
    assert 'User "viewer" cannot list resource "secrets"' in denied.stderr
    assert c.kubectl("get", "pods", "-n", NS, user="viewer").returncode == 0
    assert c.kubectl("get", "secrets", "-n", NS, user="noexec").returncode == 0
    noexec = c.kubectl("exec", "-n", NS, AGENT_POD, "-c", "agent", "--", "agent", "status", user="noexec")
    assert 'cannot create resource "pods/exec"' in noexec.stderr
    assert c.kubectl("get", "secrets", "-n", NS, user="nosecrets").returncode != 0
    assert c.kubectl("exec", "-n", NS, AGENT_POD, "-c", "agent", "--", "agent", "status",
                     user="nosecrets").returncode == 0
    assert c.kubectl("auth", "can-i", "create", "subjectaccessreviews.authorization.k8s.io",
                     user="nosecrets").stdout.strip() == "yes"


def test_exec_runs_the_fixture_standin_with_shifted_times(e2e_cluster):
    c = e2e_cluster(SMOKE)
    r = c.kubectl("exec", "-n", NS, DCA_LEADER, "-c", "cluster-agent", "--", "datadog-cluster-agent", "status")
    assert r.returncode == 0, r.stderr
    assert "Leader Election Status:  Running" in r.stdout
    assert f"Leader Name is: {DCA_LEADER}" in r.stdout
    # "Renewed leadership" was 10 s before FIXTURE_NOW; on the real cluster it is 10 s before now.
    renewed = re.search(r"Renewed leadership: (.+ UTC)", r.stdout).group(1)
    t = dt.datetime.strptime(renewed, "%a, %d %b %Y %H:%M:%S UTC").replace(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - t).total_seconds()) < 600


def test_exec_exit_codes_and_missing_binaries(e2e_cluster):
    c = e2e_cluster(SMOKE)
    health = c.kubectl("exec", "-n", NS, AGENT_POD, "-c", "agent", "--", "agent", "health")
    assert "Agent health: FAIL" in health.stdout
    assert "found 1 unhealthy components" in health.stderr
    assert "exit status 1" in health.stderr          # kwok's form of a non-zero exit (see README)
    missing = c.kubectl("exec", "-n", NS, AGENT_POD, "-c", "agent", "--", "datadog-cluster-agent", "metamap")
    assert "executable file not found in $PATH" in missing.stderr and "exit status 127" in missing.stderr
    env = c.kubectl("exec", "-n", NS, AGENT_POD, "-c", "agent", "--", "env")
    # The fixture's 127.96.20.10 is remapped when this cluster runs in another service CIDR.
    assert f"DATADOG_CLUSTER_AGENT_SERVICE_HOST={c.cluster_ip(NS, 'datadog-cluster-agent')}" in env.stdout
    assert "DD_FIXTURE_DIR" not in env.stdout


def test_python_client_exec_stream_reports_the_exit_code(e2e_cluster):
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes.stream import stream

    c = e2e_cluster(SMOKE)
    api = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=c.kubeconfig("admin")))
    ws = stream(api.connect_get_namespaced_pod_exec, AGENT_POD, NS, container="agent",
                command=["agent", "nope"], stderr=True, stdout=True, stdin=False, tty=False,
                _preload_content=False)
    ws.run_forever(timeout=20)
    err = ws.read_channel(3)
    ws.close()
    assert "exit status 127" in json.loads(err)["message"]


def test_logs_are_served_in_cri_format(e2e_cluster):
    c = e2e_cluster(SMOKE)
    r = c.kubectl("logs", "-n", NS, DCA_LEADER, "-c", "cluster-agent", "--timestamps")
    assert r.returncode == 0, r.stderr
    assert f'Started leading as "{DCA_LEADER}"' in r.stdout
    assert "CacheKey: agent/KubernetesMetadataMapping/" in r.stdout
    assert c.kubectl("logs", "-n", NS, AGENT_POD, "-c", "agent").stdout.count("\n") == 4


def test_external_metric_through_the_aggregation_layer(e2e_cluster):
    c = e2e_cluster(SMOKE)
    r = c.kubectl("get", "--raw", METRIC_PATH)
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)["items"]
    assert [(i["metricName"], i["value"]) for i in items] == [("nginx.net.request_per_s", "2472")]
    # ... and it really went through the apiserver's proxy to the provider on the ClusterIP.
    assert any(p.endswith("/nginx.net.request_per_s") for p, _ in c.metrics.requests)


def test_endpoints_come_from_the_controllers_and_exclude_the_unready_pod(e2e_cluster):
    c = e2e_cluster(SMOKE)

    def endpoints():
        r = c.kubectl("get", "endpoints", "-n", NS, "datadog-cluster-agent", "-o", "json")
        return json.loads(r.stdout) if r.returncode == 0 else None
    ep = poll(lambda: (e := endpoints()) and e.get("subsets") and e)
    subset = ep["subsets"][0]
    assert [a["targetRef"]["name"] for a in subset["addresses"]] == [DCA_LEADER]
    assert [a["targetRef"]["name"] for a in subset.get("notReadyAddresses", [])] == [DCA_UNREADY]
    slices = json.loads(c.kubectl("get", "endpointslices", "-n", NS, "-l",
                                  "kubernetes.io/service-name=datadog-cluster-agent", "-o", "json").stdout)["items"]
    assert [s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] for s in slices] == \
        ["endpointslice-controller.k8s.io"]
    ready = {e["targetRef"]["name"]: e["conditions"]["ready"] for e in slices[0]["endpoints"]}
    assert ready == {DCA_LEADER: True, DCA_UNREADY: False}


def test_kwok_makes_a_plain_pod_ready(e2e_cluster):
    c = e2e_cluster(SMOKE)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kwok-probe", "namespace": "default"},
           "spec": {"nodeName": "gke-test-default-pool-068cb9c0-sf1w",
                    "containers": [{"name": "c", "image": "busybox"}]}}
    assert c.kubectl("create", "-f", "-", input=json.dumps(pod)).returncode == 0
    try:
        ip = poll(lambda: c.kubectl("get", "pod", "kwok-probe", "-o",
                                    "jsonpath={.status.conditions[?(@.type=='Ready')].status} {.status.podIP}"
                                    ).stdout.startswith("True ") and True, timeout=30)
        assert ip, "kwok did not make the pod Ready"
    finally:
        c.delete_pod("default", "kwok-probe")


def test_hpa_controller_computes_the_seed_value_and_follows_changes(e2e_cluster):
    c = e2e_cluster(SMOKE, fresh=True)

    def targets():
        return c.kubectl("get", "hpa", "nginxext", "-n", "default", "--no-headers").stdout
    assert "824/9 (avg)" in (poll(lambda: "824/9 (avg)" in targets() and targets()) or targets())
    c.metrics.set_value("nginx.net.request_per_s", "1500", namespace="default",
                        labels={"kube_container_name": "nginx"})
    assert poll(lambda: "500/9 (avg)" in targets()), targets()
    c.metrics.set_error("nginx.net.request_per_s", 500, "DatadogMetric is invalid, err: boom", namespace="default",
                        labels={"kube_container_name": "nginx"})
    describe = poll(lambda: "FailedGetExternalMetric" in (d := c.kubectl("describe", "hpa", "nginxext").stdout) and d)
    assert describe and "DatadogMetric is invalid, err: boom" in describe


def test_audit_log_records_each_request_by_user(e2e_cluster):
    c = e2e_cluster(SMOKE)
    c.kubectl("get", "pods", "-n", NS, user="viewer")
    c.kubectl("get", "secrets", "-n", NS, user="viewer")
    events = c.audit_events("viewer")
    seen = {(e["verb"], e["objectRef"]["resource"], e["responseStatus"]["code"]) for e in events
            if e.get("objectRef")}
    assert ("list", "pods", 200) in seen
    assert ("list", "secrets", 403) in seen
    assert all(e["stage"] == "ResponseComplete" for e in events)


def test_faults_stop_and_restart_components(e2e_cluster):
    c = e2e_cluster(SMOKE, fresh=True)
    # An external-metrics provider slower than the client's timeout.
    c.set_metrics_delay(5)
    slow = c.kubectl("get", "--raw", METRIC_PATH, "--request-timeout=1s")
    assert slow.returncode != 0
    c.set_metrics_delay(0)
    # The provider gone: the aggregation layer answers 503.
    c.metrics.stop()
    down = poll(lambda: "the server is currently unable to handle the request" in
                (r := c.kubectl("get", "--raw", METRIC_PATH)).stderr and r, timeout=30)
    assert down, "the APIService kept answering after its provider stopped"
    # kwok ("the node") gone: exec fails, and works again once it is back.
    c.stop_kwok()
    assert c.kubectl("exec", "-n", NS, AGENT_POD, "-c", "agent", "--", "agent", "status",
                     timeout=60).returncode != 0
    c.start_kwok()
    assert c.kubectl("exec", "-n", NS, AGENT_POD, "-c", "agent", "--", "agent", "status").returncode == 0
    # A pod deleted for real.
    c.delete_pod(NS, DCA_UNREADY)
    assert "NotFound" in c.kubectl("get", "pod", "-n", NS, DCA_UNREADY).stderr
    # The apiserver gone, then back.
    c.stop_apiserver()
    gone = c.kubectl("get", "pods", "--request-timeout=3s", timeout=30)
    assert gone.returncode != 0 and "refused" in gone.stderr
    c.start_apiserver()
    assert c.kubectl("get", "pods", "-n", NS).returncode == 0


def test_stop_leaves_no_process_and_no_port():
    from harness import missing_binaries
    if missing_binaries():
        pytest.skip("e2e binaries not built")
    c = Cluster().start()
    c.apply_scenario(SMOKE)
    pids = list(c.processes().values())
    ports = [("127.0.0.1", c.ports[k]) for k in ("etcd", "apiserver", "kwok")] + [(c.metrics.host, c.metrics.port)]
    assert len(pids) == 4 and all(listening(*hp) for hp in ports)
    state = c.dir
    c.stop()
    assert [p for p in pids if alive(p)] == []
    assert [hp for hp in ports if listening(*hp)] == []
    assert not state.exists()


def test_standalone_script_up_and_down(tmp_path):
    from harness import missing_binaries
    if missing_binaries():
        pytest.skip("e2e binaries not built")
    script = REPO / "scripts" / "e2e-cluster"
    up = subprocess.run([str(script), "up", "--dir", str(tmp_path), "--scenario", SMOKE],
                        capture_output=True, text=True, timeout=300)
    try:
        assert up.returncode == 0, up.stderr
        export, path = up.stdout.strip().splitlines()
        assert export.startswith("export KUBECONFIG=") and path.startswith("export PATH=")
        kubeconfig = export.split("=", 1)[1]
        from harness.binaries import kubectl
        r = subprocess.run([kubectl(), "--kubeconfig", kubeconfig, "get", "hpa", "-A"], capture_output=True,
                           text=True, timeout=60)
        assert "nginxext" in r.stdout
        pids = [int(line.split()[0]) for line in (tmp_path / "cluster" / "pgids").read_text().splitlines()]
        supervisor = int((tmp_path / "supervisor.pid").read_text())
    finally:
        down = subprocess.run([str(script), "down", "--dir", str(tmp_path)], capture_output=True, text=True,
                              timeout=120)
    assert down.returncode == 0, down.stderr
    assert [p for p in pids + [supervisor] if alive(p)] == []
