"""What a node Agent says about its Cluster Agent: the `agent status` "Datadog Cluster Agent"
section, the container's real `env`, and the tag-collector lines of its log. Pure parsing.

Secrets never leave this module as text: the token found in `env` output becomes a SecretValue at
once, and every other env var except the few env-check needs is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from kubectl_datadog.model import SecretValue
from kubectl_datadog.textformats.status import sections

DCA_SECTION = "Datadog Cluster Agent"


@dataclass(frozen=True)
class DcaError:
    """Why the Agent's DCA client failed, read from the error text it reports (reference section 4).

    On the first failure GetClusterAgentClient's retrier wraps the init error: `temporary failure in
    clusterAgentClient, will retry later: "https://<dca>/version" is unavailable: 403 Forbidden`. The
    status prints it as "Could not detect the Datadog Cluster Agent's endpoint" whatever the cause,
    so the cause, not the label, says what went wrong. Between two attempts the retrier replaces the
    cause with `try delay not elapsed yet`."""

    kind: str  # forbidden | unauthorized | connection-refused | timeout | dns | token-too-short | no-endpoint
    #            | retry-delay (cause hidden until the next attempt) | retry-exhausted | other
    detail: str  # the innermost message: "403 Forbidden", "connection refused", the config error...
    url: str = ""  # the URL the Agent called, when the error names one
    first_contact: bool = False  # the client's retrier wrapped it: the Agent never connected since it started

    @property
    def hidden(self) -> bool:
        """The text names no cause (the retrier's placeholder)."""
        return self.kind in ("retry-delay", "retry-exhausted")

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "detail": self.detail, "url": self.url or None, "firstContact": self.first_contact}


_RETRY = re.compile(r"^(?:temporary|permanent) failure in clusterAgentClient(?:, will retry later)?: (.*)$", re.S)
_REMOTE = re.compile(r'^"([^"]+)" is unavailable: (.*)$', re.S)
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("retry-delay", re.compile(r"try delay not elapsed yet")),
    ("retry-exhausted", re.compile(r"retry number exceeded")),
    ("token-too-short", re.compile(r"authentication token (?:must be at least|length must be greater)")),
    ("no-endpoint", re.compile(r"cannot get (?:a )?cluster agent endpoint|not a https scheme")),
    ("forbidden", re.compile(r"\b403\b")),
    ("unauthorized", re.compile(r"\b401\b")),
    ("connection-refused", re.compile(r"connection refused")),
    ("dns", re.compile(r"no such host")),
    ("timeout", re.compile(r"i/o timeout|deadline exceeded|Client\.Timeout|timed out|TLS handshake timeout")),
)


def dca_error(text: str) -> DcaError:
    """Classify one DCA-client error text (from `agent status` or the Agent's log)."""
    text = text.strip()
    inner, first = text, False
    m = _RETRY.match(inner)
    if m:
        inner, first = m.group(1).strip(), True
    url = ""
    m = _REMOTE.match(inner)
    if m:
        url, inner = m.group(1), m.group(2).strip()
        if url.endswith("/version"):
            url = url[: -len("/version")]
    kind = next((k for k, pattern in _KINDS if pattern.search(inner)), "other")
    detail = inner
    if kind == "connection-refused":
        detail = "connection refused"
    return DcaError(kind, detail, url, first)


@dataclass(frozen=True)
class DcaStatus:
    """The Agent's own view of the DCA (reference section 4, `clusteragent.tmpl`). The template
    prints "Could not retrieve the version" on every failure and "Successfully connected" only with a
    version, so connected and the version come together."""

    endpoint: str = ""  # "Datadog Cluster Agent endpoint detected: <url>" (6.x: "... available at: <url>")
    detection_error: str = ""  # "Could not detect the Datadog Cluster Agent's endpoint: <err>"
    connected: bool = False  # "Successfully connected to the Datadog Cluster Agent."
    connection_error: str = ""  # "Could not reach the Datadog Cluster Agent: <err>"
    version: str = ""  # "Running: <version>"
    silent: bool = False  # the section is there with nothing in it (builds that print nothing on errors)

    @property
    def error(self) -> DcaError | None:
        """The classified failure the section reports, if any."""
        text = self.detection_error or self.connection_error
        return dca_error(text) if text else None

    def to_dict(self) -> dict[str, object]:
        err = self.error
        return {"endpoint": self.endpoint or None, "detectionError": self.detection_error or None,
                "connected": self.connected, "connectionError": self.connection_error or None,
                "version": self.version or None, "silent": self.silent, "cause": err.to_dict() if err else None}


def dca_status(text: str) -> DcaStatus | None:
    """The "Datadog Cluster Agent" section of `agent status`, or None when the section is absent
    (the Agent prints it only when cluster_agent.enabled or cluster_checks.enabled)."""
    body = sections(text).get(DCA_SECTION)
    if body is None:
        return None
    if not any(line.strip() for line in body):
        return DcaStatus(silent=True)
    fields: dict[str, str] = {}
    connected = False
    for raw in body:
        line = raw.strip().removeprefix("- ").strip()
        low = line.lower()
        if low.startswith("successfully connected to the datadog cluster agent"):
            connected = True
        for key, prefix in (("endpoint", "datadog cluster agent endpoint detected:"),
                            ("endpoint", "datadog cluster agent available at:"),
                            ("detection", "could not detect the datadog cluster agent's endpoint:"),
                            ("connection", "could not reach the datadog cluster agent:"),
                            ("version", "running:")):
            if low.startswith(prefix):
                fields[key] = line[len(prefix):].strip()
    return DcaStatus(endpoint=fields.get("endpoint", ""), detection_error=fields.get("detection", ""),
                     connected=connected and "connection" not in fields and "detection" not in fields,
                     connection_error=fields.get("connection", ""), version=fields.get("version", ""))


def service_link_prefix(service_name: str) -> str:
    """Kubernetes' env prefix for a Service: upper-cased, `-` to `_` (`datadog-cluster-agent` ->
    `DATADOG_CLUSTER_AGENT`), as the Agent derives it too."""
    return service_name.upper().replace("-", "_").replace(".", "_")


@dataclass(frozen=True)
class ProcessEnv:
    """The few variables env-check reads from a container's real environment (`env` output)."""

    values: Mapping[str, str]  # the non-secret DD_CLUSTER_AGENT_* / DD_LEADER_ELECTION / service-link vars
    token: SecretValue | None  # DD_CLUSTER_AGENT_AUTH_TOKEN, never as text

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def service_link(self, service_name: str) -> tuple[str | None, str | None]:
        prefix = service_link_prefix(service_name)
        return self.values.get(f"{prefix}_SERVICE_HOST"), self.values.get(f"{prefix}_SERVICE_PORT")


_KEEP = ("DD_CLUSTER_AGENT_ENABLED", "DD_CLUSTER_AGENT_URL", "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME",
         "DD_LEADER_ELECTION")
_LINK = re.compile(r"^[A-Z0-9_]+_SERVICE_(HOST|PORT)$")


def process_env(text: str) -> ProcessEnv:
    """Parse `env` output (NAME=value lines), keeping only what env-check needs."""
    keep: dict[str, str] = {}
    token: SecretValue | None = None
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if not sep:
            continue
        if name == "DD_CLUSTER_AGENT_AUTH_TOKEN":
            token = SecretValue(value)
        elif name in _KEEP or _LINK.match(name):
            keep[name] = value
    return ProcessEnv(keep, token)


# Log lines that tell whether the Agent uses the DCA for kube_service tags (reference section 4).
# Later lines win: an Agent that failed at start and connected afterwards is connected.
_LOG_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("started", re.compile(r"kube-metadata-collector tag collector successfully started", re.I)),
    ("connected", re.compile(r"Successfully connected to the Datadog Cluster Agent", re.I)),
    ("fallback", re.compile(r"Could not initiali[sz]e the communication with the (Datadog Cluster Agent|DCA), "
                            r"falling back to local service mapping", re.I)),
    ("fallback", re.compile(r"Permanent failure in communication with the cluster agent, will fallback", re.I)),
    ("init-failed", re.compile(r"Could not initiali[sz]e the communication with the cluster agent", re.I)),
    ("token-error", re.compile(r"cluster agent authentication token (must be at least|length must be greater)",
                               re.I)),
    ("endpoint-error", re.compile(r"cannot get (a )?cluster agent endpoint", re.I)),
)
_SECRETISH = re.compile(r"(bearer\s+|token[=:]\s*|api_key[=:]\s*)\S+", re.I)


@dataclass(frozen=True)
class LogLine:
    kind: str  # started | connected | fallback | init-failed | token-error | endpoint-error
    text: str  # the message part of the line, shortened, anything token-like masked


@dataclass(frozen=True)
class TagCollectorLog:
    """What the Agent's log says about its DCA connection, from the last relevant line."""

    state: str  # connected | fallback | failing | unknown (no relevant line in the window)
    last: LogLine | None
    lines: int  # relevant lines seen
    cause: str = ""  # the DCA client's last error that names a cause (not "try delay not elapsed yet"), masked

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state, "lastLine": self.last.text if self.last else None, "matchingLines": self.lines,
                "cause": self.cause or None}


def _message(line: str) -> str:
    # `2026-11-27 09:00:06 UTC | CORE | INFO | (file.go:95 in Start) | message`: keep level + message.
    parts = [p.strip() for p in line.split(" | ")]
    level = next((p for p in parts if p in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")), "")
    msg = parts[-1] if len(parts) > 1 else line.strip()
    text = f"{level} {msg}".strip() if level else msg
    text = _SECRETISH.sub(lambda m: m.group(1) + "***", text)
    return text if len(text) <= 200 else text[:197] + "..."


# The DCA client's error as the Agent logs it: the tag collector's init failure, the client's own
# (debug) init error. Its text after the prefix is what GetClusterAgentClient returned.
_CAUSE = re.compile(r"(?:Could not initiali[sz]e the communication with the (?:cluster agent|Datadog Cluster Agent|DCA)"
                    r"(?:, falling back to local service mapping)?|Cluster Agent init error): (.+)$", re.I)


def _cause(line: str) -> str:
    msg = line.split(" | ")[-1].strip()
    m = _CAUSE.search(msg)
    if not m or dca_error(m.group(1)).hidden:
        return ""
    text = _SECRETISH.sub(lambda mm: mm.group(1) + "***", m.group(1).strip())
    return text if len(text) <= 300 else text[:297] + "..."


def tag_collector_log(text: str) -> TagCollectorLog:
    last: LogLine | None = None
    count = 0
    cause = ""
    for line in text.splitlines():
        cause = _cause(line) or cause
        for kind, pattern in _LOG_PATTERNS:
            if pattern.search(line):
                last = LogLine(kind, _message(line))
                count += 1
                break
    if last is None:
        return TagCollectorLog("unknown", None, 0, cause)
    state = {"started": "connected", "connected": "connected", "fallback": "fallback"}.get(last.kind, "failing")
    return TagCollectorLog(state, last, count, cause)
