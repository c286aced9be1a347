"""Generates the `doctor-*` scenarios: `python -m tests.scenarios.gen_doctor`.

- doctor-helm, doctor-operator: the healthy Helm and Operator installs (over env-helm/env-operator,
  which add the Agents' status, env and logs) with what those installs also render and the base
  installs leave out, because only doctor looks at it: the DCA's auth-delegator binding (external
  metrics need it to create subject and token reviews), the node Agents' ClusterRole (kubelet
  access), the DatadogMetric status permission, and the exec fixtures of the DCA's `health` and
  `metamap`.
- doctor-runner-rbac: doctor-helm with a Cluster Checks Runner whose account nothing binds.
- doctor-faults: doctor-helm with five independent faults, one per area: a node Agent killed for
  memory and crash-looping, the DCA's auth-delegator binding missing, objects of an old install in
  another namespace, the leader's `health` failing one component, and the node Agents one minor
  version ahead of the DCA.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.scenario import load_scenario
from tests.scenarios.gen_installs import dump, meta

HERE = Path(__file__).parent
LEADER = "datadog-cluster-agent-8568545574-x9tc9"
FOLLOWER = "datadog-cluster-agent-8568545574-q2m7d"
HEALTHY = ("ad-config-provider-kubernetes-endpoints, ad-servicelistening, clusterchecks-dispatch, "
           "datadog-cluster-agent-api, healthcheck, metadata-mapper, metrics-provider, tagger-store")

METAMAP = """===============
Metadata Mapper
===============

Node detected: gke-test-default-pool-068cb9c0-sf1w

  - Namespace: datadog
      - Pod: datadog-cluster-agent-8568545574-q2m7d
        Services: [datadog-cluster-agent {metrics}]

Node detected: gke-test-default-pool-068cb9c0-wntj

  - Namespace: datadog
      - Pod: datadog-cluster-agent-8568545574-x9tc9
        Services: [datadog-cluster-agent {metrics}]
"""


def health(unhealthy: tuple[str, ...] = ()) -> str:
    healthy = [c for c in HEALTHY.split(", ") if c not in unhealthy]
    text = f"Agent health: {'FAIL' if unhealthy else 'PASS'}\n=== {len(healthy)} healthy components ===\n"
    text += ", ".join(healthy) + "\n"
    if unhealthy:
        text += f"=== {len(unhealthy)} unhealthy components ===\n{', '.join(unhealthy)}\n"
    return text


def cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": meta(name, None, f"cr-{name}"), "rules": rules}


def binding(name: str, role: str, namespace: str, account: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": meta(name, None, f"crb-{name}"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]}


def rendered_rbac(prefix: str, agent_account: str, *, auth_delegator: bool = True) -> list[dict[str, Any]]:
    agent_rules = [
        {"nonResourceURLs": ["/version", "/healthz", "/metrics"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["nodes/metrics", "nodes/spec", "nodes/proxy", "nodes/stats"],
         "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get"]},
    ]
    objs = [cluster_role(prefix, agent_rules), binding(prefix, prefix, "datadog", agent_account),
            cluster_role(f"{prefix}-cluster-agent-datadogmetrics-status",
                         [{"apiGroups": ["datadoghq.com"], "resources": ["datadogmetrics/status"],
                           "verbs": ["update"]}]),
            binding(f"{prefix}-cluster-agent-datadogmetrics-status", f"{prefix}-cluster-agent-datadogmetrics-status",
                    "datadog", "datadog-cluster-agent")]
    if auth_delegator:
        objs.append(binding(f"{prefix}-cluster-agent-system-auth-delegator", "system:auth-delegator", "datadog",
                            "datadog-cluster-agent"))
    return objs


def write(name: str, description: str, base: str, objects: list[dict[str, Any]],
          execs: dict[tuple[str, str], str], remove: list[dict[str, str]] | None = None,
          **config_extra: Any) -> None:
    out = HERE / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    config: dict[str, Any] = {"description": description, "base": base}
    if remove:
        config["remove"] = remove
    config.update(config_extra)
    (out / "scenario.yaml").write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    if objects:
        (out / "objects.yaml").write_text(dump(objects))
    for (pod, key), text in execs.items():
        path = out / "pods" / "datadog" / pod / "exec" / f"{key}.out"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# The leader's `clusterchecks` with no check configured: the node Agents report, nothing to dispatch.
CLUSTERCHECKS = """=== 2 agents reporting ===

Name                                  Running checks
gke-test-default-pool-068cb9c0-sf1w   0
gke-test-default-pool-068cb9c0-wntj   0
"""


def _healthy_execs(metrics_service: str) -> dict[tuple[str, str], str]:
    return {(LEADER, "datadog-cluster-agent_health"): health(),
            (LEADER, "datadog-cluster-agent_clusterchecks"): CLUSTERCHECKS,
            (FOLLOWER, "datadog-cluster-agent_health"): health(),
            (LEADER, "datadog-cluster-agent_metamap"): METAMAP.format(metrics=metrics_service)}


def _pod(scenario: str, name: str) -> dict[str, Any]:
    objs = load_scenario(scenario).objects
    return copy.deepcopy(next(o for o in objs if o["kind"] == "Pod" and o["metadata"]["name"] == name))


def faults() -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = []
    # 1. A node Agent killed for memory, now crash-looping.
    agent = _pod("env-helm", "datadog-k4x2n")
    limits = {"limits": {"memory": "256Mi"}, "requests": {"memory": "256Mi", "cpu": "200m"}}
    for c in agent["spec"]["containers"]:
        c["resources"] = limits
    status = next(s for s in agent["status"]["containerStatuses"] if s["name"] == "agent")
    status.update({"ready": False, "restartCount": 14, "started": False,
                   "state": {"waiting": {"reason": "CrashLoopBackOff",
                                         "message": "back-off 5m0s restarting failed container=agent "
                                                    "pod=datadog-k4x2n_datadog(pod-datadog-k4x2n)"}},
                   "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                "startedAt": "2026-11-27T11:54:02Z",
                                                "finishedAt": "2026-11-27T11:55:10Z"}}})
    for cond in agent["status"].get("conditions") or []:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "False"
    objs.append(agent)
    # 2. Both node Agents one minor version ahead of the DCA (7.62 -> 7.63).
    other = _pod("env-helm", "datadog-9d5bl")
    for pod in (agent, other):
        for c in pod["spec"]["containers"]:
            c["image"] = c["image"].replace("7.62.2", "7.63.0")
        for s in pod["status"].get("containerStatuses") or []:
            s["image"] = s.get("image", "").replace("7.62.2", "7.63.0")
    objs.append(other)
    # 3. An old install in another namespace: its DCA Deployment scaled to zero and its lock.
    objs.append({"apiVersion": "v1", "kind": "Namespace",
                 "metadata": meta("datadog-old", None, "ns-datadog-old", {"kubernetes.io/metadata.name": "datadog-old"}),
                 "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    objs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": meta("datadog-cluster-agent", "datadog-old", "deploy-old-dca",
                                  {"app.kubernetes.io/component": "cluster-agent"}),
                 "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "datadog-old-cluster-agent"}},
                          "template": {"metadata": {"labels": {"app": "datadog-old-cluster-agent",
                                                               "app.kubernetes.io/component": "cluster-agent"}},
                                       "spec": {"containers": [{"name": "cluster-agent",
                                                                "image": "gcr.io/datadoghq/cluster-agent:7.40.0"}]}}},
                 "status": {"replicas": 0, "readyReplicas": 0}})
    objs.append(binding("datadog-old-cluster-agent", "datadog-cluster-agent", "datadog-old", "datadog-cluster-agent"))
    # Its webhook configuration, calling a Service of the old namespace (Ignore, and selecting no object:
    # the harness's other pods must not wait on it).
    objs.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                 "metadata": meta("datadog-webhook-old", None, "mwc-datadog-old"),
                 "webhooks": [{"name": "datadog.webhook.agent.config", "admissionReviewVersions": ["v1"],
                               "sideEffects": "None", "failurePolicy": "Ignore", "timeoutSeconds": 1,
                               "objectSelector": {"matchLabels": {"doctor.e2e/never": "selected"}},
                               "clientConfig": {"service": {"namespace": "datadog-old",
                                                            "name": "datadog-cluster-agent-admission-controller",
                                                            "path": "/injectconfig", "port": 443}},
                               "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                          "resources": ["pods"], "scope": "*"}]}]})
    return objs


def _set_status(pod: dict[str, Any], container: str, *, ready: bool, **fields: Any) -> None:
    status = next(s for s in pod["status"]["containerStatuses"] if s["name"] == container)
    status.update({"ready": ready, **fields})
    if not ready:
        for cond in pod["status"].get("conditions") or []:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"


RUNNER_LABELS = {"app": "datadog-clusterchecks", "app.kubernetes.io/component": "clusterchecks-agent",
                 "agent.datadoghq.com/component": "cluster-checks-runner", "pod-template-hash": "6b7c9d8f5"}


def runner_pod(name: str, i: int, *, running: bool) -> dict[str, Any]:
    """A Cluster Checks Runner pod as the chart runs it (account `datadog-cluster-checks`): Running
    and Ready, or Pending and unschedulable (on an older image)."""
    image = "gcr.io/datadoghq/agent:7.62.2" if running else "gcr.io/datadoghq/agent:7.61.0"
    conditions = [{"type": "PodScheduled", "status": "True" if running else "False",
                   "lastTransitionTime": "2026-11-27T10:00:00Z", "lastProbeTime": None}]
    if running:
        conditions.append({"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-27T10:00:00Z",
                           "lastProbeTime": None})
    else:
        conditions[0].update({"reason": "Unschedulable",
                              "message": "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."})
    status: dict[str, Any] = {"phase": "Running" if running else "Pending", "conditions": conditions,
                              "qosClass": "BestEffort"}
    if running:
        status.update({"hostIP": "10.128.0.10", "podIP": f"10.244.0.{40 + i}", "podIPs": [{"ip": f"10.244.0.{40 + i}"}],
                       "startTime": "2026-11-27T10:00:00Z",
                       "containerStatuses": [{"name": "agent", "image": image, "imageID": "", "ready": True,
                                              "restartCount": 0, "started": True,
                                              "state": {"running": {"startedAt": "2026-11-27T10:00:00Z"}}}]})
    spec: dict[str, Any] = {"serviceAccountName": "datadog-cluster-checks",
                            "containers": [{"name": "agent", "image": image,
                                            "env": [{"name": "DD_CLC_RUNNER_ENABLED", "value": "true"}]}]}
    if running:
        spec["nodeName"] = "gke-test-default-pool-068cb9c0-sf1w"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(name, "datadog", f"pod-{name}", RUNNER_LABELS, created="2026-11-27T10:00:00Z",
                             ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                               "name": "datadog-clusterchecks-6b7c9d8f5",
                                               "uid": "rs-clusterchecks", "controller": True}]),
            "spec": spec, "status": status}


def degraded() -> list[dict[str, Any]]:
    """One replica, throttled, pods that cannot pull or get ready, runners that cannot schedule."""
    objs: list[dict[str, Any]] = []
    deployment = copy.deepcopy(next(o for o in load_scenario("helm").objects if o["kind"] == "Deployment"))
    deployment["spec"]["replicas"] = 1
    deployment["status"].update({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1})
    objs.append(deployment)
    dca = _pod("doctor-helm", LEADER)
    dca["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "100m", "memory": "512Mi"},
                                                 "requests": {"cpu": "100m", "memory": "512Mi"}}
    objs.append(dca)
    pulling = _pod("env-helm", "datadog-9d5bl")
    pulling["spec"]["containers"][1]["image"] = "gcr.io/datadoghq/agent:7.62.2-typo"
    _set_status(pulling, "trace-agent", ready=False, started=False, image="gcr.io/datadoghq/agent:7.62.2-typo",
                state={"waiting": {"reason": "ImagePullBackOff",
                                   "message": 'Back-off pulling image "gcr.io/datadoghq/agent:7.62.2-typo"'}})
    objs.append(pulling)
    unready = _pod("env-helm", "datadog-k4x2n")
    _set_status(unready, "agent", ready=False, restartCount=6,
                lastState={"terminated": {"reason": "Error", "exitCode": 1, "startedAt": "2026-11-27T11:30:00Z",
                                          "finishedAt": "2026-11-27T11:40:00Z"}})
    objs.append(unready)
    objs += [runner_pod("datadog-clusterchecks-6b7c9d8f5-a1b2c", 0, running=True),
             runner_pod("datadog-clusterchecks-6b7c9d8f5-d3e4f", 1, running=False)]
    # The chart's binding of the runners' account to the Agents' ClusterRole.
    objs.append(binding("datadog-cluster-checks", "datadog", "datadog", "datadog-cluster-checks"))
    return objs


def dca_down() -> list[dict[str, Any]]:
    """Both Cluster Agent replicas crash-looping (a bad config): nothing serves the Agents, the
    external metrics or the map."""
    objs = []
    for name in (LEADER, FOLLOWER):
        pod = _pod("doctor-helm", name)
        _set_status(pod, "cluster-agent", ready=False, restartCount=23, started=False,
                    state={"waiting": {"reason": "CrashLoopBackOff",
                                       "message": f"back-off 5m0s restarting failed container=cluster-agent pod={name}"}},
                    lastState={"terminated": {"reason": "Error", "exitCode": 1, "startedAt": "2026-11-27T11:56:00Z",
                                              "finishedAt": "2026-11-27T11:56:02Z"}})
        objs.append(pod)
    return objs


def main() -> None:
    write("doctor-helm", "Healthy Helm install as the chart renders it, with the DCA's health and metamap answers",
          "env-helm", rendered_rbac("datadog", "datadog"), _healthy_execs("datadog-cluster-agent-metrics-api"))
    write("doctor-operator", "Healthy Operator install as the Operator renders it, with the DCA's health and metamap "
          "answers", "env-operator", rendered_rbac("datadog-agent", "datadog-agent"),
          _healthy_execs("datadog-cluster-agent-metrics-server"))
    execs = _healthy_execs("datadog-cluster-agent-metrics-api")
    execs[(LEADER, "datadog-cluster-agent_health")] = health(("ad-servicelistening",))
    objs = faults()
    write("doctor-faults", "doctor-helm with five independent faults: an OOMKilled crash-looping Agent, no "
          "auth-delegator binding for the DCA, an old install's leftovers, a failing DCA health component, "
          "Agents ahead of the DCA", "doctor-helm", objs, execs,
          remove=[{"kind": "ClusterRoleBinding", "name": "datadog-cluster-agent-system-auth-delegator"}],
          # The fake's answers for the missing binding (the harness asks the real RBAC).
          accessReviews={"deny": ["create subjectaccessreviews.authorization.k8s.io",
                                  "create tokenreviews.authentication.k8s.io"]})
    write("doctor-degraded", "doctor-helm degraded: one throttled DCA replica without a PodDisruptionBudget, an "
          "Agent that cannot pull an image, an Agent restarting and not Ready, runners unschedulable on two images",
          "doctor-helm", degraded(), {}, remove=[{"kind": "Pod", "namespace": "datadog", "name": FOLLOWER}])
    write("doctor-dca-down", "doctor-helm with both Cluster Agent replicas crash-looping", "doctor-helm", dca_down(),
          {}, unreadyPods=[f"datadog/{LEADER}", f"datadog/{FOLLOWER}"], externalMetricsDown=True)
    # Runners whose account the chart's binding to the Agents' ClusterRole no longer names.
    write("doctor-runner-rbac", "doctor-helm with a Cluster Checks Runner whose service account no ClusterRoleBinding "
          "names (the chart's datadog-cluster-checks binding missing): it may not get endpoints", "doctor-helm",
          [runner_pod("datadog-clusterchecks-6b7c9d8f5-a1b2c", 0, running=True)], {},
          # The fake's answer for the missing binding (the harness asks the real RBAC).
          accessReviews={"denyFor": {"system:serviceaccount:datadog:datadog-cluster-checks": ["get endpoints"]}})
    # What a user with the built-in `view` ClusterRole gets (the harness's `viewer`): no secrets,
    # no exec, no access reviews.
    write("doctor-viewer", "doctor-helm as seen by a user with the `view` ClusterRole only", "doctor-helm", [], {},
          forbidden=[{"verb": "get", "resource": "secrets"}, {"verb": "list", "resource": "secrets"},
                     {"verb": "create", "resource": "pods/exec"}],
          accessReviews={"unavailable": True})


if __name__ == "__main__":
    main()
