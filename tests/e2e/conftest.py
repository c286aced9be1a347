"""Fixtures for the real-cluster (e2e) tests. See tests/e2e/README.md.

    @pytest.mark.e2e
    def test_something(e2e_cluster):
        c = e2e_cluster("e2e-smoke")                 # shared for the session, do not break it
        r = c.run(["kubectl-datadog", "leader"], user="viewer")
        c2 = e2e_cluster("e2e-smoke", fresh=True)    # private, stopped after this test: faults go here
        c2.stop_apiserver()
"""
from __future__ import annotations

import os
import sys
from collections import OrderedDict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Cluster, missing_binaries
from harness import binaries
from harness.binaries import BUILD_SCRIPT, COLD_BUILD

_E2E_DIR = Path(__file__).resolve().parent
# CI sets this so a missing build fails loudly instead of skipping the whole e2e suite.
_REQUIRED = os.environ.get("KUBECTL_DATADOG_E2E_REQUIRED") == "1"
_MAX_SHARED = int(os.environ.get("KUBECTL_DATADOG_E2E_MAX_CLUSTERS", "2"))


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: runs against a real local kube-apiserver (tests/e2e)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _require_binaries() -> None:
    if _REQUIRED and not os.environ.get(binaries.UNDER_TEST_ENV):
        # `make test` proves what ships: the wheel installed in a fresh virtualenv, not the checkout.
        pytest.fail(f"{binaries.UNDER_TEST_ENV} is not set: run the suite with `make test`")
    missing = missing_binaries()
    if missing:
        msg = (f"e2e binaries not built ({', '.join(missing)}); run {BUILD_SCRIPT} (the first build: "
               f"{COLD_BUILD})")
        if _REQUIRED:
            pytest.fail(msg)
        pytest.skip(msg)


class _Pool:
    """Shared clusters, one per scenario tuple, at most _MAX_SHARED alive (least recently used stops)."""

    def __init__(self):
        self.clusters: "OrderedDict[tuple, Cluster]" = OrderedDict()

    def get(self, scenarios: tuple) -> Cluster:
        c = self.clusters.pop(scenarios, None)
        if c is not None and not c.healthy():
            c.stop()
            c = None
        if c is None:
            while len(self.clusters) >= _MAX_SHARED:
                _, old = self.clusters.popitem(last=False)
                old.stop()
            c = _new_cluster(scenarios)
        self.clusters[scenarios] = c
        return c

    def close(self) -> None:
        while self.clusters:
            self.clusters.popitem()[1].stop()


def _new_cluster(scenarios: tuple) -> Cluster:
    c = Cluster()
    c.start()
    try:
        for s in scenarios:
            c.apply_scenario(s)
    except BaseException:
        c.stop()
        raise
    return c


@pytest.fixture(scope="session")
def _e2e_pool():
    pool = _Pool()
    yield pool
    pool.close()


@pytest.fixture
def e2e_cluster(_e2e_pool):
    """Factory: e2e_cluster(*scenario_names, fresh=False) -> harness.Cluster.

    Shared clusters (fresh=False) live for the session; tests must leave them as they found them.
    fresh=True gives a private cluster, stopped when the test ends (for faults and mutations)."""
    private: list[Cluster] = []

    def factory(*scenarios: str, fresh: bool = False) -> Cluster:
        _require_binaries()
        if fresh:
            c = _new_cluster(tuple(scenarios))
            private.append(c)
            return c
        return _e2e_pool.get(tuple(scenarios))

    yield factory
    for c in private:
        c.stop()
