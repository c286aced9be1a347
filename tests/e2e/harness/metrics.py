"""A real HTTPS external-metrics provider standing in for the Cluster Agent's metrics API.

It listens on the ClusterIP:port of the Service the `v1beta1.external.metrics.k8s.io` APIService
names, so the aggregation layer reaches it exactly as it would reach the DCA. It serves:
  GET /apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>?labelSelector=...
      -> ExternalMetricValueList, or a metav1.Status for an `error:` entry
  GET /apis, /apis/external.metrics.k8s.io, /apis/external.metrics.k8s.io/v1beta1 (discovery;
      the last one is what the aggregator's availability check fetches), /openapi/v2, /openapi/v3,
      /healthz, /livez, /readyz.
Values, errors and a response delay can be changed while it runs. HTTP/1.0 (one request per
connection) so that `stop()` really cuts the provider off: no keep-alive connection survives it.
"""
from __future__ import annotations

import datetime as dt
import errno
import json
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

GROUP = "external.metrics.k8s.io"
VERSION = "v1beta1"
GV = f"{GROUP}/{VERSION}"
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


def status_body(code: int, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": _REASONS.get(code, "Unknown"), "code": code}


def selector_matches(selector: str, labels: dict) -> bool:
    """Kubernetes label-selector semantics (equality, set and existence requirements), with the
    plugin's own matcher (kubectl_datadog.cluster.selectors), which FakeCluster uses too."""
    from kubectl_datadog.cluster.selectors import parse_label_selector

    try:
        return parse_label_selector(selector or "")(labels)
    except ValueError:
        return False


class ExternalMetricsServer:
    def __init__(self, host: str, port: int, certfile: str, keyfile: str, metrics: list[dict],
                 shift_text=lambda s: s):
        self.host, self.port = host, port
        self.certfile, self.keyfile = certfile, keyfile
        self._metrics = [dict(m) for m in metrics]
        self._shift = shift_text
        self._lock = threading.Lock()
        self.delay = 0.0               # seconds before answering a metric value request
        self.delay_discovery = False   # also delay discovery (makes the APIService unavailable)
        self.requests: list[tuple[str, str]] = []   # (path, remote user header) of every request
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.bind_retries = 0          # times the address was found taken by another process

    # -- controls -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._server is not None

    def set_delay(self, seconds: float, discovery: bool = False) -> None:
        self.delay, self.delay_discovery = float(seconds), discovery

    def set_metrics(self, metrics: list[dict]) -> None:
        with self._lock:
            self._metrics = [dict(m) for m in metrics]

    def _entry(self, metric: str, namespace: Optional[str], labels: Optional[dict]) -> dict:
        for m in self._metrics:
            if m["metricName"].lower() == metric.lower() and (namespace is None or m.get("namespace") == namespace) \
                    and (labels is None or (m.get("labelSelector") or {}) == labels):
                return m
        m = {"metricName": metric, "namespace": namespace or "default"}
        if labels is not None:
            m["labelSelector"] = labels
        self._metrics.append(m)
        return m

    def set_value(self, metric: str, value: str, namespace: Optional[str] = None,
                  labels: Optional[dict] = None, timestamp: Optional[str] = None) -> None:
        """Serve `value` for `metric` (the first matching entry, or a new one)."""
        with self._lock:
            m = self._entry(metric, namespace, labels)
            m.pop("error", None)
            m["value"] = str(value)
            if timestamp:
                m["timestamp"] = timestamp
            else:
                m.pop("timestamp", None)

    def set_error(self, metric: str, code: int, message: str, namespace: Optional[str] = None,
                  labels: Optional[dict] = None) -> None:
        with self._lock:
            m = self._entry(metric, namespace, labels)
            m.pop("value", None)
            m["error"] = {"code": code, "message": message}

    def start(self, bind_timeout: float = 15.0) -> None:
        """Listen on host:port. That address is the Service's ClusterIP:port the APIService names, so
        unlike the cluster's own ports it cannot move to a fresh port: the harness's per-cluster
        service CIDR lock keeps other harness clusters off it, and a port still held by some other
        process is retried for up to `bind_timeout` seconds before giving up with an error."""
        if self._server is not None:
            return
        handler = type("Handler", (_Handler,), {"provider": self})
        deadline = time.monotonic() + bind_timeout
        while True:
            server = ThreadingHTTPServer((self.host, self.port), handler, bind_and_activate=False)
            server.daemon_threads = True
            server.allow_reuse_address = True
            try:
                server.server_bind()
                break
            except OSError as e:
                server.server_close()
                if e.errno != errno.EADDRINUSE:
                    raise
                self.bind_retries += 1
                if time.monotonic() > deadline:
                    raise RuntimeError(f"external-metrics provider: {self.host}:{self.port} (the Service's ClusterIP "
                                       f"and port) is held by another process: {e}") from e
                time.sleep(0.25)
        server.server_activate()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.certfile, self.keyfile)
        ctx.set_alpn_protocols(["http/1.1"])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"external-metrics {self.host}:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # -- answers --------------------------------------------------------------------------------
    def answer(self, path: str, query: dict) -> tuple[int, dict, bool]:
        """(status, body, is_value_request) for a GET."""
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            return 200, "ok", False  # type: ignore[return-value]
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group()]}, False
        if path == f"/apis/{GROUP}":
            return 200, self._group(), False
        if path == f"/apis/{GV}":
            with self._lock:
                names = sorted({m["metricName"].lower() for m in self._metrics})
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV,
                         "resources": [{"name": n, "singularName": "", "namespaced": True,
                                        "kind": "ExternalMetricValueList", "verbs": ["get"]} for n in names]}, False
        if path == "/openapi/v2":
            return 200, {"swagger": "2.0", "info": {"title": "kubectl-datadog e2e external metrics",
                                                     "version": VERSION}, "paths": {}}, False
        if path.startswith("/openapi/v3"):
            return 200, {"paths": {}}, False
        if len(parts) == 6 and parts[:3] == ["apis", GROUP, VERSION] and parts[3] == "namespaces":
            return (*self._values(parts[4], urllib.parse.unquote(parts[5]), query.get("labelSelector", [""])[0]),
                    True)
        return 404, status_body(404, "the server could not find the requested resource"), False

    def _group(self) -> dict:
        v = {"groupVersion": GV, "version": VERSION}
        return {"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [v], "preferredVersion": v}

    def _values(self, namespace: str, metric: str, selector: str) -> tuple[int, dict]:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        items = []
        with self._lock:
            entries = [dict(m) for m in self._metrics]
        for m in entries:
            if m.get("namespace", "default") != namespace or m["metricName"].lower() != metric.lower():
                continue
            labels = m.get("labelSelector")
            if labels is not None and not selector_matches(selector, labels):
                continue
            if "error" in m:
                e = m["error"]
                return int(e.get("code", 500)), status_body(int(e.get("code", 500)), e.get("message", ""))
            items.append({"metricName": m["metricName"], "metricLabels": labels or {},
                          "timestamp": self._shift(m["timestamp"]) if m.get("timestamp") else now,
                          "value": str(m.get("value", "0"))})
        return 200, {"kind": "ExternalMetricValueList", "apiVersion": GV, "metadata": {}, "items": items}


class _Handler(BaseHTTPRequestHandler):
    provider: ExternalMetricsServer
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # http.server's naming
        u = urllib.parse.urlsplit(self.path)
        p = self.provider
        p.requests.append((u.path, self.headers.get("X-Remote-User", "")))
        code, body, is_value = p.answer(u.path, urllib.parse.parse_qs(u.query))
        if p.delay and (is_value or p.delay_discovery):
            time.sleep(p.delay)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up (e.g. a request timeout shorter than our delay)

    def log_message(self, format, *args):  # quiet: the apiserver polls discovery every few seconds
        pass
