"""The release, checked with krew itself: validate-krew-manifest, install from manifest+archive into an
isolated KREW_ROOT, run through kubectl (against a harness cluster), complete through kubectl,
uninstall; and our own krew index (a local git repository, archives served from 127.0.0.1)."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile

import click
import pytest
import yaml

from kubectl_datadog.cli import root
from tests.krew.conftest import REPO, binaries, version

pytestmark = pytest.mark.krew


def _manifest(release) -> dict:
    return yaml.safe_load(release["manifest"].read_text())


def test_archive_holds_the_executable_and_license(release):
    with tarfile.open(release["archive"]) as tf:
        members = {m.name: m for m in tf.getmembers()}
        assert set(members) == {"kubectl-datadog", "LICENSE"}
        assert members["kubectl-datadog"].mode & 0o111
        assert tf.extractfile("kubectl-datadog").read() == release["binary"].read_bytes()
        assert tf.extractfile("LICENSE").read() == (REPO / "LICENSE").read_bytes()
    digest = hashlib.sha256(release["archive"].read_bytes()).hexdigest()
    assert release["sha256"].read_text() == f"{digest}  {release['archive'].name}\n"


def test_binary_runs_without_python(release):
    r = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", str(release["binary"]), "--version"],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, f"kubectl-datadog {version()}\n")


def test_manifest_is_filled_from_the_archive(release):
    m = _manifest(release)
    assert m["metadata"]["name"] == "datadog"
    assert m["spec"]["version"] == f"v{version()}"
    [plat] = m["spec"]["platforms"]
    assert plat["selector"] == {"matchLabels": {"os": "linux", "arch": "amd64"}}
    assert plat["sha256"] == hashlib.sha256(release["archive"].read_bytes()).hexdigest()
    assert plat["uri"].endswith("/" + release["archive"].name)
    assert plat["bin"] == "kubectl-datadog"
    assert {"from": "LICENSE", "to": "."} in plat["files"]
    assert "${" not in release["manifest"].read_text()


def test_manifest_texts(release):
    spec = _manifest(release)["spec"]
    description, caveats = spec["description"], spec["caveats"]
    # The description says what the tool is for; it does not list commands.
    for name in root.list_commands(click.Context(root)):
        assert f"datadog {name}" not in description
        if "-" in name:
            assert name not in description
    assert not re.search(r"^\s*[-*]\s", description, re.M), "the description is not a list"
    assert "Read-only" in caveats
    assert "pods/exec" in caveats
    assert "official" in caveats and "`datadog`" in caveats
    assert "\n" not in spec["shortDescription"]


def test_validate_krew_manifest_accepts_it(release, krew_bin, tmp_path):
    # The validator insists the file is named after the plugin.
    manifest = tmp_path / "datadog.yaml"
    shutil.copy(release["manifest"], manifest)
    r = subprocess.run([krew_bin["validate-krew-manifest"], "-manifest", str(manifest), "-skip-install"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # ...and it is really checking: a bad sha256 is refused.
    bad = tmp_path / "bad" / "datadog.yaml"
    bad.parent.mkdir()
    bad.write_text(re.sub(r"sha256: [0-9a-f]{64}", "sha256: not-a-digest", manifest.read_text()))
    r = subprocess.run([krew_bin["validate-krew-manifest"], "-manifest", str(bad), "-skip-install"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "sha256" in r.stderr


def test_krew_refuses_an_archive_that_does_not_match(release, krew, tmp_path):
    tampered = tmp_path / release["archive"].name
    tampered.write_bytes(release["archive"].read_bytes() + b"\0")
    r = krew.kubectl("krew", "install", f"--manifest={release['manifest']}", f"--archive={tampered}")
    assert r.returncode != 0
    assert not (krew.bin / "kubectl-datadog").exists()


def test_install_run_complete_uninstall(release, krew, cluster, tmp_path):
    krew.kubeconfig = cluster.kubeconfig("admin")
    r = krew.kubectl("krew", "install", f"--manifest={release['manifest']}", f"--archive={release['archive']}")
    assert r.returncode == 0, r.stderr
    assert "Installed plugin: datadog" in r.stderr + r.stdout
    installed = krew.bin / "kubectl-datadog"
    assert installed.is_symlink()

    r = krew.kubectl("plugin", "list")
    assert r.returncode == 0, r.stderr
    assert str(installed) in r.stdout

    r = krew.kubectl("datadog", "--version")
    assert (r.returncode, r.stdout) == (0, f"kubectl-datadog {version()}\n")

    r = krew.kubectl("datadog", "leader", "-o", "json", timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["kind"] == "LeaderReport"
    assert report["install"]["namespace"] == "datadog"

    # Completion: kubectl runs kubectl_complete-datadog (a symlink to the installed plugin).
    (krew.bin / "kubectl_complete-datadog").symlink_to(installed)
    r = krew.kubectl("__complete", "datadog", "hpa-explain", "")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == ":4"
    assert [line.split("\t")[0] for line in lines[:-1]] == ["nginxext"]
    r = krew.kubectl("__complete", "datadog", "hpa-explain", "-n", "")
    assert "datadog" in [line.split("\t")[0] for line in r.stdout.splitlines()]
    (krew.bin / "kubectl_complete-datadog").unlink()

    # krew refuses every command but install --manifest until some index is cloned ("krew local plugin
    # index is not initialized"); a user has the default one. Offline, a local git index stands in.
    assert "not initialized" in krew.kubectl("krew", "uninstall", "datadog").stderr
    r = krew.kubectl("krew", "index", "add", "ours", str(_index_repo(tmp_path, "http://127.0.0.1:9/")))
    assert r.returncode == 0, r.stderr
    r = krew.kubectl("krew", "uninstall", "datadog")
    assert r.returncode == 0, r.stderr
    assert not installed.exists() and not installed.is_symlink()
    assert not (krew.root / "store" / "datadog").exists()
    assert not (krew.root / "receipts" / "datadog.yaml").exists()
    assert "kubectl-datadog" not in krew.kubectl("plugin", "list").stdout


def _index_repo(tmp_path, base_url: str):
    index = tmp_path / "index"
    r = subprocess.run([str(REPO / ".venv" / "bin" / "python"), str(REPO / "scripts" / "render-manifest"),
                        "--out", str(tmp_path / "plugin.yaml"), "--index", str(index), "--base-url", base_url],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    git = ["git", "-C", str(index), "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    for args in (["init", "-q"], ["add", "plugins/datadog.yaml"], ["commit", "-q", "-m", "index"]):
        subprocess.run(git + args, check=True, capture_output=True)
    return index


def test_our_own_index(release, krew, archive_server, tmp_path):
    index = _index_repo(tmp_path, archive_server.url)
    r = krew.kubectl("krew", "index", "add", "ours", str(index))
    assert r.returncode == 0, r.stderr
    r = krew.kubectl("krew", "install", "ours/datadog")
    assert r.returncode == 0, r.stderr
    assert f"/{release['archive'].name}" in archive_server.requests
    r = krew.kubectl("krew", "list")
    assert "ours/datadog" in r.stdout
    r = krew.kubectl("datadog", "--version")
    assert (r.returncode, r.stdout) == (0, f"kubectl-datadog {version()}\n")
    r = krew.kubectl("krew", "uninstall", "datadog")
    assert r.returncode == 0, r.stderr
    assert not (krew.bin / "kubectl-datadog").exists()


def test_full_validation_downloads_and_finds_the_license(release, krew, archive_server, tmp_path):
    index = _index_repo(tmp_path, archive_server.url)
    # Without -skip-install the validator runs `kubectl krew install --manifest` (downloading the archive
    # from the uri) for every platform it can, and checks that a LICENSE was installed.
    r = krew.run(binaries.binary("validate-krew-manifest"), "-manifest", str(index / "plugins" / "datadog.yaml"),
                 timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"/{release['archive'].name}" in archive_server.requests
