"""clusterchecks, the DCA's own view: its `clusterchecks` answer and status section, compared with
the configs the API shows (as metamap compares maps). Pure.

Matching a row with the DCA's configs (reference B2, B4):
  Service annotation    same check, source ending in kube_service://<ns>/<name>
  Endpoints annotation  same check, source holding kube_endpoint_uid://<ns>/<name>/; an endpoint
                        check also by the node it is dispatched to
  conf.d file           same check, provider file
Configs the DCA lists that no row expects (other providers, files baked in the image) become rows
of their own, origin `dca`.
"""

from __future__ import annotations

from dataclasses import replace

from kubectl_datadog.diagnose.clusterchecks_configs import EXPECTED, ConfigRow
from kubectl_datadog.diagnose.clusterchecks_setup import DCA_RBAC_MISSING, NO_LEADER, NO_WORKER, RUNNER_PROVIDER_MISSING, \
    RUNNERS_NOT_READY, Setup
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.clusterchecks import ClusterChecksSnapshot, DcaView
from kubectl_datadog.textformats.clusterchecks import DispatchedConfig

DCA_UNAVAILABLE = "clusterchecks-dca-unavailable"
DCA_NOT_DISPATCHING = "clusterchecks-dca-not-dispatching"
DCA_DISABLED = "clusterchecks-dca-disabled"
WARMUP = "clusterchecks-warmup"
ZERO_REPORTING = "clusterchecks-zero-reporting"
DANGLING = "clusterchecks-dangling"
UNKNOWN_TO_DCA = "clusterchecks-unknown-to-dca"
CHECK_ERROR = "clusterchecks-check-error"
RUNNER_NOT_REPORTING = "clusterchecks-runner-not-reporting"
STATUS_DISAGREES = "clusterchecks-status-disagrees"
UNSEEN = "clusterchecks-dispatch-unseen"
FROM_TELEMETRY = "clusterchecks-dca-telemetry"
MAX_ROW_FINDINGS = 20  # per kind of row finding; the table lists every row
MORE = "clusterchecks-more-configs"

UNASSIGNED = "unassigned"
NOT_LISTED = "not listed"
UNNAMED = "unassigned or not listed"


def _matches(row: ConfigRow, cfg: DispatchedConfig, endpoint: bool) -> bool:
    if cfg.check not in row.check.split(","):
        return False
    if not cfg.source and not cfg.provider:
        return not endpoint  # named by its check ID only (telemetry): the check name is all there is to match
    ns_name = row.source.removeprefix("service/")
    if row.origin == "service-annotation":
        return cfg.source.endswith(f"kube_service://{ns_name}")
    if row.origin == "endpoints-annotation":
        if f"kube_endpoint_uid://{ns_name}/" not in cfg.source:
            return False
        return not endpoint or cfg.state_node == row.node
    return row.origin == "confd" and cfg.provider == "file"


def _take(row: ConfigRow, pool: list[tuple[str, DispatchedConfig]], endpoint: bool) -> tuple[str, DispatchedConfig] | None:
    for i, (_where, cfg) in enumerate(pool):
        if _matches(row, cfg, endpoint):
            return pool.pop(i)
    return None


def _source_of(cfg: DispatchedConfig) -> str:
    if cfg.source or cfg.provider:
        return cfg.source or cfg.provider
    return f"check ID {cfg.instance_ids[0]}" if cfg.instance_ids else "unknown provider"


def compare(rows: list[ConfigRow], view: DcaView) -> list[ConfigRow]:
    """Every row with where the DCA says it runs; the DCA's configs no row expects are added."""
    state = view.state
    assert state is not None
    pool: list[tuple[str, DispatchedConfig]] = [(UNASSIGNED, c) for c in state.dangling]
    pool += [(node, c) for node, cs in sorted(state.nodes.items()) for c in cs]
    endpoints: list[tuple[str, DispatchedConfig]] = [(c.state_node, c) for c in state.endpoint_checks or ()]
    out: list[ConfigRow] = []
    for row in rows:
        is_endpoint = row.kind == "endpoint"
        found = _take(row, endpoints if is_endpoint else pool, is_endpoint)
        if found is None and row.kind == "dca":
            out.append(row)  # the DCA runs it itself: `clusterchecks` never lists it
            continue
        if found is None:
            says = "not shown" if (is_endpoint and state.endpoint_checks is None) or not state.configs_named \
                else NOT_LISTED
            verdict, detail = row.verdict, row.detail
            if says == NOT_LISTED and state.unnamed_dangling:
                # The telemetry counts dangling configs without naming them: this one may be among them.
                says = UNNAMED
            if row.verdict == EXPECTED and says == NOT_LISTED:
                verdict, detail = ("expected", "the DCA is warming up") if state.warmup else \
                    ("unknown-to-dca", "the DCA does not list this config")
            out.append(replace(row, dca_says=says, verdict=verdict, detail=detail))
            continue
        where, cfg = found
        verdict, detail = row.verdict, row.detail
        errors = [s for s in cfg.statuses or () if s.state == "ERROR"]
        if row.verdict == EXPECTED:
            if where == UNASSIGNED:
                verdict, detail = "dangling", "no runner or node Agent took it"
            elif errors:
                verdict, detail = "error", errors[0].error or "the check's last run failed"
            else:
                verdict = "dispatched"
                detail = "ran OK" if cfg.statuses else ""
        out.append(replace(row, dca_says=where or NOT_LISTED, verdict=verdict, detail=detail))
    for where, cfg in pool + endpoints:
        verdict = "dangling" if where == UNASSIGNED else "dispatched"
        out.append(ConfigRow(cfg.check, _source_of(cfg), "dca", "endpoint" if cfg.state_node else "cluster",
                             "?", verdict, "only the DCA knows this config", node=cfg.state_node, dca_says=where))
    return out


def _unseen_findings(snap: ClusterChecksSnapshot, view: DcaView, rows: list[ConfigRow], subject: str) -> list[Finding]:
    """Neither `clusterchecks` nor the telemetry gave a state: each denied permission is a finding
    naming it, and what could not be seen is said once, with why."""
    inst = snap.install
    cc, tel = view.clusterchecks, view.telemetry
    out: list[Finding] = []
    if cc is not None and cc.forbidden is not None:
        out.append(forbidden_finding(subject, f"cannot run `clusterchecks` in the Cluster Agent ({cc.forbidden.message}): "
                                     "where it runs each check was not seen", Severity.INFO, verb="create",
                                     resource="pods/exec", namespace=inst.namespace))
    if tel is not None and tel.forbidden is not None:
        out.append(forbidden_finding(subject, f"cannot read the Cluster Agent's telemetry through pods/proxy "
                                     f"({tel.forbidden.message}): its cluster_checks_* series were not seen",
                                     Severity.INFO, verb="get", resource="pods/proxy", namespace=inst.namespace))
    telemetry_problem = f"; its telemetry: {tel.problem}" if tel is not None and tel.forbidden is None else ""
    if not view.pod or (cc is not None and cc.forbidden is None):
        problem = f"cannot read its answer: {view.parse_error}" if view.parse_error else \
            cc.problem if cc is not None else view.chosen_because
        # Without any config the API shows, what the DCA holds is a side note (files baked in its image).
        out.append(Finding(DCA_UNAVAILABLE, Severity.WARNING if rows else Severity.INFO, subject,
                           f"could not get the DCA's dispatching state: {problem}{telemetry_problem}",
                           "check the DCA pod and exec permissions; verdicts say only what the API shows",
                           view.command, caused_by=(NO_LEADER,) if not view.pod else ()))
    elif (telemetry_problem or cc is None) and any(r.verdict == EXPECTED for r in rows):
        why = "--no-exec" if cc is None else "exec is forbidden"
        fixes = ["run without --no-exec (needs create on pods/exec)" if cc is None else "ask for create on pods/exec"]
        if tel is not None:
            fixes.append("ask for get on pods/proxy" if tel.forbidden is not None else
                         f"check that the DCA serves its telemetry on port {tel.port} and that the API server "
                         "can reach the pod")
        out.append(Finding(UNSEEN, Severity.INFO, subject,
                           "where the DCA runs each check, dangling configs and the agents reporting were not seen "
                           f"({why}{telemetry_problem}): verdicts say only what the API shows",
                           ", or ".join(fixes), tel.command if tel is not None else ""))
    return out


def dca_findings(snap: ClusterChecksSnapshot, setup: Setup, rows: list[ConfigRow]) -> list[Finding]:
    view = snap.dca
    inst = snap.install
    out: list[Finding] = []
    if view is None:
        return out
    subject = f"pod/{view.pod}" if view.pod else f"namespace/{inst.namespace}"
    if view.state is None:
        return _unseen_findings(snap, view, rows, subject)
    state = view.state
    command = view.command
    if view.source == "telemetry":
        cc = view.clusterchecks
        why = "--no-exec" if cc is None else cc.problem or f"cannot read its answer: {view.parse_error}"
        out.append(Finding(FROM_TELEMETRY, Severity.INFO, subject,
                           f"the DCA's view comes from its telemetry ({why}): it counts configs per runner or node "
                           "Agent" + (" and names their check IDs" if state.configs_named else "")
                           + ", not their sources, so rows are matched by check name",
                           "run with exec (create on pods/exec) for the DCA's whole `clusterchecks` answer", command))
    if not state.enabled:
        if setup.enabled is not False:
            out.append(Finding(DCA_DISABLED, Severity.ERROR, subject,
                               "the running Cluster Agent says \"Cluster-checks are not enabled\" although its pod "
                               "spec does not turn them off", "check DD_CLUSTER_CHECKS_ENABLED where the DCA reads its "
                               "config (datadog.yaml, envFrom) and restart it", command))
        return out
    if state.not_running:
        out.append(Finding(DCA_NOT_DISPATCHING, Severity.WARNING, subject,
                           f"the DCA asked ({view.pod.partition('/')[2]}) is not dispatching: {state.not_running}"
                           + ("" if view.chosen_because == "leader" else f" (asked because {view.chosen_because})"),
                           "only the leader dispatches: run `kubectl datadog leader`", command,
                           caused_by=(NO_LEADER,) if NO_LEADER in setup.causes else ()))
        return out
    if state.warmup:
        out.append(Finding(WARMUP, Severity.INFO, subject, "the DCA leader is warming up: it has not dispatched yet",
                           "wait 30 s (cluster_checks.warmup_duration) and run again", command))
    setup_causes = tuple(c for c in (NO_WORKER, RUNNERS_NOT_READY, RUNNER_PROVIDER_MISSING) if c in setup.causes)
    if state.reporting == 0 and not state.warmup:
        out.append(Finding(
            ZERO_REPORTING, Severity.ERROR, subject,
            "no runner or node Agent reports to the DCA (\"Zero agent reporting\"): no cluster check is dispatched",
            "the runners or node Agents with the clusterchecks provider cannot reach the DCA: check their logs "
            "(token, DCA Service)" if not setup_causes else "fix the runners first (see the findings before)",
            command, caused_by=setup_causes))
    out += _reporting_findings(snap, state.nodes, command)
    dangling_cause = (ZERO_REPORTING,) if state.reporting == 0 else setup_causes
    dangling = [r for r in rows if r.verdict == "dangling"]
    for r in dangling[:MAX_ROW_FINDINGS]:
        out.append(Finding(DANGLING, Severity.ERROR, r.source,
                           f"{r.check} is unassigned on the DCA: no runner or node Agent took it (the DCA logs "
                           "\"No available node to dispatch\")",
                           "make a runner or node Agent with the clusterchecks provider Ready", command,
                           caused_by=dangling_cause))
    if state.unnamed_dangling:
        out.append(Finding(DANGLING, Severity.ERROR, subject,
                           f"{state.unnamed_dangling} config(s) are unassigned on the DCA (its telemetry counts them "
                           "without naming them): no runner or node Agent took them",
                           "make a runner or node Agent with the clusterchecks provider Ready", command,
                           caused_by=dangling_cause))
    for r in [r for r in rows if r.verdict == "unknown-to-dca"][:MAX_ROW_FINDINGS]:
        rbac = (DCA_RBAC_MISSING,) if DCA_RBAC_MISSING in setup.causes and r.origin != "confd" else ()
        out.append(Finding(UNKNOWN_TO_DCA, Severity.WARNING, r.source,
                           f"the API shows the {r.kind} check {r.check}"
                           + (f" for {r.pod} on {r.node}" if r.node else "")
                           + " but the DCA leader does not list it: it has not picked the config up",
                           "annotations added after the DCA started may be missed (datadog-agent#52384): check "
                           "`configcheck` on the DCA for errors, or restart the DCA" if not rbac else
                           "let the DCA list and watch Services and their endpoints first", command,
                           caused_by=rbac))
    for verdict in ("dangling", "unknown-to-dca", "error"):
        extra = sum(1 for r in rows if r.verdict == verdict) - MAX_ROW_FINDINGS
        if extra > 0:
            out.append(Finding(MORE, Severity.INFO, "clusterchecks/configs",
                               f"{extra} more config(s) are {verdict} than the findings above name",
                               "see the table, or -o json for all of them"))
    for r in [r for r in rows if r.verdict == "error"][:MAX_ROW_FINDINGS]:
        out.append(Finding(CHECK_ERROR, Severity.ERROR, r.source,
                           f"{r.check} runs on {r.dca_says} but its last run failed: {r.detail}",
                           "read the runner's `agent status` for the whole error",
                           f"kubectl -n {inst.namespace} exec {r.dca_says} -c agent -- agent status" if r.dca_says else ""))
    return out


def _reporting_findings(snap: ClusterChecksSnapshot, nodes: dict[str, list[DispatchedConfig]],
                        command: str) -> list[Finding]:
    """The API's runners against the DCA's reporting list: a runner reports with its pod name, so a
    Ready runner with the clusterchecks provider missing from the list cannot reach the DCA (token,
    DCA Service, network policy). Node Agents report with their hostname, which may not be the node's
    name (cloud FQDNs), so they are not matched."""
    out: list[Finding] = []
    if snap.dca is None or snap.dca.state is None or snap.dca.state.warmup:
        return out
    if snap.dca.state.source == "telemetry":
        return out  # the telemetry may not list a reporting runner that runs nothing: no verdict on it
    for w in snap.runners:
        if w.pod.ready and not w.pod.deleting and w.runs("clusterchecks") and w.pod.name not in nodes:
            out.append(Finding(
                RUNNER_NOT_REPORTING, Severity.WARNING, w.pod.ref,
                f"runner {w.pod.name} is Ready but does not report to the DCA leader: it gets no check",
                "read the runner's log for Cluster Agent errors (token, DCA Service, network policy on 5005)",
                f"kubectl -n {w.pod.namespace} logs {w.pod.name} -c agent | grep -i 'cluster agent'"))
    status = snap.dca.dispatching
    reporting = snap.dca.state.reporting
    if status is not None and status.role == "leader" and status.active_agents is not None \
            and reporting is not None and status.active_agents != reporting:
        out.append(Finding(
            STATUS_DISAGREES, Severity.INFO, f"pod/{snap.dca.pod}",
            f"the DCA's status counts {status.active_agents} active agent(s) but `clusterchecks` lists {reporting}: "
            "an Agent joined or expired between the two", "run again", command))
    return out
