"""Generates the clusterchecks-* scenarios: `python -m tests.scenarios.gen_clusterchecks` rewrites their
objects.yaml (the DCA's `clusterchecks` answers under pods/ are written by hand, from the layouts in
../shared/reference/admission-and-clusterchecks.md B4).

Shapes (reference B1-B2):
  clusterchecks-helm      Helm with datadog.clusterChecks.enabled, kube-state-metrics core on the
                          Cluster Checks Runners (Deployment `datadog-clusterchecks`, 2 replicas): the
                          DCA reads kube_endpoints kube_services, node Agents run endpointschecks only,
                          runners run clusterchecks. A Service `redis` with a cluster check (AD v2
                          service.checks) and `nginx` with an endpoint check (endpoints.checks).
  clusterchecks-operator  the Operator without runners (useClusterChecksRunners false): node Agents
                          run clusterchecks endpointschecks, kube-state-metrics core on the DCA.
The other scenarios overlay these with one thing broken.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from tests.scenario import load_scenario
from tests.scenarios.gen_installs import (
    CREATED,
    NODES,
    dump,
    endpoints,
    env,
    field_ref,
    meta,
    node,
    owner,
    pod,
    secret_ref,
    service,
)

HERE = Path(__file__).parent
NS = "datadog"
TAINTED_NODE = "gke-test-tainted-pool-5f1c2a3b-q8zv"
RUNNERS = ["datadog-clusterchecks-7d9c6b5f4-2xk8p", "datadog-clusterchecks-7d9c6b5f4-9qv7m"]
OPERATOR_RUNNERS = ["datadog-cluster-checks-runner-6f8d7c9b5-4hz2w", "datadog-cluster-checks-runner-6f8d7c9b5-m8k3t"]
NGINX = ("nginx-6d4cf56db6-tk2rw", NODES[1], "10.244.1.20")
NGINX_TAINTED = ("nginx-6d4cf56db6-w7p4c", TAINTED_NODE, "10.244.2.20")
REDIS = ("redis-5b8f9c7d6-mq3hz", NODES[0], "10.244.0.20")

KSM_FILE = """cluster_check: {cluster_check}
init_config:
instances:
  - collectors:
    - pods
    - nodes
    - namespaces
    - services
    - deployments
    - daemonsets
    - replicasets
    - statefulsets
    - jobs
    - cronjobs
    - persistentvolumeclaims
    skip_leader_election: {cluster_check}
"""
KSM_RULES = [{"apiGroups": [""], "resources": ["pods", "nodes", "namespaces", "services", "persistentvolumeclaims"],
              "verbs": ["list", "watch"]},
             {"apiGroups": ["apps"], "resources": ["deployments", "daemonsets", "replicasets", "statefulsets"],
              "verbs": ["list", "watch"]},
             {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["list", "watch"]}]
REDIS_CHECKS = {"redisdb": {"init_config": {}, "instances": [{"host": "%%host%%", "port": "6379"}]}}
NGINX_CHECKS = {"nginx": {"init_config": {}, "instances": [{"nginx_status_url": "http://%%host%%:80/nginx_status/"}]}}


def _set_env(container: dict[str, Any], pairs: dict[str, str | None]) -> None:
    """Set (or, with None, remove) env vars of a container, keeping the others in place."""
    current = [e for e in container.get("env") or [] if e["name"] not in pairs]
    container["env"] = current + [{"name": k, "value": v} for k, v in pairs.items() if v is not None]


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"] if obj["kind"] in ("Deployment", "DaemonSet") else obj["spec"]
    return spec["containers"]


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"] if obj["kind"] in ("Deployment", "DaemonSet") else obj["spec"]


def _with_env(objs: list[dict[str, Any]], kinds_names: set[tuple[str, str]], container: str,
              pairs: dict[str, str | None], confd: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    out = []
    for obj in objs:
        if (obj["kind"], obj["metadata"]["name"]) not in kinds_names:
            continue
        obj = copy.deepcopy(obj)
        for c in _containers(obj):
            if c["name"] == container:
                _set_env(c, pairs)
                if confd is not None:
                    c["volumeMounts"] = [{"name": "confd", "mountPath": confd[1], "readOnly": True}]
        if confd is not None:
            _pod_spec(obj)["volumes"] = [{"name": "confd", "configMap": {"name": confd[0]}}]
        out.append(obj)
    return out


def app_workloads(nginx_pods: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """The annotated Services in `default` and their pods (Endpoints/EndpointSlices as the controllers write)."""
    redis_svc = service("redis", "default", "127.96.40.10", [{"name": "redis", "port": 6379, "protocol": "TCP",
                                                               "targetPort": 6379}], {"app": "redis"})
    redis_svc["metadata"]["annotations"] = {"ad.datadoghq.com/service.checks": json.dumps(REDIS_CHECKS)}
    nginx_svc = service("nginx", "default", "127.96.40.11", [{"name": "http", "port": 80, "protocol": "TCP",
                                                               "targetPort": 80}], {"app": "nginx"})
    nginx_svc["metadata"]["annotations"] = {"ad.datadoghq.com/endpoints.checks": json.dumps(NGINX_CHECKS)}
    objs = [redis_svc, nginx_svc]
    for name, node_name, ip in [REDIS, *nginx_pods]:
        app = name.split("-", 1)[0]
        p = pod(name, "default", node_name, ip, {"app": app, "pod-template-hash": name.split("-")[1]},
                {"containers": [{"name": app, "image": f"{app}:latest", "resources": {}}], "dnsPolicy": "ClusterFirst",
                 "restartPolicy": "Always", "serviceAccountName": "default"},
                owner("ReplicaSet", name.rsplit("-", 1)[0]), created=CREATED)
        objs.append(p)
    objs += endpoints("redis", "default", "redis", 6379, [(REDIS[0], REDIS[1], REDIS[2])])
    objs += endpoints("nginx", "default", "http", 80, [(n, nd, ip) for n, nd, ip in nginx_pods])
    return objs


def _ksm_configmap(name: str, cluster_check: bool, key: str = "kubernetes_state_core.yaml.default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, NS, f"cm-{name}"),
            "data": {key: KSM_FILE.format(cluster_check=str(cluster_check).lower())}}


def _ksm_rbac(sa: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": meta("datadog-ksm-core", None, "clusterrole-datadog-ksm-core"), "rules": KSM_RULES},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": meta("datadog-ksm-core", None, "clusterrolebinding-datadog-ksm-core"),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "datadog-ksm-core"},
             "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": NS}]}]


def runners(ready: bool = True, flavor: str = "helm") -> list[dict[str, Any]]:
    """The Cluster Checks Runner Deployment, ReplicaSet, pods and ServiceAccount: Helm's
    `<fullname>-clusterchecks` or the Operator's `<dda>-cluster-checks-runner` (reference B1)."""
    if flavor == "helm":
        name, sa, rs_hash, names = "datadog-clusterchecks", "datadog-cluster-checks", "7d9c6b5f4", RUNNERS
        labels = {"app": name, "app.kubernetes.io/component": "clusterchecks-agent",
                  "agent.datadoghq.com/component": "cluster-checks-runner", "admission.datadoghq.com/enabled": "false",
                  "app.kubernetes.io/name": "datadog", "app.kubernetes.io/instance": name,
                  "app.kubernetes.io/managed-by": "Helm"}
        selector = {"app": name}
        deploy_labels = {"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "datadog-3.140.2",
                         "app.kubernetes.io/component": "clusterchecks-agent"}
        token = secret_ref("datadog-cluster-agent", "token")
        extra = [("DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME", "datadog-cluster-agent")]
    else:
        name, sa, rs_hash, names = "datadog-cluster-checks-runner", "datadog-cluster-checks-runner", "6f8d7c9b5", \
            OPERATOR_RUNNERS
        labels = {"agent.datadoghq.com/component": "cluster-checks-runner", "agent.datadoghq.com/name": "datadog",
                  "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "datadog-operator",
                  "app.kubernetes.io/name": "datadog-deployment", "app.kubernetes.io/part-of": "datadog-datadog"}
        selector = {"agent.datadoghq.com/component": "cluster-checks-runner", "agent.datadoghq.com/name": "datadog"}
        deploy_labels = {"app.kubernetes.io/managed-by": "datadog-operator", "agent.datadoghq.com/name": "datadog"}
        token = secret_ref("datadog-token", "token")
        extra = [("DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME", "datadog-cluster-agent"),
                 ("DD_CLUSTER_CHECKS_ENABLED", "true")]
    container = {"name": "agent", "image": "gcr.io/datadoghq/agent:7.62.2", "command": ["agent", "run"],
                 "env": env([("DD_API_KEY", secret_ref("datadog" if flavor == "helm" else "datadog-secret", "api-key")),
                             ("KUBERNETES", "yes"),
                             ("DD_CLUSTER_AGENT_ENABLED", "true"),
                             *extra,
                             ("DD_CLUSTER_AGENT_AUTH_TOKEN", token),
                             ("DD_CLC_RUNNER_ENABLED", "true"),
                             ("DD_CLC_RUNNER_HOST", field_ref("status.podIP")),
                             ("DD_CLC_RUNNER_ID", field_ref("metadata.name")),
                             ("DD_EXTRA_CONFIG_PROVIDERS", "clusterchecks"),
                             ("DD_HEALTH_PORT", "5557" if flavor == "helm" else "5555")]),
                 "resources": {}}
    spec = {"serviceAccountName": sa, "containers": [container], "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always"}
    rs = f"{name}-{rs_hash}"
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": meta(name, NS, f"deployment-{name}", deploy_labels, generation=1),
                  "spec": {"replicas": 2, "selector": {"matchLabels": selector},
                           "template": {"metadata": {"labels": labels}, "spec": spec}},
                  "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
                             "readyReplicas": 2 if ready else 0, "availableReplicas": 2 if ready else 0}}
    replicaset = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": meta(rs, NS, f"replicaset-{rs}", {**labels, "pod-template-hash": rs_hash},
                                   ownerReferences=[owner("Deployment", name)]),
                  "spec": {"replicas": 2, "selector": {"matchLabels": {**selector, "pod-template-hash": rs_hash}},
                           "template": {"metadata": {"labels": {**labels, "pod-template-hash": rs_hash}},
                                        "spec": spec}},
                  "status": {"replicas": 2, "readyReplicas": 2 if ready else 0}}
    pods = [pod(n, NS, node_name, ip, {**labels, "pod-template-hash": rs_hash}, copy.deepcopy(spec),
                owner("ReplicaSet", rs), ready=ready, restarts=0 if ready else 14)
            for n, node_name, ip in zip(names, NODES, ("10.244.0.30", "10.244.1.30"), strict=True)]
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(sa, NS, f"sa-{sa}")}
    return [deployment, replicaset, *pods, account]


def helm(enabled: bool = True, with_runners: bool = True) -> list[dict[str, Any]]:
    base = load_scenario("helm").objects
    dca_names = {("Deployment", "datadog-cluster-agent")} | {
        ("Pod", o["metadata"]["name"]) for o in base
        if o["kind"] == "Pod" and o["metadata"]["name"].startswith("datadog-cluster-agent-")}
    agent_names = {("DaemonSet", "datadog"), ("Pod", "datadog-9d5bl"), ("Pod", "datadog-k4x2n")}
    providers = "kube_endpoints kube_services" if enabled else None
    objs = _with_env(base, dca_names, "cluster-agent",
                     {"DD_CLUSTER_CHECKS_ENABLED": "true" if enabled else "false",
                      "DD_EXTRA_CONFIG_PROVIDERS": providers, "DD_EXTRA_LISTENERS": providers},
                     confd=("datadog-cluster-agent-confd", "/conf.d"))
    agent_providers = ("endpointschecks" if with_runners else "clusterchecks endpointschecks") if enabled else None
    objs += _with_env(base, agent_names, "agent", {"DD_EXTRA_CONFIG_PROVIDERS": agent_providers})
    objs.append(_ksm_configmap("datadog-cluster-agent-confd", cluster_check=enabled and with_runners))
    if enabled and with_runners:
        objs += runners() + _ksm_rbac("datadog-cluster-checks")
    else:
        objs += _ksm_rbac("datadog-cluster-agent")
    return objs + app_workloads([NGINX])


def operator(with_runners: bool = False) -> list[dict[str, Any]]:
    base = load_scenario("operator").objects
    dca_names = {("Deployment", "datadog-cluster-agent")} | {
        ("Pod", o["metadata"]["name"]) for o in base
        if o["kind"] == "Pod" and o["metadata"]["name"].startswith("datadog-cluster-agent-")}
    agent_names = {("DaemonSet", "datadog-agent"), ("Pod", "datadog-agent-9d5bl"), ("Pod", "datadog-agent-k4x2n")}
    objs = _with_env(base, dca_names, "cluster-agent",
                     {"DD_CLUSTER_CHECKS_ENABLED": "true", "DD_EXTRA_CONFIG_PROVIDERS": "kube_services kube_endpoints",
                      "DD_EXTRA_LISTENERS": "kube_services kube_endpoints"},
                     confd=("datadog-kube-state-metrics-core-config",
                            "/etc/datadog-agent/conf.d/kubernetes_state_core.d"))
    objs += _with_env(base, agent_names, "agent", {"DD_EXTRA_CONFIG_PROVIDERS": "endpointschecks" if with_runners
                                                   else "clusterchecks endpointschecks"})
    objs.append(_ksm_configmap("datadog-kube-state-metrics-core-config", cluster_check=with_runners))
    if with_runners:
        objs += runners(flavor="operator") + _ksm_rbac("datadog-cluster-checks-runner")
    else:
        objs += _ksm_rbac("datadog-cluster-agent")
    return objs + app_workloads([NGINX])


def tainted_node() -> list[dict[str, Any]]:
    n = node(TAINTED_NODE, 2)
    n["spec"]["taints"] = [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]
    return [n]


def invalid_service() -> dict[str, Any]:
    svc = service("memcached", "default", "127.96.40.12", [{"name": "memcached", "port": 11211, "protocol": "TCP",
                                                             "targetPort": 11211}], {"app": "memcached"})
    # A trailing comma and single quotes: what a hand-edited annotation often looks like.
    svc["metadata"]["annotations"] = {
        "ad.datadoghq.com/service.checks": "{'mcache': {'instances': [{'url': '%%host%%', 'port': 11211}],}}"}
    return svc


def late_service() -> list[dict[str, Any]]:
    """A Service annotated after the DCA started, with its pod (datadog-agent#52384: not picked up)."""
    svc = service("postgres", "default", "127.96.40.13", [{"name": "postgres", "port": 5432, "protocol": "TCP",
                                                            "targetPort": 5432}], {"app": "postgres"})
    svc["metadata"]["creationTimestamp"] = "2026-11-27T11:40:00Z"
    svc["metadata"]["annotations"] = {"ad.datadoghq.com/service.checks": json.dumps(
        {"postgres": {"init_config": {}, "instances": [{"host": "%%host%%", "port": 5432, "username": "datadog"}]}})}
    return [svc]


def dca_role_without_provider_reads() -> list[dict[str, Any]]:
    """The Helm DCA ClusterRole without services, endpoints and endpointslices (a hand-trimmed role)."""
    role = copy.deepcopy(next(o for o in load_scenario("helm").objects
                              if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "datadog-cluster-agent"))
    rules = []
    for rule in role["rules"]:
        kept = [r for r in rule.get("resources") or [] if r not in ("services", "endpoints", "endpointslices")]
        if kept or not rule.get("resources"):
            rules.append({**rule, "resources": kept} if rule.get("resources") else rule)
    role["rules"] = rules
    return [role]


def write(name: str, objs: list[dict[str, Any]], config: dict[str, Any]) -> None:
    d = HERE / name
    d.mkdir(exist_ok=True)
    if objs:  # an overlay with exec fixtures only has no objects of its own
        (d / "objects.yaml").write_text(dump(objs))
    (d / "scenario.yaml").write_text(yaml.safe_dump(config, sort_keys=False, width=1000))


def main() -> None:
    write("clusterchecks-helm", helm(),
          {"description": "Helm with cluster checks on Cluster Checks Runners: a Service cluster check, an endpoint "
                          "check and kube-state-metrics core, all dispatched (healthy, quiet)", "base": "helm"})
    write("clusterchecks-invalid-json", [invalid_service()],
          {"description": "clusterchecks-helm plus a Service whose service.checks annotation is not valid JSON",
           "base": "clusterchecks-helm"})
    rs = "nginx-6d4cf56db6"
    tainted_pod = app_workloads([NGINX, NGINX_TAINTED])
    write("clusterchecks-endpoint-no-agent",
          tainted_node() + [o for o in tainted_pod if o["kind"] in ("Endpoints", "EndpointSlice")
                            or o["metadata"]["name"] == NGINX_TAINTED[0]],
          {"description": f"clusterchecks-helm plus a second nginx pod ({rs}-w7p4c) on a tainted node where no node "
                          "Agent runs: its endpoint check never runs", "base": "clusterchecks-helm"})
    write("clusterchecks-runners-not-ready", [o for o in runners(ready=False) if o["kind"] == "Deployment"],
          {"description": "clusterchecks-helm with both Cluster Checks Runners crash-looping (not Ready): nothing "
                          "reports, every cluster check is unassigned", "base": "clusterchecks-helm",
           "unreadyPods": [f"{NS}/{n}" for n in RUNNERS]})
    write("clusterchecks-disabled", helm(enabled=False),
          {"description": "Helm with datadog.clusterChecks.enabled=false while Services carry check annotations",
           "base": "helm"})
    write("clusterchecks-not-picked-up", late_service(),
          {"description": "clusterchecks-helm plus a Service annotated with a postgres check that the DCA leader "
                          "does not list", "base": "clusterchecks-helm"})
    write("clusterchecks-warmup", [],
          {"description": "clusterchecks-helm right after a leader change: the DCA leader is warming up",
           "base": "clusterchecks-helm"})
    write("clusterchecks-check-error", [],
          {"description": "clusterchecks-helm on a DCA that prints execution status: redisdb fails on its runner",
           "base": "clusterchecks-helm"})
    write("clusterchecks-helm-no-runners", helm(with_runners=False),
          {"description": "Helm with cluster checks and no runners: node Agents run cluster and endpoint checks, "
                          "kube-state-metrics core on the DCA (healthy, quiet)", "base": "helm"})
    write("clusterchecks-operator-runners", operator(with_runners=True),
          {"description": "the Operator with useClusterChecksRunners: kube-state-metrics core and redisdb on the "
                          "runners `datadog-cluster-checks-runner` (healthy, quiet)", "base": "operator"})
    dca_sa = "system:serviceaccount:datadog:datadog-cluster-agent"
    write("clusterchecks-dca-rbac", dca_role_without_provider_reads(),
          {"description": "clusterchecks-helm with a DCA ClusterRole that may not list or watch Services and "
                          "EndpointSlices: its config providers never see the annotations", "base": "clusterchecks-helm",
           "accessReviews": {"denyFor": {dca_sa: ["list services", "watch services",
                                                  "list endpointslices.discovery.k8s.io",
                                                  "watch endpointslices.discovery.k8s.io"]}}})
    write("clusterchecks-operator", operator(),
          {"description": "the Operator without runners: node Agents run cluster and endpoint checks, "
                          "kube-state-metrics core on the DCA (healthy, quiet)", "base": "operator"})


if __name__ == "__main__":
    main()
