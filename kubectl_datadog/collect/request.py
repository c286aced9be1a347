"""What every collection is asked to do: the shared flags, typed and resolved by the pipeline.

Collection takes a Cluster and one of these (plus the command's own typed options), never the App:
it cannot reach the output streams, the clock or Click, so it can be driven by any caller (a test,
another command's sweep) with nothing but a cluster and a request.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.cluster import Cluster


@dataclass(frozen=True)
class Request:
    namespace: str | None = None  # -n as given (None: not given)
    all_namespaces: bool = False  # -A
    install_namespace: str | None = None  # --install-namespace (None: look everywhere)
    dca_selector: str = ""
    agent_selector: str = ""
    exec_allowed: bool = True  # False with --no-exec
    request_timeout: float | None = 30.0

    def namespace_in(self, cluster: Cluster) -> str:
        """-n if given, else the kubeconfig context's namespace."""
        return self.namespace or cluster.context.namespace
