"""Ports that cannot collide: the harness chooses free ports, and when another process takes one
before our component binds it, the component starts again on fresh ports (the external-metrics
provider, whose address is fixed by its Service, waits for the address instead).

The first two tests need no cluster binaries; the others start real clusters."""
from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import Cluster, missing_binaries
from harness.certs import ClusterPKI
from harness.cluster import PORT_KEYS
from harness.metrics import ExternalMetricsServer
from harness.procs import free_ports, listens_on

pytestmark = pytest.mark.e2e


def squat(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """Another process's listener (here: ours) on host:port, as a busy machine would have."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, port))
    s.listen(8)
    return s


def need_binaries() -> None:
    if missing_binaries():
        pytest.skip(f"e2e binaries not built ({', '.join(missing_binaries())})")


def test_free_ports_are_distinct_and_ownership_tells_a_squatter_apart():
    ports = free_ports(20)
    assert len(set(ports)) == 20
    s = squat()
    try:
        port = s.getsockname()[1]
        assert listens_on(os.getpid(), port)
        # A process that merely can connect to the port does not own it.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert not listens_on(child.pid, port)
        finally:
            child.kill()
            child.wait()
    finally:
        s.close()
    assert not listens_on(os.getpid(), port)


def test_metrics_provider_waits_for_its_fixed_address_and_gives_up_with_a_clear_error(tmp_path):
    pki = ClusterPKI(tmp_path)
    crt, key = pki.serving("metrics", dns=("metrics",), ips=("127.0.0.1",))
    holder = squat()
    port = holder.getsockname()[1]
    # Held for good: an error naming the address, not a hang.
    stuck = ExternalMetricsServer("127.0.0.1", port, str(crt), str(key), [])
    with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} .* held by another process"):
        stuck.start(bind_timeout=1)
    assert stuck.bind_retries >= 2 and not stuck.running
    # Released a moment later: the provider binds it and serves.
    threading.Timer(1.0, holder.close).start()
    m = ExternalMetricsServer("127.0.0.1", port, str(crt), str(key), [])
    m.start(bind_timeout=10)
    try:
        assert m.bind_retries >= 1
        ctx = ssl.create_default_context(cafile=pki.path("serving-ca.crt"))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            assert tls.recv(100).startswith(b"HTTP/1.0 200")
    finally:
        m.stop()


class _SquattedCluster(Cluster):
    """Every port the harness first chooses is already taken by another listener."""

    def __init__(self, squatters: list[socket.socket], **kw):
        super().__init__(**kw)
        self._squatters = squatters

    def _choose_ports(self) -> dict[str, int]:
        ports = {}
        for k in PORT_KEYS:
            s = squat()
            self._squatters.append(s)
            ports[k] = s.getsockname()[1]
        return ports


def test_each_component_whose_port_was_taken_starts_again_on_a_fresh_port():
    need_binaries()
    squatters: list[socket.socket] = []
    c = _SquattedCluster(squatters)
    try:
        c.start()
        taken = {s.getsockname()[1] for s in squatters}
        assert set(c.port_retries) == {"etcd", "kube-apiserver", "kube-controller-manager", "kwok"}
        assert {p for ps in c.port_retries.values() for p in ps} == taken
        assert not taken & set(c.ports.values())
        assert c.healthy()
        pids = {n: p.pid for n, p in c.procs.items()}
        for name, key in (("etcd", "etcd"), ("kube-apiserver", "apiserver"), ("kube-controller-manager", "kcm"),
                          ("kwok", "kwok")):
            assert listens_on(pids[name], c.ports[key]), name
        r = c.kubectl("get", "--raw", "/readyz")
        assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    finally:
        c.stop()
        for s in squatters:
            s.close()


def test_six_clusters_started_at_once_all_become_healthy():
    need_binaries()
    clusters = [Cluster() for _ in range(6)]

    def start(c: Cluster) -> Cluster:
        return c.start()
    t0 = time.monotonic()
    try:
        with ThreadPoolExecutor(6) as pool:
            started = list(pool.map(start, clusters))
        elapsed = time.monotonic() - t0
        assert all(c.healthy() for c in started)
        ports = [p for c in started for p in c.ports.values()]
        assert len(ports) == len(set(ports)) == 6 * len(PORT_KEYS)
        assert len({c.service_cidr for c in started}) == 6
        for c in started:
            r = c.kubectl("version", "-o", "json")
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["serverVersion"]["gitVersion"] == "v1.36.3"
        print(f"6 clusters up in {elapsed:.1f}s; port retries: "
              f"{[c.port_retries for c in started if c.port_retries]}")
    finally:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda c: c.stop(), clusters))
