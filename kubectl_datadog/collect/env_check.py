"""Collect what `env-check` needs: every install's node Agents and Cluster Agent, the Services and
EndpointSlices of their namespaces, the auth-token Secrets (reduced to SecretValues at once), and,
per Agent with bounded concurrency, its `agent status` and real `env` (one exec) and its log.

Several installs: unlike `leader`, env-check checks every install it finds (each Agent against the
DCA of its own install), because "two installs in one cluster" is one of the things it must judge;
`--install-namespace` narrows it to one.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from kubectl_datadog.cluster import ENDPOINTSLICES, PODS, SECRETS, SERVICES, Cluster
from kubectl_datadog.collect import Fetched, gather
from kubectl_datadog.collect.exec import (
    ExecOutcome,
    new_marker,
    run_agent_cli,
    run_agent_status_and_env,
)
from kubectl_datadog.collect.install import agent_env, dca_env, discover, require_installs
from kubectl_datadog.collect.request import Request
from kubectl_datadog.errors import Forbidden, NotFound, PluginError
from kubectl_datadog.install import AGENT_CONTAINER
from kubectl_datadog.model import SecretValue
from kubectl_datadog.objects import EnvVar, Pod, Service, endpoint_ready, secret_values
from kubectl_datadog.snapshots.env_check import (
    AgentData,
    AgentProbes,
    EnvCheckSnapshot,
    InstallData,
    NamespaceObjects,
    Probe,
    ReadyEndpoint,
    TokenRef,
)
from kubectl_datadog.textformats.agent_status import (
    dca_status,
    process_env,
    tag_collector_log,
)

TOKEN_ENV = "DD_CLUSTER_AGENT_AUTH_TOKEN"
DEFAULT_MAX_CONCURRENCY = 16  # per-Agent execs and log reads in flight; `xargs -P 10` is the usual script


@dataclass(frozen=True)
class EnvCheckOptions:
    pod: str | None = None
    node: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    since_seconds: int | None = None
    tail_lines: int | None = 2000
    logs: bool = True


# --- tokens -----------------------------------------------------------------------------------

def token_ref(env: Mapping[str, EnvVar], envfrom: Iterable[EnvVar], namespace: str) -> TokenRef:
    var = env.get(TOKEN_ENV)
    if var is None:
        # envFrom: a Secret/ConfigMap whose keys become env vars (with an optional prefix).
        for src in envfrom:
            key = src.env_from_key(TOKEN_ENV)
            if key is not None and src.source in ("secret", "configmap"):
                return TokenRef(src.source, namespace, src.ref_name, key)
        return TokenRef("missing")
    if var.source in ("secret", "configmap"):
        return TokenRef(var.source, namespace, var.ref_name, var.ref_key)
    if var.source == "value":
        return TokenRef("value", value=SecretValue(var.value or ""))
    return TokenRef(var.source)


def _envfrom(pod: Pod, container: str) -> list[EnvVar]:
    c = pod.container(container)
    return [e for e in (c.env if c else ()) if e.is_env_from]


def _read_token_source(cluster: Cluster, kind: str, namespace: str, name: str) -> dict[str, SecretValue]:
    """Read a Secret or ConfigMap and keep only SecretValues: the raw data never leaves here."""
    from kubectl_datadog.cluster import CONFIGMAPS

    obj = cluster.get(SECRETS if kind == "secret" else CONFIGMAPS, name, namespace)
    if obj is None:
        raise NotFound(f"{kind} {namespace}/{name} not found")
    if kind == "secret":
        return secret_values(obj)
    return {key: SecretValue(str(text)) for key, text in (obj.get("data") or {}).items()}


def _resolve_tokens(cluster: Cluster, refs: Iterable[TokenRef]) -> dict[tuple[str, str, str], Fetched[Any]]:
    wanted = sorted({(r.source, r.namespace, r.name) for r in refs if r.source in ("secret", "configmap") and r.name})
    got = gather({f"{s}/{ns}/{n}": (lambda s=s, ns=ns, n=n: _read_token_source(cluster, s, ns, n))
                  for s, ns, n in wanted})
    return {(s, ns, n): got[f"{s}/{ns}/{n}"] for s, ns, n in wanted}


def _with_value(ref: TokenRef, got: Mapping[tuple[str, str, str], Fetched[Any]]) -> TokenRef:
    if ref.source not in ("secret", "configmap") or not ref.name:
        return ref
    fetched = got[(ref.source, ref.namespace, ref.name)]
    if fetched.forbidden is not None:
        return TokenRef(ref.source, ref.namespace, ref.name, ref.key, problem="forbidden", forbidden=fetched.forbidden)
    if isinstance(fetched.error, NotFound):
        return TokenRef(ref.source, ref.namespace, ref.name, ref.key, problem="not-found")
    if fetched.error is not None:
        raise fetched.error
    value = (fetched.value or {}).get(ref.key)
    if value is None:
        return TokenRef(ref.source, ref.namespace, ref.name, ref.key, problem="key-missing")
    return TokenRef(ref.source, ref.namespace, ref.name, ref.key, value=value)


# --- services and endpoints -------------------------------------------------------------------

def _ready_endpoints(slices: Iterable[Mapping[str, Any]]) -> dict[str, tuple[ReadyEndpoint, ...]]:
    out: dict[str, list[ReadyEndpoint]] = {}
    for sl in slices:
        svc = ((sl.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name")
        if not svc:
            continue
        ports = tuple((p.get("name") or "", int(p.get("port") or 0)) for p in sl.get("ports") or [])
        for ep in sl.get("endpoints") or []:
            ready = endpoint_ready(ep)
            ref = ep.get("targetRef") or {}
            for ip in ep.get("addresses") or []:
                out.setdefault(svc, []).append(ReadyEndpoint(ip, ref.get("name", "") if ref.get("kind") == "Pod"
                                                             else "", ready, ports))
    return {k: tuple(v) for k, v in out.items()}


def _namespace_objects(cluster: Cluster, namespaces: Iterable[str]) -> dict[str, NamespaceObjects]:
    nss = sorted(set(namespaces))
    calls: dict[str, Callable[[], Any]] = {}
    for ns in nss:
        calls[f"svc/{ns}"] = lambda ns=ns: [Service.from_dict(o) for o in cluster.list(SERVICES, ns)]
        calls[f"eps/{ns}"] = lambda ns=ns: _ready_endpoints(cluster.list(ENDPOINTSLICES, ns))
    got = gather(calls)
    out = {}
    for ns in nss:
        svcs, eps = got[f"svc/{ns}"], got[f"eps/{ns}"]
        out[ns] = NamespaceObjects(ns, {s.name: s for s in svcs.get() or []}, svcs.forbidden,
                                   eps.get() or {}, eps.forbidden)
    return out


def url_namespace(url: str, default: str) -> str | None:
    """The namespace a DD_CLUSTER_AGENT_URL's host names (`svc.ns[.svc...]`), if it is a DNS name."""
    text = url if "://" in url else "https://" + url
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return None
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return None
    labels = host.split(".")
    return labels[1] if len(labels) > 1 else default


# --- per-Agent probes, with bounded concurrency -----------------------------------------------

def _outcome_probe(outcome: ExecOutcome) -> tuple[str, Probe]:
    if outcome.forbidden is not None:
        return "", Probe(False, "exec is forbidden", outcome.forbidden, outcome.command)
    return (outcome.stdout if outcome.ok else ""), Probe(outcome.ok, outcome.problem, None, outcome.command)


def _env_outcome(cluster: Cluster, pod: Pod, timeout: float | None) -> ExecOutcome:
    name, argv = f"{pod.namespace}/{pod.name}", ("env",)
    try:
        return ExecOutcome(name, AGENT_CONTAINER, argv,
                           cluster.exec(pod.namespace, pod.name, AGENT_CONTAINER, argv, timeout=timeout))
    except Forbidden as exc:
        return ExecOutcome(name, AGENT_CONTAINER, argv, None, exc)


def _exec_probes(cluster: Cluster, pod: Pod, timeout: float | None, no_shell: set[str],
                 marker: str) -> tuple[tuple[str, Probe], tuple[str, Probe]]:
    """The Agent's `agent status` and `env`: one exec through /bin/sh; two when its image has no
    shell (remembered per image, so a shell-less fleet pays the failed try about once)."""
    c = pod.container(AGENT_CONTAINER)
    image = c.image if c else ""
    if image not in no_shell:
        both = run_agent_status_and_env(cluster, pod, timeout, marker)
        if both is not None:
            return _outcome_probe(both[0]), _outcome_probe(both[1])
        no_shell.add(image)
    status = run_agent_cli(cluster, pod, ["status"], timeout=timeout)
    if status.forbidden is not None:  # the same verb on the same pod: do not ask twice
        return _outcome_probe(status), _outcome_probe(ExecOutcome(status.pod, AGENT_CONTAINER, ("env",), None,
                                                                  status.forbidden))
    return _outcome_probe(status), _outcome_probe(_env_outcome(cluster, pod, timeout))


def _log_probe(cluster: Cluster, pod: Pod, since: int | None, tail: int | None) -> tuple[str, Probe]:
    command = (f"kubectl -n {pod.namespace} logs {pod.name} -c {AGENT_CONTAINER}"
               + (f" --since={since}s" if since else "") + (f" --tail={tail}" if tail is not None else "")
               + " | grep -iE 'cluster agent|tag collector'")
    try:
        return cluster.logs(pod.namespace, pod.name, AGENT_CONTAINER, since_seconds=since, tail_lines=tail), \
            Probe(True, "", None, command)
    except Forbidden as exc:
        return "", Probe(False, "reading logs is forbidden", exc, command)
    except PluginError as exc:
        return "", Probe(False, f"no logs: {exc.message}", None, command)


# Told (done, total) each time every probe of one Agent has finished; the pipeline shows it.
AgentsProgress = Callable[[int, int], None]


def probe_agents(cluster: Cluster, timeout: float | None, pods: list[Pod], opts: EnvCheckOptions, *,
                 exec_enabled: bool, progress: AgentsProgress | None = None) -> dict[str, AgentProbes]:
    """Per running Agent, one exec task (`agent status` and `env`, see _exec_probes) and one log
    task, on a pool of `max_concurrency` workers: at most that many execs/log streams are open at
    once. Each result is parsed in its worker, so no raw output (the env holds secrets) is kept."""
    no_shell: set[str] = set()
    marker = new_marker()
    tasks: list[tuple[str, Callable[[], dict[str, Any]]]] = []

    def exec_task(pod: Pod) -> dict[str, Any]:
        (status_text, status_probe), (env_text, env_probe) = _exec_probes(cluster, pod, timeout, no_shell, marker)
        return {"status": dca_status(status_text) if status_probe.ok else None, "status_probe": status_probe,
                "env": process_env(env_text) if env_probe.ok else None, "env_probe": env_probe}

    def log_task(pod: Pod) -> dict[str, Any]:
        text, probe = _log_probe(cluster, pod, opts.since_seconds, opts.tail_lines)
        return {"log": tag_collector_log(text) if probe.ok else None, "log_probe": probe}

    for pod in pods:
        if pod.phase != "Running" or pod.deleting:
            continue
        key = f"{pod.namespace}/{pod.name}"
        if exec_enabled:
            tasks.append((key, lambda p=pod: exec_task(p)))
        if opts.logs:
            tasks.append((key, lambda p=pod: log_task(p)))
    remaining: dict[str, int] = {}
    for key, _ in tasks:
        remaining[key] = remaining.get(key, 0) + 1
    total = len(remaining)
    finished_agents: list[str] = []
    results: dict[str, dict[str, Any]] = {key: {} for key in remaining}
    lock = threading.Lock()

    def run(key: str, fn: Callable[[], dict[str, Any]]) -> None:
        got = fn()
        with lock:
            results[key].update(got)
            remaining[key] -= 1
            if remaining[key] == 0:
                finished_agents.append(key)
                if progress is not None:  # under the lock: the counts reach it in order
                    progress(len(finished_agents), total)

    if tasks:
        with ThreadPoolExecutor(max_workers=max(1, min(opts.max_concurrency, len(tasks)))) as pool:
            for fut in [pool.submit(run, *t) for t in tasks]:
                fut.result()
    return {key: AgentProbes(**fields) for key, fields in results.items()}


# --- the whole collection ---------------------------------------------------------------------

def _select_node(cluster: Cluster, request: Request, opts: EnvCheckOptions) -> tuple[str | None, str]:
    if opts.pod:
        ns = request.namespace_in(cluster)
        obj = cluster.get(PODS, opts.pod, ns)
        if obj is None:
            raise NotFound(f'pod "{opts.pod}" not found in the namespace "{ns}"',
                           hint="pass -n NAMESPACE for a pod in another namespace")
        pod = Pod.from_dict(obj)
        if not pod.node:
            raise NotFound(f"pod {ns}/{opts.pod} is not scheduled on a node yet")
        return pod.node, f"pod {ns}/{opts.pod} (node {pod.node})"
    if opts.node:
        return opts.node, f"node {opts.node}"
    return None, "all"


def collect_env_check(cluster: Cluster, request: Request, opts: EnvCheckOptions,
                      progress: AgentsProgress | None = None) -> EnvCheckSnapshot:
    node, selection = _select_node(cluster, request, opts)
    # -n is the POD's namespace when POD is given; otherwise it narrows the installs, as in `leader`.
    scope = request.install_namespace or (None if opts.pod else request.namespace)
    installs = require_installs(cluster, discover(cluster, namespace=scope, dca_selector=request.dca_selector,
                                                  agent_selector=request.agent_selector,
                                                  fallback_namespace=request.namespace_in(cluster)), scope)
    chosen: list[tuple[int, Pod]] = []
    for idx, inst in enumerate(installs):
        chosen += [(idx, p) for p in inst.agent_pods if node is None or p.node == node]
    if not chosen and node is not None:
        raise NotFound(f"no node Agent pod found on node {node}",
                       hint="check the node name, or pass --agent-selector if your Agents are labelled differently")
    if not chosen:
        # A DCA-only install (or Agents elsewhere) is a state to report, not a failure to run:
        # nothing per Agent to read, so the diagnosis judges the install alone.
        return EnvCheckSnapshot(tuple(InstallData(inst, None) for inst in installs), (), {}, selection,
                                request.exec_allowed, opts.logs, opts.since_seconds, opts.tail_lines)

    agent_refs = {}
    for _, pod in chosen:
        agent_refs[(pod.namespace, pod.name)] = token_ref(agent_env(pod), _envfrom(pod, AGENT_CONTAINER),
                                                          pod.namespace)
    dca_refs: dict[int, TokenRef] = {}
    for idx, inst in enumerate(installs):
        if inst.dca_pods:
            dca_refs[idx] = token_ref(dca_env(inst), _envfrom(inst.dca_pods[0], inst.dca_container), inst.namespace)

    namespaces = {inst.namespace for inst in installs} | {p.namespace for _, p in chosen}
    for _, pod in chosen:
        url = agent_env(pod).get("DD_CLUSTER_AGENT_URL")
        if url is not None and url.value:
            other = url_namespace(url.value, pod.namespace)
            if other:
                namespaces.add(other)

    phase = gather({"tokens": lambda: _resolve_tokens(cluster, [*agent_refs.values(), *dca_refs.values()]),
                    "objects": lambda: _namespace_objects(cluster, namespaces)})
    got_tokens: dict[tuple[str, str, str], Fetched[Any]] = phase["tokens"].require()
    ns_objects = phase["objects"].require()

    probes = probe_agents(cluster, request.request_timeout, [p for _, p in chosen], opts,
                          exec_enabled=request.exec_allowed, progress=progress) \
        if (request.exec_allowed or opts.logs) else {}

    agents = tuple(
        AgentData(pod, idx, agent_env(pod), _with_value(agent_refs[(pod.namespace, pod.name)], got_tokens),
                  probes.get(f"{pod.namespace}/{pod.name}", AgentProbes()))
        for idx, pod in sorted(chosen, key=lambda t: (t[1].node, t[1].namespace, t[1].name)))
    install_data = tuple(InstallData(inst, _with_value(dca_refs[i], got_tokens) if i in dca_refs else None)
                         for i, inst in enumerate(installs))
    return EnvCheckSnapshot(install_data, agents, ns_objects, selection, request.exec_allowed, opts.logs,
                            opts.since_seconds, opts.tail_lines)
