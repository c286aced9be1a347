"""Fixtures for the krew checks: the release built once (`make dist`), the real krew binaries, an
isolated KREW_ROOT/HOME per test, a local HTTP server for the archives, and a harness cluster."""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from importlib.util import find_spec
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from harness import Cluster, missing_binaries  # noqa: E402
from harness import binaries  # noqa: E402

KREW_DIR = Path(__file__).resolve().parent
_REQUIRED = any(os.environ.get(v) == "1" for v in ("KUBECTL_DATADOG_E2E_REQUIRED", "KUBECTL_DATADOG_REQUIRE_E2E"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if KREW_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.krew)


def _unavailable(msg: str) -> None:
    if _REQUIRED:
        pytest.fail(msg)
    pytest.skip(msg)


def version() -> str:
    from kubectl_datadog import __version__

    return __version__


@pytest.fixture(scope="session")
def release() -> dict:
    """`make dist`, once per session: the binary, this platform's archive, and dist/plugin.yaml."""
    if find_spec("PyInstaller") is None:
        _unavailable("PyInstaller is not installed (pip install -e '.[build]')")
    r = subprocess.run(["make", "-s", "dist"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"make dist failed:\n{r.stdout}\n{r.stderr}"
    dist = REPO / "dist"
    archive = dist / f"kubectl-datadog_{version()}_linux_amd64.tar.gz"
    assert archive.is_file(), r.stdout
    return {"dist": dist, "binary": dist / "kubectl-datadog", "archive": archive,
            "manifest": dist / "plugin.yaml", "sha256": dist / f"{archive.name}.sha256"}


@pytest.fixture(scope="session")
def krew_bin() -> dict:
    tools = {"kubectl-krew": binaries.binary("kubectl-krew"),
             "validate-krew-manifest": binaries.binary("validate-krew-manifest"), "kubectl": binaries.kubectl()}
    missing = [n for n, p in tools.items() if not p or not os.access(p, os.X_OK)]
    if missing:
        _unavailable(f"krew binaries missing ({', '.join(missing)}); run {binaries.BUILD_SCRIPT} krew")
    if not shutil.which("git"):
        _unavailable("git is not installed (krew indexes are git repositories)")
    return tools


class Krew:
    """One isolated krew installation: KREW_ROOT and HOME in tmp, PATH = its bin + kubectl + krew only
    (so the venv's own kubectl-datadog cannot answer in place of the installed one)."""

    def __init__(self, root: Path, tools: dict, kubeconfig: str = ""):
        self.root = root / "krew"
        self.home = root / "home"
        self.tools = root / "tools"
        for d in (self.root, self.home, self.tools):
            d.mkdir(parents=True, exist_ok=True)
        for name in ("kubectl-krew", "kubectl"):
            (self.tools / name).symlink_to(tools[name])
        self.bin = self.root / "bin"
        self.kubeconfig = kubeconfig or str(root / "no-kubeconfig")

    def env(self) -> dict:
        git_dir = str(Path(shutil.which("git")).parent)
        path = os.pathsep.join(dict.fromkeys([str(self.bin), str(self.tools), git_dir, "/usr/bin", "/bin"]))
        return {"PATH": path, "HOME": str(self.home), "KREW_ROOT": str(self.root), "KUBECONFIG": self.kubeconfig,
                "LANG": "C.UTF-8"}

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), env=self.env(), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def kubectl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return self.run("kubectl", *args, timeout=timeout)


@pytest.fixture
def krew(tmp_path, krew_bin) -> Krew:
    return Krew(tmp_path, krew_bin)


class ArchiveServer:
    """Serves a directory on 127.0.0.1 from a thread; remembers the paths requested."""

    def __init__(self, directory: Path):
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(directory)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def archive_server(release):
    server = ArchiveServer(release["dist"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster():
    """A harness cluster with the e2e-smoke scenario, for this module only."""
    missing = missing_binaries()
    if missing:
        _unavailable(f"e2e binaries not built ({', '.join(missing)}); run {binaries.BUILD_SCRIPT}")
    c = Cluster()
    c.start()
    try:
        c.apply_scenario("e2e-smoke")
        yield c
    finally:
        c.stop()
