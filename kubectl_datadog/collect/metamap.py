"""Collect what `metamap` needs: the pod -> services map computed from the API the way the DCA's
metadata controller does, and/or the DCA's own `metamap` answer from the leader pod.

Large clusters are the normal case (thousands of nodes, a hundred thousand endpoints), so the
Endpoints/EndpointSlices are listed page by page and each item is reduced to (node, namespace,
pod, service) entries as it arrives; the raw dicts are dropped with their page, and filters
(NODE, -n, --pod) apply while streaming so memory follows the answer, not the cluster.

What the DCA maps (reference 2.1, datadog-agent metadata_controller.go):
- Endpoints mode: `subsets[].addresses[]` (ready addresses) whose targetRef is a Pod with a name
  and namespace, and that carry a nodeName. `notReadyAddresses` are not mapped (the reference's
  DCA); newer DCAs map them too, so they are kept aside (`not_ready`) to explain such a difference
  instead of calling it stale. Addresses without targetRef (old leader-election Endpoints) are
  skipped.
- EndpointSlice mode: slices labelled `kubernetes.io/service-name`; every `endpoints[]` entry with
  a Pod targetRef, whatever its `conditions.ready` (the DCA does not check it), and a nodeName
  (the DCA files nodeName-less entries under the node "", which no node ever asks for).
Nodes come from the API's node list: a node with no entry shows as an empty node, like the DCA's.
"""

from __future__ import annotations

import gc
import sys
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from kubectl_datadog.cluster import ENDPOINTS, ENDPOINTSLICES, NODES, Cluster
from kubectl_datadog.collect import gather, start
from kubectl_datadog.collect.request import Request
from kubectl_datadog.errors import Forbidden, NoInstall, NotFound, PluginError
from kubectl_datadog.objects import endpoint_ready
from kubectl_datadog.snapshots.metamap import (
    ApiMap,
    DcaAnswer,
    Filters,
    MetamapSnapshot,
)
from kubectl_datadog.textformats.metamap import (
    MetaMap,
    MetamapParseError,
    parse_metamap,
)

if TYPE_CHECKING:
    from kubectl_datadog.install import Install
    from kubectl_datadog.objects import Pod

# Discovery, leader lock and exec (collect.install/leader/exec and the object model, ~30 ms of
# imports) are imported where they are used: `metamap --mode ... --source api` never needs them.

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MODES = ("auto", "endpoints", "endpointslices")
SOURCES = ("api", "dca", "both")
NODE_PAGE = 2000  # metadata-only Nodes are ~2 KB each: fewer round trips, pages still bounded

# (node, namespace, pod, service, ready)
Entry = tuple[str, str, str, str, bool]


def endpoints_entries(obj: Mapping[str, Any], skipped: Counter[str] | None = None) -> list[Entry]:
    """The entries one Endpoints object gives the DCA (ready=False for notReadyAddresses).

    Written as one flat loop returning a list: at 100,000 addresses a generator and a helper call
    per address cost more than the reduction itself (profiled with bench-scale)."""
    svc = (obj.get("metadata") or {}).get("name") or ""
    out: list[Entry] = []
    append = out.append
    no_ref = no_node = 0
    for subset in obj.get("subsets") or ():
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for addr in subset.get(key) or ():
                ref = addr.get("targetRef")
                if not isinstance(ref, dict) or ref.get("kind") != "Pod":
                    no_ref += 1
                    continue
                ns, pod = ref.get("namespace"), ref.get("name")
                if not ns or not pod:
                    no_ref += 1
                    continue
                node = addr.get("nodeName")
                if not node:
                    no_node += 1
                    continue
                append((node, ns, pod, svc, ready))
    _count(skipped, no_ref, no_node)
    return out


def slice_entries(obj: Mapping[str, Any], skipped: Counter[str] | None = None) -> list[Entry]:
    """The entries one EndpointSlice gives the DCA; `ready` is reported, not filtered on."""
    svc = ((obj.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) or ""
    if not svc:
        if skipped is not None:
            skipped["sliceWithoutServiceName"] += 1
        return []
    out: list[Entry] = []
    append = out.append
    no_ref = no_node = 0
    for ep in obj.get("endpoints") or ():
        ref = ep.get("targetRef")
        if not isinstance(ref, dict) or ref.get("kind") != "Pod":
            no_ref += 1
            continue
        ns, pod = ref.get("namespace"), ref.get("name")
        if not ns or not pod:
            no_ref += 1
            continue
        node = ep.get("nodeName")
        if not node:
            no_node += 1
            continue
        append((node, ns, pod, svc, endpoint_ready(ep)))
    _count(skipped, no_ref, no_node)
    return out


def _count(skipped: Counter[str] | None, no_ref: int, no_node: int) -> None:
    if skipped is not None:
        if no_ref:
            skipped["noPodTargetRef"] += no_ref
        if no_node:
            skipped["noNodeName"] += no_node


def reduce_into(target: ApiMap, items: Iterable[Mapping[str, Any]], filters: Filters) -> None:
    """Stream list items into the map: nothing of an item outlives this loop iteration."""
    entries: Callable[[Mapping[str, Any], Counter[str]], list[Entry]] = (
        slice_entries if target.mode == "endpointslices" else endpoints_entries)
    include_not_ready = target.mode == "endpointslices"
    keep = filters.keep if filters.active else None
    add = target.map.add
    skipped = target.skipped
    for obj in items:
        target.objects += 1
        for node, ns, pod, svc, ready in entries(obj, skipped):
            if keep is not None and not keep(node, ns, pod):
                continue
            if ready or include_not_ready:
                add(node, ns, pod, svc)
            else:
                target.not_ready.add((sys.intern(node), sys.intern(ns), pod, sys.intern(svc)))


FREEZE_MIN_NODES_OR_PODS = 20_000


def _big(m: MetaMap) -> bool:
    """A map worth freezing (see collect_metamap): the small maps of tests and small clusters
    never are, so a process that goes on (the test suite) keeps collecting them."""
    if len(m.nodes) >= FREEZE_MIN_NODES_OR_PODS:
        return True
    return sum(len(pods) for nss in m.nodes.values() for pods in nss.values()) >= FREEZE_MIN_NODES_OR_PODS


def compute_api_map(cluster: Cluster, mode: str, filters: Filters, fallback_namespace: str | None = None) -> ApiMap:
    """List nodes (names only) and Endpoints/EndpointSlices concurrently, reducing as the pages come.
    A user who may not list them at the cluster scope gets the map of `fallback_namespace`."""
    resource = ENDPOINTSLICES if mode == "endpointslices" else ENDPOINTS
    result = ApiMap(mode, MetaMap(), None)

    def objects() -> None:
        try:
            # Forbidden comes with the first page, before anything is reduced.
            reduce_into(result, cluster.list(resource, filters.namespace), filters)
        except Forbidden as denied:
            if filters.namespace is not None or not fallback_namespace:
                raise
            result.scope_forbidden = denied
            try:
                reduce_into(result, cluster.list(resource, fallback_namespace),
                            replace(filters, namespace=fallback_namespace))
            except Forbidden as also_denied:
                also_denied.message = (f"forbidden: cannot list {resource.display} at the cluster scope, nor in the "
                                       f"namespace {fallback_namespace} (from -n or the context)")
                also_denied.hint = f"check with: kubectl auth can-i list {resource.display} --all-namespaces"
                raise

    def node_names() -> frozenset[str]:
        # Only the names are read: a metadata-only list is about half the bytes of full Nodes
        # (no status, images or conditions) for the server to encode and for us to decode.
        fs = f"metadata.name={filters.node}" if filters.node else ""
        return frozenset(sys.intern((o.get("metadata") or {}).get("name") or "")
                         for o in cluster.list(NODES, field_selector=fs, metadata_only=True, page_size=NODE_PAGE))

    calls: dict[str, Callable[[], Any]] = {"objects": objects}
    if not filters.narrowed:
        calls["nodes"] = node_names
    got = gather(calls)
    got["objects"].require()  # without the endpoints there is no map: Forbidden is the caller's
    if "nodes" in got and result.scope_forbidden is None:  # one namespace's map: its empty nodes answer nothing
        fetched = got["nodes"]
        if fetched.forbidden is not None:
            result.nodes_forbidden = fetched.forbidden
        else:
            result.nodes = fetched.get()
            for name in sorted(result.nodes or ()):
                result.map.add_node(name)
    return result


def choose_dca_pod(cluster: Cluster, install: Install) -> tuple[Pod | None, str]:
    """The leader, found through the lock the DCA uses (the leader command's lock reading);
    otherwise the first Running and Ready replica, saying why."""
    from kubectl_datadog.collect.leader import leases_served, lock_kind, read_lock

    s = install.settings
    running = [p for p in install.dca_pods if p.phase == "Running" and not p.deleting]
    fallback = next((p for p in running if p.ready), None)
    why = "no replica is Running and Ready"
    if s is not None and s.leader_election:
        kind = lock_kind(s.lock_resource, leases_served(cluster) if not s.lock_resource else None)
        other = "ConfigMap" if kind == "Lease" else "Lease"
        try:
            locks = [read_lock(cluster, k, s.resources_namespace, s.lease_name) for k in (kind, other)]
        except PluginError as exc:
            locks = []
            why = f"cannot read the leader lock ({exc.message})"
        holder = next((lk.holder for lk in locks if lk.holder), "")
        forbidden = next((lk.forbidden for lk in locks if lk.forbidden is not None), None)
        leader = next((p for p in running if p.name == holder), None)
        if leader is not None:
            return leader, "leader"
        if holder:
            why = f"the lock holder {holder} is not a running Cluster Agent pod"
        elif forbidden is not None:
            why = f"cannot read the leader lock ({forbidden.message})"
        elif locks:
            why = "the lock names no leader"
    elif s is not None:
        why = "leader election is disabled"
    if fallback is not None:
        return fallback, f"{why}; used a Ready replica"
    return None, why


def ask_dca(cluster: Cluster, timeout: float | None, install: Install, node: str | None,
            with_mapper: bool = False) -> DcaAnswer:
    from kubectl_datadog.collect.exec import run_dca_cli

    pod, why = choose_dca_pod(cluster, install)
    if pod is None:
        return DcaAnswer("", why, None, None)
    chosen = pod
    # What the DCA needs for its map, and its log, are read while the exec runs.
    from kubectl_datadog.collect.mapper import check_mapper

    mapper = start({"mapper": lambda: check_mapper(cluster, install, chosen)}) if with_mapper else None
    args = ["metamap"] + ([node] if node else [])
    outcome = run_dca_cli(cluster, install, pod, args, timeout=timeout)
    checks = mapper.results()["mapper"].get() if mapper is not None else None
    ref = f"{pod.namespace}/{pod.name}"
    if not outcome.ok:
        return DcaAnswer(ref, why, outcome, None, mapper=checks)
    try:
        return DcaAnswer(ref, why, outcome, parse_metamap(outcome.stdout), mapper=checks)
    except MetamapParseError as exc:
        return DcaAnswer(ref, why, outcome, None, str(exc), mapper=checks)


def resolve_mode(requested: str, install: Install | None) -> tuple[str, str]:
    if requested != "auto":
        return requested, "--mode"
    if install is not None and install.settings is not None:
        on = install.settings.use_endpoint_slices
        return ("endpointslices" if on else "endpoints",
                f"DD_KUBERNETES_USE_ENDPOINT_SLICES={'true' if on else 'false'} on the Cluster Agent")
    return "endpoints", "no Cluster Agent found: the agent's default (Endpoints)"


def collect_metamap(cluster: Cluster, opts: Request, *, source: str, mode: str, filters: Filters) -> MetamapSnapshot:
    install: Install | None = None
    install_forbidden: Forbidden | None = None
    if source != "api" or mode == "auto":
        from kubectl_datadog.collect.install import discover, pick_install, require_installs

        try:
            installs = discover(cluster, namespace=opts.install_namespace, dca_selector=opts.dca_selector,
                                agent_selector=opts.agent_selector, need_agents=False,
                                fallback_namespace=opts.namespace_in(cluster))
            if source != "api":  # only a map from the DCA needs the install: say what is left of it
                installs = require_installs(cluster, installs, opts.install_namespace)
            install = pick_install(installs)
        except NoInstall:
            if source != "api":
                raise
        except Forbidden as denied:  # may look for the install nowhere: the API's map needs none
            if source != "api":
                raise
            install_forbidden = denied
        if source != "api" and (install is None or not install.dca_pods):
            raise NoInstall("no Cluster Agent pod found, so there is no DCA to ask for its map",
                            hint="use --source api, or pass --install-namespace/--dca-selector")
    used_mode, reason = resolve_mode(mode, install)
    if install_forbidden is not None:
        reason = f"could not look for the Cluster Agent ({install_forbidden.message}): the agent's default (Endpoints)"

    calls: dict[str, Callable[[], Any]] = {}
    if source in ("api", "both"):
        fallback = opts.namespace_in(cluster)
        calls["api"] = lambda: compute_api_map(cluster, used_mode, filters, fallback)
    if source in ("dca", "both"):
        assert install is not None
        calls["dca"] = lambda: ask_dca(cluster, opts.request_timeout, install, filters.node,
                                       with_mapper=source == "both")
    # The pages decode into hundreds of thousands of short-lived dicts and the maps into as many
    # long-lived sets and dicts, none of them in a cycle: the cyclic collector would only walk
    # them over and over (about a third of the reduction's time at 100,000 endpoints), so it
    # stays off while the lists are read and the DCA's answer parsed. A large map then lives
    # until the command exits: freezing it keeps the collections triggered by rendering
    # (another few hundred thousand containers) from walking it again (~2x on -o json's
    # rendering, measured).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        got = gather(calls)
        if any(_big(f.value.map) for f in got.values() if f.value is not None and f.value.map is not None):
            gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
    api = api_forbidden = None
    if "api" in got:
        if source == "both" and got["api"].forbidden is not None:
            api_forbidden = got["api"].forbidden
        else:
            api = got["api"].require()
    dca = got["dca"].require() if "dca" in got else None
    if source == "api" and api is not None and filters.node and api.nodes is not None and not api.nodes \
            and not api.map.nodes:
        raise NotFound(f'node "{filters.node}" not found', hint="list them with: kubectl get nodes")
    if api is not None and api.scope_forbidden is not None:
        filters = replace(filters, namespace=opts.namespace_in(cluster))  # the DCA's map is compared on it too
    return MetamapSnapshot(source, filters, used_mode if api is not None or api_forbidden else "", reason,
                           install, api, api_forbidden, dca, install_forbidden)
