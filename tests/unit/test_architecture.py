"""The stage boundaries, enforced: one module owns the cluster, diagnosis is pure, tabulate stays
in the table module. Walks the package's imports with ast."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kubectl_datadog"


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def modules_importing(name: str, within: Path = PACKAGE) -> set[str]:
    return {str(p.relative_to(PACKAGE.parent)) for p in within.rglob("*.py") if name in imports_of(p)}


def test_only_cluster_kube_imports_kubernetes() -> None:
    assert modules_importing("kubernetes") == {"kubectl_datadog/cluster/kube.py"}


def test_diagnose_and_textformats_are_pure() -> None:
    for pkg in ("diagnose", "textformats"):
        for forbidden in ("click", "kubernetes", "tabulate", "yaml", "subprocess", "socket"):
            assert not modules_importing(forbidden, PACKAGE / pkg), (pkg, forbidden)


def test_diagnose_never_reads_the_clock() -> None:
    for path in (PACKAGE / "diagnose").rglob("*.py"):
        text = path.read_text()
        assert "datetime.now(" not in text and "time.time(" not in text, path


def full_imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_model_layers_do_not_import_the_presentation_package() -> None:
    # Reading a time is not presenting one: objects and snapshots parse times through
    # kubectl_datadog.times, never through output/ (which is the presentation stage).
    paths = [PACKAGE / "objects.py", *(PACKAGE / "snapshots").rglob("*.py")]
    for path in paths:
        assert not {m for m in full_imports_of(path) if m.startswith("kubectl_datadog.output")}, path


def test_one_fail_on_rule() -> None:
    # --fail-on -> exit 3 is decided in one place (app.exit_code), for every command and format.
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if path != PACKAGE / "app.py":
            assert "FAIL_ON[" not in text and "ExitCode.FINDINGS" not in text, path


def test_pipelines_do_not_import_commands() -> None:
    # commands -> pipelines only: a command module imports its pipeline to run it, never the other way.
    for path in (PACKAGE / "pipelines").rglob("*.py"):
        assert not {m for m in full_imports_of(path) if m.startswith("kubectl_datadog.commands")}, path


def test_only_the_table_module_imports_tabulate() -> None:
    assert modules_importing("tabulate") == {"kubectl_datadog/output/table.py"}


def test_commands_are_registered_statically() -> None:
    # PyInstaller follows static imports only: no importlib/__import__ discovery of our modules.
    # The one exception loads the kubernetes client's submodules on demand (cluster/kube.py's
    # deferred package imports); PyInstaller bundles them through the client's own __init__, and
    # tests/release checks what the onefile holds.
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if path == PACKAGE / "cluster" / "kube.py":
            assert text.count("importlib.import_module") == 1 and 'import_module(f"{name}.{attr}")' in text
            continue
        assert "importlib.import_module" not in text and "__import__(" not in text, path


def test_command_modules_stay_light() -> None:
    # Building the CLI (so --help, --version and completion) must not import collection,
    # diagnosis or rendering code: the command modules import their pipelines inside their bodies.
    heavy = ("kubectl_datadog.collect", "kubectl_datadog.diagnose", "kubectl_datadog.output",
             "kubectl_datadog.pipelines", "kubectl_datadog.textformats", "kubectl_datadog.objects")
    for path in (PACKAGE / "commands").glob("*.py"):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module]
        assert not [n.module for n in top if n.module.startswith(heavy)], path


def test_cli_constants_match_the_collectors() -> None:
    from kubectl_datadog.collect import env_check as collect_env, metamap as collect_map
    from kubectl_datadog.commands import env_check, metamap
    from kubectl_datadog.output import render

    assert metamap.SOURCES == collect_map.SOURCES and metamap.MODES == collect_map.MODES
    assert metamap.FORMATS == render.FORMATS
    assert env_check.DEFAULT_MAX_CONCURRENCY == collect_env.DEFAULT_MAX_CONCURRENCY


def test_building_the_cli_imports_no_stage_code() -> None:
    import subprocess
    import sys

    code = ("import sys, kubectl_datadog.cli; "
            "bad = sorted(m for m in sys.modules if m.startswith(('kubectl_datadog.collect', "
            "'kubectl_datadog.diagnose', 'kubectl_datadog.pipelines', 'kubectl_datadog.output.render', "
            "'kubernetes', 'tabulate', 'yaml'))); assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_root_help_and_version_import_no_command_module() -> None:
    import subprocess
    import sys

    for flag in ("--help", "--version"):
        code = ("import io, sys, contextlib, kubectl_datadog.cli as cli\n"
                "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
                f"    rc = cli.run([{flag!r}])\n"
                "loaded = sorted(m for m in sys.modules if m.startswith(('kubectl_datadog.commands.', "
                "'kubectl_datadog.completion')))\n"
                "assert rc == 0 and out.getvalue(), (rc, out.getvalue())\n"
                "assert not loaded, loaded")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 0, (flag, proc.stderr)


def test_every_command_summary_has_its_command() -> None:
    import click

    from kubectl_datadog.cli import load_command, root
    from kubectl_datadog.commands import SUMMARIES

    ctx = click.Context(root)
    for name in root.list_commands(ctx):
        command = load_command(name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=200) == SUMMARIES[name]
        assert root.get_command(ctx, name) is command
    assert load_command("no-such-command") is None


def test_diagnose_depends_on_snapshots_not_on_collection() -> None:
    # Diagnosis gets plain data (kubectl_datadog/snapshots) and never the code that reads the cluster.
    for path in (PACKAGE / "diagnose").glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in modules if m.startswith(("kubectl_datadog.collect", "kubectl_datadog.cluster.kube",
                                                        "kubectl_datadog.app"))}, path


def test_snapshots_do_not_read_the_cluster() -> None:
    for path in (PACKAGE / "snapshots").glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in modules if m.startswith(("kubectl_datadog.collect", "kubectl_datadog.app"))}, path


def test_collection_takes_a_cluster_and_a_request_not_the_app() -> None:
    # Issue 14: collection gets a Cluster and typed requests (collect/request.py); the App (streams,
    # clock, Click flags) and anything shown while it runs (progress) belong to the pipeline.
    for path in (PACKAGE / "collect").rglob("*.py"):
        assert "kubectl_datadog.app" not in full_imports_of(path), path
        assert "kubectl_datadog.pipelines" not in {m.rsplit(".", 1)[0] for m in full_imports_of(path)}, path


def test_diagnosis_reads_typed_snapshots_not_api_objects() -> None:
    # Issue 14: API objects are parsed into typed snapshots in collect/ and snapshots/; diagnose/ never
    # sees one. A raw object is a `dict[str, Any]` read with `.get("field")`, so neither may appear:
    # no `Any` in diagnose/, and no `.get` of a bare field name (label keys such as
    # "app.kubernetes.io/name" are qualified names, looked up in typed label maps).
    for path in (PACKAGE / "diagnose").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert "Any" not in names, path
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                key = node.args[0].value
                assert "/" in key or "." in key, f"{path}:{node.lineno} reads .get({key!r}) from a raw object"


def test_every_api_resource_is_named_once_in_the_cluster_package() -> None:
    # One home for what each kind is (group, version, plural, scope): a second `Resource(...)` for the
    # same kind elsewhere could drift (a wrong version or scope) and would defeat doctor's shared reads.
    defined_elsewhere = set()
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "cluster" / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Resource":
                defined_elsewhere.add(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not defined_elsewhere
