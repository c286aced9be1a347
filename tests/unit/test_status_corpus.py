"""The status parsers and the diagnoses built on them, on status text rendered from Datadog's own
templates (tests/statusfixtures/, made by its generator from upstream templates; index.json names
each fixture's template paths and commits). Every case is named `<release layout>/<state>`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

import pytest

from kubectl_datadog.cluster import ExecResult
from kubectl_datadog.textformats.agent_status import dca_error, dca_status, tag_collector_log
from kubectl_datadog.textformats.status import check_counters, leader_election, plain_text, sections
from tests.conftest import invoke_cli
from tests.fakes import Call, FakeCluster

CORPUS = Path(__file__).resolve().parents[1] / "statusfixtures"
INDEX: list[dict[str, Any]] = json.loads((CORPUS / "index.json").read_text())["fixtures"]
SCENARIO_INDEX: list[dict[str, Any]] = json.loads((CORPUS / "scenarios-index.json").read_text())["fixtures"]
REPO = Path(__file__).resolve().parents[2]
LEADER, OTHER = "datadog-cluster-agent-8568545574-x9tc9", "datadog-cluster-agent-8568545574-q2m7d"


def cases(kind: str) -> list[Any]:
    return [pytest.param(e["layout"], e["state"], CORPUS / e["file"], id=f"{e['layout']}/{e['state']}")
            for e in INDEX if e["kind"] == kind]


def test_every_fixture_names_its_templates_and_commits() -> None:
    on_disk = {p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*/*.txt")}
    assert on_disk == {e["file"] for e in INDEX}
    for e in INDEX + SCENARIO_INDEX:
        assert e["repository"] == "DataDog/datadog-agent" and e["templates"], e["file"]
        for t in e["templates"]:
            assert re.fullmatch(r"[0-9a-f]{40}", t["commit"]) and t["path"].endswith(".tmpl"), t
        assert e["engine"] in ("text/template", "html/template")
    for e in SCENARIO_INDEX:
        assert (REPO / e["file"]).is_file(), e["file"]
    # the templates themselves never enter the repository
    assert not list(CORPUS.rglob("*.tmpl"))


def test_corpus_covers_every_layout_and_state() -> None:
    layouts = {e["layout"] for e in INDEX}
    assert {"dca-1.x-html", "dca-7.4x-text", "dca-7.5x-component"} <= layouts
    assert {"agent-6.x-html", "agent-7.2x-text", "agent-7.5x-component", "agent-7.5x-component-silent"} <= layouts
    for layout in layouts:
        states = {e["state"] for e in INDEX if e["layout"] == layout}
        assert len(states) >= 6, layout


# --- the DCA's status -----------------------------------------------------------------------------

@pytest.mark.parametrize("layout, state, path", cases("dca"))
def test_dca_status_fields(layout: str, state: str, path: Path) -> None:
    text = path.read_text()
    le = leader_election(text)
    counters = check_counters(text, "kubernetes_apiserver")
    assert le is not None and counters is not None
    if state == "election-error":
        assert le.status == "Failing" and le.leader == ""
        # html/template (1.x) printed the quotes as &#34;: they are unescaped before use
        assert le.error.startswith('configmaps "datadog-leader-election" is forbidden: User "system:')
    else:
        assert le.status == "Running" and le.error == "" and le.transitions == 2
        assert le.leader == (OTHER if state == "follower" else LEADER)
        assert le.renewed == "Fri, 27 Nov 2026 11:59:56 UTC"
    if state == "check-not-loaded":
        assert counters.state == "not-loaded" and counters.total_runs is None and counters.last_error == ""
        assert counters.load_error == ("Core Check Loader: Could not configure check kubernetes_apiserver: "
                                       "yaml: line 3: did not find expected key")
        return
    assert counters.state == "running" and counters.load_error == ""
    if state == "check-failing":
        assert counters.last_error.startswith('events is forbidden: User "system:serviceaccount:datadog:')
    else:
        assert counters.last_error == ""
    if state == "big-counts":
        # 1.x printed `1.2 M` (go-humanize SIWithDigits), later releases `1,234,567`
        exact = {"total_runs": 1234567, "total_events": 1234567, "total_service_checks": 3703701}
        for field, value in exact.items():
            got = getattr(counters, field)
            assert got is not None and abs(got - value) <= value * 0.05, (field, got)
        assert (counters.total_runs == 1234567) == (layout != "dca-1.x-html")
    else:
        assert (counters.total_runs, counters.events, counters.total_events) == (736, 0, 100)
        assert (counters.service_checks, counters.total_service_checks) == (3, 2193)


@pytest.mark.parametrize("layout, state, path", cases("dca"))
def test_no_line_is_mistaken_for_a_section_title(layout: str, state: str, path: Path) -> None:
    titles = set(sections(path.read_text()))
    known = {"Collector", "Running Checks", "Loading Errors", "Leader Election", "Custom Metrics Server", "Paths",
             "Clocks", "Hostnames", "Metadata"}
    assert titles <= known | {t for t in titles if t.startswith("Datadog Cluster Agent (v")}, titles - known
    assert {"Leader Election", "Running Checks"} <= titles


def test_html_escapes_are_undone_only_where_present() -> None:
    assert plain_text("Error: configmaps &#34;x&#34; is forbidden &amp; &lt;b&gt; 1e&#43;09") == \
        'Error: configmaps "x" is forbidden & <b> 1e+09'
    assert plain_text('Error: "&" kept as printed') == 'Error: "&" kept as printed'


class StatusFake(FakeCluster):
    """A scenario whose DCA or Agent `status` (and optionally the Agent's log) prints a corpus text."""

    def __init__(self, *a: Any, status: str = "", log: str | None = None, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.status_text, self.log_text = status, log

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        if tuple(argv[-1:]) == ("status",):
            self._record(Call("create", "pods/exec", namespace, pod, " ".join(argv)))
            return ExecResult(self.status_text, "", 0)
        return super().exec(namespace, pod, container, argv, timeout)

    def logs(self, namespace: str, pod: str, container: str, *, since_seconds: int | None = None,
             tail_lines: int | None = None) -> str:
        if self.log_text is None:
            return super().logs(namespace, pod, container, since_seconds=since_seconds, tail_lines=tail_lines)
        self._record(Call("get", "pods/log", namespace, pod, container))
        return self.log_text


# state -> (finding codes from the leader's own status, exit code with --fail-on warning)
LEADER_FINDINGS = {
    "leader": (set(), 0),
    "follower": ({"dca-leader-mismatch"}, 3),  # a follower's text on the lock's holder
    "election-error": ({"dca-leader-election-failing"}, 3),
    "check-failing": ({"events-check-error"}, 3),
    "check-not-loaded": ({"events-check-not-loaded"}, 3),
    "big-counts": (set(), 0),
}
STATUS_CODES = {"dca-leader-mismatch", "dca-leader-election-failing", "events-check-error", "events-check-not-loaded",
                "events-check-not-running"}


@pytest.mark.parametrize("layout, state, path", cases("dca"))
def test_leader_diagnosis_on_each_rendered_state(layout: str, state: str, path: Path) -> None:
    fake = StatusFake.from_scenario("helm", status=path.read_text())
    r = invoke_cli("leader", "-o", "json", "--fail-on", "warning", fake=fake)
    codes, exit_code = LEADER_FINDINGS[state]
    found = {f["code"] for f in r.json["findings"]}
    assert found & STATUS_CODES == codes
    assert r.exit_code == exit_code, r.stderr
    for f in r.json["findings"]:
        assert "&#" not in f["message"]
    if state == "check-not-loaded":
        msg = next(f["message"] for f in r.json["findings"] if f["code"] == "events-check-not-loaded")
        assert "no events are collected" in msg and "Could not configure check kubernetes_apiserver" in msg
    if state == "election-error":
        assert r.json["status"]["leaderElection"]["error"].startswith('configmaps "datadog-leader-election"')


# --- the node Agent's "Datadog Cluster Agent" section ----------------------------------------------

# state -> (error kind, first contact) for the layouts that print the cause
AGENT_ERRORS = {
    "refused-first-contact-403": ("forbidden", True),
    "refused-first-contact-connection-refused": ("connection-refused", True),
    "token-too-short": ("token-too-short", True),
    "no-service-env": ("no-endpoint", True),
    "retry-delay": ("retry-delay", True),
    "refused-after-init": ("forbidden", False),
}


@pytest.mark.parametrize("layout, state, path", cases("agent"))
def test_agent_dca_section_fields(layout: str, state: str, path: Path) -> None:
    st = dca_status(path.read_text())
    assert st is not None
    if state == "connected":
        assert st.endpoint == "https://10.96.10.10:5005" and st.error is None and not st.silent
        # the 6.x template shows only where the DCA is: whether the Agent connected stays unknown
        assert st.connected == (layout != "agent-6.x-html")
        assert st.version == ("" if layout == "agent-6.x-html" else "7.62.2+commit.9a3f1c2")
        return
    assert not st.connected and st.version == ""
    if layout == "agent-7.5x-component-silent":
        assert st.silent and st.error is None
        return
    err = st.error
    assert err is not None and not st.silent
    assert (err.kind, err.first_contact) == AGENT_ERRORS[state]
    assert "&#" not in err.detail and "&#" not in err.url
    if err.kind in ("forbidden", "connection-refused"):
        assert err.url == "https://10.96.10.10:5005"


FIRST_403_LOG = ("2026-11-27 07:40:11 UTC | CORE | ERROR | (comp/core/workloadmeta/collectors/internal/kubemetadata/"
                 "kubemetadata.go:88 in Start) | Could not initialise the communication with the cluster agent: "
                 "temporary failure in clusterAgentClient, will retry later: \"https://10.96.10.10:5005/version\" "
                 "is unavailable: 403 Forbidden\n"
                 "2026-11-27 07:40:13 UTC | CORE | DEBUG | (pkg/util/clusteragent/clusteragent.go:131 in "
                 "GetClusterAgentClient) | Cluster Agent init error: temporary failure in clusterAgentClient, will "
                 "retry later: try delay not elapsed yet\n")

# state -> the Agent's finding when its status names the cause (no log)
AGENT_FINDING = {
    "refused-first-contact-403": "agent-dca-refused",
    "refused-first-contact-connection-refused": "agent-dca-unreachable",
    "token-too-short": "agent-token-rejected",
    "no-service-env": "agent-dca-not-detected",
    "retry-delay": "agent-dca-retrying",
    "refused-after-init": "agent-dca-refused",
}
CONTACT_CODES = set(AGENT_FINDING.values()) | {"agent-status-silent", "agent-dca-init-failed"}


@pytest.mark.parametrize("with_log", [False, True], ids=["status-only", "log-with-cause"])
@pytest.mark.parametrize("layout, state, path", cases("agent"))
def test_env_check_diagnosis_on_each_rendered_state(layout: str, state: str, path: Path, with_log: bool) -> None:
    fake = StatusFake.from_scenario("env-helm", status=path.read_text(),
                                    log=FIRST_403_LOG if with_log else "")
    r = invoke_cli("env-check", "-o", "json", fake=fake)
    codes = {f["code"] for f in r.json["findings"]} & CONTACT_CODES
    messages = {f["code"]: f["message"] for f in r.json["findings"]}
    connected = {a["connected"] for a in r.json["agents"]}
    if state == "connected":
        old = layout == "agent-6.x-html"  # connection unknown from the status: a failing log still warns
        assert codes == ({"agent-dca-init-failed"} if old and with_log else set())
        assert connected == ({"unknown"} if old else {"yes"})
        return
    assert connected == {"no"}
    silent = layout == "agent-7.5x-component-silent"
    if silent:
        assert codes == ({"agent-status-silent", "agent-dca-refused"} if with_log else {"agent-status-silent"})
        assert "status is silent" in messages["agent-status-silent"]
    elif state == "retry-delay" and with_log:
        # the status hides the cause; the log's 403 is used, and the output says where it came from
        assert codes == {"agent-dca-refused"}
        assert messages["agent-dca-refused"].endswith(
            "(from the Agent's log: its status only says \"try delay not elapsed yet\")")
    else:
        assert codes == {AGENT_FINDING[state]}
    # a refusal is never reported as "endpoint not detected"
    if state.startswith("refused") or (with_log and (silent or state == "retry-delay")):
        assert "agent-dca-not-detected" not in codes
    if "agent-dca-refused" in codes:
        assert "auth token is not the Cluster Agent's" in messages["agent-dca-refused"]
        assert ("at first contact" in messages["agent-dca-refused"]) == (state != "refused-after-init" or silent)


@pytest.mark.parametrize("text, kind, url, first", [
    ('temporary failure in clusterAgentClient, will retry later: "https://10.0.0.1:5005/version" is unavailable: '
     '403 Forbidden', "forbidden", "https://10.0.0.1:5005", True),
    ('"https://10.0.0.1:5005/version" is unavailable: 401 Unauthorized', "unauthorized", "https://10.0.0.1:5005", False),
    ('temporary failure in clusterAgentClient, will retry later: "https://dca:5005/version" is unavailable: Get '
     '"https://dca:5005/version": dial tcp: lookup dca on 10.0.0.10:53: no such host', "dns", "https://dca:5005", True),
    ('"https://10.0.0.1:5005/version" is unavailable: Get "https://10.0.0.1:5005/version": context deadline exceeded '
     '(Client.Timeout exceeded while awaiting headers)', "timeout", "https://10.0.0.1:5005", False),
    ("permanent failure in clusterAgentClient: retry number exceeded", "retry-exhausted", "", True),
    ("cannot get cluster agent endpoint, not a https scheme: http://dca:5005", "no-endpoint", "", False),
    # the hand-written form older fixtures used: still read by its status code
    ("unexpected response from https://10.0.0.1:5005/version: 403 Forbidden: invalid session token", "forbidden", "",
     False),
], ids=["403-first-contact", "401", "dns", "timeout", "retries-exhausted", "http-url", "legacy-403-text"])
def test_dca_error_classification(text: str, kind: str, url: str, first: bool) -> None:
    err = dca_error(text)
    assert (err.kind, err.url, err.first_contact) == (kind, url, first)


def test_log_cause_skips_the_retrier_placeholder_and_masks_tokens() -> None:
    log = tag_collector_log(FIRST_403_LOG)
    assert log.cause == ('temporary failure in clusterAgentClient, will retry later: '
                         '"https://10.96.10.10:5005/version" is unavailable: 403 Forbidden')
    assert dca_error(log.cause).kind == "forbidden"
    leaked = tag_collector_log("x | ERROR | (f.go:1 in g) | Cluster Agent init error: bad bearer abcdef0123456789\n")
    assert "abcdef0123456789" not in leaked.cause
