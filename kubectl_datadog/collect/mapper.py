"""What the DCA's metadata mapper needs, asked for its service account, and what its log says
about it: read for `metamap --source both`, to say why the DCA's map lacks what the API maps."""

from __future__ import annotations

from kubectl_datadog.cluster import AccessCheck, Cluster
from kubectl_datadog.collect import gather
from kubectl_datadog.install import Install
from kubectl_datadog.objects import Pod
from kubectl_datadog.snapshots.metamap import MapperChecks
from kubectl_datadog.textformats.metamap import mapper_log

MAPPER_LOG_LINES = 2000  # a failing informer retries with a backoff of at most ~30 s: its failure is in the tail


def mapper_access_checks(install: Install, pod: Pod) -> list[AccessCheck]:
    """What the DCA's metadata mapper lists and watches, cluster-wide: EndpointSlices or Endpoints
    (per its DD_KUBERNETES_USE_ENDPOINT_SLICES; both when that setting could not be read), and Nodes,
    Pods and Services (workloadmeta's Kubernetes collectors, which feed it its nodes)."""
    s = install.settings
    if s is None or not s.known("DD_KUBERNETES_USE_ENDPOINT_SLICES"):
        sources = [("endpointslices", "discovery.k8s.io"), ("endpoints", "")]
    else:
        sources = [("endpointslices", "discovery.k8s.io")] if s.use_endpoint_slices else [("endpoints", "")]
    user = f"system:serviceaccount:{pod.namespace}:{pod.service_account or 'default'}"
    return [AccessCheck(verb, resource, group, None, None, user)
            for resource, group in [*sources, ("nodes", ""), ("pods", ""), ("services", "")]
            for verb in ("list", "watch")]


def check_mapper(cluster: Cluster, install: Install, pod: Pod) -> MapperChecks:
    """The access reviews and the log read run together (both are independent of the exec)."""
    checks = mapper_access_checks(install, pod)
    got = gather({"access": lambda: cluster.access(checks),
                  "log": lambda: cluster.logs(pod.namespace, pod.name, install.dca_container,
                                              tail_lines=MAPPER_LOG_LINES)})
    command = f"kubectl -n {pod.namespace} logs {pod.name} -c {install.dca_container} --tail {MAPPER_LOG_LINES}"
    access = tuple(zip(checks, got["access"].value or [None] * len(checks), strict=True))
    user = checks[0].user or ""
    ref = f"{pod.namespace}/{pod.name}"
    log = got["log"]
    if log.error is not None:
        return MapperChecks(user, access, None, command, log.error.message, log.forbidden, pod=ref)
    return MapperChecks(user, access, mapper_log(log.value or ""), command, pod=ref)
