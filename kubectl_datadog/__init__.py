"""kubectl-datadog: troubleshoot the Datadog Cluster Agent and node Agents on Kubernetes."""

__version__ = "0.1.0"
