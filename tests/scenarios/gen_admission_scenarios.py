"""Generates the admission-explain scenarios (`tests/scenarios/admission-*`): the Helm and Operator
installs with the admission controller on (the chart's DCA env, the admission Service, the
`webhook-certificate` Secret and the MutatingWebhookConfiguration the DCA writes), app pods in
every state a pod can be in, and one overlay per fault.

    .venv/bin/python tests/scenarios/gen_admission_scenarios.py

  admission-helm             socket mode, opt-in labels: a pod in each verdict, a ReplicaSet rejected by PodSecurity
  admission-disabled         the chart's admissionController.enabled=false
  admission-webhook-missing  enabled, but the DCA never created its MutatingWebhookConfiguration
  admission-cert-mismatch    the caBundle is a stale certificate (the harness keeps it: `admissionWebhook`)
  admission-no-endpoints     failurePolicy Fail and a Service that selects no pod; the ReplicaSet's FailedCreate
  admission-unlabelled       mutateUnlabelled on (hostip mode, the accept-all objectSelector)
  admission-ssi              SSI enabled only in namespace shop
  admission-operator         the Operator's names (Service datadog-admission-controller), its probe passing
  admission-probe-failing    the Operator's connectivity probe fails (DCA 7.78+ status), a pod created since is unmutated
  admission-misconfigured    every independent problem at once: csi mode without the CSI driver, a 30 s timeout, the
                             lib entry missing, no certificate Secret, no DCA replica Ready (so no ready endpoint), a
                             PodSecurity baseline namespace with selected pods

The leader's `datadog-cluster-agent status` gets an "Admission Controller" section written after the
upstream template (pkg/clusteragent/admission/status_templates/admissionwebhook.tmpl: Webhooks info,
per entry `Name:` and its map in key order, Secret info) and, for the probe, the lines of reference
A7.3 (`Total Executions`, `Success Rate`, `Last Execution: <ts> (success|failure)`); the names of the
probe's error and hint lines (`Last Error`, `Diagnostic Hint`) are inferred from its JSON keys. The
digests are computed here with an FNV-1 of this file's own (the test oracle, not the plugin's).

Facts: shared/reference/admission-and-clusterchecks.md (A1 Helm/Operator env, A2 webhook entries and
selectors, A3 certificate, A4 Service, A5 what a mutated pod carries, A7.1 event texts). The
certificates are generated here (self-signed, like the DCA's) on the first run; later runs keep them.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

SCENARIOS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCENARIOS.parent.parent))

from tests.scenario import load_scenario  # noqa: E402
from tests.scenarios.gen_installs import dump, env, field_ref, meta, owner, pod, service  # noqa: E402

NODE = "gke-test-default-pool-068cb9c0-sf1w"
WEBHOOK_CREATED = "2026-11-20T09:06:00Z"  # by the first DCA, a week before FIXTURE_NOW
ENABLED = "admission.datadoghq.com/enabled"
HELM_SVC = "datadog-cluster-agent-admission-controller"


def self_signed(dns: list[str], not_before: dt.datetime, days: int) -> tuple[str, str]:
    """A certificate like the DCA's own (self-signed, IsCA, RSA 2048, O=Datadog): (cert PEM, key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Datadog")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before)
            .not_valid_after(not_before + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()).decode())


def kept(scenario: str, kind: str) -> tuple[str, str] | None:
    """The certificate (and key) an earlier run wrote, so that a rerun changes no digest and no golden:
    kind `secret` reads the scenario's webhook-certificate Secret, `bundle` its webhook's caBundle."""
    path = SCENARIOS / scenario / "objects.yaml"
    if not path.exists():
        return None
    for o in yaml.safe_load_all(path.read_text()):
        if kind == "secret" and o and o.get("kind") == "Secret" and o["metadata"]["name"] == "webhook-certificate":
            return (base64.b64decode(o["data"]["cert.pem"]).decode(), base64.b64decode(o["data"]["key.pem"]).decode())
        if kind == "bundle" and o and o.get("kind") == "MutatingWebhookConfiguration":
            return base64.b64decode(o["webhooks"][0]["clientConfig"]["caBundle"]).decode(), ""
    return None


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def helm_env(mode: str = "socket", unlabelled: bool = False, policy: str = "Ignore",
             extra: list[tuple[str, Any]] | None = None) -> list[tuple[str, Any]]:
    """The chart's admission block (H tpl/cluster-agent-deployment.yaml)."""
    return [("DD_ADMISSION_CONTROLLER_ENABLED", "true"), ("DD_ADMISSION_CONTROLLER_VALIDATION_ENABLED", "true"),
            ("DD_ADMISSION_CONTROLLER_MUTATION_ENABLED", "true"),
            ("DD_ADMISSION_CONTROLLER_WEBHOOK_NAME", "datadog-webhook"),
            ("DD_ADMISSION_CONTROLLER_MUTATE_UNLABELLED", str(unlabelled).lower()),
            ("DD_ADMISSION_CONTROLLER_SERVICE_NAME", HELM_SVC),
            ("DD_ADMISSION_CONTROLLER_INJECT_CONFIG_MODE", mode),
            ("DD_ADMISSION_CONTROLLER_INJECT_CONFIG_LOCAL_SERVICE_NAME", "datadog"),
            ("DD_ADMISSION_CONTROLLER_FAILURE_POLICY", policy), ("DD_ADMISSION_CONTROLLER_PORT", "8000"),
            ("DD_ADMISSION_CONTROLLER_CONTAINER_REGISTRY", "gcr.io/datadoghq")] + (extra or [])


def with_dca_env(objs: list[dict], pairs: list[tuple[str, Any]]) -> list[dict]:
    """The DCA pods of a base install with `pairs` added to the cluster-agent container, and its webhook port."""
    out = []
    for o in objs:
        if o["kind"] == "Pod" and "cluster-agent" in o["metadata"]["name"]:
            o = copy.deepcopy(o)
            c = next(c for c in o["spec"]["containers"] if c["name"] == "cluster-agent")
            c["env"] = c.get("env", []) + env(pairs)
            c.setdefault("ports", []).append({"containerPort": 8000, "name": "datadog-webhook", "protocol": "TCP"})
            out.append(o)
    return out


def entry(name: str, path: str, svc_ns: str, svc: str, bundle: str, selector: dict, ns_excluded: list[str],
          policy: str = "Ignore", timeout: int = 10) -> dict:
    return {"name": name, "admissionReviewVersions": ["v1", "v1beta1"],
            "clientConfig": {"caBundle": b64(bundle), "service": {"namespace": svc_ns, "name": svc, "path": path,
                                                                  "port": 443}},
            "failurePolicy": policy, "matchPolicy": "Exact",
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                                                        "values": ns_excluded}]},
            "objectSelector": selector, "reinvocationPolicy": "IfNeeded",
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"],
                       "scope": "*"}],
            "sideEffects": "None", "timeoutSeconds": timeout}


def webhook(svc_ns: str, svc: str, bundle: str, accept_all: bool = False, policy: str = "Ignore",
            created: str = WEBHOOK_CREATED, timeout: int = 10) -> dict:
    """The MutatingWebhookConfiguration the DCA writes (adm/controllers/webhook/controller_v1.go, A2.3-A2.5)."""
    sel = ({"matchExpressions": [{"key": ENABLED, "operator": "NotIn", "values": ["false"]}]} if accept_all
           else {"matchLabels": {ENABLED: "true"}})
    excluded = ["kube-system", svc_ns]
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": meta("datadog-webhook", None, "mwc-datadog-webhook", created=created, generation=1),
            "webhooks": [entry(f"datadog.webhook.{suffix}", path, svc_ns, svc, bundle, sel, excluded, policy, timeout)
                         for suffix, path in (("agent.config", "/injectconfig"), ("standard.tags", "/injecttags"),
                                              ("lib.injection", "/injectlib"))]}


def admission_service(name: str, ns: str, ip: str, selector: dict, port_name: str = "datadog-webhook") -> dict:
    return service(name, ns, ip, [{"name": port_name, "port": 443, "protocol": "TCP", "targetPort": 8000}], selector)


def slice_for(svc: str, ns: str, pods: list[dict], port_name: str = "datadog-webhook") -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": meta(f"{svc}-x7k2p", ns, f"eps-{svc}", {"kubernetes.io/service-name": svc,
                                                               "endpointslice.kubernetes.io/managed-by":
                                                               "endpointslice-controller.k8s.io"}),
            "addressType": "IPv4",
            "endpoints": [{"addresses": [p["status"]["podIP"]],
                           "conditions": {"ready": True, "serving": True, "terminating": False},
                           "nodeName": p["spec"]["nodeName"],
                           "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": ns}}
                          for p in pods],
            "ports": [{"name": port_name, "port": 8000, "protocol": "TCP"}]}


def cert_secret(ns: str, cert: str, key: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": meta("webhook-certificate", ns, "secret-webhook-certificate"), "type": "Opaque",
            "data": {"cert.pem": b64(cert), "key.pem": b64(key)}}


def namespace(name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta(name, None, f"ns-{name}", {"kubernetes.io/metadata.name": name, **(labels or {})}),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


SOCKET_ENV = [("DD_TRACE_AGENT_URL", "unix:///var/run/datadog/apm.socket"),
              ("DD_DOGSTATSD_URL", "unix:///var/run/datadog/dsd.socket"),
              ("DD_ENTITY_ID", field_ref("metadata.uid")), ("DD_INTERNAL_POD_UID", field_ref("metadata.uid")),
              ("DD_EXTERNAL_ENV", "it-false,cn-app,pu-$(DD_INTERNAL_POD_UID)")]
HOSTIP_ENV = [("DD_AGENT_HOST", field_ref("status.hostIP")), ("DD_ENTITY_ID", field_ref("metadata.uid")),
              ("DD_INTERNAL_POD_UID", field_ref("metadata.uid")),
              ("DD_EXTERNAL_ENV", "it-false,cn-app,pu-$(DD_INTERNAL_POD_UID)")]
SOCKET_VOLUME = {"name": "datadog", "hostPath": {"path": "/var/run/datadog/", "type": "DirectoryOrCreate"}}


def app_pod(name: str, ns: str, ip: str, labels: dict, created: str, injected: list[tuple[str, Any]] | None = None,
            volumes: list[dict] | None = None, annotations: dict | None = None,
            init: list[dict] | None = None) -> dict:
    container: dict[str, Any] = {"name": "app", "image": "ghcr.io/example/shop:1.4.2", "imagePullPolicy": "IfNotPresent"}
    if injected:
        container["env"] = env(injected)
    mounted = [v for v in volumes or [] if "hostPath" in v]
    if mounted:
        container["volumeMounts"] = [{"name": v["name"], "mountPath": "/var/run/datadog", "readOnly": True}
                                     for v in mounted]
    spec: dict[str, Any] = {"containers": [container], "restartPolicy": "Always", "serviceAccountName": "default"}
    if volumes:
        spec["volumes"] = volumes
    if init:
        spec["initContainers"] = init
    rs_name = name.rsplit("-", 1)[0]
    hash_ = rs_name.rsplit("-", 1)[1]
    p = pod(name, ns, NODE, ip, {**labels, "pod-template-hash": hash_}, spec, owner("ReplicaSet", rs_name),
            created=created)
    if annotations:
        p["metadata"]["annotations"] = annotations
    return p


def failed_create(ns: str, rs: str, message: str, count: int = 12) -> dict:
    """The ReplicaSet controller's event when a pod create is refused (A7.1)."""
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": meta(f"{rs}.18a1b2c3d4e5f6a7", ns, f"ev-{rs}", created="2026-11-27T11:40:00Z"),
            "involvedObject": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "namespace": ns,
                               "uid": f"replicaset-{rs}"},
            "reason": "FailedCreate", "message": message, "type": "Warning", "count": count,
            "firstTimestamp": "2026-11-27T11:40:00Z", "lastTimestamp": "2026-11-27T11:58:30Z",
            "source": {"component": "replicaset-controller"}, "reportingComponent": "replicaset-controller",
            "reportingInstance": ""}


def replicaset(ns: str, name: str, labels: dict) -> dict:
    deploy = name.rsplit("-", 1)[0]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": meta(name, ns, f"replicaset-{name}", {"app": deploy}, created="2026-11-27T11:40:00Z"),
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": deploy}},
                     "template": {"metadata": {"labels": {"app": deploy, **labels}},
                                  "spec": {"containers": [{"name": "app", "image": "ghcr.io/example/shop:1.4.2"}]}}},
            "status": {"replicas": 0, "observedGeneration": 1}}


LEADER = "datadog-cluster-agent-8568545574-x9tc9"  # the base installs' lock holder


def fnv1_64(data: bytes) -> str:
    h = 14695981039346656037
    for byte in data:
        h = (h * 1099511628211) % 2**64
        h ^= byte
    return f"{h:x}"


def admission_section(svc_ns: str, svc: str, bundle: str, secret_cert: str, probe: list[str] | None = None) -> str:
    sel = "&LabelSelector{MatchLabels:map[string]string{admission.datadoghq.com/enabled: true,}," \
          "MatchExpressions:[]LabelSelectorRequirement{},}"
    lines = ["====================", "Admission Controller", "====================", "",
             "    Webhooks info", "    -------------", "      MutatingWebhookConfigurations name: datadog-webhook",
             "      Created at: 2026-11-20T09:06:00Z"]
    for suffix, path in (("agent.config", "/injectconfig"), ("lib.injection", "/injectlib"),
                         ("standard.tags", "/injecttags")):
        lines += ["      ---------", f"        Name: datadog.webhook.{suffix}",
                  f"        CA bundle digest: {fnv1_64(bundle.encode())}", f"        Object selector: {sel}",
                  "        Rule 1: Operations: [CREATE] - APIGroups: [] - APIVersions: [v1] - Resources: [pods]",
                  f"        Service: {svc_ns}/{svc} - Port: 443 - Path: {path}"]
    lines += ["", "    Secret info", "    -----------", "    Secret name: webhook-certificate",
              f"    Secret namespace: {svc_ns}", "    Created at: 2026-11-20T09:05:30Z",
              f"    CA bundle digest: {fnv1_64(secret_cert.encode())}",
              "    Duration before certificate expiration: 8565h2m14.113s"]
    if probe:
        lines += ["", "    Connectivity Probe", "    ------------------"] + [f"    {x}" for x in probe]
    return "\n".join(lines) + "\n"


def status_with(base: str, section: str) -> str:
    """The base leader's status with the section added (the Operator base's DCA image answers `agent status`;
    that text is used for `datadog-cluster-agent status` too)."""
    exec_dir = SCENARIOS / base / "pods" / "datadog" / LEADER / "exec"
    name = next(n for n in ("datadog-cluster-agent_status.out", "agent_status.out") if (exec_dir / n).exists())
    return (exec_dir / name).read_text().rstrip("\n") + "\n\n" + section


def write(name: str, description: str, base: str, objs: list[dict], extra: dict | None = None,
          leader_status: str | None = None) -> None:
    assert name.startswith("admission-")
    d = SCENARIOS / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    if leader_status is not None:
        exec_dir = d / "pods" / "datadog" / LEADER / "exec"
        exec_dir.mkdir(parents=True)
        (exec_dir / "datadog-cluster-agent_status.out").write_text(leader_status)
    (d / "scenario.yaml").write_text(yaml.safe_dump({"description": description, "base": base, **(extra or {})},
                                                    sort_keys=False))
    (d / "objects.yaml").write_text(dump(objs))


def web(created: str = "2026-11-27T10:00:00Z", injected: list | None = None, volumes: list | None = None) -> dict:
    return app_pod("web-5d8f7c9b4-a1b2c", "shop", "10.244.0.21", {"app": "web", ENABLED: "true"}, created,
                   injected, volumes)


def main() -> None:
    start = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
    dns = [HELM_SVC, f"{HELM_SVC}.datadog", f"{HELM_SVC}.datadog.svc", f"{HELM_SVC}.datadog.svc.cluster.local"]
    cert, key = kept("admission-helm", "secret") or self_signed(dns, start, 365)
    stale, _ = kept("admission-cert-mismatch", "bundle") or self_signed(dns, start - dt.timedelta(days=400), 365)
    helm = load_scenario("helm").objects
    dca_selector = {"app": "datadog-cluster-agent"}
    dca_pods = with_dca_env(helm, helm_env())
    around = [admission_service(HELM_SVC, "datadog", "127.96.10.12", dca_selector),
              slice_for(HELM_SVC, "datadog", dca_pods), cert_secret("datadog", cert, key)]
    install = dca_pods + around
    apps = [namespace("shop", {"team": "shop"}),
            namespace("secure", {"pod-security.kubernetes.io/enforce": "baseline"}),
            web(injected=SOCKET_ENV, volumes=[SOCKET_VOLUME]),
            app_pod("web-5d8f7c9b4-d3e4f", "shop", "10.244.0.22", {"app": "web", ENABLED: "true"},
                    "2026-11-27T10:00:05Z", SOCKET_ENV, [SOCKET_VOLUME]),
            app_pod("legacy-6c7d8e9f0-k8m2n", "shop", "10.244.0.23", {"app": "legacy", ENABLED: "true"},
                    "2026-11-19T16:20:00Z"),
            app_pod("cart-7f9c8b6d5-p4q5r", "shop", "10.244.0.24", {"app": "cart", ENABLED: "true"},
                    "2026-11-27T07:38:10Z"),
            app_pod("api-8b7c6d5e4-s6t7u", "shop", "10.244.0.25", {"app": "api"}, "2026-11-27T10:01:00Z"),
            app_pod("batch-9c8d7e6f5-v8w9x", "shop", "10.244.0.26", {"app": "batch", ENABLED: "false"},
                    "2026-11-27T10:01:10Z"),
            app_pod("search-4a5b6c7d8-y1z2a", "shop", "10.244.0.27",
                    {"app": "search", ENABLED: "true", "tags.datadoghq.com/env": "prod",
                     "tags.datadoghq.com/service": "search"}, "2026-11-27T10:02:00Z",
                    [("DD_ENV", "prod"), ("DD_SERVICE", "search")]),
            app_pod("orders-3b4c5d6e7-b3c4d", "shop", "10.244.0.28", {"app": "orders", ENABLED: "true"},
                    "2026-11-27T11:30:00Z"),
            replicaset("secure", "payments-6d4f8b7c9", {ENABLED: "true"}),
            failed_create("secure", "payments-6d4f8b7c9",
                          'Error creating: pods "payments-6d4f8b7c9-" is forbidden: violates PodSecurity '
                          '"baseline:latest": hostPath volumes (volume "datadog")'),
            app_pod("probe-2c3d4e5f6-e5f6g", "kube-system", "10.244.0.29", {"app": "probe", ENABLED: "true"},
                    "2026-11-27T10:03:00Z")]
    write("admission-helm", "Helm install with the admission controller on (socket mode, opt-in labels): a pod in "
          "every state", "helm", install + [webhook("datadog", HELM_SVC, cert)] + apps,
          leader_status=status_with("helm", admission_section("datadog", HELM_SVC, cert, cert)))
    write("admission-disabled", "Helm install with clusterAgent.admissionController.enabled=false: no webhook",
          "helm", [namespace("shop"), web()])
    write("admission-webhook-missing", "admission controller on, but no MutatingWebhookConfiguration",
          "helm", install + [namespace("shop"), web()])
    write("admission-cert-mismatch", "the webhook's caBundle is a stale certificate, not the Secret's",
          "helm", install + [webhook("datadog", HELM_SVC, stale), namespace("shop"), web()],
          {"admissionWebhook": {"caBundle": "fixture"}})
    bad_svc = admission_service(HELM_SVC, "datadog", "127.96.10.12", {"app": "datadog-cluster-agent-typo"})
    write("admission-no-endpoints", "failurePolicy Fail and an admission Service that selects no pod",
          "helm", with_dca_env(helm, helm_env(policy="Fail")) + [
              bad_svc, cert_secret("datadog", cert, key), webhook("datadog", HELM_SVC, cert, policy="Fail"),
              namespace("shop"), replicaset("shop", "web-5d8f7c9b4", {ENABLED: "true"}),
              failed_create("shop", "web-5d8f7c9b4",
                            'Error creating: Internal error occurred: failed calling webhook '
                            '"datadog.webhook.agent.config": failed to call webhook: Post "https://'
                            f'{HELM_SVC}.datadog.svc:443/injectconfig?timeout=10s": no endpoints available for '
                            f'service "{HELM_SVC}"'),
              app_pod("api-8b7c6d5e4-s6t7u", "shop", "10.244.0.25", {"app": "api", ENABLED: "true"},
                      "2026-11-27T10:01:00Z")])
    write("admission-unlabelled", "mutateUnlabelled on (hostip mode): unlabelled pods are mutated, label false "
          "opts out", "helm", with_dca_env(helm, helm_env(mode="hostip", unlabelled=True)) + around + [
              webhook("datadog", HELM_SVC, cert, accept_all=True), namespace("shop"),
              app_pod("api-8b7c6d5e4-s6t7u", "shop", "10.244.0.25", {"app": "api"}, "2026-11-27T10:01:00Z", HOSTIP_ENV),
              app_pod("batch-9c8d7e6f5-v8w9x", "shop", "10.244.0.26", {"app": "batch", ENABLED: "false"},
                      "2026-11-27T10:01:10Z")])
    ssi_env = helm_env(extra=[("DD_APM_INSTRUMENTATION_ENABLED", "true"),
                              ("DD_APM_INSTRUMENTATION_ENABLED_NAMESPACES", '["shop"]')])
    lib_init = [{"name": "datadog-init-apm-inject", "image": "gcr.io/datadoghq/apm-inject:0"},
                {"name": "datadog-lib-python-init", "image": "gcr.io/datadoghq/dd-lib-python-init:v3"}]
    write("admission-ssi", "SSI enabled only in namespace shop: a pod there is instrumented, one elsewhere is not "
          "targeted", "helm", with_dca_env(helm, ssi_env) + around + [
              webhook("datadog", HELM_SVC, cert, accept_all=True), namespace("shop"), namespace("other"),
              app_pod("api-8b7c6d5e4-s6t7u", "shop", "10.244.0.25", {"app": "api"}, "2026-11-27T10:01:00Z",
                      SOCKET_ENV, [SOCKET_VOLUME, {"name": "datadog-auto-instrumentation", "emptyDir": {}}],
                      annotations={"internal.apm.datadoghq.com/injection-status": "injected"}, init=lib_init),
              app_pod("report-1a2b3c4d5-h7i8j", "other", "10.244.0.30", {"app": "report"}, "2026-11-27T10:05:00Z")])
    misconf_pods = with_dca_env(helm, helm_env(mode="csi"))
    misconf_hook = webhook("datadog", HELM_SVC, cert, timeout=30)
    misconf_hook["webhooks"] = [w for w in misconf_hook["webhooks"] if not w["name"].endswith("lib.injection")]
    unready_slice = slice_for(HELM_SVC, "datadog", misconf_pods)
    for ep in unready_slice["endpoints"]:
        ep["conditions"] = {"ready": False, "serving": False, "terminating": False}
    write("admission-misconfigured", "every independent problem of the chain at once", "helm", misconf_pods + [
              admission_service(HELM_SVC, "datadog", "127.96.10.12", dca_selector), unready_slice, misconf_hook,
              namespace("secure", {"pod-security.kubernetes.io/enforce": "baseline"}),
              app_pod("payments-6d4f8b7c9-m2n3o", "secure", "10.244.0.31", {"app": "payments", ENABLED: "true"},
                      "2026-11-27T10:10:00Z")],
          {"unreadyPods": [f"datadog/{p['metadata']['name']}" for p in misconf_pods]})
    op = load_scenario("operator").objects
    op_pods = with_dca_env(op, [(k, v) for k, v in helm_env() if k != "DD_ADMISSION_CONTROLLER_SERVICE_NAME"]
                           + [("DD_ADMISSION_CONTROLLER_SERVICE_NAME", "datadog-admission-controller"),
                              ("DD_ADMISSION_CONTROLLER_PROBE_ENABLED", "true")])
    op_dns = ["datadog-admission-controller", "datadog-admission-controller.datadog"]
    op_cert, op_key = kept("admission-operator", "secret") or self_signed(op_dns, start, 365)
    op_sel = {"agent.datadoghq.com/name": "datadog", "agent.datadoghq.com/component": "cluster-agent"}
    op_install = op_pods + [
        admission_service("datadog-admission-controller", "datadog", "127.96.20.12", op_sel, "admissioncontrollerport"),
        slice_for("datadog-admission-controller", "datadog", op_pods, "admissioncontrollerport"),
        cert_secret("datadog", op_cert, op_key), webhook("datadog", "datadog-admission-controller", op_cert)]
    passing = ["Namespace: datadog", "Total Executions: 235", "Success Rate: 100.0%",
               "Last Execution: 2026-11-27T11:59:10Z (success)", "Last Successful Probe: 2026-11-27T11:59:10Z"]
    failing = ["Namespace: datadog", "Total Executions: 235", "Success Rate: 0.0%",
               "Last Execution: 2026-11-27T11:59:10Z (failure)", "Last Successful Probe: N/A",
               "Last Error: dry-run probe configmap was not annotated by the webhook",
               "Diagnostic Hint: GKE detected: if using a private cluster, ensure your firewall rules allow ingress "
               "over TCP on port 8000 from the control plane CIDR."]
    write("admission-probe-failing", "Operator install whose connectivity probe fails: the API server does not "
          "reach the webhook", "operator", op_install + [
              namespace("shop"), app_pod("orders-3b4c5d6e7-b3c4d", "shop", "10.244.0.28",
                                         {"app": "orders", ENABLED: "true"}, "2026-11-27T11:30:00Z")],
          leader_status=status_with("operator", admission_section(
              "datadog", "datadog-admission-controller", op_cert, op_cert, failing)))
    write("admission-operator", "Operator install with the admission controller on (Service "
          "datadog-admission-controller)", "operator", op_install + [
              namespace("shop"), web(injected=SOCKET_ENV, volumes=[SOCKET_VOLUME])],
          leader_status=status_with("operator", admission_section(
              "datadog", "datadog-admission-controller", op_cert, op_cert, passing)))


if __name__ == "__main__":
    main()
