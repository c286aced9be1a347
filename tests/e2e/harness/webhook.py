"""A real HTTPS admission webhook standing in for the Cluster Agent's admission controller.

It listens on the ClusterIP:port of the Service the scenario's MutatingWebhookConfiguration names
(the way metrics.py serves the external-metrics API), so the real kube-apiserver calls it for every
pod create the webhook's selectors take, exactly as it would call the DCA. It answers
AdmissionReview v1 (POST only, like the DCA's server: A4) with the patch the DCA would make:
  /injectconfig  DD_ENTITY_ID, DD_INTERNAL_POD_UID and, by mode, DD_AGENT_HOST (hostip) or the socket
                 URLs and the `datadog` hostPath volume (socket), into every container, never
                 overwriting what the pod sets (shared/reference/admission-and-clusterchecks.md A5.1)
  /injecttags    DD_ENV/DD_SERVICE/DD_VERSION from the pod's tags.datadoghq.com/* labels (A5.2)
  other paths    allowed, no patch
Like the DCA's runtime filter it skips pods labelled admission.datadoghq.com/enabled=false.

Its certificate is self-signed and its own CA, like the DCA's (A3): the harness writes it into the
scenario's `webhook-certificate` Secret and, unless the scenario keeps its fixture caBundle
(`admissionWebhook: {caBundle: fixture}`: a stale one), into every entry's caBundle.
`set_delay(seconds)` makes it answer late (an unreachable webhook, as the API server sees it).

The apiserver reaches a webhook Service through its ClusterIP (`--enable-aggregator-routing=false`);
on a real node kube-proxy forwards that to a ready endpoint, and refuses the connection when there is
none. The stand-in plays kube-proxy too: while the Service has no ready endpoint (the real
endpointslice controller's EndpointSlices), it closes every connection before TLS.
"""
from __future__ import annotations

import base64
import datetime as dt
import errno
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

ENABLED_LABEL = "admission.datadoghq.com/enabled"
TAG_LABELS = (("tags.datadoghq.com/env", "DD_ENV"), ("tags.datadoghq.com/service", "DD_SERVICE"),
              ("tags.datadoghq.com/version", "DD_VERSION"))


def self_signed_pem(dns: list[str]) -> tuple[bytes, bytes]:
    """(cert PEM, key PEM): self-signed, IsCA, valid a year from 5 minutes ago, like the DCA's."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Datadog")])
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _env_patch(containers: list[dict], kind: str, wanted: list[dict]) -> list[dict]:
    ops = []
    for i, c in enumerate(containers):
        have = {e.get("name") for e in c.get("env") or []}
        new = [e for e in wanted if e["name"] not in have]
        if not new:
            continue
        if not c.get("env"):
            ops.append({"op": "add", "path": f"/spec/{kind}/{i}/env", "value": new})
        else:
            ops += [{"op": "add", "path": f"/spec/{kind}/{i}/env/-", "value": e} for e in new]
    return ops


def config_patch(pod: dict, mode: str) -> list[dict]:
    """What /injectconfig adds (A5.1), for the hostip and socket modes."""
    uid = {"valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.uid"}}}
    wanted = [{"name": "DD_ENTITY_ID", **uid}, {"name": "DD_INTERNAL_POD_UID", **uid}]
    spec = pod.get("spec") or {}
    ops: list[dict] = []
    if mode == "socket":
        wanted += [{"name": "DD_TRACE_AGENT_URL", "value": "unix:///var/run/datadog/apm.socket"},
                   {"name": "DD_DOGSTATSD_URL", "value": "unix:///var/run/datadog/dsd.socket"}]
        volume = {"name": "datadog", "hostPath": {"path": "/var/run/datadog/", "type": "DirectoryOrCreate"}}
        if not spec.get("volumes"):
            ops.append({"op": "add", "path": "/spec/volumes", "value": [volume]})
        elif not any(v.get("name") == "datadog" for v in spec["volumes"]):
            ops.append({"op": "add", "path": "/spec/volumes/-", "value": volume})
        mount = {"name": "datadog", "mountPath": "/var/run/datadog", "readOnly": True}
        for i, c in enumerate(spec.get("containers") or []):
            if not c.get("volumeMounts"):
                ops.append({"op": "add", "path": f"/spec/containers/{i}/volumeMounts", "value": [mount]})
            else:
                ops.append({"op": "add", "path": f"/spec/containers/{i}/volumeMounts/-", "value": mount})
    else:
        wanted.insert(0, {"name": "DD_AGENT_HOST",
                          "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.hostIP"}}})
    return _env_patch(spec.get("containers") or [], "containers", wanted) + ops


def tags_patch(pod: dict) -> list[dict]:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    wanted = [{"name": var, "value": labels[label]} for label, var in TAG_LABELS if label in labels]
    return _env_patch((pod.get("spec") or {}).get("containers") or [], "containers", wanted) if wanted else []


class AdmissionWebhookServer:
    def __init__(self, host: str, port: int, certfile: str, keyfile: str, mode: str = "socket",
                 has_endpoints=lambda: True):
        self.host, self.port, self.certfile, self.keyfile, self.mode = host, port, certfile, keyfile, mode
        self.has_endpoints = has_endpoints
        self.refused = 0  # connections closed because the Service had no ready endpoint
        self.delay = 0.0
        self.requests: list[tuple[str, str]] = []  # (path, pod name or generateName) of every review
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def set_delay(self, seconds: float) -> None:
        self.delay = float(seconds)

    def start(self, bind_timeout: float = 15.0) -> None:
        if self._server is not None:
            return
        handler = type("Handler", (_Handler,), {"webhook": self})
        deadline = time.monotonic() + bind_timeout
        while True:
            server = _Server((self.host, self.port), handler, bind_and_activate=False)
            server.webhook = self
            server.daemon_threads = True
            server.allow_reuse_address = True
            try:
                server.server_bind()
                break
            except OSError as e:
                server.server_close()
                if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise RuntimeError(f"admission webhook stand-in: cannot listen on {self.host}:{self.port}: {e}") \
                        from e
                time.sleep(0.25)
        server.server_activate()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.certfile, self.keyfile)
        ctx.set_alpn_protocols(["http/1.1"])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"admission webhook {self.host}:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def review(self, path: str, body: dict) -> dict:
        req = body.get("request") or {}
        pod = req.get("object") or {}
        meta = pod.get("metadata") or {}
        self.requests.append((path, meta.get("name") or meta.get("generateName") or ""))
        ops: list[dict] = []
        if (meta.get("labels") or {}).get(ENABLED_LABEL) != "false":
            if path == "/injectconfig":
                ops = config_patch(pod, self.mode)
            elif path == "/injecttags":
                ops = tags_patch(pod)
        response: dict = {"uid": req.get("uid", ""), "allowed": True}
        if ops:
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(json.dumps(ops).encode()).decode()
        return {"apiVersion": body.get("apiVersion", "admission.k8s.io/v1"), "kind": "AdmissionReview",
                "response": response}


class _Server(ThreadingHTTPServer):
    webhook: AdmissionWebhookServer

    def verify_request(self, request, client_address) -> bool:  # socketserver's hook, before any byte is read
        if self.webhook.has_endpoints():
            return True
        self.webhook.refused += 1
        return False


def ready_endpoints(api, namespace: str, service: str) -> bool:
    """Does the Service have a ready endpoint (what kube-proxy forwards to)?"""
    slices = api.get(f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices",
                     query={"labelSelector": f"kubernetes.io/service-name={service}"})
    return any((ep.get("conditions") or {}).get("ready") is not False
               for s in slices.get("items") or [] for ep in s.get("endpoints") or [])


class _Handler(BaseHTTPRequestHandler):
    webhook: AdmissionWebhookServer
    protocol_version = "HTTP/1.0"

    def do_POST(self):  # http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.webhook.delay:
            time.sleep(self.webhook.delay)
        data = json.dumps(self.webhook.review(self.path.split("?", 1)[0], body)).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the API server gave up (its timeoutSeconds)

    def do_GET(self):
        data = f"Invalid method {self.command}, only POST requests are allowed".encode()
        self.send_response(405)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


def prepare_objects(objs: list[dict], keep_fixture_ca: bool, state_dir: Path) -> Optional[dict]:
    """Before the scenario is applied: give the webhook Service a serving certificate, put it into the
    certificate Secret and (unless the scenario keeps its stale fixture caBundle) into every entry's
    caBundle. Returns what `start_webhook` needs, or None without a webhook configuration."""
    mwc = next((o for o in objs if o.get("kind") == "MutatingWebhookConfiguration"), None)
    if mwc is None:
        return None
    svc = next(((w.get("clientConfig") or {}).get("service") for w in mwc.get("webhooks") or []
                if (w.get("clientConfig") or {}).get("service")), None)
    if not svc:
        return None
    ns, name, port = svc["namespace"], svc["name"], int(svc.get("port") or 443)
    cert, key = self_signed_pem([name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"])
    state_dir.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = state_dir / f"webhook-{name}.crt", state_dir / f"webhook-{name}.key"
    certfile.write_bytes(cert)
    keyfile.write_bytes(key)
    keyfile.chmod(0o600)
    for o in objs:
        if o.get("kind") == "Secret" and o["metadata"].get("name") == "webhook-certificate" \
                and o["metadata"].get("namespace") == ns:
            o["data"] = {"cert.pem": base64.b64encode(cert).decode(), "key.pem": base64.b64encode(key).decode()}
    if not keep_fixture_ca:
        for w in mwc.get("webhooks") or []:
            w.setdefault("clientConfig", {})["caBundle"] = base64.b64encode(cert).decode()
    mode = "socket"
    for o in objs:
        if o.get("kind") == "Pod" and "cluster-agent" in o["metadata"]["name"]:
            for c in o["spec"].get("containers") or []:
                for e in c.get("env") or []:
                    if e.get("name") == "DD_ADMISSION_CONTROLLER_INJECT_CONFIG_MODE" and e.get("value"):
                        mode = e["value"]
    return {"namespace": ns, "name": name, "port": port, "certfile": str(certfile), "keyfile": str(keyfile),
            "mode": mode}


def start_webhook(cluster, prepared: dict) -> Optional[AdmissionWebhookServer]:
    """Listen on the webhook Service's ClusterIP and port (after the scenario's objects exist)."""
    from .kube import ApiError
    from .procs import log

    try:
        svc = cluster.api.read("v1", "Service", prepared["name"], prepared["namespace"])
    except ApiError:
        log(f"admission webhook: Service {prepared['namespace']}/{prepared['name']} does not exist: no stand-in")
        return None
    ip = (svc.get("spec") or {}).get("clusterIP")
    if not ip or ip == "None":
        return None
    ns, name = prepared["namespace"], prepared["name"]
    server = AdmissionWebhookServer(ip, prepared["port"], prepared["certfile"], prepared["keyfile"], prepared["mode"],
                                    has_endpoints=lambda: ready_endpoints(cluster.api, ns, name))
    server.start()
    log(f"admission webhook stand-in listening on {ip}:{prepared['port']} "
        f"({prepared['namespace']}/{prepared['name']}, {prepared['mode']} mode)")
    return server
