"""Writes the objects.yaml of the metamap-* scenarios (run from the repo root:
`.venv/bin/python tests/scenarios/metamap-seed/gen_metamap.py`). Builders from gen_installs.

- metamap-seed   (base legacy): the seed's sample cluster: two GKE nodes, kube-system add-ons and
                 one DCA replica in `default` behind the Services `dca` and
                 `datadog-custom-metrics-server`. kube-dns has two EndpointSlices (one per pod),
                 as the controller may split them.
- metamap-edge   (base helm): what the DCA skips or keeps: notReadyAddresses / ready=false,
                 an endpoint without a node, one without targetRef, a leader-election Endpoints,
                 a slice without the service-name label, hostNetwork pods. Selectorless Services,
                 so the real-cluster harness applies these Endpoints/EndpointSlices as written.
- metamap-stale  (base metamap-seed): a third node the DCA has no map for, and the fixture's
                 DCA answer with one deleted pod, one stale service and one missing pod.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.scenario import load_scenario  # noqa: E402
from tests.scenarios.gen_installs import NODES, dump, endpoints, meta, node, owner, pod, service  # noqa: E402

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent
SF1W, WNTJ = NODES
DCA_POD = "datadog-cluster-agent-8568545574-x9tc9"

# (deployment-ish name, pod, node, ip, service, port)
KUBE_SYSTEM = [
    ("kube-dns", "kube-dns-788979dc8f-hzbj5", SF1W, "10.244.0.11", "kube-dns", 53),
    ("kube-state-metrics", "kube-state-metrics-5587867c9f-xllnm", SF1W, "10.244.0.12", "kube-state-metrics", 8080),
    ("kubernetes-dashboard", "kubernetes-dashboard-598d75cb96-5khmj", SF1W, "10.244.0.13", "kubernetes-dashboard", 8443),
    ("heapster-v1.5.2", "heapster-v1.5.2-6d59ff54cf-g7q4h", WNTJ, "10.244.1.11", "heapster", 8082),
    ("kube-dns", "kube-dns-788979dc8f-q9qkt", WNTJ, "10.244.1.12", "kube-dns", 53),
    ("l7-default-backend", "l7-default-backend-5d5b9874d5-b2lts", WNTJ, "10.244.1.13", "default-http-backend", 8080),
    ("metrics-server-v0.2.1", "metrics-server-v0.2.1-7486f5bd67-v827f", WNTJ, "10.244.1.14", "metrics-server", 443),
]


def _addon_pod(app: str, name: str, node_name: str, ip: str, **spec_extra: object) -> dict:
    rs = name.rsplit("-", 1)[0]
    spec = {"containers": [{"name": app.split("-v")[0], "image": f"registry.k8s.io/{app.split('-v')[0]}:latest",
                            "resources": {}}], "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
            "serviceAccountName": "default", **spec_extra}
    return pod(name, "kube-system", node_name, ip, {"k8s-app": app.split("-v")[0],
                                                   "pod-template-hash": rs.rsplit("-", 1)[1]},
               spec, owner("ReplicaSet", rs), created="2026-11-20T09:10:00Z")


def seed() -> list[dict]:
    base = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
            for o in load_scenario("legacy").objects}
    objs: list[dict] = []
    # One DCA replica, as in the sample.
    for kind, name in (("Deployment", "datadog-cluster-agent"), ("ReplicaSet", "datadog-cluster-agent-8568545574")):
        o = copy.deepcopy(base[(kind, "default", name)])
        o["spec"]["replicas"] = 1
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if k in o["status"]:
                o["status"][k] = 1
        objs.append(o)
    dca_target = [(DCA_POD, WNTJ, "10.244.1.5")]
    dca_sel = {"app": "datadog-cluster-agent"}
    objs.append(service("dca", "default", "127.96.30.12",
                        [{"name": "agentport", "port": 5005, "protocol": "TCP", "targetPort": 5005}], dca_sel))
    objs += endpoints("dca", "default", "agentport", 5005, dca_target)
    objs += endpoints("datadog-custom-metrics-server", "default", "metricsapi", 443, dca_target)
    # kube-system add-ons, one Service each (kube-dns selects both DNS pods).
    seen: dict[str, list[tuple[str, str, str]]] = {}
    port_of: dict[str, int] = {}
    for app, name, node_name, ip, svc, port in KUBE_SYSTEM:
        objs.append(_addon_pod(app, name, node_name, ip))
        seen.setdefault(svc, []).append((name, node_name, ip))
        port_of[svc] = port
    for i, (svc, targets) in enumerate(sorted(seen.items())):
        app = next(a for a, _, _, _, s, _ in KUBE_SYSTEM if s == svc).split("-v")[0]
        objs.append(service(svc, "kube-system", f"127.96.40.{10 + i}",
                            [{"name": "main", "port": port_of[svc], "protocol": "TCP", "targetPort": port_of[svc]}],
                            {"k8s-app": app}))
        ep, eps = endpoints(svc, "kube-system", "main", port_of[svc], targets)
        if len(targets) == 1:
            objs += [ep, eps]
            continue
        objs.append(ep)
        # The EndpointSlice controller may spread one Service over several slices: one per pod.
        for j, target in enumerate(targets):
            part = copy.deepcopy(eps)
            part["metadata"]["name"] = f"{svc}-{'abcde' if j == 0 else 'fghij'}"
            part["metadata"]["uid"] = f"eps-{svc}-{j}"
            part["endpoints"] = [e for e in eps["endpoints"] if e["targetRef"]["name"] == target[0]]
            objs.append(part)
    return objs


def edge() -> list[dict]:
    objs: list[dict] = []
    web_spec = {"containers": [{"name": "web", "image": "nginx:1.27", "resources": {}}],
                "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "serviceAccountName": "default"}
    rs = owner("ReplicaSet", "web-5c8d7f6b9")
    objs.append(pod("web-5c8d7f6b9-ready", "default", SF1W, "10.244.0.21", {"app": "web"}, web_spec, rs))
    objs.append(pod("web-5c8d7f6b9-unrdy", "default", WNTJ, "10.244.1.21", {"app": "web"}, web_spec, rs, ready=False))
    pending = pod("web-5c8d7f6b9-nonode", "default", "", "10.244.9.9", {"app": "web"}, web_spec, rs)
    pending["spec"].pop("nodeName")
    pending["status"] = {"phase": "Pending", "qosClass": "BestEffort",
                         "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                         "lastProbeTime": None, "lastTransitionTime": "2026-11-27T07:40:00Z"}]}
    objs.append(pending)
    ne_spec = {"containers": [{"name": "node-exporter", "image": "prom/node-exporter:v1.8.2", "resources": {}}],
               "hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet", "restartPolicy": "Always",
               "serviceAccountName": "default"}
    ds = owner("DaemonSet", "node-exporter")
    host_ips = {SF1W: "10.128.0.10", WNTJ: "10.128.0.11"}
    for suffix, n in (("m4x7q", SF1W), ("t8k2w", WNTJ)):
        p = pod(f"node-exporter-{suffix}", "default", n, host_ips[n], {"app": "node-exporter"}, ne_spec, ds)
        p["status"]["hostIP"] = host_ips[n]
        objs.append(p)

    # Selectorless Services: their Endpoints/EndpointSlices are written by hand (here: by us).
    objs.append(service("web", "default", "127.96.10.30",
                        [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}], {}))
    objs[-1]["spec"].pop("selector")
    objs.append(service("node-exporter", "default", "127.96.10.31",
                        [{"name": "metrics", "port": 9100, "protocol": "TCP", "targetPort": 9100}], {}))
    objs[-1]["spec"].pop("selector")

    def ref(name: str) -> dict:
        return {"kind": "Pod", "name": name, "namespace": "default", "uid": f"pod-{name}"}

    objs.append({"apiVersion": "v1", "kind": "Endpoints", "metadata": meta("web", "default", "ep-web"),
                 "subsets": [{"addresses": [
                     {"ip": "10.244.0.21", "nodeName": SF1W, "targetRef": ref("web-5c8d7f6b9-ready")},
                     {"ip": "10.244.9.9", "targetRef": ref("web-5c8d7f6b9-nonode")},
                     {"ip": "10.0.0.9"}],
                     "notReadyAddresses": [{"ip": "10.244.1.21", "nodeName": WNTJ,
                                            "targetRef": ref("web-5c8d7f6b9-unrdy")}],
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]})
    slice_meta = meta("web-x7k2p", "default", "eps-web",
                      {"kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "staff"})
    objs.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": slice_meta,
                 "addressType": "IPv4",
                 "endpoints": [
                     {"addresses": ["10.244.0.21"], "conditions": {"ready": True, "serving": True, "terminating": False},
                      "nodeName": SF1W, "targetRef": ref("web-5c8d7f6b9-ready")},
                     {"addresses": ["10.244.1.21"], "conditions": {"ready": False, "serving": False, "terminating": False},
                      "nodeName": WNTJ, "targetRef": ref("web-5c8d7f6b9-unrdy")},
                     {"addresses": ["10.244.9.9"], "conditions": {"ready": True}, "targetRef": ref("web-5c8d7f6b9-nonode")},
                     {"addresses": ["10.0.0.9"], "conditions": {"ready": True}}],
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]})
    # A slice someone wrote without the service-name label: the DCA cannot tell its Service.
    objs.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": meta("orphan-slice", "default", "eps-orphan",
                                  {"endpointslice.kubernetes.io/managed-by": "staff"}),
                 "addressType": "IPv4",
                 "endpoints": [{"addresses": ["10.244.0.21"], "conditions": {"ready": True}, "nodeName": SF1W,
                                "targetRef": ref("web-5c8d7f6b9-ready")}],
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]})
    ne_targets = [("node-exporter-m4x7q", SF1W, host_ips[SF1W]), ("node-exporter-t8k2w", WNTJ, host_ips[WNTJ])]
    objs += endpoints("node-exporter", "default", "metrics", 9100, ne_targets)
    # An old-style leader-election lock: an Endpoints with no addresses' targetRef at all.
    objs.append({"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": meta("kube-scheduler", "kube-system", "ep-kube-scheduler", None,
                                  {"control-plane.alpha.kubernetes.io/leader": '{"holderIdentity":"master-1"}'}),
                 "subsets": [{"addresses": [{"ip": "10.128.0.2"}], "ports": [{"port": 10259, "protocol": "TCP"}]}]})
    return objs


def stale() -> list[dict]:
    return [node("gke-test-default-pool-068cb9c0-zq3k", 2)]


def main() -> None:
    for name, build in (("metamap-seed", seed), ("metamap-edge", edge), ("metamap-stale", stale)):
        d = SCENARIOS / name
        d.mkdir(exist_ok=True)
        (d / "objects.yaml").write_text(
            f"# {name}: generated by tests/scenarios/metamap-seed/gen_metamap.py; objects as `kubectl get -o yaml` "
            "prints them\n" + dump(build()))


if __name__ == "__main__":
    main()
