"""Every documented exit code and error message, through the real CLI boundary.

Kubeconfig and connection errors go through the production KubeCluster (no fake): a missing file,
an unknown context, a server that refuses connections. 401/403/TLS against a real API server are
proven in tests/e2e.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_datadog.errors import ExitCode
from tests.conftest import invoke_cli
from tests.fakes import FakeCluster

KUBECONFIG = """apiVersion: v1
kind: Config
current-context: refused
clusters:
- name: refused
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
contexts:
- name: refused
  context: {cluster: refused, user: someone, namespace: team-a}
users:
- name: someone
  user: {token: not-a-real-token}
"""


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    return path


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_missing_kubeconfig(tmp_path: Path) -> None:
    r = invoke_cli("leader", "--kubeconfig", str(tmp_path / "nope"))
    assert r.exit_code == ExitCode.ERROR
    assert "kubeconfig" in one_line_error(r.stderr) and "does not exist" in r.stderr


def test_no_kubeconfig_anywhere(tmp_path: Path) -> None:
    r = invoke_cli("leader", env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.exit_code == ExitCode.ERROR
    assert "no kubeconfig found" in one_line_error(r.stderr) and "KUBECONFIG" in r.stderr


def test_unknown_context(kubeconfig: Path) -> None:
    r = invoke_cli("leader", "--kubeconfig", str(kubeconfig), "--context", "prod")
    assert r.exit_code == ExitCode.ERROR
    assert 'context "prod" does not exist' in one_line_error(r.stderr)
    assert "kubectl config get-contexts" in r.stderr


def test_unknown_user_override(kubeconfig: Path) -> None:
    r = invoke_cli("leader", "--kubeconfig", str(kubeconfig), "--user", "nobody")
    assert r.exit_code == ExitCode.ERROR and 'user "nobody" does not exist' in one_line_error(r.stderr)


def test_unreachable_server(kubeconfig: Path) -> None:
    r = invoke_cli("leader", "--kubeconfig", str(kubeconfig), "--request-timeout", "5s")
    assert r.exit_code == ExitCode.ERROR
    line = one_line_error(r.stderr)
    assert "cannot reach the API server at https://127.0.0.1:1" in line and "refused" in line.lower()


def test_kubeconfig_from_several_files_in_KUBECONFIG(tmp_path: Path, kubeconfig: Path) -> None:
    empty = tmp_path / "other"
    empty.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    r = invoke_cli("leader", env={"KUBECONFIG": f"{empty}:{kubeconfig}", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    # The context comes from the second file; the error proves it was used (the server refuses).
    assert "https://127.0.0.1:1" in one_line_error(r.stderr)


def test_kubeconfig_is_never_rewritten(kubeconfig: Path) -> None:
    before = kubeconfig.read_bytes()
    invoke_cli("leader", "--kubeconfig", str(kubeconfig), "--request-timeout", "2s")
    assert kubeconfig.read_bytes() == before


def test_no_install_found() -> None:
    # Nothing of an install at all (no pods, and none of the objects it leaves behind): an error.
    fake = FakeCluster.from_scenario("helm")
    gone = {"Pod", "Deployment", "DaemonSet", "ConfigMap", "Lease", "Secret", "APIService"}
    fake.objects = [o for o in fake.objects if o.get("kind") not in gone]
    r = invoke_cli("leader", fake=fake)
    assert r.exit_code == ExitCode.ERROR
    assert "no Datadog install found" in one_line_error(r.stderr)


def test_fake_unreachable_is_exit_1() -> None:
    fake = FakeCluster.from_scenario("helm")
    fake.unreachable = True
    r = invoke_cli("leader", fake=fake)
    assert r.exit_code == ExitCode.ERROR and "cannot reach" in one_line_error(r.stderr)


def test_forbidden_pod_list_names_verb_and_resource() -> None:
    fake = FakeCluster.from_scenario("helm")
    fake.scenario = {"forbidden": [{"verb": "list", "resource": "pods"}]}
    r = invoke_cli("leader", fake=fake)
    assert r.exit_code == ExitCode.ERROR
    assert "forbidden: cannot list pods" in one_line_error(r.stderr) and "kubectl auth can-i list pods" in r.stderr


def test_several_installs_are_listed_with_how_to_pick() -> None:
    # A Helm install in "datadog" and an Operator install moved to "datadog-operator".
    operator = FakeCluster.from_scenario("operator").objects
    for obj in operator:
        if obj.get("metadata", {}).get("namespace") == "datadog":
            obj["metadata"]["namespace"] = "datadog-operator"
    fake = FakeCluster.from_scenario("helm")
    fake.objects = fake.objects + operator
    r = invoke_cli("leader", fake=fake)
    assert r.exit_code == ExitCode.ERROR
    line = one_line_error(r.stderr)
    assert "found 2 Datadog installs" in line and "datadog/datadog-cluster-agent (helm)" in line
    assert "datadog-operator/datadog-cluster-agent (operator)" in line and "--install-namespace" in line
    picked = invoke_cli("leader", "--install-namespace", "datadog-operator", "-o", "json", fake=fake)
    assert picked.exit_code == 0 and picked.json["install"]["flavor"] == "operator"


@pytest.mark.parametrize("args", [["leader", "--bogus"], ["leader", "-o", "xml"], ["nope"],
                                  ["leader", "--request-timeout", "soon"], ["leader", "--dca-selector", "a in (b"],
                                  ["leader", "extra-arg"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    r = invoke_cli(*args, scenario="helm")
    assert r.exit_code == ExitCode.USAGE
    assert "--help" in one_line_error(r.stderr)


def test_ctrl_c_is_130() -> None:
    class Interrupting(FakeCluster):
        def list(self, *a, **kw):  # type: ignore[override]
            raise KeyboardInterrupt

    r = invoke_cli("leader", fake=Interrupting.from_scenario("helm"))
    assert r.exit_code == ExitCode.INTERRUPTED
    assert "Traceback" not in r.stderr


def test_internal_errors_are_one_line_without_debug_and_traced_with_it() -> None:
    class Broken(FakeCluster):
        def list(self, *a, **kw):  # type: ignore[override]
            raise ZeroDivisionError("boom")

    r = invoke_cli("leader", fake=Broken.from_scenario("helm"))
    assert r.exit_code == ExitCode.ERROR
    assert one_line_error(r.stderr) == "error: internal error: ZeroDivisionError: boom (rerun with --debug for a traceback)"
    r = invoke_cli("leader", "--debug", fake=Broken.from_scenario("helm"))
    assert "Traceback" in r.stderr and "ZeroDivisionError" in r.stderr


def test_version_and_help() -> None:
    from kubectl_datadog import __version__

    r = invoke_cli("--version")
    assert (r.exit_code, r.stdout.strip()) == (0, f"kubectl-datadog {__version__}")
    r = invoke_cli("-h")
    assert r.exit_code == 0 and "Exit codes:" in r.stdout and "leader" in r.stdout
    assert "Usage: kubectl datadog" in r.stdout
    commands = r.stdout.split("Commands:")[1].split("Exit codes:")[0]
    assert all(name in commands for name in ("leader", "metamap", "hpa-explain", "env-check", "completion"))
    assert "..." not in commands  # every command's summary fits, none is cut off by Click


def test_help_does_not_import_the_kubernetes_client() -> None:
    code = ("import sys; from kubectl_datadog.cli import run; rc = run(['leader', '--help']); "
            "assert rc == 0, rc; bad = sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'tabulate')); "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


BIG_OUTPUT_SCRIPT = """
import sys
from tests.fakes import FakeCluster
from kubectl_datadog.app import App
from kubectl_datadog.cli import run

fake = FakeCluster.from_scenario("metamap-seed")
node = next(o["metadata"]["name"] for o in fake.objects if o.get("kind") == "Node")
for i in range(3000):  # ~200 KB of table: far more than a pipe buffer (64 KiB on Linux)
    fake.objects.append({"apiVersion": "v1", "kind": "Endpoints",
                         "metadata": {"namespace": "bulk", "name": f"service-{i}"},
                         "subsets": [{"addresses": [{"ip": "10.9.0.1", "nodeName": node,
                                                     "targetRef": {"kind": "Pod", "namespace": "bulk",
                                                                   "name": f"pod-with-a-long-name-{i}"}}]}]})
# As cli.main, with the fake cluster: stdout is the process's own, the pipe.
sys.exit(run(["metamap", "--mode", "endpoints"], App(cluster_factory=lambda opts: fake)))
"""


def test_broken_pipe_is_quiet() -> None:
    # `kubectl datadog metamap | head`: the reader is gone while we still have output to write (here
    # it closes before our first write, so the write fails with EPIPE for certain rather than by
    # timing). We stop with exit 1 and not a word on stderr: no traceback, no "internal error", no
    # "Exception ignored" from the interpreter's final flush. (Click's main turns EPIPE into this; cli.run
    # had its own `except BrokenPipeError` that nothing reached, and this test passed with or without it.)
    import os

    repo = Path(__file__).resolve().parents[2]
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", BIG_OUTPUT_SCRIPT], cwd=repo, stdout=write_end,
                            stderr=subprocess.PIPE)
    os.close(write_end)
    os.close(read_end)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err.decode()) == (ExitCode.ERROR, "")


def test_big_output_is_whole_when_read() -> None:
    # The same run read to the end: the output really is larger than a pipe buffer.
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", BIG_OUTPUT_SCRIPT], cwd=repo, capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == b""
    assert len(proc.stdout) > 4 * 65536 // 2 and proc.stdout.count(b"pod-with-a-long-name-") == 3000


def test_failing_credential_plugin_stops_like_kubectl(tmp_path: Path) -> None:
    # The kubernetes client only logs a failing exec plugin and goes on anonymously; we stop.
    path = tmp_path / "config"
    path.write_text(KUBECONFIG.replace("user: {token: not-a-real-token}",
                                       f"user: {{exec: {{apiVersion: client.authentication.k8s.io/v1, "
                                       f"command: {tmp_path}/missing-plugin, interactiveMode: Never}}}}"))
    r = invoke_cli("leader", "--kubeconfig", str(path))
    assert r.exit_code == ExitCode.ERROR
    line = one_line_error(r.stderr)
    assert line.startswith("error: the kubeconfig's credential plugin failed:") and "missing-plugin" in line


def test_first_kubeconfig_file_with_a_current_context_wins_like_kubectl(tmp_path: Path, kubeconfig: Path) -> None:
    other = tmp_path / "other"
    # A second file with its own context and cluster (distinct names, so merging keeps both).
    other.write_text(KUBECONFIG.replace("current-context: refused", "current-context: elsewhere")
                     .replace("- name: refused\n  cluster:", "- name: far\n  cluster:")
                     .replace("- name: refused\n  context: {cluster: refused", "- name: elsewhere\n  context: {cluster: far")
                     .replace("- name: someone", "- name: someone-else").replace("user: someone,", "user: someone-else,")
                     .replace("https://127.0.0.1:1", "https://127.0.0.2:1"))
    assert "current-context: elsewhere" in other.read_text() and "cluster: far" in other.read_text()
    env = {"KUBECONFIG": f"{kubeconfig}:{other}", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    assert "https://127.0.0.1:1" in one_line_error(invoke_cli("leader", "--request-timeout", "2s", env=env).stderr)
    env["KUBECONFIG"] = f"{other}:{kubeconfig}"
    assert "https://127.0.0.2:1" in one_line_error(invoke_cli("leader", "--request-timeout", "2s", env=env).stderr)


@pytest.mark.parametrize(("args", "line"), [
    (["leader", "--dd-namespace", "x"],
     "error: no such option '--dd-namespace' (did you mean one of: '--install-namespace', '--namespace'? "
     "see 'kubectl datadog leader --help')"),
    (["leadr"], "error: no such command 'leadr' (did you mean 'leader'? see 'kubectl datadog --help')"),
    (["leader", "-o", "xml"],
     "error: invalid value for '-o' / '--output': 'xml' is not one of 'table', 'wide', 'json', 'yaml' "
     "(see 'kubectl datadog leader --help')"),
])
def test_usage_errors_have_no_stray_full_stop_before_the_hint(args: list[str], line: str) -> None:
    r = invoke_cli(*args, scenario="helm")
    assert r.exit_code == ExitCode.USAGE
    assert one_line_error(r.stderr) == line
    assert ". (" not in r.stderr and "'. " not in r.stderr
