"""Generates `demo-short-lease`: the demo with the Cluster Agent configured for a 6 s leader lease and
a 10 s external-metrics max age (refreshed every 3 s), so a test can wait past two lease durations
and past the max age in seconds instead of minutes. Only those settings and the lock the DCA wrote
with them change; everything else is the demo's.

    .venv/bin/python tests/scenarios/demo-short-lease/gen_short_lease.py
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.scenario import load_scenario  # noqa: E402

SETTINGS = {"DD_LEADER_LEASE_DURATION": "6", "DD_EXTERNAL_METRICS_PROVIDER_MAX_AGE": "10",
            "DD_EXTERNAL_METRICS_PROVIDER_ROLLUP": "3", "DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD": "3"}
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


def with_settings(containers: list[dict]) -> None:
    for c in containers:
        if c.get("name") != "cluster-agent":
            continue
        env = [e for e in c.get("env") or [] if e.get("name") not in SETTINGS]
        env += [{"name": k, "value": v} for k, v in SETTINGS.items()]
        c["env"] = sorted(env, key=lambda e: e["name"])


def main() -> None:
    changed = []
    for o in load_scenario("demo").objects:
        kind, md = o.get("kind"), o.get("metadata") or {}
        if md.get("namespace") != "datadog":
            continue
        if kind == "Pod" and md["name"].startswith("datadog-cluster-agent-"):
            o = copy.deepcopy(o)
            with_settings(o["spec"]["containers"])
        elif kind in ("Deployment", "ReplicaSet") and md["name"].startswith("datadog-cluster-agent"):
            o = copy.deepcopy(o)
            with_settings(o["spec"]["template"]["spec"]["containers"])
        elif kind == "ConfigMap" and LEADER_ANNOTATION in (md.get("annotations") or {}):
            o = copy.deepcopy(o)
            record = json.loads(md["annotations"][LEADER_ANNOTATION])
            record["leaseDurationSeconds"] = int(SETTINGS["DD_LEADER_LEASE_DURATION"])
            record["renewTime"] = "2026-11-27T11:59:59Z"   # renewed 1 s ago, within the 6 s lease
            o["metadata"]["annotations"][LEADER_ANNOTATION] = json.dumps(record, separators=(",", ":"))
        elif kind == "ConfigMap" and md["name"] == "datadog-custom-metrics":
            o = copy.deepcopy(o)
            for key, raw in o["data"].items():   # written 2 s ago: fresh under a 10 s max age
                entry = json.loads(raw)
                entry["ts"] = 1795780798
                o["data"][key] = json.dumps(entry, separators=(",", ":"))
            o["metadata"]["annotations"]["custom-metrics.datadoghq.com/last-updated"] = "2026-11-27T11:59:58Z"
        else:
            continue
        changed.append(o)
    (HERE / "objects.yaml").write_text(yaml.safe_dump_all(changed, sort_keys=False))


if __name__ == "__main__":
    main()
