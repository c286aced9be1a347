"""scripts/e2e-build-binaries tells a newcomer what it builds and how long it has been at it.

Run with a stand-in `go` (no real build, a throwaway cache): a `go install` that takes 2.5 s, with
a progress line every second instead of every 30."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FAKE_GO = """#!/bin/sh
case "$1" in
  env) echo https://proxy.golang.org ;;
  install) sleep 2.5; for b in krew validate-krew-manifest; do : > "$GOBIN/$b"; chmod +x "$GOBIN/$b"; done ;;
esac
"""


def test_progress_lines_name_the_build_and_the_elapsed_time_while_go_runs(tmp_path):
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "go").write_text(FAKE_GO)
    (fake / "go").chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin", "HOME": str(tmp_path), "PROGRESS_EVERY": "1",
           "KUBECTL_DATADOG_E2E_CACHE": str(tmp_path / "cache")}
    r = subprocess.run(["bash", str(REPO / "scripts" / "e2e-build-binaries"), "krew"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    stamp = r"^\[e2e-build \d\d:\d\d:\d\d, \dm\d\ds since start\] "
    assert all(re.match(stamp, line) for line in lines), lines
    assert re.search(stamp + r"building krew v0\.4\.3", lines[0])
    still = [line for line in lines if "still working on sigs.k8s.io/krew@v0.4.3" in line]
    assert len(still) >= 2 and re.search(r"\(0m0[1-3]s on it\)$", still[-1]), lines
    assert any(re.search(r"sigs.k8s.io/krew@v0.4.3: done in 0m0[2-4]s$", line) for line in lines), lines
    assert r.stdout.strip().endswith("/bin") and os.access(Path(r.stdout.strip()) / "kubectl-krew", os.X_OK)
    # The heartbeat ended with the build: no process with this test's environment is left.
    assert processes_with_env(f"KUBECTL_DATADOG_E2E_CACHE={tmp_path / 'cache'}") == []


def processes_with_env(entry: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and entry.encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found
