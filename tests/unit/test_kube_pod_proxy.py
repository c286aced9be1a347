"""KubeCluster.proxy_get against a small HTTP stand-in for the API server: the URL it asks, GET only,
and which 403s are RBAC's (the API server's Status with reason Forbidden) and which are not (the pod,
or something on the way to it, answered 403: no permission fixes that)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar, Iterator

import pytest

from kubectl_datadog.errors import ApiError, Forbidden

RBAC_403 = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                       "message": 'pods "dca:5000" is forbidden: User "viewer" cannot get resource "pods/proxy"'})


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []
    answer: ClassVar[tuple[int, str, str]] = (200, "text/plain", "x 1\n")

    def do_GET(self) -> None:
        _Handler.seen.append(("GET", self.path))
        code, ctype, body = _Handler.answer
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch) -> Iterator[object]:
    from kubectl_datadog.cluster.kube import KubeCluster

    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)  # the stand-in is local: no proxy between

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    path = tmp_path / "kubeconfig"
    path.write_text(f"""\
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{server.server_address[1]}"}}}}]
users: [{{name: u, user: {{token: t0ken}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u, namespace: team}}}}]
current-context: x
""", encoding="utf-8")
    _Handler.seen = []
    try:
        yield KubeCluster(kubeconfig=str(path))
    finally:
        server.shutdown()


def test_the_body_comes_back_as_text_from_the_pods_proxy_path(cluster) -> None:
    _Handler.answer = (200, "text/plain; version=0.0.4", "cluster_checks_nodes_reporting 2\n")
    assert cluster.proxy_get("datadog", "dca-0", 5000, "/metrics") == "cluster_checks_nodes_reporting 2\n"
    assert _Handler.seen == [("GET", "/api/v1/namespaces/datadog/pods/dca-0:5000/proxy/metrics")]


def test_the_api_servers_403_is_forbidden_naming_get_pods_proxy(cluster) -> None:
    _Handler.answer = (403, "application/json", RBAC_403)
    with pytest.raises(Forbidden) as err:
        cluster.proxy_get("datadog", "dca-0", 5000, "metrics")
    assert (err.value.verb, err.value.resource) == ("get", "pods/proxy")


@pytest.mark.parametrize("code, body", [(403, "resolve_deny: denied destination"), (401, "auth required")])
def test_a_403_or_401_from_the_pods_side_is_not_rbac(cluster, code: int, body: str) -> None:
    _Handler.answer = (code, "text/plain", body)
    with pytest.raises(ApiError) as err:
        cluster.proxy_get("datadog", "dca-0", 5000, "metrics")
    assert not isinstance(err.value, Forbidden) and body in err.value.message
