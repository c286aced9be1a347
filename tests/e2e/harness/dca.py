"""The Cluster Agent leader's background work, done by the harness as a running DCA would do it.

A scenario is a snapshot: its leader lock says "renewed 4 s ago" and its external-metrics store
"written 15 s ago". On a live install the DCA leader keeps both fresh; on a harness cluster that
stays up longer than a lease (the demo, a shared test cluster) they would go stale and the plugin
would rightly report `leader-stale` / `metric-stale`. So for every leader lock that a scenario
shows fresh, held by a pod that runs, the harness runs the holder's loops against the real
apiserver, with a token of the holder's own ServiceAccount (so the scenario's RBAC applies as it
would to the DCA):

- leader election (the DCA's `leaderelection_engine.go`): every LeaseDuration/4 (RetryPeriod) read
  the lock and, while the pod still holds it, write renewTime = now. It stops for good, as a dead
  or deposed DCA does, once the pod is gone or being deleted or the lock names another holder.
- external metrics (leader only, every `external_metrics_provider.refresh_period`, default 30 s):
  rewrite `ts` of the ConfigMap store's entries that were valid and younger than the max age
  (`max(max_age, 3 * rollup)`) when the scenario was applied, and its last-updated annotation.
  Entries a scenario shows stale or invalid stay as they are: that DCA is failing to refresh them.

What is not played: DatadogMetric status updates, the `status` exec output's own timestamps, a
follower taking over.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from .kube import ApiError, Kube
from .procs import log

LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
LAST_UPDATED_ANNOTATION = "custom-metrics.datadoghq.com/last-updated"
TOKEN_SECONDS = 10 * 365 * 24 * 3600
DEFAULTS = {"DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD": 30, "DD_EXTERNAL_METRICS_PROVIDER_MAX_AGE": 120,
            "DD_EXTERNAL_METRICS_PROVIDER_ROLLUP": 30}


def _parse_time(value: Optional[str]) -> Optional[dt.datetime]:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro_time(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Lock:
    kind: str            # ConfigMap or Lease
    namespace: str
    name: str

    @property
    def path(self) -> str:
        if self.kind == "Lease":
            return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.name}"
        return f"/api/v1/namespaces/{self.namespace}/configmaps/{self.name}"

    def record(self, obj: dict) -> Optional[dict]:
        """holderIdentity, leaseDurationSeconds, renewTime of a live lock object."""
        if self.kind == "Lease":
            spec = obj.get("spec") or {}
            return {"holderIdentity": spec.get("holderIdentity"), "leaseDurationSeconds": spec.get("leaseDurationSeconds"),
                    "renewTime": spec.get("renewTime")}
        raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(LEADER_ANNOTATION)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def renewed(self, obj: dict, now: dt.datetime) -> dict:
        if self.kind == "Lease":
            obj["spec"]["renewTime"] = _micro_time(now)
            return obj
        rec = json.loads(obj["metadata"]["annotations"][LEADER_ANNOTATION])
        rec["renewTime"] = _rfc3339(now)
        obj["metadata"]["annotations"][LEADER_ANNOTATION] = json.dumps(rec, separators=(",", ":"))
        return obj


@dataclass
class RunningDca:
    """One DCA leader's loops in a thread; `stop()` ends them (the DCA process is gone)."""
    cluster: object
    lock: Lock
    holder: str
    service_account: str
    lease_duration: float
    refresh_period: float
    store: Optional[tuple[str, str]] = None         # (namespace, name) of the ConfigMap store
    fresh_entries: tuple[str, ...] = ()             # store keys this DCA keeps fresh
    renewals: int = 0
    refreshes: int = 0
    stopped_because: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: Optional[threading.Thread] = None
    _errors_logged: set = field(default_factory=set)

    def start(self) -> "RunningDca":
        """Raises ApiError when the pod's ServiceAccount does not exist (no token for it)."""
        c = self.cluster
        ns = self.lock.namespace
        # A token of the pod's ServiceAccount, as the DCA has mounted (long-lived: a demo may run
        # for days). It authenticates as system:serviceaccount:<ns>:<sa>.
        tr = c.api.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts/{self.service_account}/token",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                            "spec": {"expirationSeconds": TOKEN_SECONDS}})
        self.api = Kube("127.0.0.1", c.ports["apiserver"], c.pki.path("serving-ca.crt"), timeout=5,
                        token=tr["status"]["token"])
        self._thread = threading.Thread(target=self._run, name=f"dca {self.holder}", daemon=True)
        self._thread.start()
        what = f"{self.lock.kind.lower()} {ns}/{self.lock.name}"
        log(f"running DCA {self.holder} (serviceaccount {self.service_account}): renews {what} every "
            f"{self.lease_duration / 4:g}s" + (f", refreshes {len(self.fresh_entries)} metric(s) in {self.store[1]} "
                                               f"every {self.refresh_period:g}s" if self.fresh_entries else ""))
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        retry = max(self.lease_duration / 4, 0.5)
        t0 = time.monotonic()
        next_renew, next_refresh = t0, t0 + self.refresh_period   # a live leader renews as it starts
        while True:
            wait = min(next_renew, next_refresh if self.fresh_entries else next_renew) - time.monotonic()
            if self._stop.wait(max(wait, 0)):
                return
            now = time.monotonic()
            if now >= next_renew:
                next_renew += retry
                why = self._renew()
                if why:
                    self.stopped_because = why
                    log(f"running DCA {self.holder} stops: {why}")
                    return
            if self.fresh_entries and now >= next_refresh:
                next_refresh += self.refresh_period
                self._refresh_store()

    def _problem(self, what: str, e: Exception) -> None:
        """Log each kind of failure once (the apiserver may be down on purpose in a fault test)."""
        key = (what, getattr(e, "status", type(e).__name__))
        if key not in self._errors_logged:
            self._errors_logged.add(key)
            log(f"running DCA {self.holder}: {what} failed (retrying): {e}")

    def _renew(self) -> str:
        """One renewal; a non-empty return says why this DCA stops leading."""
        c = self.cluster
        try:
            pod = c.api.read("v1", "Pod", self.holder, self.lock.namespace)
        except ApiError as e:
            if e.status == 404:
                return f"its pod {self.lock.namespace}/{self.holder} is gone"
            self._problem("reading its pod", e)
            return ""
        except OSError as e:
            self._problem("reading its pod", e)
            return ""
        if pod["metadata"].get("deletionTimestamp"):
            return f"its pod {self.lock.namespace}/{self.holder} is being deleted"
        try:
            obj = self.api.get(self.lock.path)
            rec = self.lock.record(obj)
            if not rec or rec.get("holderIdentity") != self.holder:
                return f"the lock is now held by {(rec or {}).get('holderIdentity') or 'nobody'}"
            self.api.request("PUT", self.lock.path, self.lock.renewed(obj, dt.datetime.now(dt.timezone.utc)))
            self.renewals += 1
        except (ApiError, OSError) as e:
            self._problem(f"renewing {self.lock.kind.lower()} {self.lock.namespace}/{self.lock.name}", e)
        return ""

    def _refresh_store(self) -> None:
        ns, name = self.store
        path = f"/api/v1/namespaces/{ns}/configmaps/{name}"
        try:
            cm = self.api.get(path)
            now = dt.datetime.now(dt.timezone.utc)
            data = cm.get("data") or {}
            for key in self.fresh_entries:
                try:
                    entry = json.loads(data[key])
                except (KeyError, ValueError):
                    continue
                entry["ts"] = int(now.timestamp())
                data[key] = json.dumps(entry, separators=(",", ":"))
            annotations = cm["metadata"].get("annotations") or {}
            if LAST_UPDATED_ANNOTATION in annotations:
                annotations[LAST_UPDATED_ANNOTATION] = _rfc3339(now)
            self.api.request("PUT", path, cm)
            self.refreshes += 1
        except (ApiError, OSError) as e:
            self._problem(f"refreshing configmap {ns}/{name}", e)


def _env(pod: dict, container: Optional[str] = None) -> dict[str, str]:
    """Literal env values of the pod's first container (or `container`)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    c = next((c for c in containers if c.get("name") == container), containers[0] if containers else {})
    return {e["name"]: e["value"] for e in c.get("env") or [] if "value" in e}


def _number(env: dict, name: str) -> float:
    try:
        return float(env.get(name, DEFAULTS[name]))
    except ValueError:
        return float(DEFAULTS[name])


def locks_in(objs: list[dict]) -> list[tuple[Lock, dict]]:
    """Leader locks among a scenario's objects: ConfigMaps with the leader annotation, Leases."""
    out = []
    for o in objs:
        md = o.get("metadata") or {}
        if o.get("kind") == "ConfigMap" and LEADER_ANNOTATION in (md.get("annotations") or {}):
            out.append((Lock("ConfigMap", md.get("namespace", "default"), md["name"]), o))
        elif o.get("kind") == "Lease" and str(o.get("apiVersion", "")).startswith("coordination.k8s.io/"):
            out.append((Lock("Lease", md.get("namespace", "default"), md["name"]), o))
    return out


def start_running_dcas(cluster, objs: list[dict], scenario_now: dt.datetime) -> list[RunningDca]:
    """Start a RunningDca for each lock among `objs` (the applied objects, times already shifted)
    that the scenario shows fresh at `scenario_now` and held by a pod it shows running. Judged from
    the objects as applied, not from the live cluster: applying takes seconds, and a short lease
    would lapse before the live DCA's first renewal."""
    started = []
    pods = {((o.get("metadata") or {}).get("namespace", "default"), o["metadata"]["name"]): o
            for o in objs if o.get("kind") == "Pod"}
    configmaps = {((o.get("metadata") or {}).get("namespace", "default"), o["metadata"]["name"]): o
                  for o in objs if o.get("kind") == "ConfigMap"}
    for lock, obj in locks_in(objs):
        rec = lock.record(obj)
        if not rec or not rec.get("holderIdentity"):
            continue
        holder = rec["holderIdentity"]
        duration = float(rec.get("leaseDurationSeconds") or 60)
        renewed = _parse_time(rec.get("renewTime"))
        where = f"lock {lock.namespace}/{lock.name}"
        if renewed is None or renewed + dt.timedelta(seconds=duration) < scenario_now:
            log(f"{where} is stale in the scenario: nobody renews it")
            continue
        pod = pods.get((lock.namespace, holder))
        if pod is None:
            log(f"{where}: holder {holder} has no pod in the scenario: nobody renews it")
            continue
        if ((pod.get("status") or {}).get("phase") or "Running") != "Running":
            log(f"{where}: holder {holder} is not running: nobody renews it")
            continue
        env = _env(pod)
        store = (env.get("DD_KUBE_RESOURCES_NAMESPACE") or lock.namespace,
                 env.get("DD_HPA_CONFIGMAP_NAME") or "datadog-custom-metrics")
        max_age = max(_number(env, "DD_EXTERNAL_METRICS_PROVIDER_MAX_AGE"),
                      3 * _number(env, "DD_EXTERNAL_METRICS_PROVIDER_ROLLUP"))
        fresh = _fresh_entries(configmaps.get(store), max_age, scenario_now)
        sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        try:
            started.append(RunningDca(cluster, lock, holder, sa, duration,
                                      _number(env, "DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD"), store,
                                      fresh).start())
        except ApiError as e:
            log(f"{where}: no token for serviceaccount {lock.namespace}/{sa} ({e}): nobody renews it")
    return started


def _fresh_entries(cm: Optional[dict], max_age: float, now: dt.datetime) -> tuple[str, ...]:
    fresh = []
    for key, raw in ((cm or {}).get("data") or {}).items():
        try:
            entry = json.loads(raw)
            age = now.timestamp() - float(entry["ts"])
        except (ValueError, KeyError, TypeError):
            continue
        if key.startswith("external_metric-") and entry.get("valid") is True and age <= max_age:
            fresh.append(key)
    return tuple(sorted(fresh))
