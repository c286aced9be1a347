"""Connections to the real apiserver, counted by scripts/latency-proxy (issue 18): one keep-alive TLS
connection for a sequential run of reads and an exec, no more connections than reads in flight
at once, and the plugin's `leader` opening no more than the most reads it has in flight."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from tests.scripts import load_script

pytestmark = pytest.mark.e2e

proxy = load_script("latency-proxy")
NS = "datadog"
DCA = "datadog-cluster-agent-6c9f8b7d4-x9tc9"      # e2e-smoke's leader, with a `status` exec fixture


def _via_relay(c, port: int, tmp_path: Path) -> str:
    doc = yaml.safe_load(Path(c.kubeconfig("admin")).read_text())
    for entry in doc["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{port}"
    path = tmp_path / "kubeconfig-via-relay.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.fixture
def relayed(e2e_cluster, tmp_path):
    c = e2e_cluster("e2e-smoke")
    with proxy.RelayThread(("127.0.0.1", int(c.ports["apiserver"])), up=0.005, down=0.005,
                           max_connections=500, max_seconds=300) as relay:
        yield c, relay, _via_relay(c, relay.port, tmp_path)


def test_sequential_reads_and_an_exec_share_one_tls_connection(relayed):
    from kubectl_datadog.cluster import CONFIGMAPS, PODS
    from kubectl_datadog.cluster.kube import KubeCluster

    _, relay, kubeconfig = relayed
    kc = KubeCluster(kubeconfig=kubeconfig)
    relay.reset()
    assert kc.get(PODS, DCA, NS)["metadata"]["name"] == DCA
    assert any(True for _ in kc.list(CONFIGMAPS, NS))
    assert kc.get(CONFIGMAPS, "no-such-configmap", NS) is None
    # The exec's Upgrade goes over the idle keep-alive connection: no second handshake.
    result = kc.exec(NS, DCA, "cluster-agent", ["datadog-cluster-agent", "status"], timeout=30)
    assert result.exit_code == 0, result
    assert "Leader Election" in result.stdout
    counts = relay.reset()
    assert (counts.connections, counts.tls_handshakes) == (1, 1)
    # The connection became the websocket: the next reads open one more, and only one.
    assert kc.get(PODS, DCA, NS) is not None
    assert kc.get(PODS, DCA, NS) is not None
    counts = relay.reset()
    assert (counts.connections, counts.tls_handshakes) == (1, 1)


def test_concurrent_reads_open_no_more_connections_than_in_flight(relayed):
    from kubectl_datadog.cluster import CONFIGMAPS, PODS
    from kubectl_datadog.cluster.kube import KubeCluster

    _, relay, kubeconfig = relayed
    kc = KubeCluster(kubeconfig=kubeconfig)
    relay.reset()
    barrier = threading.Barrier(4)

    def read() -> None:
        barrier.wait(30)
        list(kc.list(PODS, NS))

    for _ in range(3):     # three rounds of four reads at once: the second and third reuse the first's
        threads = [threading.Thread(target=read) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    for _ in range(5):
        list(kc.list(CONFIGMAPS, NS))
    counts = relay.reset()
    assert 1 <= counts.tls_handshakes <= 4 and counts.connections == counts.tls_handshakes


def test_leader_opens_no_more_connections_than_reads_in_flight(relayed):
    """The plugin's `leader`: three pod lists, then its access reviews (up to ACCESS_REVIEWS_AT_ONCE
    in flight) go on while the two lock reads, then the holder's node read and the status exec
    (which reuses an idle connection), run. So at most ACCESS_REVIEWS_AT_ONCE + 2 reads are in
    flight at once, and no more TLS connections may be opened."""
    from kubectl_datadog.cluster.kube import ACCESS_REVIEWS_AT_ONCE

    c, relay, kubeconfig = relayed
    relay.reset()
    env = c.env("admin")
    env["KUBECONFIG"] = kubeconfig
    r = subprocess.run(["kubectl-datadog", "leader", "-n", NS], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode in (0, 3), r.stderr
    assert "datadog-leader-election" in r.stdout
    counts = relay.reset()
    assert counts.connections == counts.tls_handshakes
    assert 1 <= counts.tls_handshakes <= ACCESS_REVIEWS_AT_ONCE + 2, counts.as_dict()
