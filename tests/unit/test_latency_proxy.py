"""scripts/latency-proxy: the delay is applied each way (checked only as a lower bound, never an
upper one), connections and TLS ClientHellos are counted, and the relay is bounded (loopback
only, a connection budget, a lifetime)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.scripts import SCRIPTS, load_script

proxy = load_script("latency-proxy")


class EchoServer:
    """A loopback TCP server that echoes what it receives; counts its accepted connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def _roundtrip(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        more = sock.recv(65536)
        if not more:
            break
        got += more
    return got


def test_relays_bytes_and_adds_the_delay_each_way(echo):
    up, down = 0.06, 0.04
    with proxy.RelayThread(("127.0.0.1", echo.port), up=up, down=down, max_seconds=60) as relay:
        with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
            t0 = time.monotonic()
            assert _roundtrip(s, b"GET / HTTP/1.1\r\n\r\n") == b"GET / HTTP/1.1\r\n\r\n"
            first = time.monotonic() - t0
            t0 = time.monotonic()
            big = bytes(range(256)) * 1024
            assert _roundtrip(s, big) == big
            second = time.monotonic() - t0
        sent = len(b"GET / HTTP/1.1\r\n\r\n") + len(big)
        deadline = time.monotonic() + 10      # the relay counts a chunk once written: just after we read it
        while relay.relay.counts.bytes_down < sent and time.monotonic() < deadline:
            time.sleep(0.01)
        counts = relay.reset()
    # Lower bounds only: the first exchange also pays the modelled TCP handshake (one more RTT).
    assert first >= 2 * (up + down) - 0.005
    assert second >= (up + down) - 0.005
    assert counts.connections == 1 and counts.tls_handshakes == 0
    assert counts.bytes_up == counts.bytes_down == sent


def test_counts_connections_and_tls_client_hellos(echo):
    with proxy.RelayThread(("127.0.0.1", echo.port), max_seconds=60) as relay:
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
                assert _roundtrip(s, b"plain text") == b"plain text"
        # A real ClientHello from Python's TLS stack; the echo server is no TLS server, so the
        # handshake fails after the hello went through the relay.
        ctx = ssl.create_default_context()
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as raw:
                with pytest.raises((ssl.SSLError, OSError)):
                    ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        deadline = time.monotonic() + 10
        while relay.relay.counts.connections < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        counts = relay.reset()
        assert (counts.connections, counts.tls_handshakes, counts.refused) == (5, 3, 0)
        assert echo.accepted == 5
        # reset() starts again from zero
        with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
            assert _roundtrip(s, b"x" * 10) == b"x" * 10
        assert relay.reset().connections == 1


def test_client_hello_detection():
    hello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
    assert proxy.looks_like_client_hello(hello)
    assert not proxy.looks_like_client_hello(b"GET / HTTP/1.1\r\n")
    assert not proxy.looks_like_client_hello(bytes([0x16, 0x03, 0x01, 0x00, 0x40, 0x02]))  # ServerHello
    assert not proxy.looks_like_client_hello(hello[:5])


def test_connection_budget_refuses_the_extra_ones(echo):
    with proxy.RelayThread(("127.0.0.1", echo.port), max_connections=2, max_seconds=60) as relay:
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
                assert _roundtrip(s, b"ok") == b"ok"
        relay.reset()   # the budget counts across resets
        with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
            assert s.recv(10) == b""          # closed unanswered
        deadline = time.monotonic() + 10
        while relay.relay.counts.refused < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (relay.relay.counts.connections, relay.relay.counts.refused) == (0, 1)
    assert echo.accepted == 2


def test_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        proxy.LatencyRelay(("10.0.0.1", 443))
    with pytest.raises(ValueError, match="loopback"):
        proxy.LatencyRelay(("127.0.0.1", 443), listen=("0.0.0.0", 0))
    with pytest.raises(ValueError):
        proxy.LatencyRelay(("127.0.0.1", 443), up=-1)


def test_lifetime_is_bounded(echo):
    relay = proxy.RelayThread(("127.0.0.1", echo.port), max_seconds=0.2).start()
    port = relay.port
    relay._thread.join(30)
    assert not relay._thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_command_line_exits_after_max_seconds_and_prints_counts(echo):
    r = subprocess.run([sys.executable, str(Path(SCRIPTS) / "latency-proxy"), "--target", f"127.0.0.1:{echo.port}",
                        "--rtt-ms", "20", "--max-seconds", "0.3"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "delay up 10 ms, down 10 ms" in r.stderr
    assert json.loads(r.stdout)["connections"] == 0
    r = subprocess.run([sys.executable, str(Path(SCRIPTS) / "latency-proxy"), "--target", "192.0.2.1:443"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: loopback only")
