"""Code that nothing read is gone and stays gone (review §4): a parsed field nobody reads is a
promise the code does not keep, and a branch nothing reaches hides what the boundary really does."""

from __future__ import annotations

import dataclasses

from kubectl_datadog import cli, cluster, errors, objects


def test_removed_names_stay_removed() -> None:
    assert not hasattr(objects, "ObjectMeta")
    assert not {"REPLICASETS", "DATADOGAGENTS", "KNOWN_RESOURCES"} & set(vars(cluster))
    assert "show" not in vars(errors.PluginError)  # its own; click.ClickException still has one


def test_pods_keep_only_fields_that_are_read() -> None:
    assert not {"uid", "host_network"} & {f.name for f in dataclasses.fields(objects.Pod)}
    assert "restarts" not in {f.name for f in dataclasses.fields(objects.Container)}


def test_click_returns_exit_codes_under_standalone_mode_false(capsys) -> None:
    # Why cli.run has no `except click.exceptions.Exit`: Click returns ctx.exit()'s code itself.
    assert cli.root.main(args=["--version"], prog_name=cli.PROG, standalone_mode=False) == 0
    assert "kubectl-datadog" in capsys.readouterr().out
    assert cli.run(["--version"]) == 0
    with open(cli.__file__) as source:
        assert "except click.exceptions.Exit" not in source.read()
