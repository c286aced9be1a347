"""The Cobra-protocol completion adapter (kubectl_complete-datadog) and `kubectl datadog completion`."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest

from kubectl_datadog import completion as comp
from kubectl_datadog.cli import root
from kubectl_datadog.errors import ConfigError
from tests.conftest import invoke_cli
from tests.fakes import FakeCluster


def _ns(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _hpa(name: str, namespace: str) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace}, "spec": {}}


def _node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


@pytest.fixture
def fake() -> FakeCluster:
    return FakeCluster(objects=[
        _ns("default"), _ns("datadog"), _ns("kube-system"),
        _hpa("nginxext", "default"), _hpa("web", "default"), _hpa("coredns", "kube-system"),
        _node("node-a"), _node("node-b"),
    ], context_namespace="default")


def values(words, fake=None):
    cands, directive = comp.complete(root, words, cluster_factory=(lambda opts: fake) if fake else None)
    return [c.value for c in cands], directive


@pytest.mark.parametrize("argv0, expected", [
    ("kubectl_complete-datadog", True),
    ("/home/u/.krew/bin/kubectl_complete-datadog", True),
    (r"kubectl_complete-datadog.exe", True),
    ("kubectl-datadog", False),
    ("/usr/bin/kubectl_complete-other", False),
    ("python", False),
])
def test_invocation_name(argv0, expected):
    assert comp.is_completion_invocation(argv0) is expected


def test_root_lists_subcommands_with_descriptions():
    cands, directive = comp.complete(root, [""])
    names = [c.value for c in cands]
    assert {"leader", "completion"} <= set(names)
    assert names == sorted(names)
    assert directive == comp.DIRECTIVE_NO_FILE_COMP
    leader = next(c for c in cands if c.value == "leader")
    assert leader.description and "\t" not in leader.description
    assert leader.line() == f"leader\t{leader.description}"


def test_subcommand_prefix_filters():
    assert values(["lea"]) == (["leader"], comp.DIRECTIVE_NO_FILE_COMP)
    assert values(["zzz"]) == ([], comp.DIRECTIVE_NO_FILE_COMP)


def test_flags_of_the_current_command():
    long_only, _ = values(["leader", "--"])
    assert {"--output", "--namespace", "--context", "--kubeconfig", "--fail-on", "--no-exec", "--help"} <= set(long_only)
    assert not [v for v in long_only if not v.startswith("--")]
    with_short, _ = values(["leader", "-"])
    assert {"-o", "-n", "--output"} <= set(with_short)
    assert values(["leader", "--no-"])[0] == ["--no-exec", "--no-headers"]


@pytest.mark.parametrize("words, expected", [
    (["leader", "-o", ""], ["table", "wide", "json", "yaml"]),
    (["leader", "--output", "j"], ["json"]),
    (["leader", "--fail-on", ""], ["never", "info", "warning", "error"]),
    (["leader", "-o", "json", "--fail-on", "w"], ["warning"]),
])
def test_choice_values(words, expected):
    assert values(words) == (expected, comp.DIRECTIVE_NO_FILE_COMP)


def test_flag_equals_value_keeps_the_prefix_and_asks_for_no_space():
    got, directive = values(["leader", "--output=y"])
    assert got == ["--output=yaml"]
    assert directive & comp.DIRECTIVE_NO_SPACE and directive & comp.DIRECTIVE_NO_FILE_COMP


def test_kubeconfig_value_falls_back_to_file_names():
    assert values(["leader", "--kubeconfig", ""]) == ([], comp.DIRECTIVE_DEFAULT)


@pytest.fixture
def kubeconfigs(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Config
        current-context: prod
        contexts:
        - name: prod
          context: {cluster: prod-cluster, user: admin, namespace: datadog}
        - name: staging
          context: {cluster: staging-cluster, user: admin}
        clusters:
        - name: prod-cluster
          cluster: {server: https://127.0.0.1:1}
        users:
        - name: admin
          user: {token: not-used}
        """))
    b = tmp_path / "b.yaml"
    b.write_text("contexts:\n- name: dev\n  context: {cluster: dev-cluster, user: me}\n")
    return a, b


def test_contexts_clusters_users_from_kubeconfig_flag(kubeconfigs, monkeypatch):
    a, _ = kubeconfigs
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    cands, directive = comp.complete(root, ["leader", "--kubeconfig", str(a), "--context", ""])
    assert [c.value for c in cands] == ["prod", "staging"]
    assert cands[0].description == "cluster prod-cluster, user admin, namespace datadog"
    assert directive == comp.DIRECTIVE_NO_FILE_COMP
    assert values(["leader", "--kubeconfig", str(a), "--cluster", "p"])[0] == ["prod-cluster"]
    assert values(["leader", "--kubeconfig", str(a), "--user", ""])[0] == ["admin"]


def test_contexts_from_every_kubeconfig_file(kubeconfigs, monkeypatch):
    a, b = kubeconfigs
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}:/nonexistent")
    assert values(["leader", "--context", ""])[0] == ["prod", "staging", "dev"]
    assert values(["leader", "--context", "d"])[0] == ["dev"]


def test_broken_kubeconfig_gives_no_contexts(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("contexts: [unclosed\n")
    monkeypatch.setenv("KUBECONFIG", str(bad))
    assert values(["leader", "--context", ""]) == ([], comp.DIRECTIVE_NO_FILE_COMP)


def test_namespaces_from_the_cluster(fake):
    assert values(["leader", "-n", ""], fake) == (["default", "datadog", "kube-system"], comp.DIRECTIVE_NO_FILE_COMP)
    assert values(["leader", "--install-namespace", "d"], fake)[0] == ["default", "datadog"]
    assert values(["leader", "--namespace=k"], fake)[0] == ["--namespace=kube-system"]


def test_hpa_names_in_the_context_namespace(fake):
    cands, directive = comp.complete(root, ["hpa-explain", ""], cluster_factory=lambda opts: fake)
    assert [c.value for c in cands] == ["nginxext", "web"]
    assert cands[0].description == "namespace default"
    assert directive == comp.DIRECTIVE_NO_FILE_COMP
    assert values(["hpa-explain", "w"], fake)[0] == ["web"]


def test_hpa_names_follow_the_namespace_flag(fake):
    # `-n kube-system` is consumed as the flag's value, not taken for the HPA argument.
    assert values(["hpa-explain", "-n", "kube-system", ""], fake)[0] == ["coredns"]
    assert values(["hpa-explain", "--namespace=kube-system", ""], fake)[0] == ["coredns"]


def test_cluster_flags_reach_the_cluster_factory(fake):
    seen = []

    def factory(opts):
        seen.append(opts)
        return fake

    comp.complete(root, ["hpa-explain", "--context", "prod", "--kubeconfig", "/k", ""], cluster_factory=factory)
    assert seen[0].context == "prod" and seen[0].kubeconfig == "/k"
    assert seen[0].request_timeout == comp.CLUSTER_TIMEOUT_SECONDS


def test_only_the_first_argument_is_completed(fake):
    assert values(["hpa-explain", "web", ""], fake) == ([], comp.DIRECTIVE_NO_FILE_COMP)


def test_node_names_for_metamap(fake):
    assert values(["metamap", ""], fake)[0] == ["node-a", "node-b"]


def test_unreachable_cluster_completes_nothing_silently(fake):
    fake.unreachable = True
    assert values(["hpa-explain", ""], fake) == ([], comp.DIRECTIVE_NO_FILE_COMP)
    assert values(["leader", "-n", ""], fake) == ([], comp.DIRECTIVE_NO_FILE_COMP)


def test_bad_kubeconfig_completes_nothing_silently():
    def factory(opts):
        raise ConfigError("no kubeconfig found")

    assert comp.complete(root, ["hpa-explain", ""], cluster_factory=factory) == ([], comp.DIRECTIVE_NO_FILE_COMP)


def test_forbidden_list_completes_nothing(fake):
    fake.scenario = {"forbidden": [{"verb": "list", "resource": "horizontalpodautoscalers.autoscaling"},
                                   {"verb": "list", "resource": "horizontalpodautoscalers"}]}
    assert values(["hpa-explain", ""], fake) == ([], comp.DIRECTIVE_NO_FILE_COMP)


def test_completion_shells():
    assert values(["completion", ""])[0] == list(comp.SHELLS)


def test_protocol_output_and_main_hook(monkeypatch, capsys):
    from kubectl_datadog import cli

    monkeypatch.setattr(sys, "argv", ["/some/where/kubectl_complete-datadog", "leader", "--output", ""])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 0
    out, err = capsys.readouterr()
    assert out == "table\nwide\njson\nyaml\n:4\n"
    assert err == ""


def test_main_under_its_own_name_still_runs_commands(monkeypatch, capsys):
    from kubectl_datadog import __version__, cli

    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/kubectl-datadog", "--version"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"kubectl-datadog {__version__}\n"


def test_a_completion_bug_never_reaches_stderr(monkeypatch, capsys):
    def boom(root, words):
        raise RuntimeError("bug")

    monkeypatch.setattr(comp, "complete", boom)
    out = io.StringIO()
    assert comp.complete_main(root, ["x"], out) == 0
    assert out.getvalue() == ":4\n"
    assert capsys.readouterr().err == ""


def test_static_completions_do_not_import_the_kubernetes_client():
    code = ("import sys\nfrom kubectl_datadog.cli import root\nfrom kubectl_datadog.completion import complete\n"
            "complete(root, ['leader', '-o', '']); complete(root, ['']); complete(root, ['leader', '--'])\n"
            "print('kubernetes' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_completion_command_prints_instructions():
    r = invoke_cli("completion", "bash")
    assert r.exit_code == 0
    assert "kubectl_complete-datadog" in r.stdout
    assert "source <(kubectl completion bash)" in r.stdout
    assert "zsh" not in r.stdout
    every = invoke_cli("completion")
    assert every.exit_code == 0
    for shell in comp.SHELLS:
        assert f"kubectl completion {shell}" in every.stdout
    assert invoke_cli("completion", "tcsh").exit_code == 2


@pytest.mark.parametrize("exe, expected", [
    ("/home/u/.krew/bin/kubectl-datadog",
     'ln -sf "/home/u/.krew/bin/kubectl-datadog" "/home/u/.krew/bin/kubectl_complete-datadog"'),
    ("", 'ln -sf "$(command -v kubectl-datadog)" "$(dirname "$(command -v kubectl-datadog)")/kubectl_complete-datadog"'),
])
def test_instructions_link_next_to_the_executable(exe, expected):
    text = comp.instructions("bash", exe)
    assert f"  {expected}\n" in text


def test_kubeconfig_path_list_has_one_home(monkeypatch, tmp_path):
    # The client and completion read the same files: one function, in the light cluster package.
    from kubectl_datadog.cluster import kube, kubeconfig_paths

    assert kube._kubeconfig_paths is kubeconfig_paths
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path}/a::{tmp_path}/b")
    assert kubeconfig_paths(None) == [f"{tmp_path}/a", f"{tmp_path}/b"]
    assert kubeconfig_paths("/x/explicit") == ["/x/explicit"]
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kubeconfig_paths(None) == [f"{tmp_path}/.kube/config"]
    assert not hasattr(comp, "_kubeconfig_paths")


def test_completion_does_not_import_cli():
    # cli imports completion (for kubectl_complete-datadog); completion takes the command tree as an
    # argument rather than importing it back.
    import ast
    from pathlib import Path

    tree = ast.parse(Path(comp.__file__).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "kubectl_datadog.cli" not in modules
