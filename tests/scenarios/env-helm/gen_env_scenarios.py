"""Generates the env-check scenarios (`tests/scenarios/env-*`): the healthy `env-helm` and
`env-operator` installs with the node Agents' exec and log fixtures, and one overlay per fault.

    .venv/bin/python -m tests.scenarios.env-helm.gen_env_scenarios   (or run this file directly)

Objects are the base installs' (tests/scenarios/gen_installs.py) with the one thing changed; the
fixtures follow the Agent's real output (reference section 4: `agent status` "Datadog Cluster Agent"
section, `env`, the kubemetadata/tagger log lines).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent
sys.path.insert(0, str(SCENARIOS.parent.parent))

from tests.scenario import load_objects  # noqa: E402
from tests.scenarios.gen_installs import API_KEY, TOKEN, dump, secret  # noqa: E402

SHORT_TOKEN = "shortToken123456"  # 16 characters
OTHER_TOKEN = "OtherInstallTokenQ9w8e7r6t5y4u3i2o1p0"  # a different 38-character token
STAGING_TOKEN = "StagingTokenZ1x2c3v4b5n6m7a8s9d0f1g2"


def status(ip: str, body: str) -> str:
    return (
        "===============\nAgent (v7.62.2)\n===============\n\n"
        "  Status date: 2026-11-27 11:59:57.500 UTC (1795780797500)\n"
        "  Agent start: 2026-11-27 07:40:10.000 UTC (1795765210000)\n  Pid: 392\n  Go Version: go1.23.6\n"
        "  Python Version: 3.12.6\n  Build arch: amd64\n  Agent flavor: agent\n  Log Level: INFO\n\n"
        + (f"=====================\nDatadog Cluster Agent\n=====================\n\n{body}\n" if body else "")
        + "==========\nEndpoints\n==========\n  https://app.datadoghq.com - API Key ending with:\n      - bcdef\n")


def healthy_status(ip: str) -> str:
    return status(ip, f"  - Datadog Cluster Agent endpoint detected: https://{ip}:5005\n"
                      "  Successfully connected to the Datadog Cluster Agent.\n  - Running: 7.62.2+commit.2b3f1c4\n")


def env_out(pod: str, links: dict[str, tuple[str, int, str]], dd: dict[str, str], token: str) -> str:
    lines = ["PATH=/opt/datadog-agent/bin/agent/:/opt/datadog-agent/embedded/bin/:/usr/local/sbin:/usr/local/bin:"
             "/usr/sbin:/usr/bin:/sbin:/bin", f"HOSTNAME={pod}"]
    for prefix, (ip, port, name) in links.items():
        lines += [f"{prefix}_SERVICE_HOST={ip}", f"{prefix}_SERVICE_PORT={port}"]
        if name:
            lines.append(f"{prefix}_SERVICE_PORT_{name.upper()}={port}")
        lines += [f"{prefix}_PORT=tcp://{ip}:{port}", f"{prefix}_PORT_{port}_TCP=tcp://{ip}:{port}",
                  f"{prefix}_PORT_{port}_TCP_PROTO=tcp", f"{prefix}_PORT_{port}_TCP_PORT={port}",
                  f"{prefix}_PORT_{port}_TCP_ADDR={ip}"]
    lines += ["KUBERNETES_SERVICE_HOST=127.96.0.1", "KUBERNETES_SERVICE_PORT=443"]
    lines += [f"DD_API_KEY={API_KEY}", "KUBERNETES=yes", "DD_KUBERNETES_KUBELET_HOST=10.128.0.10"]
    lines += [f"{k}={v}" for k, v in dd.items()]
    lines += [f"DD_CLUSTER_AGENT_AUTH_TOKEN={token}", "DD_LOG_LEVEL=INFO", "HOME=/root"]
    return "\n".join(lines) + "\n"


LOG_START = ("2026-11-27 07:40:10 UTC | CORE | INFO | (pkg/util/log/log.go:620 in func1) | "
             "Starting Datadog Agent v7.62.2\n")
LOG_OK = (LOG_START
          + "2026-11-27 07:40:11 UTC | CORE | INFO | (comp/core/workloadmeta/collectors/internal/kubemetadata/"
            "kubemetadata.go:95 in Start) | kube-metadata-collector tag collector successfully started\n"
          + "2026-11-27 07:40:12 UTC | CORE | INFO | (pkg/util/clusteragent/clusteragent.go:198 in init) | "
            "Successfully connected to the Datadog Cluster Agent 7.62.2+commit.2b3f1c4\n"
          + "2026-11-27 11:59:50 UTC | CORE | INFO | (pkg/collector/worker/check_logger.go:71 in CheckFinished) | "
            "check:kubelet | Done running check\n")


def log_error(message: str) -> str:
    return (LOG_START
            + "2026-11-27 07:40:11 UTC | CORE | ERROR | (comp/core/workloadmeta/collectors/internal/kubemetadata/"
              f"kubemetadata.go:88 in Start) | Could not initialise the communication with the cluster agent: {message}\n"
            + "2026-11-27 07:40:11 UTC | CORE | ERROR | (pkg/tagger/collectors/kubemetadata_main.go:61 in Detect) | "
              "Could not initialise the communication with the Datadog Cluster Agent, falling back to local service "
              f"mapping: {message}\n"
            + "2026-11-27 11:59:50 UTC | CORE | INFO | (pkg/collector/worker/check_logger.go:71 in CheckFinished) | "
              "check:kubelet | Done running check\n")


def base_objects(name: str) -> list[dict[str, Any]]:
    return load_objects(SCENARIOS / name / "objects.yaml")


def find(objs: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def set_env(container: dict, name: str, value: str | None = None, value_from: dict | None = None) -> None:
    env = [e for e in container.get("env", []) if e["name"] != name]
    if value is not None:
        env.append({"name": name, "value": value})
    elif value_from is not None:
        env.append({"name": name, "valueFrom": value_from})
    container["env"] = env


def agent_containers(objs: list[dict], ds: str) -> list[dict]:
    """The agent container of the DaemonSet template and of every pod it owns."""
    out = []
    for o in objs:
        spec = None
        if o["kind"] == "DaemonSet" and o["metadata"]["name"] == ds:
            spec = o["spec"]["template"]["spec"]
        elif o["kind"] == "Pod" and any(r.get("name") == ds for r in o["metadata"].get("ownerReferences", [])):
            spec = o["spec"]
        if spec:
            out += [c for c in spec["containers"] if c["name"] == "agent"]
    return out


def agent_objects(objs: list[dict], ds: str) -> list[dict]:
    """The DaemonSet and the pods it owns (what an overlay replaces when it changes the Agents' env)."""
    return [o for o in objs if (o["kind"] == "DaemonSet" and o["metadata"]["name"] == ds)
            or (o["kind"] == "Pod" and any(r.get("name") == ds for r in o["metadata"].get("ownerReferences", [])))]


class Writer:
    def __init__(self, name: str, description: str, base: str, remove: list[dict] | None = None,
                 extra: dict | None = None) -> None:
        self.dir = SCENARIOS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.dir / "pods", ignore_errors=True)  # never the whole directory: this script lives in one
        (self.dir / "objects.yaml").unlink(missing_ok=True)
        config: dict[str, Any] = {"description": description, "base": base}
        if remove:
            config["remove"] = remove
        config.update(extra or {})
        (self.dir / "scenario.yaml").write_text(yaml.safe_dump(config, sort_keys=False, width=1000))

    def objects(self, objs: list[dict]) -> None:
        (self.dir / "objects.yaml").write_text(
            "# generated by tests/scenarios/env-helm/gen_env_scenarios.py\n" + dump(objs))

    def pod(self, ns: str, pod: str, *, status: str | None = None, env: str | None = None,
            log: str | None = None) -> None:
        base = self.dir / "pods" / ns / pod
        if status is not None:
            (base / "exec").mkdir(parents=True, exist_ok=True)
            (base / "exec" / "agent_status.out").write_text(status)
        if env is not None:
            (base / "exec").mkdir(parents=True, exist_ok=True)
            (base / "exec" / "env.out").write_text(env)
        if log is not None:
            (base / "logs").mkdir(parents=True, exist_ok=True)
            (base / "logs" / "agent.log").write_text(log)


HELM_AGENTS = ["datadog-9d5bl", "datadog-k4x2n"]
HELM_IP, OP_IP = "127.96.10.10", "127.96.20.10"
HELM_LINKS = {"DATADOG_CLUSTER_AGENT": (HELM_IP, 5005, "agentport"),
              "DATADOG_CLUSTER_AGENT_METRICS_API": ("127.96.10.11", 8443, "metricsapi")}
HELM_DD = {"DD_CLUSTER_AGENT_ENABLED": "true", "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME": "datadog-cluster-agent"}


def helm_agents(w: Writer, *, status: str | Callable[[str], str] | None = None, links: dict | None = None,
                dd: dict | None = None, token: str = TOKEN, log: str | None = None) -> None:
    for pod in HELM_AGENTS:
        text = status(pod) if callable(status) else status
        w.pod("datadog", pod, status=text if text is not None else healthy_status(HELM_IP),
              env=env_out(pod, HELM_LINKS if links is None else links, HELM_DD if dd is None else dd, token),
              log=LOG_OK if log is None else log)


def main() -> None:
    # Healthy installs.
    w = Writer("env-helm", "Helm install, both node Agents connected to the DCA (agent status, env, logs)", "helm")
    helm_agents(w)
    w = Writer("env-operator", "Operator install, both node Agents connected to the DCA", "operator")
    for pod in ["datadog-agent-9d5bl", "datadog-agent-k4x2n"]:
        w.pod("datadog", pod, status=healthy_status(OP_IP),
              env=env_out(pod, {"DATADOG_CLUSTER_AGENT": (OP_IP, 5005, ""),
                                "DATADOG_CLUSTER_AGENT_METRICS_SERVER": ("127.96.20.11", 8443, "metricsapi")},
                          HELM_DD, TOKEN), log=LOG_OK)

    helm = base_objects("helm")

    # Token too short: the Secret both sides read holds 16 characters.
    w = Writer("env-token-short", "The DCA token Secret holds a 16-character token", "env-helm")
    w.objects([secret("datadog-cluster-agent", "datadog", {"token": SHORT_TOKEN},
                      find(helm, "Secret", "datadog-cluster-agent")["metadata"].get("labels"))])
    msg = "cluster agent authentication token must be at least 32 characters long, currently: 16"
    helm_agents(w, status=status(HELM_IP, f"  - Could not detect the Datadog Cluster Agent's endpoint: {msg}\n"),
                token=SHORT_TOKEN, log=log_error(msg))

    # Token differs: the Agents read their own Secret.
    objs = copy.deepcopy(helm)
    for c in agent_containers(objs, "datadog"):
        set_env(c, "DD_CLUSTER_AGENT_AUTH_TOKEN", value_from={"secretKeyRef": {"name": "datadog-agent-token",
                                                                               "key": "token"}})
    w = Writer("env-token-mismatch", "The Agents take their token from another Secret than the DCA", "env-helm")
    w.objects(agent_objects(objs, "datadog") + [secret("datadog-agent-token", "datadog", {"token": OTHER_TOKEN})])
    err = ("unexpected response from https://127.96.10.10:5005/version: 403 Forbidden: invalid session token")
    helm_agents(w, status=status(HELM_IP, f"  - Datadog Cluster Agent endpoint detected: https://{HELM_IP}:5005\n"
                                          f"  - Could not reach the Datadog Cluster Agent: {err}\n"),
                token=OTHER_TOKEN, log=log_error(err))

    # Token too short and not the DCA's: the Agents read their own Secret, which holds 16 characters, while
    # the DCA's holds a valid token. Two problems (the length, and that the two sides differ).
    objs = copy.deepcopy(helm)
    for c in agent_containers(objs, "datadog"):
        set_env(c, "DD_CLUSTER_AGENT_AUTH_TOKEN", value_from={"secretKeyRef": {"name": "datadog-agent-token",
                                                                               "key": "token"}})
    w = Writer("env-token-short-mismatch", "The Agents read a 16-character token from another Secret than the DCA",
               "env-helm")
    w.objects(agent_objects(objs, "datadog") + [secret("datadog-agent-token", "datadog", {"token": SHORT_TOKEN})])
    helm_agents(w, status=status(HELM_IP, f"  - Could not detect the Datadog Cluster Agent's endpoint: {msg}\n"),
                token=SHORT_TOKEN, log=log_error(msg))

    # Token Secret deleted after the pods started (they still run with the old value).
    w = Writer("env-token-secret-missing", "The DCA token Secret was deleted", "env-helm",
               remove=[{"kind": "Secret", "namespace": "datadog", "name": "datadog-cluster-agent"}])
    # Token Secret unreadable for the user.
    w = Writer("env-token-forbidden", "The user may not get secrets in the install namespace", "env-helm",
               extra={"forbidden": [{"verb": "get", "resource": "secrets", "namespace": "datadog"}]})

    # The DCA Service was (re)created after the Agent pods: no service-link vars.
    objs = copy.deepcopy(helm)
    svc = find(objs, "Service", "datadog-cluster-agent")
    svc["metadata"]["creationTimestamp"] = "2026-11-27T08:15:00Z"
    w = Writer("env-service-late", "The DCA Service was created after the Agent pods started", "env-helm")
    w.objects([svc])
    err = ("cannot get a cluster agent endpoint for kubernetes service datadog-cluster-agent, "
           "env DATADOG_CLUSTER_AGENT_SERVICE_HOST is empty")
    helm_agents(w, status=status(HELM_IP, f"  - Could not detect the Datadog Cluster Agent's endpoint: {err}\n"),
                links={k: v for k, v in HELM_LINKS.items() if k != "DATADOG_CLUSTER_AGENT"}, log=log_error(err))

    # Wrong service name on the Agents.
    objs = copy.deepcopy(helm)
    for c in agent_containers(objs, "datadog"):
        set_env(c, "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME", "datadog-clusteragent")
    w = Writer("env-wrong-service-name", "The Agents name a DCA Service that does not exist", "env-helm")
    w.objects(agent_objects(objs, "datadog"))
    err = ("cannot get a cluster agent endpoint for kubernetes service datadog-clusteragent, "
           "env DATADOG_CLUSTERAGENT_SERVICE_HOST is empty")
    helm_agents(w, status=status(HELM_IP, f"  - Could not detect the Datadog Cluster Agent's endpoint: {err}\n"),
                dd={**HELM_DD, "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME": "datadog-clusteragent"}, log=log_error(err))

    # The DCA Service selects nothing: no endpoints.
    objs = copy.deepcopy(helm)
    svc = find(objs, "Service", "datadog-cluster-agent")
    svc["spec"]["selector"] = {"app": "datadog-clusteragent"}
    eps = find(objs, "Endpoints", "datadog-cluster-agent")
    eps.pop("subsets", None)
    sl = find(objs, "EndpointSlice", "datadog-cluster-agent-abcde")
    sl["endpoints"] = []
    w = Writer("env-no-endpoints", "The DCA Service's selector matches no pod: no endpoints", "env-helm")
    w.objects([svc, eps, sl])
    refused = f"Get \"https://{HELM_IP}:5005/version\": dial tcp {HELM_IP}:5005: connect: connection refused"
    helm_agents(w, status=status(HELM_IP, f"  - Could not detect the Datadog Cluster Agent's endpoint: {refused}\n"),
                log=log_error(refused))

    # The DCA Service forwards to the wrong port.
    objs = copy.deepcopy(helm)
    svc = find(objs, "Service", "datadog-cluster-agent")
    svc["spec"]["ports"][0]["targetPort"] = 5006
    sl = find(objs, "EndpointSlice", "datadog-cluster-agent-abcde")
    sl["ports"][0]["port"] = 5006
    eps = find(objs, "Endpoints", "datadog-cluster-agent")
    eps["subsets"][0]["ports"][0]["port"] = 5006
    w = Writer("env-wrong-port", "The DCA Service forwards port 5005 to 5006, where nothing listens", "env-helm")
    w.objects([svc, sl, eps])
    helm_agents(w, status=status(HELM_IP, f"  - Could not detect the Datadog Cluster Agent's endpoint: {refused}\n"),
                log=log_error(refused))

    # DD_CLUSTER_AGENT_URL names the DCA's Service without a port: the Agent dials https' 443, which the
    # Service (5005 only) does not expose.
    url_port_scenario(helm, refused_on=f"Get \"{URL_NO_PORT}/version\": dial tcp {HELM_IP}:443: connect: "
                                       "connection refused")

    # The DCA is disabled on the Agents.
    objs = copy.deepcopy(helm)
    for c in agent_containers(objs, "datadog"):
        set_env(c, "DD_CLUSTER_AGENT_ENABLED", "false")
    w = Writer("env-dca-disabled", "DD_CLUSTER_AGENT_ENABLED=false on the Agents although a DCA runs", "env-helm")
    w.objects(agent_objects(objs, "datadog"))
    helm_agents(w, status=status(HELM_IP, ""), dd={**HELM_DD, "DD_CLUSTER_AGENT_ENABLED": "false"},
                log=LOG_START)

    # Leader election enabled on the Agents.
    objs = copy.deepcopy(helm)
    for c in agent_containers(objs, "datadog"):
        set_env(c, "DD_LEADER_ELECTION", "true")
    w = Writer("env-leader-election", "DD_LEADER_ELECTION=true on the node Agents although a DCA runs", "env-helm")
    w.objects(agent_objects(objs, "datadog"))
    helm_agents(w, dd={**HELM_DD, "DD_LEADER_ELECTION": "true"})

    # Two Helm installs; the second one's Agents point at the first one's DCA (DD_CLUSTER_AGENT_URL).
    staging = staging_install(helm)
    w = Writer("env-two-installs", "Two Helm installs (datadog, datadog-staging); the staging Agents use the "
                                   "datadog install's DCA through DD_CLUSTER_AGENT_URL", "env-helm")
    w.objects(staging)
    url = "https://datadog-cluster-agent.datadog.svc:5005"
    err = f"unexpected response from {url}/version: 403 Forbidden: invalid session token"
    for pod in ["datadog-staging-9d5bl", "datadog-staging-k4x2n"]:
        w.pod("datadog-staging", pod,
              status=status(HELM_IP, f"  - Datadog Cluster Agent endpoint detected: {url}\n"
                                     f"  - Could not reach the Datadog Cluster Agent: {err}\n"),
              env=env_out(pod, {"DATADOG_STAGING_CLUSTER_AGENT": ("127.96.40.10", 5005, "agentport")},
                          {"DD_CLUSTER_AGENT_ENABLED": "true", "DD_CLUSTER_AGENT_URL": url,
                           "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME": "datadog-staging-cluster-agent"},
                          STAGING_TOKEN),
              log=log_error(err))


URL_NO_PORT = "https://datadog-cluster-agent.datadog.svc"


def url_port_scenario(helm: list[dict], refused_on: str) -> None:
    objs = copy.deepcopy(helm)
    for c in agent_containers(objs, "datadog"):
        set_env(c, "DD_CLUSTER_AGENT_URL", URL_NO_PORT)
    w = Writer("env-url-port", "DD_CLUSTER_AGENT_URL names the DCA Service without a port: the Agents dial 443, "
                               "the Service exposes only 5005", "env-helm")
    w.objects(agent_objects(objs, "datadog"))
    helm_agents(w, status=status(HELM_IP, f"  - Could not detect the Datadog Cluster Agent's endpoint: {refused_on}\n"),
                dd={**HELM_DD, "DD_CLUSTER_AGENT_URL": URL_NO_PORT}, log=log_error(refused_on))


def staging_install(helm: list[dict]) -> list[dict]:
    keep = [o for o in helm if o["metadata"].get("namespace") == "datadog" and o["kind"] != "Secret"]
    text = re.sub(r'"datadog(?=["-])', '"datadog-staging', json.dumps(keep))  # names, namespace, labels
    text = text.replace("127.96.10.", "127.96.40.").replace("10.244.", "10.245.")
    objs = json.loads(text)
    for c in agent_containers(objs, "datadog-staging"):
        set_env(c, "DD_CLUSTER_AGENT_URL", "https://datadog-cluster-agent.datadog.svc:5005")
    ns = {"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": "datadog-staging", "uid": "ns-datadog-staging", "resourceVersion": "1000",
                       "creationTimestamp": "2026-11-20T09:05:00Z",
                       "labels": {"kubernetes.io/metadata.name": "datadog-staging"}},
          "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    labels = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": "datadog-staging"}
    return [ns, *objs, secret("datadog-staging-cluster-agent", "datadog-staging", {"token": STAGING_TOKEN}, labels),
            secret("datadog-staging", "datadog-staging", {"api-key": API_KEY}, labels)]


if __name__ == "__main__":
    main()
