"""What hpa-explain collects about the Cluster Agent itself: whether it has its API and app keys
(presence and length only: the values never leave `_secret_key_lengths`), what its service account
may do (access reviews), and the log of the replica that queries Datadog."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kubectl_datadog.cluster import AccessCheck, Cluster
from kubectl_datadog.collect import Fetched
from kubectl_datadog.errors import PluginError
from kubectl_datadog.install import Install
from kubectl_datadog.objects import EnvVar, Pod, secret_values
from kubectl_datadog.snapshots.hpa_explain import DcaLog, KeyCheck, read_error
from kubectl_datadog.snapshots.leader import LockRecord

DCA_LOG_TAIL = 1000  # lines of the querying replica's log searched for Datadog API errors
KEY_VARS = (("DD_API_KEY", "DD_EXTERNAL_METRICS_PROVIDER_API_KEY"),
            ("DD_APP_KEY", "DD_EXTERNAL_METRICS_PROVIDER_APP_KEY"))


def _env_of_dca(install: Install) -> tuple[dict[str, EnvVar], list[EnvVar]]:
    """The DCA's resolved env (from discovery) and its envFrom Secret sources."""
    env = dict(install.settings.env) if install.settings else {}
    pod = install.dca_pods[0] if install.dca_pods else None
    container = pod.container(install.dca_container) if pod else None
    env_from = [e for e in (container.env if container else ()) if e.is_env_from and e.source == "secret"]
    return env, env_from


def _secret_key_lengths(obj: dict[str, Any] | None) -> dict[str, int]:
    """Key -> decoded length. The values themselves are dropped here and never leave this function."""
    return {key: value.length for key, value in secret_values(obj).items()}


def key_checks(install: Install, secrets: dict[str, Fetched[Any]]) -> tuple[KeyCheck, ...]:
    env, env_from = _env_of_dca(install)
    ns = install.namespace
    checks: list[KeyCheck] = []
    for names in KEY_VARS:
        var = next((env[n] for n in names if n in env), None)
        if var is None:
            via = env_from
            found: KeyCheck | None = None
            for src in via:
                fetched = secrets.get(src.ref_name)
                if fetched is None or fetched.error is not None:
                    continue
                lengths = _secret_key_lengths(fetched.value)
                for n in names:
                    key = src.env_from_key(n)
                    if key is not None and key in lengths:
                        length = lengths[key]
                        found = KeyCheck(names[0], f"secret {ns}/{src.ref_name} (envFrom)", length > 0, length,
                                         "" if length else "the Secret key is empty")
            if found is None and any(secrets.get(s.ref_name) and secrets[s.ref_name].forbidden for s in via):
                found = KeyCheck(names[0], "envFrom secret", None, problem="cannot read the Secret")
            checks.append(found or KeyCheck(names[0], "", False, problem=f"{names[0]} is not set on the Cluster Agent"))
            continue
        if var.source == "secret":
            fetched = secrets.get(var.ref_name)
            where = f"secret {ns}/{var.ref_name} key {var.ref_key}"
            if fetched is None or fetched.forbidden is not None:
                checks.append(KeyCheck(var.name, where, None, problem=f"cannot read secret {ns}/{var.ref_name}"))
            elif fetched.error is not None:
                checks.append(KeyCheck(var.name, where, None, problem=fetched.error.message))
            elif fetched.value is None:
                checks.append(KeyCheck(var.name, where, False, problem=f"secret {ns}/{var.ref_name} does not exist"))
            else:
                lengths = _secret_key_lengths(fetched.value)
                if var.ref_key not in lengths:
                    checks.append(KeyCheck(var.name, where, False,
                                           problem=f"secret {ns}/{var.ref_name} has no key {var.ref_key}"))
                else:
                    n = lengths[var.ref_key]
                    checks.append(KeyCheck(var.name, where, n > 0, n, "" if n else f"key {var.ref_key} is empty"))
        elif var.source in ("value", "configmap"):
            n = len(var.value or "")
            checks.append(KeyCheck(var.name, var.describe_source(), n > 0, n, "" if n else f"{var.name} is empty"))
        else:
            checks.append(KeyCheck(var.name, var.describe_source(), None, problem="set from a source we cannot read"))
    return tuple(checks)


def secret_names(install: Install) -> list[str]:
    env, env_from = _env_of_dca(install)
    names = {env[n].ref_name for pair in KEY_VARS for n in pair if n in env and env[n].source == "secret"}
    if any(not any(n in env for n in pair) for pair in KEY_VARS):
        names |= {e.ref_name for e in env_from}
    return sorted(n for n in names if n)


def dca_access_checks(install: Install) -> list[AccessCheck]:
    """What the Cluster Agent's service account needs to serve external metrics: create
    subjectaccessreviews and tokenreviews (system:auth-delegator: its metrics server authenticates and
    authorizes the API server's requests), list/watch HPAs (the leader finds the metrics to query), and
    its store: list/watch DatadogMetrics, or get/update the legacy ConfigMap. Checked whatever the
    rest of the chain says; not when the provider is known to be off (the charts grant these with it)."""
    s = install.settings
    if s is None or not install.dca_pods or (s.known("DD_EXTERNAL_METRICS_PROVIDER_ENABLED") and not s.external_metrics):
        return []
    user = f"system:serviceaccount:{install.namespace}:{install.dca_pods[0].service_account}"
    checks = [AccessCheck("create", "subjectaccessreviews", "authorization.k8s.io", user=user),
              AccessCheck("create", "tokenreviews", "authentication.k8s.io", user=user),
              AccessCheck("list", "horizontalpodautoscalers", "autoscaling", user=user),
              AccessCheck("watch", "horizontalpodautoscalers", "autoscaling", user=user)]
    if s.use_datadogmetric_crd:
        checks += [AccessCheck(verb, "datadogmetrics", "datadoghq.com", user=user) for verb in ("list", "watch")]
    else:
        checks += [AccessCheck(verb, "configmaps", "", s.resources_namespace, s.hpa_configmap, user)
                   for verb in ("get", "update")]
    return checks


def _querying_pod(install: Install, lock: LockRecord | None) -> Pod | None:
    """The Cluster Agent replica that queries Datadog: the lock's holder with leader election, else
    the first running one; None when the provider is off."""
    s = install.settings
    if s is None or (s.known("DD_EXTERNAL_METRICS_PROVIDER_ENABLED") and not s.external_metrics):
        return None
    running = [p for p in install.dca_pods if p.phase == "Running" and not p.deleting]
    if s.leader_election:
        return next((p for p in running if lock is not None and p.name == lock.holder), None)
    return running[0] if running else None


def dca_log_tail(cluster: Cluster, install: Install, lock: LockRecord | None) -> DcaLog | None:
    pod = _querying_pod(install, lock)
    if pod is None:
        return None
    log = DcaLog(pod.namespace, pod.name, install.dca_container, DCA_LOG_TAIL)
    try:
        text = cluster.logs(pod.namespace, pod.name, install.dca_container, tail_lines=DCA_LOG_TAIL)
    except PluginError as exc:
        return replace(log, error=read_error(exc))
    return replace(log, text=text)
