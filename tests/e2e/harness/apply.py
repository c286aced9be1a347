"""Applying a scenario (tests/scenarios/<name>/) to a live harness cluster.

Order: namespaces, CRDs (wait Established), everything else by kind (owners before the objects
they own), nodes, pods. Then statuses through the status subresource, kwok Exec/Logs objects for
every pod, and the external-metrics provider behind the scenario's APIService.

What the real cluster produces itself is not applied: Endpoints/EndpointSlices of a Service with a
selector come from the endpoints controllers, HPA status from the HPA controller (the fixture's is
written first and then overwritten), APIService conditions from the aggregator.
"""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .cluster import HOLD_LABEL
from .dca import start_running_dcas
from .kube import ApiError
from .metrics import ExternalMetricsServer
from .webhook import prepare_objects, start_webhook
from .procs import log
from .scenario import (FIXTURE_NOW, Scenario, cluster_ip_map, load_scenario, map_strings, ref, replace_ips,
                       shift_delta, shift_text, shift_unix_ts, strip_server_metadata)

EXTERNAL_METRICS_APISERVICE = "v1beta1.external.metrics.k8s.io"
_KIND_ORDER = {
    "Namespace": 0, "CustomResourceDefinition": 1,
    "ClusterRole": 2, "Role": 2, "ClusterRoleBinding": 3, "RoleBinding": 3, "ServiceAccount": 3,
    "ConfigMap": 4, "Secret": 4, "Lease": 4, "PriorityClass": 4,
    "Service": 5, "Endpoints": 6, "EndpointSlice": 6,
    "Deployment": 7, "DaemonSet": 7, "StatefulSet": 7, "CronJob": 7,
    "ReplicaSet": 8, "Job": 8, "ControllerRevision": 8,
    "HorizontalPodAutoscaler": 9, "APIService": 9,
    "Node": 20, "Pod": 21, "MutatingWebhookConfiguration": 25, "Event": 30,
}
# Statuses not copied from the fixture: Pod/Node are written as a kubelet would (below); the
# apiserver owns Namespace/CRD status; the real HPA controller and the aggregator compute HPA and
# APIService status (so `824/9 (avg)` is the controller's own arithmetic, not a fixture's).
_NO_STATUS_WRITE = {"Pod", "Node", "Namespace", "CustomResourceDefinition", "HorizontalPodAutoscaler",
                    "APIService"}
_pod_ip_counter = [0]


@dataclass
class Applied:
    """What apply_scenario did (returned to the caller, kept on the cluster)."""
    scenario: Scenario
    created: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)   # ref -> why
    ip_map: dict[str, str] = field(default_factory=dict)
    delta: dt.timedelta = dt.timedelta(0)
    seconds: float = 0.0


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply_scenario(cluster, name_or_dir) -> Applied:
    t0 = time.monotonic()
    sc = load_scenario(name_or_dir)
    log(f"applying scenario {sc.name} ({len(sc.objects)} objects)…")
    res = Applied(sc, delta=shift_delta(), ip_map=cluster_ip_map(sc.objects, cluster.service_cidr))
    api = cluster.api

    def text(s: str) -> str:
        return shift_text(replace_ips(s, res.ip_map), res.delta)

    objs = []
    for o in sc.objects:
        o = map_strings(strip_server_metadata(o), text)
        if o.get("kind") == "ConfigMap" and isinstance(o.get("data"), dict):
            o["data"] = {k: shift_unix_ts(v, res.delta) if isinstance(v, str) else v for k, v in o["data"].items()}
        objs.append(o)
    originals = {ref(o): o for o in sc.objects}
    # The admission webhook stand-in's certificate goes into the Secret and the caBundle before they
    # are created; the MutatingWebhookConfiguration itself comes after the pods (_KIND_ORDER), so the
    # scenario's pods are as the fixture has them and only pods created later meet the webhook.
    webhook = prepare_objects(objs, sc.admission_webhook.get("caBundle") == "fixture", cluster.dir / "webhooks")

    # Services with a selector: their Endpoints/EndpointSlices come from the real controllers.
    selector_services = {(o["metadata"].get("namespace", "default"), o["metadata"]["name"])
                         for o in objs if o.get("kind") == "Service" and (o.get("spec") or {}).get("selector")}
    apiservice = next((o for o in objs if o.get("kind") == "APIService"
                       and o["metadata"]["name"] == EXTERNAL_METRICS_APISERVICE), None)

    uids: dict[tuple, str] = {}
    unready = set(sc.unready_pods)
    objs.sort(key=lambda o: _KIND_ORDER.get(o.get("kind"), 10))
    for o in objs:
        kind, md = o.get("kind"), o["metadata"]
        ns = md.get("namespace")
        r = ref(o)
        why = _skip_reason(o, selector_services)
        if why:
            res.skipped[r] = why
            continue
        _fix_owner_refs(o, uids)
        orig_status = o.get("status")
        if kind == "APIService" and o is apiservice:
            _point_apiservice_at_harness(o, cluster)
        if kind == "Node":
            _label_hold(o)
        if kind == "Pod":
            key = f"{ns or 'default'}/{md['name']}"
            if key in unready or _fixture_pod_status_usable(orig_status):
                _label_hold(o)
        try:
            created = api.create(o)
        except ApiError as e:
            if e.status == 409:
                res.skipped[r] = "already exists (made by the cluster, or by a scenario applied earlier)"
                continue
            raise RuntimeError(f"scenario {sc.name}: creating {r} failed: {e}") from e
        except KeyError as e:
            raise RuntimeError(f"scenario {sc.name}: {r}: {e}") from e
        res.created.append(r)
        uids[(kind, ns, md["name"])] = created["metadata"]["uid"]
        if kind == "CustomResourceDefinition":
            cluster.wait_crd_established(md["name"])
            api.refresh_discovery()
        elif kind == "Node":
            api.replace_status(created, _node_status(orig_status, cluster))
        elif kind == "Pod":
            key = f"{ns or 'default'}/{md['name']}"
            if key in unready:
                api.replace_status(created, _unready_pod_status(orig_status, created))
            elif (created["metadata"].get("labels") or {}).get(_hold_label()):
                api.replace_status(created, _pod_status(orig_status))
        elif orig_status and kind not in _NO_STATUS_WRITE:
            _write_status(api, created, o["status"], originals.get(r))
    if any(o.get("kind") == "CustomResourceDefinition" for o in objs):
        cluster._sync_nosecrets_role()
    # From here on the scenario's DCA leader keeps its lock and metrics fresh, as a live one would
    # (started before the waits below: they take longer than a short lease).
    cluster.dcas += start_running_dcas(cluster, [o for o in objs if ref(o) in res.created],
                                       FIXTURE_NOW + res.delta)

    pods = [o for o in objs if o.get("kind") == "Pod" and ref(o) in res.created]
    _install_pod_fixtures(cluster, sc, pods, text)
    _start_metrics(cluster, sc, objs, apiservice, res)
    if webhook is not None:
        server = start_webhook(cluster, webhook)
        if server is not None:
            cluster.webhooks.append(server)
    _wait_pods(cluster, pods)
    _wait_execs(cluster, pods)
    if cluster.metrics is not None and cluster.metrics.running:
        _wait_apiservice_available(cluster)
    _wait_hpas(cluster, [o for o in objs if o.get("kind") == "HorizontalPodAutoscaler" and ref(o) in res.created])
    res.seconds = time.monotonic() - t0
    cluster.scenarios.append(res)
    log(f"scenario {sc.name} applied in {res.seconds:.1f}s ({len(res.created)} created, "
        f"{len(res.skipped)} skipped)")
    return res


def _hold_label() -> str:
    return HOLD_LABEL


def _label_hold(o: dict) -> None:
    o["metadata"].setdefault("labels", {})[_hold_label()] = "fixture"


def _skip_reason(o: dict, selector_services: set) -> Optional[str]:
    kind, md = o.get("kind"), o["metadata"]
    ns = md.get("namespace", "default")
    if kind == "Endpoints" and (ns, md["name"]) in selector_services:
        return "managed by the endpoints controller"
    if kind == "EndpointSlice":
        svc = (md.get("labels") or {}).get("kubernetes.io/service-name")
        if svc and (ns, svc) in selector_services:
            return "managed by the endpointslice controller"
    return None


def _fix_owner_refs(o: dict, uids: dict) -> None:
    """Point ownerReferences at the uids the objects got here; drop those that cannot be resolved
    and carry no uid (the API requires one). No garbage collector runs, so they are only data."""
    md = o["metadata"]
    refs = []
    for r in md.get("ownerReferences") or []:
        for ns in (md.get("namespace"), None):
            uid = uids.get((r.get("kind"), ns, r.get("name")))
            if uid:
                r = dict(r, uid=uid)
                break
        if r.get("uid"):
            refs.append(r)
    if refs:
        md["ownerReferences"] = refs
    else:
        md.pop("ownerReferences", None)


def _write_status(api, created: dict, status: dict, original: Optional[dict]) -> None:
    try:
        _, _, subs = api.resource(created["apiVersion"], created["kind"])
    except KeyError:
        return
    if "status" not in subs:
        return
    status = dict(status)
    # observedGeneration relative to the fixture's generation: a fixture that was "caught up"
    # stays caught up, one that lagged by N still lags (generation restarts at 1 here).
    orig_gen = ((original or {}).get("metadata") or {}).get("generation")
    if "observedGeneration" in status and orig_gen:
        lag = int(orig_gen) - int(status["observedGeneration"])
        status["observedGeneration"] = max(int(created["metadata"].get("generation", 1)) - lag, 0)
    try:
        api.replace_status(created, status)
    except ApiError as e:
        log(f"warning: status of {ref(created)} not written: {e}")


# -- nodes and pods: the harness plays the kubelet for statuses the fixture pins ---------------
def _node_status(fixture: Optional[dict], cluster) -> dict:
    st = dict(fixture or {})
    now = _now()
    if not st.get("conditions"):
        st["conditions"] = [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                             "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                             "lastTransitionTime": now}]
    name_addrs = [a for a in st.get("addresses") or [] if a.get("type") != "InternalIP"]
    # The apiserver reaches the "kubelet" (kwok) through InternalIP + kubeletEndpoint port.
    st["addresses"] = [{"type": "InternalIP", "address": "127.0.0.1"}] + name_addrs
    st["daemonEndpoints"] = {"kubeletEndpoint": {"Port": cluster.ports["kwok"]}}
    for k in ("capacity", "allocatable"):
        st.setdefault(k, {"cpu": "4", "memory": "16Gi", "pods": "110"})
    return st


def _fixture_pod_status_usable(st: Optional[dict]) -> bool:
    """Write the fixture's own pod status (exact IPs, restarts, states) when it is complete enough."""
    if not st or not st.get("phase"):
        return False
    return st["phase"] != "Running" or bool(st.get("podIP"))


def _alloc_pod_ip() -> str:
    _pod_ip_counter[0] += 1
    n = _pod_ip_counter[0]
    return f"10.245.{n // 250}.{n % 250 + 1}"


def _pod_status(fixture: dict) -> dict:
    return dict(fixture)


def _unready_pod_status(fixture: Optional[dict], pod: dict) -> dict:
    """Running but not Ready, as a node reports a pod failing its readiness probe."""
    st = dict(fixture or {})
    now = _now()
    st["phase"] = "Running"
    if not st.get("podIP"):
        ip = _alloc_pod_ip()
        st["podIP"], st["podIPs"] = ip, [{"ip": ip}]
    st.setdefault("hostIP", "127.0.0.1")
    st.setdefault("startTime", now)
    conds = {c["type"]: dict(c) for c in st.get("conditions") or []}
    for t in ("Initialized", "PodScheduled"):
        conds.setdefault(t, {"type": t, "status": "True", "lastTransitionTime": now})
    for t in ("Ready", "ContainersReady"):
        c = conds.get(t, {"type": t, "lastTransitionTime": now})
        c.update(status="False", reason="ContainersNotReady",
                 message=f"containers with unready status: [{' '.join(x['name'] for x in pod['spec']['containers'])}]")
        conds[t] = c
    st["conditions"] = list(conds.values())
    prev = {c.get("name"): c for c in st.get("containerStatuses") or []}
    st["containerStatuses"] = []
    for c in pod["spec"]["containers"]:
        cs = dict(prev.get(c["name"]) or {"name": c["name"], "image": c.get("image", ""), "imageID": "",
                                           "restartCount": 0})
        cs["ready"], cs["started"] = False, True
        cs.setdefault("state", {"running": {"startedAt": now}})
        st["containerStatuses"].append(cs)
    return st


def _wait_pods(cluster, pods: list[dict], timeout: float = 60) -> None:
    """Wait until kwok has made the pods it manages Ready."""
    nodes = {n["metadata"]["name"] for n in cluster.api.get("/api/v1/nodes")["items"]}
    want = {(p["metadata"].get("namespace", "default"), p["metadata"]["name"]) for p in pods
            if not (p["metadata"].get("labels") or {}).get(_hold_label())
            and (p.get("spec") or {}).get("nodeName") in nodes}
    if not want:
        return

    def all_ready() -> bool:
        items = cluster.api.get("/api/v1/pods")["items"]
        ready = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items
                 if any(c["type"] == "Ready" and c["status"] == "True"
                        for c in (i.get("status") or {}).get("conditions") or [])}
        return want <= ready
    cluster.api.wait_for(f"{len(want)} pods Ready (kwok)", all_ready, timeout=timeout)


# -- exec and logs through kwok ----------------------------------------------------------------
_AGENT_LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? UTC")
_RFC3339_START = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))")


def cri_log(lines: list[str], now: Optional[dt.datetime] = None) -> str:
    """Plain log lines -> CRI format `<RFC3339Nano> stdout F <text>`. The time is the line's own
    leading timestamp when it has one (agent logs do), else the previous line's, else now."""
    now = now or dt.datetime.now(dt.timezone.utc)
    out, last = [], None
    for line in lines:
        t = None
        m = _AGENT_LOG_TS.match(line)
        if m:
            t = dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{m.group(3) or ''}+00:00")
        else:
            m = _RFC3339_START.match(line)
            if m:
                try:
                    t = dt.datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
                except ValueError:
                    t = None
        t = t or last or (now - dt.timedelta(seconds=1))
        last = t
        out.append(f"{t.astimezone(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z stdout F {line}")
    return "\n".join(out) + ("\n" if out else "")


def _install_pod_fixtures(cluster, sc: Scenario, pods: list[dict], text) -> None:
    commands: set[str] = set()
    for p in pods:
        ns, name = p["metadata"].get("namespace", "default"), p["metadata"]["name"]
        srcs = sc.pod_dirs(ns, name)
        dst = cluster.dir / "pods" / ns / name
        exec_dst = dst / "exec"
        exec_dst.mkdir(parents=True, exist_ok=True)
        for src in srcs:
            if not (src / "exec").is_dir():
                continue
            for f in (src / "exec").iterdir():
                if f.is_file():
                    data = f.read_text()
                    (exec_dst / f.name).write_text(text(data) if f.suffix in (".out", ".err") else data)
                    if f.suffix == ".out":
                        commands.add(f.stem.split("_", 1)[0])
        # Every pod gets an Exec: an exec of a command without fixture output is "not found" (127),
        # as on a real node, rather than kwok's "no exec found" error.
        _upsert_kwok(cluster, {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec",
                               "metadata": {"name": name, "namespace": ns},
                               "spec": {"execs": [{"local": {"workDir": str(exec_dst), "envs": [
                                   {"name": "DD_FIXTURE_DIR", "value": str(exec_dst)}]}}]}})
        log_files: dict[str, Path] = {}  # container -> fixture, the overlay's winning
        for src in srcs:
            for f in sorted((src / "logs").glob("*.log")) if (src / "logs").is_dir() else []:
                log_files[f.stem] = f
        logs = []
        if log_files:
            (dst / "logs").mkdir(exist_ok=True)
            for container, f in sorted(log_files.items()):
                out = dst / "logs" / f.name
                out.write_text(cri_log(text(f.read_text()).splitlines()))
                logs.append({"containers": [container], "logsFile": str(out), "follow": False})
        if logs:
            _upsert_kwok(cluster, {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
                                   "metadata": {"name": name, "namespace": ns}, "spec": {"logs": logs}})
    cluster.refresh_standins(commands)


EXEC_PROBES = 10  # pods probed per apply: enough to see kwok has loaded the Exec objects


def _wait_execs(cluster, pods: list[dict]) -> None:
    """Wait until kwok serves execs for the pods with exec fixtures. kwok picks Exec objects up
    asynchronously; an exec right after apply could fail before it has (seen once in CI). A probe
    command that does not exist answers "executable file not found" only once kwok runs execs for
    that pod through its Exec object."""
    def has_fixtures(p: dict) -> bool:
        d = cluster.dir / "pods" / p["metadata"].get("namespace", "default") / p["metadata"]["name"] / "exec"
        return d.is_dir() and any(d.glob("*.out"))

    # Only pods kwok runs (they have a node) and that a test execs into (they have outputs).
    probed = [p for p in pods if (p.get("spec") or {}).get("nodeName") and has_fixtures(p)][:EXEC_PROBES]
    for p in probed:
        ns, name = p["metadata"].get("namespace", "default"), p["metadata"]["name"]
        container = p["spec"]["containers"][0]["name"]

        def ready(ns: str = ns, name: str = name, container: str = container) -> bool:
            try:
                r = cluster.kubectl("exec", "-n", ns, name, "-c", container, "--", "kwok-harness-exec-probe",
                                    timeout=20)
            except subprocess.TimeoutExpired:
                return False
            return "executable file not found" in (r.stderr + r.stdout)

        cluster.api.wait_for(f"kwok to serve execs in pod {ns}/{name}", ready, timeout=30, interval=0.3)


def _upsert_kwok(cluster, obj: dict) -> None:
    cluster._upsert(obj)


# -- external metrics --------------------------------------------------------------------------
def _point_apiservice_at_harness(o: dict, cluster) -> None:
    """A fixture caBundle cannot verify the harness provider's cert: use the harness CA instead."""
    spec = o.setdefault("spec", {})
    if spec.get("service") and not spec.get("insecureSkipTLSVerify"):
        import base64
        spec["caBundle"] = base64.b64encode(cluster.pki.serving_ca.pem).decode()


def _start_metrics(cluster, sc: Scenario, objs: list[dict], apiservice: Optional[dict], res: Applied) -> None:
    if cluster.metrics is not None:
        # A second scenario on the same cluster: serve its metrics too.
        cluster.metrics.set_metrics(cluster.metrics._metrics + sc.external_metrics)
        return
    if apiservice is None or not (apiservice.get("spec") or {}).get("service"):
        return
    svc_ref = apiservice["spec"]["service"]
    ns, name, port = svc_ref.get("namespace"), svc_ref.get("name"), int(svc_ref.get("port") or 443)
    if sc.external_metrics_down:
        log(f"externalMetricsDown: no provider behind {ns}/{name}:{port}")
        return
    try:
        svc = cluster.api.read("v1", "Service", name, ns)
    except ApiError:
        log(f"APIService {EXTERNAL_METRICS_APISERVICE} names Service {ns}/{name}, which does not exist")
        return
    ip = svc["spec"].get("clusterIP")
    if not ip or ip == "None" or port not in [p["port"] for p in svc["spec"].get("ports") or []]:
        log(f"APIService {EXTERNAL_METRICS_APISERVICE} names port {port}, not a port of {ns}/{name}: no provider")
        return
    crt, key = cluster.pki.serving(f"metrics-{name}", dns=(f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"),
                                   ips=(ip,))
    m = ExternalMetricsServer(ip, port, str(crt), str(key), sc.external_metrics,
                              shift_text=lambda s: shift_text(s, res.delta))
    m.start()
    cluster.metrics = m
    log(f"external-metrics provider listening on {ip}:{port} ({ns}/{name})")


def _wait_apiservice_available(cluster, timeout: float = 60) -> None:
    def available() -> bool:
        a = cluster.api.read("apiregistration.k8s.io/v1", "APIService", EXTERNAL_METRICS_APISERVICE)
        return any(c["type"] == "Available" and c["status"] == "True"
                   for c in (a.get("status") or {}).get("conditions") or [])
    t0 = time.monotonic()
    cluster.api.wait_for(f"APIService {EXTERNAL_METRICS_APISERVICE} Available", available, timeout=timeout)
    log(f"APIService {EXTERNAL_METRICS_APISERVICE} Available in {time.monotonic() - t0:.1f}s")


def _wait_hpas(cluster, hpas: list[dict], timeout: float = 60) -> None:
    """Wait until the HPA controller has processed every HPA once (it writes conditions)."""
    if not hpas:
        return
    t0 = time.monotonic()
    for h in hpas:
        md = h["metadata"]
        cluster.api.wait_for(
            f"HPA {md.get('namespace', 'default')}/{md['name']} processed by the HPA controller",
            lambda h=h, md=md: (cluster.api.read(h["apiVersion"], "HorizontalPodAutoscaler", md["name"],
                                                  md.get("namespace", "default")).get("status") or {}).get("conditions"),
            timeout=timeout)
    log(f"HPA controller processed {len(hpas)} HPA(s) in {time.monotonic() - t0:.1f}s")
