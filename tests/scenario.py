"""Load a scenario directory (tests/scenarios/README.md): objects, settings, and exec/log fixtures,
following `base:` overlays. Used by FakeCluster and by the real-cluster harness alike."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCENARIOS = Path(__file__).parent / "scenarios"
SCENARIO_KEYS = {"description", "base", "remove", "unreadyPods", "externalMetrics", "forbidden", "admissionWebhook",
                 "externalMetricsDown", "accessReviews", "discovery", "onlyNamespaces", "proxyErrors"}


def load_objects(path: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    if not path.exists():
        return docs
    with open(path, encoding="utf-8") as fh:
        for doc in yaml.safe_load_all(fh):
            if not doc:
                continue
            docs.extend(doc.get("items") or [] if doc.get("kind") == "List" else [doc])
    return docs


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind", "")), str(meta.get("namespace", "") or ""), str(meta.get("name", ""))


@dataclass
class Scenario:
    name: str
    objects: list[dict[str, Any]]
    config: dict[str, Any]
    directories: list[Path] = field(default_factory=list)  # own directory first, then its bases

    def pod_file(self, namespace: str, pod: str, *parts: str) -> Path | None:
        """A fixture file of a pod (exec/<key>.out, logs/<container>.log), the overlay winning."""
        for d in self.directories:
            path = d.joinpath("pods", namespace, pod, *parts)
            if path.exists():
                return path
        return None

    def pod_dir(self, namespace: str, pod: str) -> Path | None:
        for d in self.directories:
            path = d / "pods" / namespace / pod
            if path.exists():
                return path
        return None


def load_scenario(name: str) -> Scenario:
    """A fresh copy each call (tests mutate what they get); parsing is cached, it dominates test time."""
    return copy.deepcopy(_load_scenario(name))


@functools.lru_cache(maxsize=None)
def _load_scenario(name: str) -> Scenario:
    directory = SCENARIOS / name
    if not directory.is_dir():
        raise FileNotFoundError(f"no scenario {name!r} in {SCENARIOS}")
    config: dict[str, Any] = {}
    if (directory / "scenario.yaml").exists():
        config = yaml.safe_load((directory / "scenario.yaml").read_text()) or {}
        unknown = set(config) - SCENARIO_KEYS
        if unknown:
            raise ValueError(f"{name}/scenario.yaml: unknown keys {sorted(unknown)}")
    own = load_objects(directory / "objects.yaml")
    if not config.get("base"):
        return Scenario(name, own, config, [directory])
    base = _load_scenario(config["base"])
    removed = {(r.get("kind", ""), r.get("namespace", "") or "", r.get("name", "")) for r in config.get("remove") or []}
    replaced = {object_key(o) for o in own}
    objects = [o for o in base.objects
               if object_key(o) not in replaced and object_key(o)[1:] not in removed]
    merged = {k: v for k, v in base.config.items() if k not in ("description", "base", "remove")}
    merged.update({k: v for k, v in config.items() if k not in ("base", "remove")})
    return Scenario(name, objects + own, merged, [directory] + base.directories)


def scenario_names() -> list[str]:
    return sorted(p.name for p in SCENARIOS.iterdir()
                  if p.is_dir() and ((p / "objects.yaml").exists() or (p / "scenario.yaml").exists()))
