"""What `make demo` shows a newcomer, on the real harness: the seed's nginxext pinned at max by the
real HPA controller, and the broken HPA named as such. (Found for real once: two HPAs on one
Deployment make the controller report AmbiguousSelector.)"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_demo_scenario(e2e_cluster):
    c = e2e_cluster("demo")
    r = c.run(["kubectl-datadog", "hpa-explain", "-n", "default", "-o", "json"])
    assert r.returncode == 0, r.stderr
    verdicts = {h["name"]: h["verdict"] for h in json.loads(r.stdout)["hpas"]}
    assert verdicts == {"nginxext": "pinned-at-max", "nginx-typo": "metric-name-invalid"}
    text = c.run(["kubectl-datadog", "hpa-explain", "nginxext", "-n", "default"]).stdout
    assert "2472 / 3 replicas = 824" in text and "pinned at maxReplicas 3" in text
    assert "AmbiguousSelector" not in text
    broken = c.run(["kubectl-datadog", "hpa-explain", "nginx-typo", "-n", "default", "-o", "json"])
    assert "metric-name-invalid" in {f["code"] for f in json.loads(broken.stdout)["findings"]}
