"""scripts/render-manifest and the packaging half of scripts/build-binary, on fake archives (fast).
The real build, krew's validator and krew installs are in tests/krew."""

from __future__ import annotations

import hashlib
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]


render = load_script("render-manifest")
build = load_script("build-binary")
VERSION = render.version()


def _archive(dist: Path, os_name: str, arch: str, content: bytes = b"x", sums: bool = True) -> str:
    ext = "zip" if os_name == "windows" else "tar.gz"
    path = dist / f"kubectl-datadog_{VERSION}_{os_name}_{arch}.{ext}"
    path.write_bytes(content + os_name.encode() + arch.encode())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if sums:
        (dist / f"{path.name}.sha256").write_text(f"{digest}  {path.name}\n")
    return digest


def _render(dist: Path, base_url: str = "https://example.invalid/r/", home: str = "") -> dict:
    text = render.render(render.TEMPLATE.read_text(), VERSION, render.find_archives(dist, VERSION), base_url, home)
    assert "${" not in text
    return yaml.safe_load(text)


def test_every_archive_becomes_a_platform_in_a_stable_order(tmp_path):
    digests = {(o, a): _archive(tmp_path, o, a) for o, a in [("windows", "amd64"), ("darwin", "arm64"),
                                                               ("linux", "amd64"), ("linux", "arm64")]}
    (tmp_path / "kubectl-datadog_0.0.1_linux_amd64.tar.gz").write_bytes(b"another version: ignored")
    (tmp_path / "notes.txt").write_text("ignored")
    m = _render(tmp_path)
    plats = m["spec"]["platforms"]
    keys = [(p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]) for p in plats]
    assert keys == [("linux", "amd64"), ("linux", "arm64"), ("darwin", "arm64"), ("windows", "amd64")]
    for p, key in zip(plats, keys, strict=True):
        assert p["sha256"] == digests[key]
        ext = "zip" if key[0] == "windows" else "tar.gz"
        assert p["uri"] == f"https://example.invalid/r/kubectl-datadog_{VERSION}_{key[0]}_{key[1]}.{ext}"
        exe = "kubectl-datadog.exe" if key[0] == "windows" else "kubectl-datadog"
        assert p["bin"] == exe
        assert p["files"] == [{"from": exe, "to": "."}, {"from": "LICENSE", "to": "."}]
    assert m["spec"]["version"] == f"v{VERSION}"
    assert m["metadata"]["name"] == "datadog"
    assert "homepage" not in m["spec"]


def test_homepage_and_base_url_without_trailing_slash(tmp_path):
    _archive(tmp_path, "linux", "amd64")
    m = _render(tmp_path, base_url="http://127.0.0.1:8080", home="https://github.com/o/r")
    assert m["spec"]["homepage"] == "https://github.com/o/r"
    assert m["spec"]["platforms"][0]["uri"].startswith("http://127.0.0.1:8080/kubectl-datadog_")


def test_archive_without_sha256_file_is_hashed(tmp_path):
    digest = _archive(tmp_path, "linux", "amd64", sums=False)
    assert _render(tmp_path)["spec"]["platforms"][0]["sha256"] == digest


def test_sha256_file_that_disagrees_is_an_error(tmp_path):
    _archive(tmp_path, "linux", "amd64")
    (tmp_path / f"kubectl-datadog_{VERSION}_linux_amd64.tar.gz").write_bytes(b"changed after hashing")
    with pytest.raises(SystemExit, match="hashes to"):
        render.find_archives(tmp_path, VERSION)


def test_no_archive_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="no kubectl-datadog_"):
        _render(tmp_path)


def test_default_base_url(tmp_path, monkeypatch):
    for var in ("KUBECTL_DATADOG_RELEASE_URL", "GITHUB_REPOSITORY", "GITHUB_SERVER_URL"):
        monkeypatch.delenv(var, raising=False)
    assert render.default_base_url(tmp_path, "1.2.3") == tmp_path.resolve().as_uri() + "/"
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/kubectl-datadog")
    assert render.default_base_url(tmp_path, "1.2.3") == \
        "https://github.com/acme/kubectl-datadog/releases/download/v1.2.3/"
    monkeypatch.setenv("KUBECTL_DATADOG_RELEASE_URL", "https://mirror.invalid/x/")
    assert render.default_base_url(tmp_path, "1.2.3") == "https://mirror.invalid/x/"


def test_index_layout(tmp_path, monkeypatch):
    dist = tmp_path / "dist"
    dist.mkdir()
    _archive(dist, "linux", "amd64")
    monkeypatch.setattr("sys.argv", ["render-manifest", "--dist", str(dist), "--index", str(tmp_path / "idx"),
                                     "--base-url", "http://127.0.0.1:1/"])
    assert render.main() == 0
    assert (tmp_path / "idx" / "plugins" / "datadog.yaml").read_text() == (dist / "plugin.yaml").read_text()


@pytest.mark.parametrize("system, machine, expected", [
    ("Linux", "x86_64", ("linux", "amd64")), ("Linux", "aarch64", ("linux", "arm64")),
    ("Darwin", "arm64", ("darwin", "arm64")), ("Windows", "AMD64", ("windows", "amd64")),
    ("Windows", "ARM64", ("windows", "arm64")),
])
def test_host_platform(monkeypatch, system, machine, expected):
    monkeypatch.setattr(build.platform, "system", lambda: system)
    monkeypatch.setattr(build.platform, "machine", lambda: machine)
    assert build.host_platform() == expected


def test_package_is_reproducible_and_holds_executable_and_license(tmp_path, monkeypatch):
    exe = tmp_path / "kubectl-datadog"
    exe.write_bytes(b"\x7fELF fake executable")
    monkeypatch.setattr(build, "host_platform", lambda: ("linux", "amd64"))
    first = build.package(exe, tmp_path).read_bytes()
    archive = build.package(exe, tmp_path)
    assert archive.name == f"kubectl-datadog_{VERSION}_linux_amd64.tar.gz"
    assert archive.read_bytes() == first
    with tarfile.open(archive) as tf:
        members = {m.name: m for m in tf.getmembers()}
        assert list(members) == ["kubectl-datadog", "LICENSE"]
        assert members["kubectl-datadog"].mode == 0o755 and members["LICENSE"].mode == 0o644
        assert members["kubectl-datadog"].uid == 0
        assert tf.extractfile("kubectl-datadog").read() == exe.read_bytes()
    sums = (tmp_path / f"{archive.name}.sha256").read_text()
    assert sums == f"{hashlib.sha256(first).hexdigest()}  {archive.name}\n"
    # render-manifest accepts what package() wrote.
    assert render.find_archives(tmp_path, VERSION)[0]["sha256"] == hashlib.sha256(first).hexdigest()


def test_package_for_windows_is_a_zip_with_an_exe(tmp_path, monkeypatch):
    exe = tmp_path / "kubectl-datadog.exe"
    exe.write_bytes(b"MZ fake executable")
    monkeypatch.setattr(build, "host_platform", lambda: ("windows", "arm64"))
    archive = build.package(exe, tmp_path)
    assert archive.name == f"kubectl-datadog_{VERSION}_windows_arm64.zip"
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == ["kubectl-datadog.exe", "LICENSE"]
        assert zf.read("kubectl-datadog.exe") == exe.read_bytes()


def test_exclusions_never_drop_what_the_client_imports():
    # What the installed client really imports when KubeCluster loads it (kubernetes 35 imports its
    # typed API classes and models eagerly): an exclusion that drops one of them breaks every command.
    import subprocess
    import sys

    code = ("import sys, kubectl_datadog.cluster.kube as k; import kubernetes.config.kube_config, "
            "kubernetes.config.incluster_config, kubernetes.client, websocket, urllib3, certifi; "
            "print('\\n'.join(sorted(sys.modules)))")
    imported = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout.split())
    # libyaml: `import yaml` tries its C binding and falls back to pure Python when it is absent.
    excluded = {m for group, (_, mods) in build.exclusion_groups().items() if group != "libyaml" for m in mods}
    dropped = sorted(m for m in imported if m in excluded or any(m.startswith(e + ".") for e in excluded))
    assert dropped == []
    assert "kubernetes.client.models.v1_pod" in imported   # the check sees the eager imports
