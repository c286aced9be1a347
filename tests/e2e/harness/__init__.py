"""Real-cluster test harness for kubectl-datadog (shared by tests/e2e/conftest.py and scripts/e2e-cluster)."""
from .binaries import missing as missing_binaries
from .cluster import Cluster
from .kube import ApiError
from .scenario import FIXTURE_NOW, load_scenario

__all__ = ["FIXTURE_NOW", "ApiError", "Cluster", "load_scenario", "missing_binaries"]
