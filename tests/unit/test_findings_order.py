"""Root cause first: `sort_findings` (every command's one ordering) and how the renderer shows a
finding's cause (`causedBy` in json/yaml, a "because" line in the table)."""

from __future__ import annotations

import io
import json

import yaml

from kubectl_datadog.model import Finding, Severity, sort_findings
from kubectl_datadog.output.render import View, findings_text, render

ROOT = Finding("token-too-short", Severity.ERROR, "daemonset/datadog/datadog", "the token is 16 characters",
               "use a token of 32+ characters")
SYMPTOM = Finding("agent-dca-unreachable", Severity.ERROR, "daemonset/datadog/datadog", "the Agent never calls",
                  "fix the token", caused_by=("token-too-short",))
LATER = Finding("agent-tag-collector-fallback", Severity.ERROR, "daemonset/datadog/datadog", "fell back",
                caused_by=("agent-dca-unreachable",))
OTHER = Finding("dca-service-wrong-port", Severity.ERROR, "service/datadog/x", "wrong port")
MINOR = Finding("agents-leader-election", Severity.WARNING, "namespace/datadog", "competes")


def test_a_cause_comes_before_its_consequences_whatever_their_names() -> None:
    # Alphabetically (the order without causes) both symptoms sort before the token.
    assert [f.code for f in sort_findings([LATER, SYMPTOM, ROOT])] == [
        "token-too-short", "agent-dca-unreachable", "agent-tag-collector-fallback"]


def test_consequences_follow_their_own_cause_not_the_end_of_the_list() -> None:
    ordered = [f.code for f in sort_findings([MINOR, OTHER, SYMPTOM, ROOT])]
    # same severity: by object (daemonset/... before service/...), the symptom right after its cause
    assert ordered == ["token-too-short", "agent-dca-unreachable", "dca-service-wrong-port", "agents-leader-election"]


def test_a_warning_that_causes_an_error_leads_the_errors() -> None:
    cause = Finding("leader-election-disabled", Severity.WARNING, "deployment/datadog/dca", "off")
    effect = Finding("events-not-collected", Severity.ERROR, "deployment/datadog/dca", "no events",
                     caused_by=("leader-election-disabled",))
    ordered = [f.code for f in sort_findings([OTHER, effect, cause])]
    assert ordered == ["leader-election-disabled", "events-not-collected", "dca-service-wrong-port"]


def test_a_finding_waits_for_all_of_its_causes_and_a_missing_cause_is_ignored() -> None:
    both = Finding("agent-dca-refused", Severity.ERROR, "pod/datadog/a", "refused",
                   caused_by=("token-mismatch", "token-too-short", "not-reported"))
    mismatch = Finding("token-mismatch", Severity.ERROR, "daemonset/datadog/datadog", "differs")
    ordered = [f.code for f in sort_findings([both, ROOT, mismatch])]
    assert ordered.index("agent-dca-refused") == 2


def test_a_cycle_of_causes_keeps_every_finding() -> None:
    a = Finding("a", Severity.ERROR, "x", "a", caused_by=("b",))
    b = Finding("b", Severity.ERROR, "x", "b", caused_by=("a",))
    assert set(sort_findings([a, b])) == {a, b}


def test_json_and_yaml_carry_caused_by_and_the_table_says_because() -> None:
    view = View(kind="Test", data={}, sections=[], findings=sort_findings([SYMPTOM, ROOT]))
    out = io.StringIO()
    render(view, "json", out, io.StringIO())
    doc = json.loads(out.getvalue())
    assert [f["causedBy"] for f in doc["findings"]] == [[], ["token-too-short"]]
    out = io.StringIO()
    render(view, "yaml", out, io.StringIO())
    assert [f["causedBy"] for f in yaml.safe_load(out.getvalue())["findings"]] == [[], ["token-too-short"]]
    text = findings_text(view.findings)
    assert ("because token-too-short (daemonset/datadog/datadog): the token is 16 characters" in text)
    assert text.index("because") > text.index("the Agent never calls")


def test_a_cause_not_in_the_report_is_named_by_its_code() -> None:
    text = findings_text([Finding("x-symptom", Severity.ERROR, "pod/a/b", "m", caused_by=("x-root",))])
    assert "           because x-root\n" in text + "\n"



def test_a_cycle_below_a_root_cause_ends_and_keeps_every_finding() -> None:
    # Ranking a root walks what follows from it; a cycle further down (two rules blaming each
    # other) must stop that walk, not recurse for ever.
    root = Finding("root", Severity.WARNING, "x/r", "r")
    a = Finding("a-side", Severity.WARNING, "x/a", "a", caused_by=("root", "b-side"))
    b = Finding("b-side", Severity.ERROR, "x/b", "b", caused_by=("a-side",))
    ordered = sort_findings([b, a, root, MINOR])
    assert sorted(f.code for f in ordered) == ["a-side", "agents-leader-election", "b-side", "root"]
    assert ordered[0] == root  # lifted to ERROR by the cycle's worst finding, ahead of the WARNING


def test_a_pure_cycle_is_kept_worst_first() -> None:
    # No root to start from: the cycle's findings follow in the plain order, worst severity first.
    a = Finding("a", Severity.WARNING, "x", "a", caused_by=("b",))
    b = Finding("b", Severity.ERROR, "x", "b", caused_by=("a",))
    assert [f.code for f in sort_findings([a, b])] == ["b", "a"]


def test_only_consequences_lift_a_finding_not_others_with_its_code() -> None:
    # Two rbac-forbidden findings: the INFO one causes nothing, so it stays behind the WARNINGs.
    info = Finding("rbac-forbidden", Severity.INFO, "a/first", "cannot list pods cluster-wide")
    warning = Finding("rbac-forbidden", Severity.WARNING, "z/last", "cannot list webhooks")
    other = Finding("some-warning", Severity.WARNING, "m/middle", "w")
    assert sort_findings([info, warning, other]) == (other, warning, info)
