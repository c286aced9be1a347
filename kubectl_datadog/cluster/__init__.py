"""The cluster boundary: what the commands may ask of a Kubernetes API server.

Everything here returns plain dicts exactly as the API server's JSON has them, so the production
client (`cluster/kube.py`, the only importer of `kubernetes`) and the test fake (`tests/fakes.py`,
fed with `kubectl get -o yaml` fixtures) go through the same parsing code. This module must not
import `kubernetes`: `--help` stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Sequence


def kubeconfig_paths(explicit: str | None) -> list[str]:
    """The kubeconfig files kubectl would read, in order: --kubeconfig, else $KUBECONFIG (a path
    list), else ~/.kube/config. Here, not in kube.py, so completion reads them without the client."""
    raw = explicit if explicit else os.environ.get("KUBECONFIG") or "~/.kube/config"
    sep = ";" if os.name == "nt" else ":"
    return [os.path.expanduser(p) for p in raw.split(sep) if p]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def display(self) -> str:
        """How kubectl and RBAC name it: `pods`, `leases.coordination.k8s.io`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return base + (f"/{name}" if name else "")


PODS = Resource("", "v1", "pods", "Pod")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
SERVICES = Resource("", "v1", "services", "Service")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
EVENTS = Resource("", "v1", "events", "Event")
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet")
HPAS_V2 = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
HPAS_V2BETA2 = Resource("autoscaling", "v2beta2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
HPAS_V1 = Resource("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False)
PDBS = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")
CLUSTER_ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
                                 namespaced=False)
APISERVICES = Resource("apiregistration.k8s.io", "v1", "apiservices", "APIService", namespaced=False)
MUTATINGWEBHOOKCONFIGURATIONS = Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
                                         "MutatingWebhookConfiguration", namespaced=False)
VALIDATINGWEBHOOKCONFIGURATIONS = Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
                                           "ValidatingWebhookConfiguration", namespaced=False)
DATADOGMETRICS = Resource("datadoghq.com", "v1alpha1", "datadogmetrics", "DatadogMetric")


@dataclass(frozen=True)
class ExecResult:
    """What an exec returned. `exit_code` is None when the command could not be started or the
    stream broke; `error` then says why (the error channel's message or the transport error)."""

    stdout: str
    stderr: str
    exit_code: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def binary_missing(self) -> bool:
        text = f"{self.error} {self.stderr}".lower()
        return self.exit_code == 127 or "executable file not found" in text or "no such file" in text


@dataclass(frozen=True)
class Context:
    """Where the client points: kubeconfig context, server URL, default namespace, user."""

    name: str
    server: str
    namespace: str
    user: str = ""


@dataclass(frozen=True)
class AccessCheck:
    """One RBAC question: can `user` (None = ourselves) `verb` the `resource`?"""

    verb: str
    resource: str  # plural, optionally with "/subresource"
    group: str = ""
    namespace: str | None = None
    name: str | None = None
    user: str | None = None  # e.g. "system:serviceaccount:datadog:datadog-cluster-agent"

    def describe(self) -> str:
        what = f"{self.resource}.{self.group}" if self.group else self.resource
        if self.name:
            what += f' "{self.name}"'
        return f"{self.verb} {what}" + (f' in "{self.namespace}"' if self.namespace else "")


class Cluster(Protocol):
    """The narrow API the commands use. Errors are `kubectl_datadog.errors.PluginError`s:
    `Forbidden` (with verb and resource), `Unreachable`, `Unauthorized`, `ApiError`."""

    @property
    def context(self) -> Context: ...

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """One object, or None when it does not exist (404)."""

    def list(self, resource: Resource, namespace: str | None = None, *, label_selector: str = "",
             field_selector: str = "", page_size: int = 500,
             metadata_only: bool = False) -> Iterator[dict[str, Any]]:
        """Every matching object, fetched page by page (`limit`/`continue`) so a caller that
        reduces items as they come keeps memory proportional to one page.

        metadata_only: the caller reads only `metadata` (e.g. node names); the server may then
        send PartialObjectMetadata items (no spec/status), which are much smaller to transfer
        and decode. Implementations may still return whole objects."""

    def get_raw(self, path: str, query: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        """GET an arbitrary API path (aggregated APIs, discovery). 404 raises NotFound."""

    def proxy_get(self, namespace: str, pod: str, port: int, path: str, timeout: float | None = None) -> str:
        """GET `path` from a pod's port through the API server's pods/proxy subresource, read-only
        (e.g. the DCA's telemetry on :5000 /metrics); the body as text. Raises Forbidden (get
        pods/proxy), NotFound, or ApiError with the status the proxy or the pod answered."""

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        """Run argv in a container through the pods/exec stream. Never raises for a failing
        command; raises Forbidden when pods/exec is denied."""

    def logs(self, namespace: str, pod: str, container: str, *, since_seconds: int | None = None,
             tail_lines: int | None = None) -> str: ...

    def access(self, checks: Sequence[AccessCheck]) -> list[bool | None]:
        """Answer each check with a (Self)SubjectAccessReview; None where we may not ask."""
