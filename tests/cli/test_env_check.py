"""`env-check` through the real CLI boundary on FakeCluster scenarios: verdicts, findings, goldens,
exit codes, secrets never shown, bounded concurrency and the progress line."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Sequence

import pytest

from kubectl_datadog.cluster import ExecResult
from tests.conftest import invoke_cli
from tests.fakes import Call, FakeCluster, secret_values, writes
from tests.scenario import load_scenario

FORMATS = ["table", "wide", "json", "yaml"]
STANDIN = Path(__file__).resolve().parents[1] / "e2e" / "harness" / "standins" / "fixture-exec"


def standins(path_dir: Path) -> Path:
    """A PATH directory with `agent` and `env` as the e2e harness's fixture stand-in."""
    path_dir.mkdir(parents=True, exist_ok=True)
    for name in ("agent", "env"):
        (path_dir / name).symlink_to(STANDIN)
    return path_dir


def run_in_shell(argv: Sequence[str], fixture_dir: Path, path_dir: Path) -> ExecResult:
    """Run a `/bin/sh -c SCRIPT` exec for real, with `agent` and `env` as the e2e harness's stand-ins
    (they print fixture_dir's <key>.out/.err and exit with <key>.rc), like an Agent container."""
    r = subprocess.run(list(argv), env={"PATH": str(path_dir), "DD_FIXTURE_DIR": str(fixture_dir)},
                       capture_output=True, text=True, timeout=30)
    return ExecResult(r.stdout, r.stderr, r.returncode, "" if r.returncode == 0 else
                      f"command terminated with exit code {r.returncode}")


class ShellFake(FakeCluster):
    """A FakeCluster whose Agent containers have /bin/sh (as the real images do): a `/bin/sh -c`
    exec runs the real shell over the pod's exec fixtures; everything else is FakeCluster's."""

    def __init__(self, *a: Any, tmp: Path, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.tmp = tmp
        standins(tmp / "bin")

    @classmethod
    def of(cls, scenario: str, tmp: Path) -> "ShellFake":
        sc = load_scenario(scenario)
        return cls(objects=sc.objects, scenario=sc.config, source=sc, tmp=tmp)

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        if argv[0] != "/bin/sh":
            return super().exec(namespace, pod, container, argv, timeout)
        self._check_reachable()
        self._record(Call("create", "pods/exec", namespace, pod, " ".join(argv)))
        self._check_allowed("create", "pods/exec", namespace, pod)
        if self.get_quiet(namespace, pod) is None:
            return ExecResult("", "", None, f'pod "{pod}" not found (it may have been deleted)')
        fixtures = self.tmp / namespace / pod
        fixtures.mkdir(parents=True, exist_ok=True)
        for key in ("agent_status", "env"):
            for suffix in ("out", "err", "rc"):
                found = self.source.pod_file(namespace, pod, "exec", f"{key}.{suffix}") if self.source else None
                if found is not None:
                    shutil.copyfile(found, fixtures / f"{key}.{suffix}")
        return run_in_shell(argv, fixtures, self.tmp / "bin")

# scenario -> (exit code with the default --fail-on error, per-Agent verdicts, finding codes that must be present)
CASES: dict[str, tuple[int, set[str], set[str]]] = {
    "env-helm": (0, {"ok"}, set()),
    "env-operator": (0, {"ok"}, set()),
    "env-token-short": (3, {"error"}, {"token-too-short", "agent-dca-unreachable", "agent-tag-collector-fallback"}),
    "env-token-short-mismatch": (3, {"error"}, {"token-too-short", "token-mismatch", "agent-dca-unreachable",
                                                "agent-tag-collector-fallback"}),
    "env-token-mismatch": (3, {"error"}, {"token-mismatch", "agent-dca-refused"}),
    "env-token-retry-delay": (3, {"error"}, {"token-mismatch", "agent-dca-refused"}),
    "env-status-silent": (3, {"error"}, {"token-mismatch", "agent-status-silent", "agent-dca-refused"}),
    "env-status-retrying": (3, {"error"}, {"token-mismatch", "agent-dca-retrying"}),
    "env-token-secret-missing": (3, {"error"}, {"token-secret-missing"}),
    "env-token-forbidden": (0, {"warning"}, {"rbac-forbidden"}),
    "env-agents-unread": (0, {"unknown"}, {"rbac-forbidden"}),
    "env-service-late": (3, {"error"}, {"agent-service-links-missing", "agent-dca-not-detected"}),
    "env-wrong-service-name": (3, {"error"}, {"agent-dca-service-missing"}),
    "env-no-endpoints": (3, {"error"}, {"dca-service-selector-mismatch"}),
    "env-wrong-port": (3, {"error"}, {"dca-service-wrong-port"}),
    "env-url-port": (3, {"error"}, {"dca-url-port-not-served", "agent-dca-unreachable"}),
    "env-dca-disabled": (3, {"error"}, {"agent-dca-disabled"}),
    "env-leader-election": (0, {"warning"}, {"agents-leader-election"}),
    "env-two-installs": (3, {"ok", "error"}, {"agent-dca-other-install"}),
    "env-dca-only": (0, set(), {"no-node-agents"}),
    "helm-agents": (0, {"dca-disabled"}, set()),
    "leftovers-only": (0, set(), {"install-leftovers-only"}),
}


def _all_secret_texts(scenario: str) -> list[str]:
    """Secret data of the scenario plus every token/key value its exec fixtures print (env output)."""
    values = set(secret_values(scenario))
    sc = load_scenario(scenario)
    for d in sc.directories:
        for env_file in (d / "pods").glob("*/*/exec/env.out"):
            for line in env_file.read_text().splitlines():
                name, _, value = line.partition("=")
                if name in ("DD_CLUSTER_AGENT_AUTH_TOKEN", "DD_API_KEY", "DD_APP_KEY") and len(value) >= 8:
                    values.add(value)
    assert values, "the scenario has secrets to look for"
    return sorted(values)


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_verdicts_findings_and_exit_code(scenario: str) -> None:
    code, verdicts, findings = CASES[scenario]
    r = invoke_cli("env-check", "-o", "json", scenario=scenario)
    assert r.exit_code == code, r.stderr
    assert r.stderr == ""
    assert r.json["kind"] == "EnvCheckReport" and r.json["apiVersion"] == "kubectl-datadog/v1alpha1"
    assert {a["verdict"] for a in r.json["agents"]} == verdicts
    assert findings <= {f["code"] for f in r.json["findings"]}
    if not findings:
        assert r.json["findings"] == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario", sorted(CASES))
def test_golden(scenario: str, fmt: str, golden) -> None:
    r = invoke_cli("env-check", "-o", fmt, scenario=scenario)
    assert r.exit_code == CASES[scenario][0]
    assert r.stderr == ""
    golden.check(f"env_check/{scenario}.{fmt}", r.stdout)


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_read_only_and_no_secret_in_any_output(scenario: str) -> None:
    secrets = _all_secret_texts(scenario)
    for fmt in ("wide", "json"):  # table is a subset of wide, yaml the same document as json
        for extra in ((), ("--no-exec",)):
            r = invoke_cli("env-check", "-o", fmt, *extra, scenario=scenario)
            assert writes(r.fake.calls) == []
            for value in secrets:
                assert value not in r.stdout and value not in r.stderr


def test_agents_whose_own_view_could_not_be_read_are_unknown_not_ok() -> None:
    """Exec and log reads both forbidden: the specs look right, but nothing says the Agents reach the
    DCA, so they are counted unknown (not ok); with --no-exec the user chose not to look: ok."""
    r = invoke_cli("env-check", "-o", "json", scenario="env-agents-unread")
    assert r.json["summary"] == {"agents": 2, "ok": 0, "warning": 0, "error": 0, "unknown": 2, "dca-disabled": 0}
    assert {a["connected"] for a in r.json["agents"]} == {"unknown"}
    missing = {f["command"] for f in r.json["findings"] if f["code"] == "rbac-forbidden"}
    assert missing == {"kubectl auth can-i create pods/exec -n datadog", "kubectl auth can-i get pods/log -n datadog"}
    assert "0 ok, 0 warning, 0 error, 2 unknown" in invoke_cli("env-check", scenario="env-agents-unread").stdout
    logs_read = FakeCluster.from_scenario("env-agents-unread")
    logs_read.scenario = {**logs_read.scenario, "forbidden": [{"verb": "create", "resource": "pods/exec"}]}
    by_log = invoke_cli("env-check", "-o", "json", fake=logs_read)  # the log says the tag collector is connected
    assert by_log.json["summary"]["ok"] == 2 and by_log.json["summary"]["unknown"] == 0
    no_exec = invoke_cli("env-check", "--no-exec", "-o", "json", scenario="env-agents-unread")
    assert no_exec.json["summary"]["ok"] == 2 and no_exec.json["summary"]["unknown"] == 0


def test_tokens_are_compared_by_fingerprint_and_shown_only_as_such() -> None:
    r = invoke_cli("env-check", "-o", "json", scenario="env-token-mismatch")
    agent = r.json["agents"][0]
    assert agent["token"] == "mismatch"
    assert agent["tokenSource"]["source"] == "secret datadog/datadog-agent-token key token"
    assert agent["tokenSource"]["fingerprint"].startswith("sha256:")
    dca = r.json["installs"][0]["clusterAgentToken"]
    assert dca["source"] == "secret datadog/datadog-cluster-agent key token" and dca["length"] == 32
    assert dca["fingerprint"] != agent["tokenSource"]["fingerprint"]


def test_token_too_short_names_the_length_and_the_secret() -> None:
    r = invoke_cli("env-check", "-o", "json", scenario="env-token-short")
    msgs = [f["message"] for f in r.json["findings"] if f["code"] == "token-too-short"]
    assert msgs and all("is 16 characters" in m and "secret datadog/datadog-cluster-agent" in m for m in msgs)


@pytest.mark.parametrize("scenario", ["env-token-short", "env-token-short-mismatch"])
def test_a_short_token_is_the_root_cause_of_the_agents_symptoms(scenario: str) -> None:
    """The token's own finding comes first; what it does to the Agents (never calling the DCA, the tag
    collector's fallback) follows it, names it in causedBy, and its hint is the token's fix, not
    "tokens differ"."""
    r = invoke_cli("env-check", "-o", "json", scenario=scenario)
    codes = [f["code"] for f in r.json["findings"]]
    assert codes.index("token-too-short") < codes.index("agent-dca-unreachable")
    assert codes.index("token-too-short") < codes.index("agent-tag-collector-fallback")
    for f in r.json["findings"]:
        if f["code"] in ("agent-dca-unreachable", "agent-tag-collector-fallback"):
            assert f["causedBy"] == ["token-too-short"], f
            assert "32+ characters" in f["hint"] and "same DD_CLUSTER_AGENT_AUTH_TOKEN" not in f["hint"]
        elif f["code"] == "token-too-short":
            assert f["causedBy"] == []
    table = invoke_cli("env-check", scenario=scenario).stdout
    assert "because token-too-short (daemonset/datadog/datadog): the Agent's auth token" in table


def test_a_token_too_short_and_different_from_the_dcas_is_two_findings() -> None:
    r = invoke_cli("env-check", "-o", "json", scenario="env-token-short-mismatch")
    by_code = {f["code"]: f for f in r.json["findings"]}
    assert "is 16 characters" in by_code["token-too-short"]["message"]
    assert "differs from the Cluster Agent's" in by_code["token-mismatch"]["message"]
    assert by_code["token-too-short"]["object"] == by_code["token-mismatch"]["object"] == "daemonset/datadog/datadog"
    assert {a["token"] for a in r.json["agents"]} == {"too-short"}


def test_forbidden_secret_read_is_a_warning_naming_get_secrets() -> None:
    r = invoke_cli("env-check", "-o", "json", scenario="env-token-forbidden")
    (f,) = [f for f in r.json["findings"] if f["code"] == "rbac-forbidden"]
    assert f["severity"] == "warning"
    assert "cannot get secrets in the namespace datadog" in f["message"]
    assert f["command"] == "kubectl auth can-i get secrets -n datadog"
    assert invoke_cli("env-check", "--fail-on", "warning", scenario="env-token-forbidden").exit_code == 3
    nx = invoke_cli("env-check", "--no-exec", "-o", "json", scenario="env-token-forbidden")
    assert {a["token"] for a in nx.json["agents"]} == {"forbidden"}


def test_service_created_after_the_pods_is_predicted_without_exec() -> None:
    r = invoke_cli("env-check", "--no-exec", "-o", "json", scenario="env-service-late")
    assert r.exit_code == 3
    (f,) = [f for f in r.json["findings"] if f["code"] == "agent-service-links-missing"]
    assert "the Service was created after the pod started" in f["message"]
    assert {a["endpoint"]["source"] for a in r.json["agents"]} == {"service-links (predicted)"}
    assert not any(c.resource == "pods/exec" for c in r.fake.calls)


def test_healthy_without_exec_predicts_the_service_link_endpoint() -> None:
    r = invoke_cli("env-check", "--no-exec", "--no-logs", "-o", "json", scenario="env-helm")
    assert r.exit_code == 0
    assert {a["endpoint"]["url"] for a in r.json["agents"]} == {"https://127.96.10.10:5005"}
    assert {a["connected"] for a in r.json["agents"]} == {None}
    assert not any(c.resource in ("pods/exec", "pods/log") for c in r.fake.calls)


def test_exec_reads_status_env_and_logs_of_every_agent(tmp_path: Path) -> None:
    # One exec per Agent: `agent status` and `env` through the container's /bin/sh.
    r = invoke_cli("env-check", "--tail", "50", "--since", "1h", "-o", "json", fake=ShellFake.of("env-helm", tmp_path))
    execs = sorted((c.name, c.detail.split(";")[0]) for c in r.fake.calls if c.resource == "pods/exec")
    assert execs == [("datadog-9d5bl", "/bin/sh -c agent status"), ("datadog-k4x2n", "/bin/sh -c agent status")]
    assert sorted(c.name for c in r.fake.calls if c.resource == "pods/log") == ["datadog-9d5bl", "datadog-k4x2n"]
    assert {a["tagCollector"] for a in r.json["agents"]} == {"connected"}
    assert {a["dcaVersion"] for a in r.json["agents"]} == {"7.62.2+commit.2b3f1c4"}
    assert r.json["logs"] == {"read": True, "sinceSeconds": 3600, "tailLines": 50}


@pytest.mark.parametrize("scenario", sorted(s for s, (_, verdicts, _) in CASES.items()
                                            if verdicts and s != "env-agents-unread"))  # that one may not exec
def test_one_shell_exec_gives_what_two_execs_give(scenario: str, tmp_path: Path) -> None:
    # The same report whether the Agent container has /bin/sh (one exec) or not (FakeCluster: the
    # shell is "not found", then `agent status` and `env` run separately).
    shell = invoke_cli("env-check", "-o", "json", fake=ShellFake.of(scenario, tmp_path))
    plain = invoke_cli("env-check", "-o", "json", scenario=scenario)
    assert (shell.exit_code, shell.json) == (plain.exit_code, plain.json)
    shell_execs = [c.detail for c in shell.fake.calls if c.resource == "pods/exec"]
    assert shell_execs and all(d.startswith("/bin/sh -c agent status;") for d in shell_execs)
    plain_execs = [c.detail for c in plain.fake.calls if c.resource == "pods/exec"]
    assert {"agent status", "env"} <= set(plain_execs)


def test_without_a_shell_the_failed_try_is_remembered_per_image() -> None:
    r = invoke_cli("env-check", "--max-concurrency", "1", "-o", "json", scenario="env-helm")
    execs = [(c.name, c.detail.split(";")[0]) for c in r.fake.calls if c.resource == "pods/exec"]
    # Both Agents run the same image: only the first one tries the shell.
    assert [d for _, d in execs].count("/bin/sh -c agent status") == 1
    assert sorted(execs[1:]) == [("datadog-9d5bl", "agent status"), ("datadog-9d5bl", "env"),
                                 ("datadog-k4x2n", "agent status"), ("datadog-k4x2n", "env")]
    assert {a["connected"] for a in r.json["agents"]} == {"yes"}


def test_legacy_install_is_checked_too() -> None:
    r = invoke_cli("env-check", "--no-exec", "-o", "json", scenario="legacy")
    assert r.exit_code == 0, r.stdout
    assert len(r.json["agents"]) == 2 and {a["token"] for a in r.json["agents"]} == {"ok"}


def test_two_installs_each_agent_is_checked_against_its_own_dca() -> None:
    r = invoke_cli("env-check", "-o", "json", scenario="env-two-installs")
    by_ns = {a["name"]: a for a in r.json["agents"]}
    assert by_ns["datadog-9d5bl"]["clusterAgent"] == "datadog/datadog-cluster-agent (helm)"
    assert by_ns["datadog-staging-9d5bl"]["clusterAgent"] == "datadog-staging/datadog-staging-cluster-agent (helm)"
    assert by_ns["datadog-staging-9d5bl"]["endpoint"]["service"] == "datadog/datadog-cluster-agent"
    assert "agent-dca-other-install" in by_ns["datadog-staging-9d5bl"]["findings"]
    one = invoke_cli("env-check", "--install-namespace", "datadog", "-o", "json", scenario="env-two-installs")
    assert one.exit_code == 0 and {a["namespace"] for a in one.json["agents"]} == {"datadog"}


def test_node_and_pod_select_one_agent() -> None:
    node = "gke-test-default-pool-068cb9c0-wntj"
    r = invoke_cli("env-check", "--node", node, "-o", "json", scenario="env-helm")
    assert [a["name"] for a in r.json["agents"]] == ["datadog-k4x2n"]
    assert r.json["selection"] == f"node {node}"
    p = invoke_cli("env-check", "datadog-cluster-agent-8568545574-q2m7d", "-n", "datadog", "-o", "json",
                   scenario="env-helm")
    assert [a["name"] for a in p.json["agents"]] == ["datadog-9d5bl"]
    assert not any(c.resource == "pods/exec" and c.name == "datadog-k4x2n" for c in p.fake.calls)


@pytest.mark.parametrize("args, message", [
    (("nosuchpod", "-n", "datadog"), 'error: pod "nosuchpod" not found in the namespace "datadog"'),
    (("--node", "nosuchnode"), "error: no node Agent pod found on node nosuchnode"),
])
def test_selection_errors_exit_1(args: tuple[str, ...], message: str) -> None:
    r = invoke_cli("env-check", *args, scenario="env-helm")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.startswith(message)


def test_usage_errors_exit_2() -> None:
    r = invoke_cli("env-check", "--max-concurrency", "0", scenario="env-helm")
    assert r.exit_code == 2 and "--max-concurrency" in r.stderr
    r = invoke_cli("env-check", "--since", "soon", scenario="env-helm")
    assert r.exit_code == 2 and "invalid duration" in r.stderr


def test_fail_on_levels() -> None:
    assert invoke_cli("env-check", "--fail-on", "never", scenario="env-token-short").exit_code == 0
    assert invoke_cli("env-check", "--fail-on", "warning", scenario="env-leader-election").exit_code == 3
    assert invoke_cli("env-check", scenario="env-leader-election").exit_code == 0


def test_install_without_node_agents_is_a_finding_not_an_error() -> None:
    r = invoke_cli("env-check", "-o", "json", scenario="env-dca-only")
    assert r.exit_code == 0 and r.stderr == ""
    assert r.json["agents"] == [] and r.json["summary"]["agents"] == 0
    assert [(f["code"], f["severity"], f["object"]) for f in r.json["findings"]] == [
        ("no-node-agents", "warning", "deployment/datadog/datadog-cluster-agent")]
    assert "runs no node Agents" in r.json["findings"][0]["message"]
    assert "no clients" in r.json["findings"][0]["message"]
    assert invoke_cli("env-check", "--fail-on", "warning", scenario="env-dca-only").exit_code == 3
    table = invoke_cli("env-check", scenario="env-dca-only").stdout
    assert "0 node Agent(s) checked in 1 install(s) (datadog/datadog-cluster-agent (helm))" in table


@pytest.mark.parametrize("args, message", [
    (("--node", "gke-test-default-pool-068cb9c0-sf1w"),
     "error: no node Agent pod found on node gke-test-default-pool-068cb9c0-sf1w"),
    (("datadog-cluster-agent-8568545574-x9tc9", "-n", "datadog"),
     "error: no node Agent pod found on node gke-test-default-pool-068cb9c0-wntj"),
])
def test_install_without_node_agents_with_a_node_or_pod_filter_stays_an_error(args, message) -> None:
    r = invoke_cli("env-check", *args, scenario="env-dca-only")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.startswith(message)


def test_agents_using_a_dca_elsewhere_are_its_clients() -> None:
    # env-two-installs: every install has its own Agents; none gets no-node-agents.
    r = invoke_cli("env-check", "-o", "json", scenario="env-two-installs")
    assert "no-node-agents" not in {f["code"] for f in r.json["findings"]}


def test_leftovers_only_is_one_finding() -> None:
    r = invoke_cli("env-check", "-o", "json", scenario="leftovers-only")
    assert r.exit_code == 0 and r.json["kind"] == "EnvCheckReport" and r.json["install"] is None
    assert r.json["agents"] == [] and [f["code"] for f in r.json["findings"]] == ["install-leftovers-only"]
    assert not [c for c in r.fake.calls if c.resource == "pods/exec"]


def test_no_install_is_an_error() -> None:
    fake = FakeCluster(objects=[])
    r = invoke_cli("env-check", fake=fake)
    assert r.exit_code == 1 and r.stderr.startswith("error: no Datadog install found")


# --- many Agents: bounded concurrency and the progress line ------------------------------------

class CountingFake(FakeCluster):
    """Serves any number of Agents; records how many execs and log reads are in flight at once."""

    def __init__(self, *a: Any, status: str = "", env: str = "", **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.status_text, self.env_text = status, env
        self.fixtures = standins(Path(tempfile.mkdtemp(prefix="env-check-fixtures-")))
        weakref.finalize(self, shutil.rmtree, self.fixtures, True)
        (self.fixtures / "agent_status.out").write_text(status)
        (self.fixtures / "env.out").write_text(env)
        self.in_flight = 0
        self.max_in_flight = 0
        self.count_lock = threading.Lock()

    def _enter(self) -> None:
        with self.count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(0.002)  # hold the slot so concurrent calls overlap; nothing asserts on time

    def _leave(self) -> None:
        with self.count_lock:
            self.in_flight -= 1

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        self._enter()
        try:
            self._record_exec(namespace, pod, argv)
            if argv[0] == "/bin/sh":  # the Agent image's shell, over the same outputs
                return run_in_shell(argv, self.fixtures, self.fixtures)
            return ExecResult(self.status_text if argv[0] == "agent" else self.env_text, "", 0)
        finally:
            self._leave()

    def _record_exec(self, namespace: str, pod: str, argv: Sequence[str]) -> None:
        from tests.fakes import Call

        self._record(Call("create", "pods/exec", namespace, pod, " ".join(argv)))

    def logs(self, namespace: str, pod: str, container: str, *, since_seconds: int | None = None,
             tail_lines: int | None = None) -> str:
        self._enter()
        try:
            return ""
        finally:
            self._leave()


def many_agents(n: int) -> CountingFake:
    import copy

    sc = load_scenario("env-helm")
    objects = [o for o in sc.objects if not (o["kind"] == "Pod" and o["metadata"]["name"] in
                                             ("datadog-9d5bl", "datadog-k4x2n"))]
    template = next(o for o in sc.objects if o["kind"] == "Pod" and o["metadata"]["name"] == "datadog-9d5bl")
    for i in range(n):
        pod = copy.deepcopy(template)
        pod["metadata"]["name"] = f"datadog-{i:05d}"
        pod["metadata"]["uid"] = f"pod-datadog-{i:05d}"
        pod["spec"]["nodeName"] = f"node-{i:05d}"
        objects.append(pod)
    base = sc.directories[0] / "pods" / "datadog" / "datadog-9d5bl" / "exec"
    return CountingFake(objects=objects, scenario=sc.config, source=sc,
                        status=(base / "agent_status.out").read_text(), env=(base / "env.out").read_text())


def test_hundreds_of_agents_with_bounded_concurrency() -> None:
    fake = many_agents(300)
    r = invoke_cli("env-check", "--max-concurrency", "7", "-o", "json", fake=fake)
    assert r.exit_code == 0, r.stdout[-2000:]
    assert len(r.json["agents"]) == 300 and {a["verdict"] for a in r.json["agents"]} == {"ok"}
    assert sum(1 for c in fake.calls if c.resource == "pods/exec") == 300  # one per Agent (status and env)
    assert 1 < fake.max_in_flight <= 7
    assert r.stderr == ""  # not a terminal: no progress line


def test_progress_line_only_on_a_terminal() -> None:
    fake = many_agents(40)
    r = invoke_cli("env-check", "-o", "json", fake=fake, stderr_isatty=True)
    assert r.exit_code == 0
    assert "\rchecking node Agents: 40/40" in r.stderr
    assert r.stderr.endswith("\r\x1b[K")
    assert "checking" not in r.stdout
    few = invoke_cli("env-check", scenario="env-helm", stderr_isatty=True)  # 2 Agents: no progress line
    assert few.stderr == ""


def _without_dca(scenario: str) -> FakeCluster:
    sc = load_scenario(scenario)
    objects = [o for o in sc.objects if not (o["kind"] == "Pod" and "cluster-agent" in o["metadata"]["name"])]
    return FakeCluster(objects=objects, scenario=sc.config, source=sc)


def test_agents_without_any_cluster_agent() -> None:
    # DCA disabled on the Agents and none deployed: nothing to check, not a failure.
    r = invoke_cli("env-check", "-o", "json", fake=_without_dca("env-dca-disabled"))
    assert r.exit_code == 0, r.stdout
    assert {a["verdict"] for a in r.json["agents"]} == {"dca-disabled"}
    # DCA enabled on the Agents but none deployed: an error naming the namespace.
    r = invoke_cli("env-check", "-o", "json", fake=_without_dca("env-helm"))
    assert r.exit_code == 3
    (f,) = [f for f in r.json["findings"] if f["code"] == "dca-not-found"]
    assert f["object"] == "namespace/datadog" and f["severity"] == "error"
