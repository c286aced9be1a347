"""KubeCluster's proxy choice, as kubectl makes it: HTTPS_PROXY for every request (and exec), unless
NO_PROXY names the API server's host."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_kube_client_import import KUBECONFIG


@pytest.mark.parametrize("no_proxy, proxied", [("", True), ("127.0.0.1", False), ("example.com", True)])
def test_the_proxy_is_used_unless_no_proxy_names_the_server(tmp_path: Path, monkeypatch, no_proxy: str,
                                                            proxied: bool) -> None:
    import urllib3

    from kubectl_datadog.cluster.kube import KubeCluster

    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    if no_proxy:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG, encoding="utf-8")
    cluster = KubeCluster(kubeconfig=str(path))
    assert isinstance(cluster._pool, urllib3.ProxyManager) is proxied
    assert cluster._proxy_url == ("http://proxy.internal:3128" if proxied else "")
