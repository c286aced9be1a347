"""Loading a scenario directory (tests/scenarios/<name>/) and rewriting it for a live cluster.

Pure data in, data out: no I/O against the cluster here. See tests/scenarios/README.md for the
contract. The two rewrites:
- time: every timestamp is shifted by (real now - FIXTURE_NOW), in objects and in exec/log texts;
- ClusterIPs: a Service's pinned clusterIP outside this cluster's service CIDR is moved into it
  (same host bits), and every occurrence of the old address in objects and texts follows.
"""
from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional


FIXTURE_NOW = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.timezone.utc)
SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIO_KEYS = {"description", "unreadyPods", "externalMetrics", "forbidden", "externalMetricsDown"}


@dataclass
class Scenario:
    name: str
    dir: Path
    objects: list[dict]
    description: str = ""
    unready_pods: list[str] = field(default_factory=list)       # "ns/name"
    external_metrics: list[dict] = field(default_factory=list)
    forbidden: list[dict] = field(default_factory=list)         # FakeCluster only
    external_metrics_down: bool = False
    admission_webhook: dict = field(default_factory=dict)  # {caBundle: fixture}: keep the fixture's (stale) caBundle
    dirs: list[Path] = field(default_factory=list)  # this scenario's directory, then its bases

    def pod_dir(self, namespace: str, name: str) -> Path:
        return self.dir / "pods" / namespace / name

    def pod_dirs(self, namespace: str, name: str) -> list[Path]:
        """Fixture directories of a pod, base first, so an overlay's files win when copied last."""
        return [d / "pods" / namespace / name for d in reversed(self.dirs or [self.dir])
                if (d / "pods" / namespace / name).is_dir()]


def scenario_path(name_or_dir: "str | Path") -> Path:
    p = Path(name_or_dir)
    if p.is_dir():
        return p.resolve()
    p = SCENARIOS_DIR / str(name_or_dir)
    if not p.is_dir():
        known = sorted(d.name for d in SCENARIOS_DIR.iterdir() if d.is_dir())
        raise FileNotFoundError(f"no scenario {name_or_dir!r} in {SCENARIOS_DIR} (known: {', '.join(known)})")
    return p


def load_scenario(name_or_dir: "str | Path") -> Scenario:
    """Load through the shared loader (tests/scenario.py), which also resolves `base:` overlays, so
    the harness and FakeCluster see exactly the same objects and fixtures."""
    import sys as _sys

    repo = str(SCENARIOS_DIR.parents[1])
    if repo not in _sys.path:
        _sys.path.insert(0, repo)
    from tests.scenario import load_scenario as shared_load

    d = scenario_path(name_or_dir)
    if d.parent != SCENARIOS_DIR:
        raise ValueError(f"{d}: scenarios must live in {SCENARIOS_DIR} (overlays resolve by name)")
    shared = shared_load(d.name)
    meta = shared.config
    return Scenario(
        name=d.name, dir=d, objects=shared.objects,
        description=meta.get("description", ""),
        unready_pods=list(meta.get("unreadyPods") or []),
        external_metrics=list(meta.get("externalMetrics") or []),
        forbidden=list(meta.get("forbidden") or []),
        external_metrics_down=bool(meta.get("externalMetricsDown", False)),
        admission_webhook=dict(meta.get("admissionWebhook") or {}),
        dirs=list(shared.directories),
    )


# -- time shifting -----------------------------------------------------------------------------
_RFC3339 = re.compile(r"\b(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)")
_RFC1123 = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                      r"(\d{4}) (\d\d:\d\d:\d\d) (UTC|GMT)")
_SPACED = re.compile(r"\b(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? (UTC)\b")   # agent logs, status
_TS_FIELD = re.compile(r'("ts"\s*:\s*)(\d+(?:\.\d+)?)')


def shift_delta(now: Optional[dt.datetime] = None) -> dt.timedelta:
    now = now or dt.datetime.now(dt.timezone.utc)
    return dt.timedelta(seconds=round((now - FIXTURE_NOW).total_seconds()))


def _fmt_frac(t: dt.datetime, frac: Optional[str]) -> str:
    if not frac:
        return ""
    digits = len(frac) - 1
    return "." + f"{t.microsecond:06d}".ljust(digits, "0")[:digits]


def shift_text(s: str, delta: dt.timedelta) -> str:
    """Shift every RFC3339, RFC1123 (UTC) and `YYYY-MM-DD HH:MM:SS UTC` timestamp in `s`."""
    if not delta:
        return s

    def rfc3339(m: re.Match) -> str:
        date, clock, frac, zone = m.groups()
        tz = dt.timezone.utc if zone == "Z" else dt.datetime.strptime(zone.replace(":", ""), "%z").tzinfo
        t = dt.datetime.fromisoformat(f"{date}T{clock}{frac or ''}").replace(tzinfo=tz) + delta
        return t.strftime("%Y-%m-%dT%H:%M:%S") + _fmt_frac(t, frac) + zone

    def rfc1123(m: re.Match) -> str:
        _, day, mon, year, clock, zone = m.groups()
        t = dt.datetime.strptime(f"{day} {mon} {year} {clock}", "%d %b %Y %H:%M:%S") + delta
        return t.strftime("%a, %d %b %Y %H:%M:%S ") + zone

    def spaced(m: re.Match) -> str:
        date, clock, frac, zone = m.groups()
        t = dt.datetime.fromisoformat(f"{date}T{clock}{frac or ''}") + delta
        return t.strftime("%Y-%m-%d %H:%M:%S") + _fmt_frac(t, frac) + " " + zone

    s = _RFC3339.sub(rfc3339, s)
    s = _RFC1123.sub(rfc1123, s)
    return _SPACED.sub(spaced, s)


def shift_unix_ts(s: str, delta: dt.timedelta) -> str:
    """Shift `"ts": <unix seconds>` values (legacy external-metrics ConfigMap entries)."""
    def repl(m: re.Match) -> str:
        v = float(m.group(2)) + delta.total_seconds()
        return m.group(1) + (str(int(v)) if "." not in m.group(2) else repr(v))
    return _TS_FIELD.sub(repl, s)


def map_strings(obj: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, list):
        return [map_strings(v, fn) for v in obj]
    if isinstance(obj, dict):
        return {k: map_strings(v, fn) for k, v in obj.items()}
    return obj


# -- ClusterIP remapping -----------------------------------------------------------------------
def cluster_ip_map(objects: list[dict], cidr: str) -> dict[str, str]:
    """old ClusterIP -> new ClusterIP for every pinned Service IP outside `cidr`."""
    net = ipaddress.ip_network(cidr)
    reserved = {net.network_address, net.network_address + 1, net.broadcast_address}  # .1 = kubernetes svc
    pinned: list[ipaddress.IPv4Address] = []
    for o in objects:
        if o.get("kind") == "Service" and o.get("apiVersion") == "v1":
            spec = o.get("spec") or {}
            for ip in [spec.get("clusterIP")] + list(spec.get("clusterIPs") or []):
                if ip and ip != "None":
                    a = ipaddress.ip_address(ip)
                    if a not in pinned:
                        pinned.append(a)
    used = {a for a in pinned if a in net}
    out: dict[str, str] = {}
    host_mask = int(net.hostmask)
    for a in pinned:
        if a in net:
            continue
        cand = net.network_address + (int(a) & host_mask)
        while cand in used or cand in reserved:
            cand = net.network_address + ((int(cand) + 1 - int(net.network_address)) & host_mask)
        used.add(cand)
        out[str(a)] = str(cand)
    return out


def replace_ips(s: str, ip_map: dict[str, str]) -> str:
    for old, new in ip_map.items():
        if old in s:
            s = re.sub(r"(?<![\d.])" + re.escape(old) + r"(?!\d|\.\d)", new, s)
    return s


# -- server-owned metadata ---------------------------------------------------------------------
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
                  "deletionTimestamp", "deletionGracePeriodSeconds")


def strip_server_metadata(obj: dict) -> dict:
    o = copy.deepcopy(obj)
    md = o.setdefault("metadata", {})
    for k in _SERVER_FIELDS:
        md.pop(k, None)
    return o


def ref(obj: dict) -> str:
    md = obj.get("metadata", {})
    ns = md.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{md.get('name')}"
