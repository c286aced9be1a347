"""A small Kubernetes REST client (stdlib only) used by the harness itself.

The harness talks to its apiserver as the admin user with a client certificate. It needs create,
get, patch, put-to-status and discovery; nothing else. Keeping it independent of the `kubernetes`
package means the harness does not share code paths with the plugin it is testing.
"""
from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from typing import Any, Optional


class ApiError(Exception):
    def __init__(self, status: int, body: Any, method: str, path: str):
        self.status = status
        self.body = body
        self.reason = body.get("reason") if isinstance(body, dict) else None
        msg = body.get("message") if isinstance(body, dict) else str(body)[:500]
        super().__init__(f"{method} {path}: {status} {msg}")


class Kube:
    def __init__(self, host: str, port: int, ca: str, cert: Optional[str] = None, key: Optional[str] = None,
                 timeout: float = 30, token: Optional[str] = None):
        """Authenticates with a client certificate, or with a bearer `token` (a ServiceAccount's)."""
        self.host, self.port, self.timeout = host, port, timeout
        self.ctx = ssl.create_default_context(cafile=ca)
        if cert:
            self.ctx.load_cert_chain(cert, key)
        self.token = token
        self._resources: dict[tuple[str, str], tuple[str, bool, set[str]]] = {}

    # -- raw requests ---------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
                query: Optional[dict] = None, timeout: Optional[float] = None) -> Any:
        if query:
            path = path + "?" + urllib.parse.urlencode(query)
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                           timeout=timeout or self.timeout)
        try:
            data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            headers = {"Accept": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            if data is not None:
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        if resp.status >= 400:
            raise ApiError(resp.status, parsed, method, path)
        return parsed

    def get(self, path: str, **kw) -> Any:
        return self.request("GET", path, **kw)

    def ready(self) -> bool:
        try:
            self.request("GET", "/readyz", timeout=2)
            return True
        except (OSError, ApiError, ssl.SSLError):
            return False

    # -- discovery ------------------------------------------------------------------------------
    def refresh_discovery(self) -> None:
        res: dict[tuple[str, str], tuple[str, bool, set[str]]] = {}
        group_versions = ["v1"]
        for g in self.get("/apis").get("groups", []):
            group_versions += [v["groupVersion"] for v in g.get("versions", [])]
        for gv in group_versions:
            path = "/api/v1" if gv == "v1" else f"/apis/{gv}"
            try:
                lst = self.get(path)
            except ApiError:
                continue  # an aggregated API that is down; not needed for applying objects
            subs: dict[str, set[str]] = {}
            for r in lst.get("resources", []):
                if "/" in r["name"]:
                    base, sub = r["name"].split("/", 1)
                    subs.setdefault(base, set()).add(sub)
            for r in lst.get("resources", []):
                if "/" not in r["name"]:
                    res[(gv, r["kind"])] = (r["name"], r["namespaced"], subs.get(r["name"], set()))
        self._resources = res

    def resource(self, api_version: str, kind: str) -> tuple[str, bool, set[str]]:
        """(plural, namespaced, subresources) of a kind; refreshes discovery once when unknown."""
        key = (api_version, kind)
        if key not in self._resources:
            self.refresh_discovery()
        if key not in self._resources:
            raise KeyError(f"the apiserver does not serve {kind} in {api_version}")
        return self._resources[key]

    def path_for(self, api_version: str, kind: str, namespace: Optional[str] = None,
                 name: Optional[str] = None, sub: Optional[str] = None) -> str:
        plural, namespaced, _ = self.resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespaced:
            base += f"/namespaces/{namespace or 'default'}"
        p = f"{base}/{plural}"
        if name:
            p += f"/{name}"
        if sub:
            p += f"/{sub}"
        return p

    # -- objects --------------------------------------------------------------------------------
    def create(self, obj: dict) -> dict:
        md = obj["metadata"]
        return self.request("POST", self.path_for(obj["apiVersion"], obj["kind"], md.get("namespace")), obj)

    def read(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> dict:
        return self.get(self.path_for(api_version, kind, namespace, name))

    def merge_patch(self, api_version: str, kind: str, name: str, patch: dict,
                    namespace: Optional[str] = None, sub: Optional[str] = None) -> dict:
        return self.request("PATCH", self.path_for(api_version, kind, namespace, name, sub), patch,
                            content_type="application/merge-patch+json")

    def delete(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None,
               grace: Optional[int] = None) -> Any:
        body = None if grace is None else {"kind": "DeleteOptions", "apiVersion": "v1",
                                           "gracePeriodSeconds": grace}
        return self.request("DELETE", self.path_for(api_version, kind, namespace, name), body)

    def replace_status(self, obj: dict, status: dict) -> dict:
        """PUT the status subresource with `status` (reads the current object for its resourceVersion)."""
        md = obj["metadata"]
        for attempt in range(5):
            cur = self.read(obj["apiVersion"], obj["kind"], md["name"], md.get("namespace"))
            cur["status"] = status
            try:
                return self.request("PUT", self.path_for(obj["apiVersion"], obj["kind"], md.get("namespace"),
                                                         md["name"], "status"), cur)
            except ApiError as e:
                if e.status != 409 or attempt == 4:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def wait_for(self, what: str, fn, timeout: float = 30, interval: float = 0.2):
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = fn()
                if last:
                    return last
            except (ApiError, OSError) as e:
                last = e
            time.sleep(interval)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
