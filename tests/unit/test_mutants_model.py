"""The plain data every command shares (model.py): a secret shows only its length and fingerprint
and equals only a secret of the same value; a finding's JSON says null for a missing hint or
command; no finding is OK. Each case a decision a mutmut run (docs/mutation-testing.md) asked about."""

from __future__ import annotations

import hashlib

from kubectl_datadog.model import Finding, SecretValue, Severity, worst

TOKEN = "0123456789abcdef0123456789abcdef"


def test_a_secret_shows_only_its_length_and_fingerprint() -> None:
    s = SecretValue(TOKEN)
    fingerprint = "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()[:8]
    assert (len(s), s.length, s.fingerprint) == (32, 32, fingerprint)
    assert repr(s) == str(s) == f"<secret 32 chars {fingerprint}>"
    assert TOKEN not in repr(s) and TOKEN not in f"{s}"


def test_a_secret_equals_only_a_secret_of_the_same_value() -> None:
    assert SecretValue(TOKEN) == SecretValue(TOKEN)
    assert SecretValue(TOKEN) != SecretValue(TOKEN[:-1] + "0")
    assert SecretValue(TOKEN) != TOKEN  # never equal to the plain text it hides
    assert len({SecretValue(TOKEN), SecretValue(TOKEN)}) == 1


def test_a_findings_json_says_null_for_what_it_does_not_have() -> None:
    bare = Finding("events-collection-disabled", Severity.INFO, "deployment/datadog/dca", "off")
    assert bare.to_dict() == {"code": "events-collection-disabled", "severity": "info",
                              "object": "deployment/datadog/dca", "message": "off", "hint": None, "command": None,
                              "causedBy": []}
    full = Finding("agent-dca-unreachable", Severity.ERROR, "pod/datadog/a", "m", "h", "c", ("token-too-short",))
    assert full.to_dict() == {"code": "agent-dca-unreachable", "severity": "error", "object": "pod/datadog/a",
                              "message": "m", "hint": "h", "command": "c", "causedBy": ["token-too-short"]}


def test_the_worst_of_no_finding_is_ok() -> None:
    assert worst([]) is Severity.OK
    assert worst([Finding("a", Severity.INFO, "x", "m"), Finding("b", Severity.WARNING, "x", "m")]) is Severity.WARNING
    assert [s.label for s in Severity] == ["ok", "info", "warning", "error"]
