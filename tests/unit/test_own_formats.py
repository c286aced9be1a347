"""A view's own output formats (metamap's dca-text) go through the one renderer and the one
--fail-on rule: the text on stdout, each finding a warning on stderr, exit 3 at or above --fail-on."""

from __future__ import annotations

import io

import pytest

from kubectl_datadog.app import App, Options, exit_code
from kubectl_datadog.errors import ExitCode
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.output.render import View, render

FINDING = Finding("dca-metamap-warning", Severity.WARNING, "node/n1", "the DCA warns", "look")


def view(*findings: Finding) -> View:
    return View(kind="MetamapReport", data={"k": 1}, sections=[], findings=findings,
                own_formats={"dca-text": lambda: "MAP\n"})


def test_own_format_text_on_stdout_findings_as_warnings() -> None:
    out, err = io.StringIO(), io.StringIO()
    render(view(FINDING), "dca-text", out, err)
    assert out.getvalue() == "MAP\n"
    assert err.getvalue() == "warning: dca-metamap-warning: node/n1: the DCA warns\n"


def test_shared_formats_ignore_own_formats() -> None:
    out, err = io.StringIO(), io.StringIO()
    render(view(), "json", out, err)
    assert '"k": 1' in out.getvalue() and "MAP" not in out.getvalue()


@pytest.mark.parametrize("fail_on,expected", [("never", ExitCode.OK), ("error", ExitCode.OK),
                                              ("warning", ExitCode.FINDINGS), ("info", ExitCode.FINDINGS)])
def test_finish_applies_fail_on_to_own_formats(fail_on: str, expected: int) -> None:
    out, err = io.StringIO(), io.StringIO()
    app = App(opts=Options(output="dca-text", fail_on=fail_on), stdout=out, stderr=err)
    assert app.finish(view(FINDING)) == expected == exit_code([FINDING], fail_on)
    assert out.getvalue() == "MAP\n"


def test_no_findings_never_fail() -> None:
    assert exit_code([], "info") == ExitCode.OK
