"""Can every node Agent find and authenticate to its Cluster Agent? Pure.

Per Agent, in the order the Agent itself goes (reference section 4):
  1. is the DCA enabled on it (DD_CLUSTER_AGENT_ENABLED);
  2. how it finds the DCA: DD_CLUSTER_AGENT_URL (https only), else the service-link env vars
     `<SVC>_SERVICE_HOST/_PORT` of DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME, which Kubernetes injects
     only if that Service existed (in the pod's namespace) when the pod started and enableServiceLinks
     is on. With exec the real `env` decides; without, it is predicted from creation times;
  3. does that endpoint reach the DCA: a Service that selects the DCA pods, on a port that forwards
     to the DCA's cmd port (5005), with ready endpoints; a URL is dialled on its own port (https's
     443 when none is written), which the Service must expose;
  4. the auth token: set, at least 32 characters, the same as the DCA's (compared by fingerprint);
  5. with exec, the Agent's own view (`agent status`: a failed contact is judged by the cause inside
     its error, since the status labels every first failure "could not detect the endpoint") and,
     from its log, whether the tag collector uses the DCA or fell back to local service mapping, and
     the cause the status hides ("try delay not elapsed yet", or an empty section).

Verdict per Agent: error or warning (the worst finding that concerns it); else unknown when its own
view was asked for and could not be read (the status exec failed, and so did the log read, or logs
were not asked for): nothing then says it reaches the DCA, and "ok" would rest on that unknown;
else ok; or dca-disabled when no Cluster Agent is deployed and the Agent does not use one. A Cluster Agent that no node Agent
uses (a DCA-only install) is one install-level finding, not a failure to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from kubectl_datadog.snapshots.env_check import (AgentData, AgentProbes, EnvCheckSnapshot, InstallData,
                                                 NamespaceObjects, Probe, TokenRef)
from kubectl_datadog.install import DEFAULT_SERVICE_NAME, Install
from kubectl_datadog.diagnose.discovery import discovery_findings
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Finding, SecretValue, Severity, sort_findings, worst
from kubectl_datadog.objects import Pod, Service, ServicePort, as_bool, selector_selects
from kubectl_datadog.textformats.agent_status import DcaStatus, TagCollectorLog, dca_error, service_link_prefix

MIN_TOKEN_LENGTH = 32  # authTokenMinimalLen, datadog-agent pkg/api/security
DEFAULT_CMD_PORT = 5005


@dataclass(frozen=True)
class Endpoint:
    """Where the Agent will connect, and what that resolves to."""

    source: str  # url | service-links | service-links (predicted) | none
    url: str = ""
    service: Service | None = None  # the Service the endpoint resolves to, if any
    port: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "url": self.url or None,
                "service": f"{self.service.namespace}/{self.service.name}" if self.service else None}


@dataclass(frozen=True)
class AgentRow:
    pod: Pod
    install: Install
    dca_install: Install | None  # the install whose DCA this Agent should talk to
    dca_enabled: bool
    endpoint: Endpoint
    token: str  # ok | too-short | mismatch | missing | not-found | key-missing | forbidden | unknown | n/a
    token_ref: TokenRef
    connected: str  # yes | no | unknown | "" (not checked: --no-exec)
    dca_version: str
    tag_collector: str  # connected | fallback | failing | unknown | "" (not read)
    verdict: str
    findings: tuple[Finding, ...]  # every finding that concerns this Agent, install-level ones included

    def to_dict(self) -> dict[str, object]:
        return {"namespace": self.pod.namespace, "name": self.pod.name, "node": self.pod.node or None,
                "install": self.install.label, "clusterAgent": self.dca_install.label if self.dca_install else None,
                "dcaEnabled": self.dca_enabled, "endpoint": self.endpoint.to_dict(), "token": self.token,
                "tokenSource": self.token_ref.to_dict(), "connected": self.connected or None,
                "dcaVersion": self.dca_version or None, "tagCollector": self.tag_collector or None,
                "verdict": self.verdict, "findings": sorted({f.code for f in self.findings})}


@dataclass(frozen=True)
class EnvCheckReport:
    rows: tuple[AgentRow, ...]
    findings: tuple[Finding, ...]
    snapshot: EnvCheckSnapshot

    @property
    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "warning": 0, "error": 0, "unknown": 0, "dca-disabled": 0}
        for r in self.rows:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out

    def summary_line(self) -> str:
        c = self.counts
        installs = sorted({r.install.label for r in self.rows} or {i.install.label for i in self.snapshot.installs})
        text = (f"{len(self.rows)} node Agent(s) checked in {len(installs)} install(s) ({', '.join(installs)}): "
                f"{c['ok']} ok, {c['warning']} warning, {c['error']} error")
        if c["unknown"]:
            text += f", {c['unknown']} unknown (their own view could not be read)"
        if c["dca-disabled"]:
            text += f", {c['dca-disabled']} without a Cluster Agent"
        snap = self.snapshot
        if not snap.exec_enabled:
            text += "; the Agents' own view was not read (--no-exec)"
        return text + "."

    def to_dict(self) -> dict[str, object]:
        snap = self.snapshot
        return {"selection": snap.selection,
                "installs": [{**i.install.to_dict(), "clusterAgentToken": i.dca_token.to_dict() if i.dca_token else None}
                             for i in snap.installs],
                "summary": {"agents": len(self.rows), **self.counts},
                "exec": snap.exec_enabled,
                "logs": {"read": snap.logs_enabled, "sinceSeconds": snap.since_seconds, "tailLines": snap.tail_lines},
                "agents": [r.to_dict() for r in self.rows]}


# --- the DCA's Service ------------------------------------------------------------------------

def _cmd_port(inst: Install) -> int:
    return inst.settings.cmd_port if inst.settings else DEFAULT_CMD_PORT


def _target_number(sp: ServicePort, inst: Install) -> int | None:
    if sp.target_port.isdigit():
        return int(sp.target_port)
    return inst.dca_pods[0].port_named(sp.target_port) if inst.dca_pods else None


def _selects(svc: Service, pods: tuple[Pod, ...]) -> bool:
    return any(selector_selects(svc.selector, p.labels) for p in pods)


def service_problem(svc: Service, port: int | None, inst: Install, nso: NamespaceObjects | None) -> tuple[str, str]:
    """("", "") when `svc` (on `port`, or on any port) reaches the DCA of `inst`; else a kind
    (selector | port | endpoints) and the reason, phrased to follow "Service ns/name ..."."""
    cmd = _cmd_port(inst)
    if svc.selector and inst.dca_pods and not _selects(svc, inst.dca_pods):
        sel = ",".join(f"{k}={v}" for k, v in sorted(svc.selector.items()))
        return "selector", f"selects no Cluster Agent pod (selector {sel})"
    ports = [sp for sp in svc.ports if port is None or sp.port == port]
    if not ports:
        return "port", f"has no port {port}"
    good = [sp for sp in ports if _target_number(sp, inst) == cmd]
    if not good:
        sp = ports[0]
        return "port", (f"forwards port {sp.port} to {sp.target_port}, but the Cluster Agent listens on {cmd} "
                        "(cluster_agent.cmd_port)")
    if nso is not None and nso.slices_forbidden is None:
        dca_names = {p.name for p in inst.dca_pods}
        names = {sp.name for sp in good}
        ready = [e for e in nso.endpoints.get(svc.name, ())
                 if e.ready and (not dca_names or e.pod in dca_names)
                 and any(n in names and number == cmd for n, number in e.ports)]
        if not ready:
            return "endpoints", f"has no ready endpoint on a Cluster Agent pod at port {cmd}"
    return "", ""


def _install_findings(data: InstallData, nso: NamespaceObjects | None) -> tuple[list[Finding], list[Finding]]:
    """(findings about the DCA's Service, findings about the DCA's token): both concern every Agent
    that talks to this DCA."""
    inst = data.install
    if not inst.dca_pods or inst.settings is None:
        return [], []
    ns, name = inst.namespace, inst.settings.service_name
    svc_findings: list[Finding] = []
    ref = f"service/{ns}/{name}"
    if nso is not None and nso.services_forbidden is not None:
        svc_findings.append(_forbidden("list", "services", ns, "the Cluster Agent's Service could not be checked",
                                       Severity.WARNING))
    elif nso is not None:
        svc = nso.services.get(name)
        if svc is None:
            svc_findings.append(Finding(
                "dca-service-missing", Severity.ERROR, ref,
                f"the Service {name} that the Cluster Agent is known by (DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME) "
                "does not exist: Agents that find the DCA through it cannot connect",
                "recreate it (Helm and the Operator manage it), then restart the Agents so they get its env vars",
                f"kubectl -n {ns} get service {name}"))
        else:
            kind, reason = service_problem(svc, None, inst, nso)
            code = {"selector": "dca-service-selector-mismatch", "port": "dca-service-wrong-port",
                    "endpoints": "dca-service-no-endpoints"}.get(kind)
            if code:
                svc_findings.append(Finding(
                    code, Severity.ERROR, ref, f"the Cluster Agent's Service {name} {reason}",
                    {"selector": "make the Service's selector match the Cluster Agent pod labels",
                     "port": f"point the Service's targetPort at the Cluster Agent's port {_cmd_port(inst)}",
                     "endpoints": "check that the Cluster Agent pods are Ready and listening on their cmd port"}[kind],
                    f"kubectl -n {ns} get endpointslices -l kubernetes.io/service-name={name} -o wide"))
        if nso.slices_forbidden is not None:
            svc_findings.append(_forbidden("list", "endpointslices.discovery.k8s.io", ns,
                                           "the Service's endpoints could not be checked", Severity.WARNING))
    token_findings: list[Finding] = []
    tok = data.dca_token
    dca_ref = f"deployment/{ns}/{inst.dca_deployment}"
    if tok is not None:
        token_findings += _token_source_findings(tok, dca_ref, "the Cluster Agent")
        if tok.value is not None and tok.value.length < MIN_TOKEN_LENGTH:
            token_findings.append(_too_short(tok, dca_ref, "the Cluster Agent"))
    return svc_findings, token_findings


# --- tokens -----------------------------------------------------------------------------------

def _forbidden(verb: str, resource: str, ns: str, consequence: str, severity: Severity) -> Finding:
    return forbidden_finding(f"namespace/{ns}", f"cannot {verb} {resource} in the namespace {ns}: {consequence}",
                             severity, verb=verb, resource=resource, namespace=ns,
                             hint=f"ask for {verb} on {resource} in {ns}, or accept the gap")


def _token_source_findings(tok: TokenRef, owner: str, who: str) -> list[Finding]:
    if tok.source == "missing":
        return [Finding("token-missing", Severity.ERROR, owner,
                        f"{who} has no DD_CLUSTER_AGENT_AUTH_TOKEN: unless a cluster_agent.auth_token file is "
                        "mounted, the Agents and the Cluster Agent cannot authenticate each other",
                        "set DD_CLUSTER_AGENT_AUTH_TOKEN from the same Secret on the Agents and the Cluster Agent")]
    subject = f"{tok.source}/{tok.namespace}/{tok.name}"
    get = f"kubectl -n {tok.namespace} get {tok.source} {tok.name} -o jsonpath='{{.data}}' | jq 'keys'"
    if tok.problem == "not-found":
        return [Finding("token-secret-missing", Severity.ERROR, subject,
                        f"the {tok.source} {tok.name} that DD_CLUSTER_AGENT_AUTH_TOKEN comes from does not exist: "
                        "pods starting now fail with CreateContainerConfigError",
                        "recreate it (Helm: clusterAgent.token or tokenExistingSecret; the Operator recreates it)",
                        f"kubectl -n {tok.namespace} get {tok.source} {tok.name}")]
    if tok.problem == "key-missing":
        return [Finding("token-secret-key-missing", Severity.ERROR, subject,
                        f"the {tok.source} {tok.name} has no key {tok.key}, which DD_CLUSTER_AGENT_AUTH_TOKEN reads",
                        "add the key, or point secretKeyRef.key at the right one", get)]
    if tok.problem == "forbidden":
        resource = "secrets" if tok.source == "secret" else "configmaps"
        return [_forbidden("get", resource, tok.namespace,
                           f"the auth token in {tok.describe} could not be checked", Severity.WARNING)]
    return []


def _too_short(tok: TokenRef, owner: str, who: str) -> Finding:
    length = tok.value.length if tok.value else 0
    return Finding("token-too-short", Severity.ERROR, owner,
                   f"{who}'s auth token ({tok.describe}) is {length} characters; at least {MIN_TOKEN_LENGTH} are "
                   "required, so it is refused",
                   f"use a token of {MIN_TOKEN_LENGTH}+ characters a-zA-Z0-9 on both sides (Helm: clusterAgent.token)",
                   f"kubectl -n {tok.namespace} get {tok.source} {tok.name} -o jsonpath='{{.data.{tok.key}}}' "
                   "| base64 -d | wc -c" if tok.source == "secret" else "")


def _fp(value: SecretValue | None) -> str:
    return value.fingerprint if value else "unknown"


# --- endpoint resolution ----------------------------------------------------------------------

def _env_value(agent: AgentData, name: str) -> str | None:
    """The process's value when exec read it, else the pod spec's."""
    env = agent.probes.env
    if env is not None:
        return env.get(name)
    var = agent.env.get(name)
    return var.value if var is not None else None


def _find_service(host: str, pod_ns: str, nss: dict[str, NamespaceObjects]) -> tuple[Service | None, str, str]:
    """(service, namespace, name) for a URL host: a ClusterIP, or a `svc.ns[.svc.cluster.local]` name."""
    if host.replace(".", "").isdigit() or ":" in host:
        for nso in nss.values():
            for svc in nso.services.values():
                if svc.cluster_ip == host:
                    return svc, svc.namespace, svc.name
        return None, "", ""
    labels = host.split(".")
    ns = labels[1] if len(labels) > 1 else pod_ns
    in_ns = nss.get(ns)
    return (in_ns.services.get(labels[0]) if in_ns else None), ns, labels[0]


def _resolve(agent: AgentData, nss: dict[str, NamespaceObjects]) -> tuple[Endpoint, list[Finding]]:
    pod = agent.pod
    subject = f"pod/{pod.namespace}/{pod.name}"
    url = (_env_value(agent, "DD_CLUSTER_AGENT_URL") or "").strip()
    if url:
        full = url if "://" in url else "https://" + url
        parts = urlsplit(full)
        if parts.scheme != "https":
            return Endpoint("url", full), [Finding(
                "agent-dca-url-not-https", Severity.ERROR, subject,
                f"DD_CLUSTER_AGENT_URL is {url}: the Agent accepts only https (\"not a https scheme\")",
                "use https://<service>.<namespace>.svc:5005, or unset it to use the service-link env vars",
                f"kubectl -n {pod.namespace} exec {pod.name} -c agent -- agent status")]
        host = parts.hostname or ""
        port = url_port(full)
        svc, ns, name = _find_service(host, pod.namespace, nss)
        if svc is None:
            if ns and name:
                return Endpoint("url", full, None, port), [Finding(
                    "agent-dca-service-missing", Severity.ERROR, subject,
                    f"DD_CLUSTER_AGENT_URL names the Service {ns}/{name}, which does not exist",
                    "point DD_CLUSTER_AGENT_URL at the Cluster Agent's Service",
                    f"kubectl -n {ns} get service {name}")]
            return Endpoint("url", full, None, port), [Finding(
                "agent-dca-url-unverified", Severity.WARNING, subject,
                f"DD_CLUSTER_AGENT_URL points at {host}, which is no Service ClusterIP visible here: cannot verify "
                "that it reaches the Cluster Agent", "prefer the Service's DNS name",
                f"kubectl -n {pod.namespace} exec {pod.name} -c agent -- agent status")]
        return Endpoint("url", full, svc, port), []

    name_env = _env_value(agent, "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME")
    name = DEFAULT_SERVICE_NAME if name_env is None else name_env.strip()
    if not name:
        return Endpoint("none"), [Finding(
            "agent-dca-endpoint-unset", Severity.ERROR, subject,
            "DD_CLUSTER_AGENT_URL and DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME are both empty: the Agent cannot "
            "find the Cluster Agent", "set DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME to the Cluster Agent's Service")]
    nso = nss.get(pod.namespace)
    svc = nso.services.get(name) if nso else None
    prefix = service_link_prefix(name)
    links = f"{prefix}_SERVICE_HOST/_PORT"
    restart = f"kubectl -n {pod.namespace} rollout restart daemonset {pod.owner_name}" if pod.owner_kind == "DaemonSet" \
        else f"kubectl -n {pod.namespace} delete pod {pod.name}"
    env_cmd = f"kubectl -n {pod.namespace} exec {pod.name} -c agent -- env | grep {prefix}_SERVICE"
    if svc is None and nso is not None and nso.services_forbidden is not None:
        return Endpoint("service-links"), []  # reported once per namespace as rbac-forbidden
    if svc is None:
        return Endpoint("service-links"), [Finding(
            "agent-dca-service-missing", Severity.ERROR, subject,
            f"DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME is {name}, but there is no Service {name} in the "
            f"namespace {pod.namespace}",
            "set it to the Cluster Agent's Service name (Helm: <release>-cluster-agent)",
            f"kubectl -n {pod.namespace} get services")]
    first_port = svc.ports[0].port if svc.ports else None
    env = agent.probes.env
    if env is not None:
        link_host, port_text = env.service_link(name)
        if not link_host or not port_text:
            cause = _missing_links_cause(pod, svc)
            return Endpoint("service-links"), [Finding(
                "agent-service-links-missing", Severity.ERROR, subject,
                f"{links} are not set in the Agent container ({cause}): the Agent cannot find the Cluster Agent",
                "restart the Agents now that the Service exists, or set DD_CLUSTER_AGENT_URL", restart)]
        port = int(port_text) if port_text.isdigit() else None
        endpoint = Endpoint("service-links", f"https://{link_host}:{port_text}", svc, port)
        if link_host != svc.cluster_ip or port != first_port:
            return endpoint, [Finding(
                "agent-dca-endpoint-stale", Severity.ERROR, subject,
                f"the Agent's {links} point at {link_host}:{port_text}, but the Service {name} is now "
                f"{svc.cluster_ip}:{first_port}: it was re-created after the Agent started",
                "restart the Agents so they get the Service's current address", restart)]
        return endpoint, []
    # Without exec: predict what Kubernetes injected when the pod started.
    if svc.cluster_ip in ("", "None"):
        cause = "the Service is headless: no service-link vars exist for it"
    elif not pod.enable_service_links:
        cause = "enableServiceLinks is false on the pod"
    elif svc.created is not None and pod.created is not None and svc.created > pod.created:
        cause = "the Service was created after the pod started"
    else:
        return Endpoint("service-links (predicted)", f"https://{svc.cluster_ip}:{first_port}", svc, first_port), []
    return Endpoint("service-links (predicted)"), [Finding(
        "agent-service-links-missing", Severity.ERROR, subject,
        f"{links} cannot be set in the Agent container ({cause}): the Agent cannot find the Cluster Agent",
        "restart the Agents now that the Service exists, or set DD_CLUSTER_AGENT_URL", env_cmd)]


def _missing_links_cause(pod: Pod, svc: Service) -> str:
    if not pod.enable_service_links:
        return "enableServiceLinks is false on the pod"
    if svc.created is not None and pod.created is not None and svc.created > pod.created:
        return "the Service was created after the pod started"
    return "the Service did not exist when the pod started"


def _endpoint_findings(agent: AgentData, ep: Endpoint, dca: InstallData | None, installs: tuple[InstallData, ...],
                       nss: dict[str, NamespaceObjects]) -> list[Finding]:
    """Does the resolved Service reach this Agent's own DCA? Problems of the DCA's own Service are
    reported once for the install; here only a different Service is judged."""
    if dca is None or ep.service is None or dca.install.settings is None:
        return []
    inst = dca.install
    settings = dca.install.settings
    svc = ep.service
    pod = agent.pod
    subject = f"pod/{pod.namespace}/{pod.name}"
    if svc.namespace == inst.namespace and svc.name == settings.service_name:
        # The DCA's own Service is judged once for the install, on any of its ports; only the port a
        # DD_CLUSTER_AGENT_URL names is this Agent's own.
        return _url_port_findings(agent, ep, inst)
    other = next((d.install for d in installs if d is not dca and d.install.dca_pods
                  and _selects(svc, d.install.dca_pods)), None)
    if other is not None and not _selects(svc, inst.dca_pods):
        return [Finding(
            "agent-dca-other-install", Severity.ERROR, subject,
            f"the Agent's DCA endpoint resolves to the Service {svc.namespace}/{svc.name} of another install "
            f"({other.label}), not to its own Cluster Agent ({inst.label})",
            f"point the Agents at {inst.namespace}/{settings.service_name}",
            f"kubectl -n {pod.namespace} get pod {pod.name} -o yaml | grep -A1 DD_CLUSTER_AGENT")]
    kind, reason = service_problem(svc, ep.port, inst, nss.get(svc.namespace))
    if kind:
        return [Finding(
            "agent-dca-service-mismatch", Severity.ERROR, subject,
            f"the Agent's DCA endpoint resolves to the Service {svc.namespace}/{svc.name}, which {reason}; the "
            f"Cluster Agent serves on {inst.namespace}/{settings.service_name}",
            f"set DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME={settings.service_name} on the Agents",
            f"kubectl -n {svc.namespace} get endpointslices -l kubernetes.io/service-name={svc.name}")]
    return []


def url_port(url: str) -> int | None:
    """The port the Agent dials for DD_CLUSTER_AGENT_URL (a scheme is already prefixed): the one
    written, else the scheme's default (https 443, http 80); None when the port is not a number."""
    parts = urlsplit(url)
    try:
        written = parts.port
    except ValueError:
        return None
    return written if written is not None else {"https": 443, "http": 80}.get(parts.scheme)


def _url_port_findings(agent: AgentData, ep: Endpoint, inst: Install) -> list[Finding]:
    """DD_CLUSTER_AGENT_URL names the DCA's own Service (by name or ClusterIP): the Agent connects to
    the URL's port on the ClusterIP, so the Service must expose that port, forwarding to the DCA's cmd
    port. A URL port that the Service exposes but forwards wrongly while no port reaches the DCA is the
    Service's problem (dca-service-wrong-port), not the URL's. A headless Service's name resolves to
    the pods themselves: there the URL's port must be the cmd port."""
    svc = ep.service
    if ep.source != "url" or svc is None or ep.port is None:
        return []
    cmd = _cmd_port(inst)
    headless = svc.cluster_ip in ("", "None")
    served = [cmd] if headless else [sp.port for sp in svc.ports if _target_number(sp, inst) == cmd]
    exposed = [sp for sp in svc.ports if sp.port == ep.port]
    if ep.port in served or (exposed and not served):
        return []
    pod = agent.pod
    parts = urlsplit(ep.url)
    written = f"port {ep.port}" + ("" if parts.port is not None else f" (no port written: the {parts.scheme} default)")
    if headless:
        what = f"is headless: its name resolves to the Cluster Agent pods, which listen on {cmd}"
    elif exposed:
        sp = exposed[0]
        what = f"forwards port {sp.port} to {sp.target_port}, but the Cluster Agent listens on {cmd}"
    else:
        numbers = [str(sp.port) for sp in svc.ports]
        what = (f"exposes only port{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}" if numbers
                else "exposes no port")
    host = parts.hostname or svc.cluster_ip
    host = f"[{host}]" if ":" in host else host
    why = "the Cluster Agent's own port" if headless else f"the Service's port that forwards to the Cluster Agent's {cmd}"
    hint = (f"set DD_CLUSTER_AGENT_URL=https://{host}:{served[0]} on the Agents ({why}), then restart them" if served else
            f"expose the Cluster Agent's port {cmd} on the Service (dca-service-wrong-port) and write that port "
            "into DD_CLUSTER_AGENT_URL")
    return [Finding(
        "dca-url-port-not-served", Severity.ERROR, f"pod/{pod.namespace}/{pod.name}",
        f"DD_CLUSTER_AGENT_URL is {ep.url}: the Agent connects to {written} of the Service "
        f"{svc.namespace}/{svc.name}, which {what}: the Agent cannot reach the Cluster Agent", hint,
        f"kubectl -n {svc.namespace} get svc {svc.name} "
        "-o jsonpath='{range .spec.ports[*]}{.port}->{.targetPort}{\" \"}{end}'")]


# --- one Agent --------------------------------------------------------------------------------

def _dca_for(agent: AgentData, ep: Endpoint, snap: EnvCheckSnapshot) -> InstallData | None:
    """Its own install's DCA; an install without one uses the DCA its URL names, if any."""
    own = snap.installs[agent.install]
    if own.install.dca_pods:
        return own
    if ep.service is not None:
        for d in snap.installs:
            if d.install.dca_pods and _selects(ep.service, d.install.dca_pods):
                return d
    return None


def _probe_findings(probe: Probe | None, pod: Pod, what: str) -> list[Finding]:
    if probe is None or probe.ok:
        return []
    if probe.forbidden is not None:
        verb, resource = ("get", "pods/log") if what == "logs" else ("create", "pods/exec")
        return [forbidden_finding(
            f"namespace/{pod.namespace}",
            f"cannot {verb} {resource} in the namespace {pod.namespace}: the Agents' {what} was not read",
            Severity.INFO, verb=verb, resource=resource, namespace=pod.namespace,
            hint="use --no-exec to skip the Agents' own view" if what != "logs" else "use --no-logs to skip")]
    if what == "logs":
        return [Finding("logs-unavailable", Severity.INFO, f"pod/{pod.namespace}/{pod.name}",
                        f"could not read the Agent's log: {probe.problem}",
                        "the tag-collector state stays unknown; use --no-logs to skip", probe.command)]
    return [Finding("exec-failed", Severity.INFO, f"pod/{pod.namespace}/{pod.name}",
                    f"could not read the Agent's {what}: {probe.problem}",
                    "use --no-exec to skip, or check the agent container", probe.command)]


def check_agent(agent: AgentData, snap: EnvCheckSnapshot,
                install_findings: dict[int, tuple[list[Finding], list[Finding]]]) -> AgentRow:
    pod = agent.pod
    own = snap.installs[agent.install]
    subject = f"pod/{pod.namespace}/{pod.name}"
    findings: list[Finding] = []
    enabled = as_bool(_env_value(agent, "DD_CLUSTER_AGENT_ENABLED"))
    probes = agent.probes
    findings += _probe_findings(probes.status_probe, pod, "status")
    findings += _probe_findings(probes.env_probe, pod, "env")
    findings += _probe_findings(probes.log_probe, pod, "logs")

    if not enabled:
        dca_present = any(d.install.dca_pods for d in snap.installs if d.install.namespace == pod.namespace)
        if dca_present:
            findings.append(Finding(
                "agent-dca-disabled", Severity.ERROR, subject,
                "DD_CLUSTER_AGENT_ENABLED is not true on the Agent although a Cluster Agent runs: the Agent does "
                "not use it (no kube_service tags from the DCA, no cluster checks)",
                "set DD_CLUSTER_AGENT_ENABLED=true on the Agents (Helm: clusterAgent.enabled=true)",
                f"kubectl -n {pod.namespace} get pod {pod.name} -o yaml | grep -A1 DD_CLUSTER_AGENT_ENABLED"))
        verdict = _verdict(findings) if dca_present else "dca-disabled"
        return AgentRow(pod, own.install, None, False, Endpoint("none"), "n/a", agent.token, "", "", "",
                        verdict, sort_findings(findings))

    nss = dict(snap.namespaces)
    endpoint, ep_findings = _resolve(agent, nss)
    findings += ep_findings
    dca = _dca_for(agent, endpoint, snap)
    if dca is None:
        findings.append(Finding(
            "dca-not-found", Severity.ERROR, f"namespace/{pod.namespace}",
            f"DD_CLUSTER_AGENT_ENABLED is true on the Agents, but no Cluster Agent runs in the namespace "
            f"{pod.namespace}", "deploy the Cluster Agent, point DD_CLUSTER_AGENT_URL at one, or pass --dca-selector",
            f"kubectl -n {pod.namespace} get deploy,pods"))
        svc_f: list[Finding] = []
        tok_f: list[Finding] = []
    else:
        svc_f, tok_f = install_findings[snap.installs.index(dca)]
    findings += svc_f
    findings += _endpoint_findings(agent, endpoint, dca, snap.installs, nss)

    token, token_findings = _token_state(agent, dca, tok_f)
    findings += token_findings

    connected, version = "", ""
    from_status = False  # a finding already explains the failed contact (then the log's error is not repeated)
    status = probes.status
    if probes.status_probe is not None:
        connected = "unknown"
        if probes.status_probe.ok and status is None:
            findings.append(Finding(
                "agent-status-no-dca-section", Severity.WARNING, subject,
                "`agent status` has no Datadog Cluster Agent section: the running Agent does not have the Cluster "
                "Agent enabled", "check datadog.yaml and the env of the running container",
                probes.status_probe.command))
        elif status is not None:
            version = status.version
            if status.connected:
                connected = "yes"
            elif status.silent or status.error is not None:
                connected = "no"
                findings += _contact_findings(status, probes.log, pod, probes.status_probe.command,
                                              {f.code: f.hint for f in findings})
                from_status = True

    tag = ""
    if probes.log is not None:
        tag = probes.log.state
        last = probes.log.last
        if probes.log.state == "fallback" and last is not None:
            log_err = dca_error(probes.log.cause) if probes.log.cause else None
            reported = {f.code: f.hint for f in findings}
            causes = _causes_of(log_err.kind, reported) if log_err else ()
            findings.append(Finding(
                "agent-tag-collector-fallback", Severity.ERROR, subject,
                f"the Agent's log says it fell back to local service mapping: {last.text}",
                "kube_service tags come from the node, not the DCA; "
                + (_cause_hint(causes, reported) if causes else "fix the connection and restart the Agent"),
                _log_cmd(pod), causes))
        elif probes.log.state == "failing" and last is not None and connected != "yes" and not from_status:
            findings.append(Finding(
                "agent-dca-init-failed", Severity.WARNING, subject,
                f"the Agent's log reports a Cluster Agent error: {last.text}",
                "fix the connection (see the other findings); the Agent retries", _log_cmd(pod)))

    leader = _env_value(agent, "DD_LEADER_ELECTION")
    if dca is not None and as_bool(leader):
        findings.append(Finding(
            "agents-leader-election", Severity.WARNING, f"namespace/{pod.namespace}",
            "leader election is enabled on node Agents although a Cluster Agent runs: they compete with the DCA for "
            "the lock", "remove DD_LEADER_ELECTION from the node Agent DaemonSet",
            f"kubectl -n {pod.namespace} exec {pod.name} -c agent -- env | grep DD_LEADER_ELECTION"))

    verdict = _verdict(findings)
    if verdict == "ok" and _own_view_unread(probes):
        verdict = "unknown"
    return AgentRow(pod, own.install, dca.install if dca else None, True, endpoint, token, agent.token, connected,
                    version, tag, verdict, sort_findings(findings))


# What each kind of failed contact (DcaError.kind) can follow from, among the findings env-check
# reports before it, in the order the diagnosis names them: a 403 is a token that differs (or was
# changed under the running Agent); a 401 no token at all; an Agent refusing its own token a short
# one; anything that stops the Agent finding or reaching the DCA a problem of the endpoint.
_ENDPOINT_CAUSES = ("agent-dca-url-not-https", "agent-dca-service-missing", "agent-dca-endpoint-unset",
                    "agent-service-links-missing", "agent-dca-endpoint-stale", "agent-dca-other-install",
                    "agent-dca-service-mismatch", "dca-url-port-not-served", "dca-service-missing", "dca-service-selector-mismatch",
                    "dca-service-wrong-port", "dca-service-no-endpoints")
_CAUSES_BY_KIND: dict[str, tuple[str, ...]] = {
    "forbidden": ("token-mismatch", "agent-token-stale", "token-too-short"),
    "unauthorized": ("token-missing", "token-secret-missing", "token-secret-key-missing"),
    "token-too-short": ("token-too-short",),
    "no-endpoint": _ENDPOINT_CAUSES,
    "connection-refused": _ENDPOINT_CAUSES,
    "timeout": _ENDPOINT_CAUSES,
    "dns": _ENDPOINT_CAUSES,
    "other": _ENDPOINT_CAUSES,
}

# How to fix a root cause, said in the hint of each symptom it causes (the cause's own finding
# has the full fix and its verify command).
_CAUSE_FIXES = {
    "token-too-short": f"give the Agents and the Cluster Agent a token of {MIN_TOKEN_LENGTH}+ characters "
                       "(token-too-short), then restart both",
    "token-mismatch": "give the Agents and the Cluster Agent the same DD_CLUSTER_AGENT_AUTH_TOKEN (token-mismatch), "
                      "then restart both",
    "agent-token-stale": "restart the Agents so they read the current token (agent-token-stale)",
}


def _causes_of(kind: str, reported: dict[str, str]) -> tuple[str, ...]:
    """The reported findings (code -> hint) a failed contact of this kind follows from."""
    return tuple(c for c in _CAUSES_BY_KIND.get(kind, ()) if c in reported)


def _cause_hint(causes: tuple[str, ...], reported: dict[str, str]) -> str:
    """The symptom's hint: how to fix its causes."""
    return "; ".join(_CAUSE_FIXES.get(c) or f"{reported[c]} ({c})" for c in causes)


def _contact_findings(status: DcaStatus, log: TagCollectorLog | None, pod: Pod, status_cmd: str,
                      reported: dict[str, str]) -> list[Finding]:
    """What the Agent's failed contact with its DCA means, from the cause inside the error it reports.

    `agent status` says "Could not detect the Datadog Cluster Agent's endpoint" for any failure of the
    client's first contact (reference section 4): a 403 there means the Agent found the DCA and was
    refused. When the status hides the cause (the retrier's "try delay not elapsed yet", or a build
    that prints an empty section) the cause comes from the Agent's log, and the message says so."""
    subject = f"pod/{pod.namespace}/{pod.name}"
    log_err = dca_error(log.cause) if log is not None and log.cause else None
    err = status.error
    out: list[Finding] = []
    source = ""
    if status.silent:
        out.append(Finding(
            "agent-status-silent", Severity.WARNING, subject,
            "the Agent's status is silent: its Datadog Cluster Agent section is empty (this Agent build prints "
            "nothing when it cannot reach the Cluster Agent); "
            + ("the cause comes from its log" if log_err else "its log names no cause either"),
            "read the Agent's log for the Cluster Agent client's error", _log_cmd(pod)))
        err, source = log_err, "its status section is empty"
    elif err is not None and err.hidden:
        if log_err is None:
            out.append(Finding(
                "agent-dca-retrying", Severity.WARNING, subject,
                f"the Agent has not connected to the Cluster Agent and its status hides why (\"{err.detail}\": the "
                "client waits before its next attempt); its log names no cause",
                "run `agent status` again after the retry delay, or read the Agent's log from its start",
                _log_cmd(pod)))
            return out
        err, source = log_err, f"its status only says \"{err.detail}\""
    if err is None:
        return out
    note = f" (from the Agent's log: {source})" if source else ""
    cmd = _log_cmd(pod) if source else status_cmd
    url = err.url or status.endpoint or "?"
    causes = _causes_of(err.kind, reported)
    if err.kind == "no-endpoint":
        out.append(Finding("agent-dca-not-detected", Severity.ERROR, subject,
                           f"the Agent could not find the Cluster Agent's endpoint: {err.detail}{note}",
                           _cause_hint(causes, reported) if causes else "fix how the Agent finds the DCA (see the other findings)",
                           cmd, causes))
    elif err.kind in ("forbidden", "unauthorized"):
        why = ("the Agent's auth token is not the Cluster Agent's" if err.kind == "forbidden"
               else "the Agent sent no usable auth token")
        when = "at first contact" if err.first_contact else "after an earlier success (was a token changed?)"
        out.append(Finding("agent-dca-refused", Severity.ERROR, subject,
                           f"the Agent found the Cluster Agent at {url} and was refused {when}: {err.detail}: {why}{note}",
                           _cause_hint(causes, reported) if causes else
                           "give the Agents and the Cluster Agent the same DD_CLUSTER_AGENT_AUTH_TOKEN (one Secret), "
                           "then restart both", cmd, causes))
    elif err.kind == "token-too-short":
        if causes:
            # The token's own finding is the root cause; this is what it does to the Agent.
            out.append(Finding("agent-dca-unreachable", Severity.ERROR, subject,
                               "the Agent never calls the Cluster Agent: it refuses its own auth token: "
                               f"{err.detail}{note}", _cause_hint(causes, reported), cmd, causes))
        else:
            out.append(Finding("agent-token-rejected", Severity.ERROR, subject,
                               f"the Agent refuses its own auth token and never calls the Cluster Agent: {err.detail}{note}",
                               f"use a token of {MIN_TOKEN_LENGTH}+ characters a-zA-Z0-9 on both sides "
                               "(Helm: clusterAgent.token)", cmd))
    else:
        when = " at first contact" if err.first_contact else ""
        out.append(Finding("agent-dca-unreachable", Severity.ERROR, subject,
                           f"the Agent could not reach the Cluster Agent at {url}{when}: {err.detail}{note}",
                           _cause_hint(causes, reported) if causes else
                           "check the DCA Service's endpoints and port, and that the DCA pods are Ready "
                           "(see the other findings)", cmd, causes))
    return out


def _log_cmd(pod: Pod) -> str:
    return (f"kubectl -n {pod.namespace} logs {pod.name} -c agent | "
            "grep -iE 'tag collector|cluster agent|service mapping'")


def _token_state(agent: AgentData, dca: InstallData | None, dca_token_findings: list[Finding]) -> tuple[str, list[Finding]]:
    pod = agent.pod
    ref = agent.token
    owner = f"daemonset/{pod.namespace}/{pod.owner_name}" if pod.owner_kind == "DaemonSet" else f"pod/{pod.namespace}/{pod.name}"
    findings = _token_source_findings(ref, owner, "the Agent")
    running = agent.probes.env.token if agent.probes.env is not None else None
    value = ref.value
    if running is not None and value is not None and running != value:
        findings.append(Finding(
            "agent-token-stale", Severity.ERROR, f"pod/{pod.namespace}/{pod.name}",
            f"the running Agent's token ({running.fingerprint}) is not the one in {ref.describe} now "
            f"({value.fingerprint}): the Secret changed after the Agent started",
            "restart the Agents (and the Cluster Agent) so both read the current Secret",
            f"kubectl -n {pod.namespace} rollout restart daemonset {pod.owner_name}"))
    effective = running or value
    findings += dca_token_findings
    if ref.source == "missing" and running is None:
        return "missing", findings
    if effective is None or (ref.problem and (dca is None or dca.dca_token is None or dca.dca_token.value is None)):
        return (ref.problem or "unknown"), findings
    too_short = effective.length < MIN_TOKEN_LENGTH
    if too_short:
        shown = TokenRef(ref.source, ref.namespace, ref.name, ref.key, value=effective)
        findings.append(_too_short(shown, owner, "the Agent"))
    dca_tok = dca.dca_token if dca else None
    if dca_tok is None or dca_tok.value is None:
        return "too-short" if too_short else ("unknown" if dca is not None else "n/a"), findings
    if dca_tok.value != effective:
        # Reported even when the Agent's token is also too short: fixing the length alone (a new token
        # on one side) still leaves the two sides different, so both are problems of this run.
        findings.append(Finding(
            "token-mismatch", Severity.ERROR, owner,
            f"the Agent's auth token ({ref.describe}, {_fp(effective)}) differs from the Cluster Agent's "
            f"({dca_tok.describe}, {_fp(dca_tok.value)}): the DCA answers 403 invalid session token",
            "take DD_CLUSTER_AGENT_AUTH_TOKEN from the same Secret on both, then restart both",
            f"kubectl -n {pod.namespace} get pod {pod.name} -o jsonpath='{{.spec.containers[?(@.name==\"agent\")].env}}'"))
        return "too-short" if too_short else "mismatch", findings
    if too_short:
        return "too-short", findings
    if dca_token_findings:
        return "unknown" if dca_tok.value.length >= MIN_TOKEN_LENGTH else "too-short", findings
    return "ok", findings


def _own_view_unread(probes: AgentProbes) -> bool:
    """The Agent's own view was asked for (exec allowed, pod running) and neither its status nor its
    log could be read: the checks from the specs alone cannot tell that it reaches the DCA."""
    status_failed = probes.status_probe is not None and not probes.status_probe.ok
    return status_failed and (probes.log_probe is None or not probes.log_probe.ok)


def _verdict(findings: list[Finding]) -> str:
    sev = worst(findings)
    return {Severity.ERROR: "error", Severity.WARNING: "warning"}.get(sev, "ok")


# --- grouping ---------------------------------------------------------------------------------

def group_findings(rows: tuple[AgentRow, ...]) -> tuple[Finding, ...]:
    """One finding per distinct problem, not per Agent: identical findings of several Agents become one
    naming how many (and which) Agents, with the DaemonSet (or namespace) as subject."""
    by_key: dict[tuple[str, Severity, str, str, str, tuple[str, ...]], list[tuple[Finding, Pod]]] = {}
    for row in rows:
        for f in row.findings:
            by_key.setdefault((f.code, f.severity, f.subject if not f.subject.startswith("pod/") else "pod",
                               f.message, f.hint, f.caused_by), []).append((f, row.pod))
    out: list[Finding] = []
    for (code, sev, subj, message, hint, caused_by), items in by_key.items():
        first = items[0][0]
        pods = sorted({p.name for _, p in items})
        if subj != "pod" or len(pods) == 1:
            out.append(first)
            continue
        owners = {(p.namespace, p.owner_kind, p.owner_name) for _, p in items}
        if len(owners) == 1:
            ns, kind, name = next(iter(owners))
            subject = f"{kind.lower()}/{ns}/{name}" if kind else f"namespace/{ns}"
        else:
            nss = sorted({p.namespace for _, p in items})
            subject = f"namespace/{nss[0]}" if len(nss) == 1 else "cluster"
        shown = ", ".join(pods[:3]) + (f" and {len(pods) - 3} more" if len(pods) > 3 else "")
        out.append(Finding(code, sev, subject, f"{len(pods)} Agents ({shown}): {message}", hint, first.command,
                           caused_by))
    return sort_findings(out)


def explain(snap: EnvCheckSnapshot, *, now: datetime) -> EnvCheckReport:
    """`now` is unused today (creation times are compared with each other) but kept for the shared
    diagnose signature."""
    del now
    install_findings = {i: _install_findings(d, snap.namespaces.get(d.install.namespace))
                        for i, d in enumerate(snap.installs)}
    rows = tuple(check_agent(a, snap, install_findings) for a in snap.agents)
    return EnvCheckReport(rows, sort_findings([*group_findings(rows), *_installs_without_agents(snap, rows),
                                               *discovery_findings(d.install for d in snap.installs)]), snap)


def _installs_without_agents(snap: EnvCheckSnapshot, rows: tuple[AgentRow, ...]) -> list[Finding]:
    """A Cluster Agent that no node Agent of its own install and no checked Agent uses: a DCA-only
    render, or Agents deployed in another namespace. Nothing to check there; not a failure to run."""
    out = []
    for data in snap.installs:
        inst = data.install
        if inst.agent_pods or not inst.dca_pods or any(r.dca_install is inst for r in rows):
            continue
        out.append(Finding(
            "no-node-agents", Severity.WARNING, f"deployment/{inst.namespace}/{inst.dca_deployment}",
            f"this install runs no node Agents (none found in the namespace {inst.namespace}, none elsewhere uses "
            "its Cluster Agent), so there is nothing to check; the Cluster Agent has no clients",
            "deploy the node Agents (Helm: agents.enabled=true), or pass --agent-selector/--install-namespace if "
            "yours run elsewhere or are labelled differently",
            "kubectl get daemonsets -A | grep -i datadog"))
    return out
