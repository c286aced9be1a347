"""Generates the three base installs (`helm`, `operator`, `legacy`) as `kubectl get -o yaml` shaped
objects: `python -m tests.scenarios.gen_installs` rewrites tests/scenarios/{helm,operator,legacy}/objects.yaml
and the Agent-only Helm install tests/scenarios/helm-agents/objects.yaml.

Names, labels, env and ports follow ../shared/reference/datadog-agent.md section 5 (Helm chart 3.140,
Operator golden manifests, the legacy docs' plain manifests). The builders are also handy for
writing overlay scenarios: `print(dump([pod(...)]))`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
NODES = ["gke-test-default-pool-068cb9c0-sf1w", "gke-test-default-pool-068cb9c0-wntj"]
CREATED = "2026-11-20T09:05:00Z"
STARTED = "2026-11-27T07:38:40Z"
TOKEN = "Zk9xTW1nc2J1Q2hZd0V0cnFQbnVWa2Rh"  # 32 characters, like Helm's randAlphaNum 32
API_KEY = "0123456789abcdef0123456789abcdef"
APP_KEY = "fedcba9876543210fedcba9876543210fedcba98"


def dump(objs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objs, sort_keys=False, width=1000)


def meta(name: str, ns: str | None, uid: str, labels: dict | None = None, annotations: dict | None = None,
         created: str = CREATED, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if ns:
        m["namespace"] = ns
    m.update({"uid": uid, "resourceVersion": "1000", "creationTimestamp": created})
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    m.update(extra)
    return m


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta(name, None, f"ns-{name}", {"kubernetes.io/metadata.name": name}),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def node(name: str, index: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": meta(name, None, f"node-{index}", {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                           "kubernetes.io/arch": "amd64", "type": "kwok"},
                             {"node.alpha.kubernetes.io/ttl": "0"}),
            "spec": {"podCIDR": f"10.244.{index}.0/24"},
            "status": {"addresses": [{"address": f"10.128.0.{10 + index}", "type": "InternalIP"},
                                     {"address": name, "type": "Hostname"}],
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status",
                                       "lastHeartbeatTime": "2026-11-27T11:59:50Z",
                                       "lastTransitionTime": "2026-11-20T09:00:10Z"}],
                       "nodeInfo": {"kubeletVersion": "v1.36.3", "operatingSystem": "linux", "architecture": "amd64"}}}


def env(pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for name, value in pairs:
        if isinstance(value, dict):
            out.append({"name": name, "valueFrom": value})
        else:
            out.append({"name": name, "value": str(value)})
    return out


def secret_ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def field_ref(path: str) -> dict[str, Any]:
    return {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}


def pod(name: str, ns: str, node_name: str, ip: str, labels: dict, spec: dict, owner: dict,
        created: str = STARTED, ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    cond = "True" if ready else "False"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(name, ns, f"pod-{name}", labels, created=created,
                             generateName=name.rsplit("-", 1)[0] + "-", ownerReferences=[owner]),
            "spec": {**spec, "nodeName": node_name, "enableServiceLinks": True, "priority": 0,
                     "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                                      "operator": "Exists", "tolerationSeconds": 300}]},
            "status": {"phase": "Running", "hostIP": "10.128.0.10", "podIP": ip, "podIPs": [{"ip": ip}],
                       "qosClass": "BestEffort", "startTime": created,
                       "conditions": [{"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": created}
                                      for t, s in [("Initialized", "True"), ("Ready", cond),
                                                   ("ContainersReady", cond), ("PodScheduled", "True")]],
                       "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "", "ready": ready,
                                              "restartCount": restarts, "started": True,
                                              "state": {"running": {"startedAt": created}}}
                                             for c in spec["containers"]]}}


def owner(kind: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": f"{kind.lower()}-{name}",
            "controller": True, "blockOwnerDeletion": True}


def service(name: str, ns: str, ip: str, ports: list[dict], selector: dict, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, ns, f"svc-{name}", labels),
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"],
                     "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster", "sessionAffinity": "None",
                     "selector": selector, "ports": ports},
            "status": {"loadBalancer": {}}}


def secret(name: str, ns: str, data: dict[str, str], labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta(name, ns, f"secret-{name}", labels),
            "type": "Opaque", "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def configmap_lock(name: str, ns: str, holder: str, acquired: str = "2026-11-27T07:39:05Z",
                   renewed: str = "2026-11-27T11:59:56Z", transitions: int = 2, duration: int = 60,
                   created: str = "2026-11-20T09:06:00Z") -> dict:
    rec = {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": acquired,
           "renewTime": renewed, "leaderTransitions": transitions}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta(name, ns, f"cm-{name}", None,
                             {"control-plane.alpha.kubernetes.io/leader": json.dumps(rec, separators=(",", ":"))},
                             created=created)}


def lease(name: str, ns: str, holder: str, acquired: str = "2026-11-27T07:39:05.000000Z",
          renewed: str = "2026-11-27T11:59:56.000000Z", transitions: int = 2, duration: int = 60) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": meta(name, ns, f"lease-{name}", created="2026-11-20T09:06:00Z"),
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": acquired,
                     "renewTime": renewed, "leaseTransitions": transitions}}


def endpoints(name: str, ns: str, port_name: str, port: int, targets: list[tuple[str, str, str]],
              labels: dict | None = None) -> list[dict]:
    """The Endpoints and EndpointSlice the controllers write for a Service selecting `targets`
    (pod, node, ip). The harness lets the real controllers create them instead."""
    refs = [{"kind": "Pod", "name": p, "namespace": ns, "uid": f"pod-{p}"} for p, _, _ in targets]
    ep_port = {"name": port_name, "port": port, "protocol": "TCP"} if port_name else {"port": port, "protocol": "TCP"}
    return [
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta(name, ns, f"ep-{name}", labels),
         "subsets": [{"addresses": [{"ip": ip, "nodeName": n, "targetRef": r} for (_, n, ip), r in zip(targets, refs, strict=True)],
                      "ports": [ep_port]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": meta(f"{name}-abcde", ns, f"eps-{name}",
                          {**(labels or {}), "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                           "kubernetes.io/service-name": name},
                          generateName=f"{name}-", ownerReferences=[{"apiVersion": "v1", "kind": "Service", "name": name,
                                                                    "uid": f"svc-{name}", "controller": True,
                                                                    "blockOwnerDeletion": True}]),
         "addressType": "IPv4",
         "endpoints": [{"addresses": [ip], "conditions": {"ready": True, "serving": True, "terminating": False},
                        "nodeName": n, "targetRef": r} for (_, n, ip), r in zip(targets, refs, strict=True)],
         "ports": [ep_port]},
    ]


def dca_rbac(name: str, ns: str, sa: str, lock: str, token_cm: str, labels: dict | None = None,
             drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The DCA's ClusterRole and binding, with the rules the Helm chart gives it (reference 5.1).
    `drop` removes rules by a short name (e.g. "watch-events", "update-lock") for broken scenarios."""
    rules = {
        "core-read": {"apiGroups": [""], "resources": ["services", "endpoints", "pods", "nodes", "namespaces",
                                                       "componentstatuses", "limitranges"],
                      "verbs": ["get", "list", "watch"]},
        "watch-events": {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch", "create"]},
        "endpointslices": {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                           "verbs": ["get", "list", "watch"]},
        "hpas": {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["list", "watch"]},
        "get-lock": {"apiGroups": [""], "resources": ["configmaps"],
                     "resourceNames": sorted({lock, "datadog-leader-election", token_cm, "datadogtoken",
                                              "datadog-custom-metrics"}), "verbs": ["get"]},
        "update-lock": {"apiGroups": [""], "resources": ["configmaps"],
                        "resourceNames": sorted({lock, "datadog-leader-election", token_cm, "datadogtoken",
                                                 "datadog-custom-metrics"}), "verbs": ["update"]},
        "create-configmaps": {"apiGroups": [""], "resources": ["configmaps", "events"], "verbs": ["create"]},
        "leases": {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [lock],
                   "verbs": ["get", "update"]},
        "create-leases": {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        "datadogmetrics": {"apiGroups": ["datadoghq.com"], "resources": ["datadogmetrics"],
                           "verbs": ["list", "create", "delete", "watch"]},
    }
    role = f"{name}-cluster-agent"
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": meta(role, None, f"clusterrole-{role}", labels),
         "rules": [r for k, r in rules.items() if k not in drop]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": meta(role, None, f"clusterrolebinding-{role}", labels),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
         "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]},
    ]


def install(flavor: str) -> list[dict[str, Any]]:
    """A healthy install: DCA Deployment (2 replicas, leader x9tc9) and 2 node Agents."""
    if flavor == "helm":
        ns, name = "datadog", "datadog"
        dca, ds, svc_name, metrics_svc, token_secret, keys_secret = (
            "datadog-cluster-agent", "datadog", "datadog-cluster-agent", "datadog-cluster-agent-metrics-api",
            "datadog-cluster-agent", "datadog")
        common = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": name,
                  "helm.sh/chart": "datadog-3.140.2", "app.kubernetes.io/instance": name}
        dca_labels = {"app": dca, "app.kubernetes.io/component": "cluster-agent",
                      "agent.datadoghq.com/component": "cluster-agent", "admission.datadoghq.com/enabled": "false",
                      "app.kubernetes.io/name": name, "app.kubernetes.io/instance": f"{name}-cluster-agent",
                      "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/part-of": f"{ns}-{name}"}
        agent_labels = {"app": ds, "app.kubernetes.io/component": "agent", "agent.datadoghq.com/component": "agent",
                        "admission.datadoghq.com/enabled": "false", "app.kubernetes.io/name": name,
                        "app.kubernetes.io/instance": f"{name}-agent", "app.kubernetes.io/managed-by": "Helm"}
        dca_selector, ds_selector = {"app": dca}, {"app": ds}
        port_name, metrics_port = "agentport", 8443
        extra_env = [("DD_LEADER_ELECTION_DEFAULT_RESOURCE", "configmap"), ("DD_LEADER_LEASE_DURATION", "60"),
                     ("DD_LEADER_LEASE_NAME", f"{name}-leader-election"), ("DD_CLUSTER_AGENT_TOKEN_NAME", f"{name}token"),
                     ("DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD", "false"),
                     ("CHART_RELEASE_NAME", name), ("AGENT_DAEMONSET", ds), ("CLUSTER_AGENT_DEPLOYMENT", dca)]
        lock_name, svc_ip = f"{name}-leader-election", "127.96.10."
    elif flavor == "operator":
        ns, name = "datadog", "datadog"
        dca, ds, svc_name, metrics_svc, token_secret, keys_secret = (
            "datadog-cluster-agent", "datadog-agent", "datadog-cluster-agent", "datadog-cluster-agent-metrics-server",
            "datadog-token", "datadog-secret")
        common = {"app.kubernetes.io/managed-by": "datadog-operator", "app.kubernetes.io/part-of": f"{ns}-{name}",
                  "agent.datadoghq.com/name": name}
        dca_labels = {**common, "agent.datadoghq.com/component": "cluster-agent",
                      "app.kubernetes.io/component": "cluster-agent", "app.kubernetes.io/instance": dca,
                      "app.kubernetes.io/name": f"{name}-deployment", "app.kubernetes.io/version": "7.62.2"}
        agent_labels = {**common, "agent.datadoghq.com/component": "agent", "app.kubernetes.io/component": "agent",
                        "app.kubernetes.io/instance": ds, "app.kubernetes.io/name": f"{name}-deployment"}
        dca_selector = {"agent.datadoghq.com/name": name, "agent.datadoghq.com/component": "cluster-agent"}
        ds_selector = {"agent.datadoghq.com/name": name, "agent.datadoghq.com/component": "agent"}
        port_name, metrics_port = "", 8443
        extra_env = [("DD_LEADER_LEASE_NAME", f"{name}-leader-election"), ("DD_CLUSTER_AGENT_TOKEN_NAME", f"{name}-token"),
                     ("DD_AUTH_TOKEN_FILE_PATH", "/etc/datadog-agent/auth/token"),
                     ("DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD", "true"),
                     ("AGENT_DAEMONSET", ds), ("CLUSTER_AGENT_DEPLOYMENT", dca), ("DATADOGAGENT_CR_NAME", name)]
        lock_name, svc_ip = f"{name}-leader-election", "127.96.20."
    elif flavor == "legacy":
        ns, name = "default", "datadog"
        dca, ds, svc_name, metrics_svc, token_secret, keys_secret = (
            "datadog-cluster-agent", "datadog-agent", "datadog-cluster-agent", "datadog-custom-metrics-server",
            "datadog-auth-token", "datadog-secret")
        common = {}
        dca_labels = {"app": "datadog-cluster-agent"}
        agent_labels = {"app": "datadog-agent"}
        dca_selector, ds_selector = dict(dca_labels), dict(agent_labels)
        port_name, metrics_port = "", 443
        extra_env = [("DD_EXTERNAL_METRICS_PROVIDER_PORT", "443"), ("DD_HPA_CONFIGMAP_NAME", "datadog-hpa")]
        lock_name, svc_ip = "datadog-leader-election", "127.96.30."
    else:
        raise ValueError(flavor)

    dca_env: list[tuple[str, Any]] = [
        ("DD_POD_NAME", field_ref("metadata.name")), ("DD_HEALTH_PORT", "5556"),
        ("DD_API_KEY", secret_ref(keys_secret, "api-key")), ("DD_APP_KEY", secret_ref(keys_secret, "app-key")),
        ("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true"), ("DD_EXTERNAL_METRICS_AGGREGATOR", "avg"),
        ("DD_CLUSTER_CHECKS_ENABLED", "true"), ("DD_LEADER_ELECTION", "true"),
        ("DD_COLLECT_KUBERNETES_EVENTS", "true"),
        ("DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME", svc_name),
        ("DD_CLUSTER_AGENT_AUTH_TOKEN", secret_ref(token_secret, "token")),
        ("DD_KUBE_RESOURCES_NAMESPACE", ns),
    ]
    if flavor != "legacy":
        dca_env.append(("DD_KUBERNETES_USE_ENDPOINT_SLICES", "true"))
        dca_env.append(("DD_EXTERNAL_METRICS_PROVIDER_PORT", str(metrics_port)))
    dca_env += extra_env
    image_tag = "1.0.0" if flavor == "legacy" else "7.62.2"
    dca_ports = [{"containerPort": 5005, "name": "agentport", "protocol": "TCP"},
                 {"containerPort": metrics_port, "name": "metricsapi", "protocol": "TCP"}]
    dca_spec = {"serviceAccountName": f"{name}-cluster-agent" if flavor != "legacy" else "datadog-cluster-agent",
                "containers": [{"name": "cluster-agent", "image": f"gcr.io/datadoghq/cluster-agent:{image_tag}",
                                "imagePullPolicy": "IfNotPresent", "env": env(dca_env), "ports": dca_ports,
                                "resources": {}, "terminationMessagePath": "/dev/termination-log",
                                "terminationMessagePolicy": "File"}],
                "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30}
    agent_env: list[tuple[str, Any]] = [
        ("DD_API_KEY", secret_ref(keys_secret, "api-key")), ("KUBERNETES", "yes"),
        ("DD_KUBERNETES_KUBELET_HOST", field_ref("status.hostIP")),
        ("DD_CLUSTER_AGENT_ENABLED", "true"), ("DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME", svc_name),
        ("DD_CLUSTER_AGENT_AUTH_TOKEN", secret_ref(token_secret, "token")), ("DD_LOG_LEVEL", "INFO")]
    agent_spec = {"serviceAccountName": ds if flavor != "legacy" else "datadog-agent",
                  "containers": [{"name": "agent", "image": f"gcr.io/datadoghq/agent:{'6.5.0' if flavor == 'legacy' else '7.62.2'}",
                                  "command": ["agent", "run"], "env": env(agent_env), "resources": {},
                                  "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
                  "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30}
    if flavor != "legacy":
        agent_spec["containers"].append({"name": "trace-agent", "image": "gcr.io/datadoghq/agent:7.62.2",
                                         "command": ["trace-agent"], "env": env([("DD_CLUSTER_AGENT_ENABLED", "true")]),
                                         "resources": {}})
    rs = f"{dca}-8568545574"
    dca_pods = [(f"{rs}-x9tc9", NODES[1], "10.244.1.5"), (f"{rs}-q2m7d", NODES[0], "10.244.0.7")]
    agent_pods = [(f"{ds}-9d5bl", NODES[0], "10.244.0.3"), (f"{ds}-k4x2n", NODES[1], "10.244.1.3")]
    objs: list[dict[str, Any]] = [namespace(n) for n in sorted({ns, "default", "kube-system"})]
    objs += [node(n, i) for i, n in enumerate(NODES)]
    objs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": meta(dca, ns, f"deployment-{dca}", {**common, "app.kubernetes.io/component": "cluster-agent"}
                                  if common else {"app": dca}, {"deployment.kubernetes.io/revision": "1"}, generation=1),
                 "spec": {"replicas": 2, "revisionHistoryLimit": 10, "selector": {"matchLabels": dca_selector},
                          "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                          "template": {"metadata": {"labels": dca_labels}, "spec": dca_spec}},
                 "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
                            "availableReplicas": 2,
                            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                            "message": "Deployment has minimum availability.",
                                            "lastUpdateTime": "2026-11-20T09:06:00Z",
                                            "lastTransitionTime": "2026-11-20T09:06:00Z"}]}})
    rs_labels = {**dca_labels, "pod-template-hash": "8568545574"}
    objs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": meta(rs, ns, f"replicaset-{rs}", rs_labels, generation=1,
                                  ownerReferences=[owner("Deployment", dca)]),
                 "spec": {"replicas": 2, "selector": {"matchLabels": {**dca_selector, "pod-template-hash": "8568545574"}},
                          "template": {"metadata": {"labels": rs_labels}, "spec": dca_spec}},
                 "status": {"observedGeneration": 1, "replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2,
                            "availableReplicas": 2}})
    objs += [pod(p, ns, n, ip, rs_labels, dca_spec, owner("ReplicaSet", rs)) for p, n, ip in dca_pods]
    objs.append({"apiVersion": "apps/v1", "kind": "DaemonSet",
                 "metadata": meta(ds, ns, f"daemonset-{ds}", {**common, "app.kubernetes.io/component": "agent"}
                                  if common else {"app": ds}, {"deprecated.daemonset.template.generation": "1"},
                                  generation=1),
                 "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": ds_selector},
                          "template": {"metadata": {"labels": agent_labels}, "spec": agent_spec},
                          "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}}},
                 "status": {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberAvailable": 2,
                            "numberMisscheduled": 0, "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 2}})
    objs += [pod(p, ns, n, ip, {**agent_labels, "controller-revision-hash": "6d9f8c7b5"}, agent_spec, owner("DaemonSet", ds),
                 created="2026-11-27T07:40:02Z") for p, n, ip in agent_pods]
    svc_port = {"port": 5005, "protocol": "TCP", "targetPort": 5005}
    if port_name:
        svc_port = {"name": port_name, **svc_port}
    objs.append(service(svc_name, ns, svc_ip + "10", [svc_port], dca_selector, common or None))
    metrics_target = metrics_port if flavor != "legacy" else 443
    objs.append(service(metrics_svc, ns, svc_ip + "11",
                        [{"name": "metricsapi", "port": metrics_port, "protocol": "TCP", "targetPort": metrics_target}],
                        dca_selector, common or None))
    objs.append({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                 "metadata": meta("v1beta1.external.metrics.k8s.io", None, "apiservice-external-metrics", common or None),
                 "spec": {"service": {"name": metrics_svc, "namespace": ns, "port": metrics_port},
                          "group": "external.metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": True,
                          "groupPriorityMinimum": 100, "versionPriority": 100},
                 "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Passed",
                                            "message": "all checks passed", "lastTransitionTime": "2026-11-27T07:39:30Z"}]}})
    objs.append(secret(token_secret, ns, {"token": TOKEN}, common or None))
    objs.append(secret(keys_secret, ns, {"api-key": API_KEY, "app-key": APP_KEY}, common or None))
    objs.append(configmap_lock(lock_name, ns, dca_pods[0][0]))
    for sa in {dca_spec["serviceAccountName"], agent_spec["serviceAccountName"]}:
        objs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(sa, ns, f"sa-{sa}", common or None)})
    token_cm = dict(dca_env).get("DD_CLUSTER_AGENT_TOKEN_NAME", "datadogtoken")
    objs += dca_rbac(name, ns, dca_spec["serviceAccountName"], lock_name, token_cm, common or None)
    objs += endpoints(svc_name, ns, port_name, 5005, dca_pods, common or None)
    objs += endpoints(metrics_svc, ns, "metricsapi", metrics_port, dca_pods, common or None)
    return objs


def agents_only_install() -> list[dict[str, Any]]:
    """A Helm install rendered with `clusterAgent.enabled: false` (chart 3.140, the OTel-agent
    baselines' shape): the node Agent DaemonSet gets DD_LEADER_ELECTION*, DD_COLLECT_KUBERNETES_EVENTS
    and no DD_CLUSTER_AGENT_* (templates/_container-agent.yaml); its ClusterRole gets the lock and
    token ConfigMaps (templates/rbac.yaml). The Agents elect among themselves through the Agent's
    default lock name `datadog-leader-election` (the chart sets DD_LEADER_LEASE_NAME only on a DCA);
    the leader datadog-9d5bl renewed it 4 s ago."""
    ns = name = ds = "datadog"
    common = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": name,
              "helm.sh/chart": "datadog-3.140.2", "app.kubernetes.io/instance": name}
    agent_labels = {"app": ds, "app.kubernetes.io/component": "agent", "agent.datadoghq.com/component": "agent",
                    "admission.datadoghq.com/enabled": "false", "app.kubernetes.io/name": name,
                    "app.kubernetes.io/instance": f"{name}-agent", "app.kubernetes.io/managed-by": "Helm"}
    agent_env: list[tuple[str, Any]] = [
        ("DD_API_KEY", secret_ref(name, "api-key")), ("KUBERNETES", "yes"),
        ("DD_KUBERNETES_KUBELET_HOST", field_ref("status.hostIP")), ("DD_POD_NAME", field_ref("metadata.name")),
        ("DD_LEADER_ELECTION", "true"), ("DD_LEADER_ELECTION_DEFAULT_RESOURCE", "configmap"),
        ("DD_COLLECT_KUBERNETES_EVENTS", "true"), ("DD_APM_ENABLED", "true"), ("DD_LOG_LEVEL", "INFO")]
    agent_spec = {"serviceAccountName": ds,
                  "containers": [{"name": "agent", "image": "gcr.io/datadoghq/agent:7.62.2",
                                  "command": ["agent", "run"], "env": env(agent_env), "resources": {},
                                  "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"},
                                 {"name": "trace-agent", "image": "gcr.io/datadoghq/agent:7.62.2",
                                  "command": ["trace-agent"], "env": env([("DD_APM_ENABLED", "true")]),
                                  "resources": {}}],
                  "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30}
    agent_pods = [(f"{ds}-9d5bl", NODES[0], "10.244.0.3"), (f"{ds}-k4x2n", NODES[1], "10.244.1.3")]
    objs: list[dict[str, Any]] = [namespace(n) for n in sorted({ns, "default", "kube-system"})]
    objs += [node(n, i) for i, n in enumerate(NODES)]
    objs.append({"apiVersion": "apps/v1", "kind": "DaemonSet",
                 "metadata": meta(ds, ns, f"daemonset-{ds}", {**common, "app.kubernetes.io/component": "agent"},
                                  {"deprecated.daemonset.template.generation": "1"}, generation=1),
                 "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": {"app": ds}},
                          "template": {"metadata": {"labels": agent_labels}, "spec": agent_spec},
                          "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}}},
                 "status": {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberAvailable": 2,
                            "numberMisscheduled": 0, "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 2}})
    objs += [pod(p, ns, n, ip, {**agent_labels, "controller-revision-hash": "6d9f8c7b5"}, agent_spec, owner("DaemonSet", ds),
                 created="2026-11-27T07:40:02Z") for p, n, ip in agent_pods]
    objs.append(secret(name, ns, {"api-key": API_KEY}, common))
    objs.append(configmap_lock("datadog-leader-election", ns, agent_pods[0][0], acquired="2026-11-27T07:40:31Z",
                               transitions=1))
    objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": meta("datadogtoken", ns, "cm-datadogtoken", created="2026-11-27T07:40:32Z"),
                 "data": {"event.tokenKey": "18734921", "event.tokenTimestamp": "2026-11-27T11:59:40Z"}})
    objs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ds, ns, f"sa-{ds}", common)})
    lock_cms = ["datadog-leader-election", f"{name}-leader-election"]
    rules = [{"apiGroups": [""], "resources": ["services", "events", "endpoints", "pods", "nodes", "namespaces",
                                               "componentstatuses"], "verbs": ["get", "list", "watch"]},
             {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": sorted({f"{name}token", "datadogtoken"}),
              "verbs": ["get", "update"]},
             {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": sorted(set(lock_cms)),
              "verbs": ["get", "update"]},
             {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
             {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [f"{name}-leader-election"],
              "verbs": ["get", "update"]},
             {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
             {"nonResourceURLs": ["/version", "/healthz", "/metrics", "/metrics/slis"], "verbs": ["get"]},
             {"apiGroups": [""], "resources": ["nodes/metrics", "nodes/spec", "nodes/proxy", "nodes/stats"],
              "verbs": ["get"]}]
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": meta(name, None, f"clusterrole-{name}", common), "rules": rules})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": meta(name, None, f"clusterrolebinding-{name}", common),
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                 "subjects": [{"kind": "ServiceAccount", "name": ds, "namespace": ns}]})
    return objs


def main() -> None:
    for flavor in ("helm", "operator", "legacy"):
        (HERE / flavor).mkdir(exist_ok=True)
        (HERE / flavor / "objects.yaml").write_text(
            f"# {flavor} install, generated by tests/scenarios/gen_installs.py; objects as `kubectl get -o yaml` prints them\n"
            + dump(install(flavor)))
    (HERE / "helm-agents").mkdir(exist_ok=True)
    (HERE / "helm-agents" / "objects.yaml").write_text(
        "# Helm install with clusterAgent.enabled=false, generated by tests/scenarios/gen_installs.py; objects as "
        "`kubectl get -o yaml` prints them\n" + dump(agents_only_install()))


if __name__ == "__main__":
    main()
