"""KubeCluster: the production Cluster, and the only module that imports `kubernetes`.

Design choices, each forced by something measured or by kubectl's behaviour:
- The client does what only it should do: load the kubeconfig (contexts, certificates, tokens,
  exec credential plugins, in-cluster config) into a `Configuration`. Requests do not go through
  its generated `ApiClient`, whose request API changed between client lines (35 has `call_api`
  with positional paths, 36+ `param_serialize`), but through one urllib3 pool of our own:
  the same TLS settings and bearer token (refreshed through the client's hook), one SSLContext
  for every connection and every exec websocket, keep-alive connections reused across threads.
  Answers are `json.loads`-ed raw bytes, never typed models: on big lists that is ~3x faster and
  ~2.5x leaner, and the commands want plain dicts anyway (the fake serves the same dicts).
- `persist_config` is never enabled: a read-only tool must not rewrite the user's kubeconfig when
  an auth plugin refreshes a token.
- Exec opens the websocket itself (the handshake the client's `ws_client` does), on an idle
  keep-alive connection of the pool when there is one (see `_take_idle_socket`), not through
  `kubernetes.stream.stream`, which swaps `call_api` on a shared ApiClient and so is not safe from
  several threads; it reads the channel frames with a blocking receive bounded by the deadline
  (no polling), and decodes the error channel itself, because kwok (and some kubelets) report
  exit codes in a shape the client's `returncode` cannot parse.
- The `kubernetes` import is the biggest part of start-up, so it happens inside
  `KubeCluster.__init__` only (`--help` never pays it), and without running the client's package
  `__init__` files, which import every typed API class and model (~800 modules, 60% of the
  import; see `_defer_client_package_imports`).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Sequence

from kubectl_datadog.cluster import AccessCheck, Context, ExecResult, Resource
from kubectl_datadog.cluster import kubeconfig_paths as _kubeconfig_paths
from kubectl_datadog.errors import (
    ApiError,
    ConfigError,
    Forbidden,
    NotFound,
    PluginError,
    RequestTimeout,
    Unauthorized,
    Unreachable,
)

_SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
_PARTIAL_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
# Exec subprotocols, newest first: v5 adds the close-channel notice (255); the apiserver picks one.
_EXEC_SUBPROTOCOLS = "v5.channel.k8s.io,v4.channel.k8s.io"
_USER_AGENT = "kubectl-datadog"
# Access reviews sent at once by one `access` call (each one a request in flight).
ACCESS_REVIEWS_AT_ONCE = 8


def _first_current_context(merger: Any) -> str | None:
    """kubectl takes current-context from the first file that sets it (the client takes the last).
    The merger keeps each file as parsed, in KUBECONFIG order: no second YAML parse."""
    for path in merger.paths:
        doc = merger.config_files.get(path)
        if isinstance(doc, dict) and doc.get("current-context"):
            return str(doc["current-context"])
    return None


class KubeCluster:
    def __init__(self, *, kubeconfig: str | None = None, context: str | None = None,
                 cluster: str | None = None, user: str | None = None,
                 namespace: str | None = None, request_timeout: float | None = None,
                 max_connections: int = 32) -> None:
        _defer_client_package_imports()
        from kubernetes.client import Configuration
        from kubernetes.config import kube_config
        from kubernetes.config.config_exception import ConfigException

        self._timeout = request_timeout
        cfg = Configuration()
        paths = [p for p in _kubeconfig_paths(kubeconfig) if os.path.exists(p)]
        if kubeconfig and not paths:
            raise ConfigError(f"kubeconfig {kubeconfig} does not exist", hint="check --kubeconfig")
        try:
            if paths:
                merger = kube_config.KubeConfigMerger(os.pathsep.join(paths))
                if merger.config is None:
                    raise ConfigError("the kubeconfig is empty", hint="check KUBECONFIG or --kubeconfig")
                contexts = {c["name"]: c for c in merger.config.value.get("contexts") or []}
                ctx_name = context or _first_current_context(merger)
                if not ctx_name:
                    raise ConfigError("the kubeconfig has no current context",
                                      hint="pass --context, or run: kubectl config use-context NAME")
                if ctx_name not in contexts:
                    raise ConfigError(f'context "{ctx_name}" does not exist in the kubeconfig',
                                      hint="list them with: kubectl config get-contexts")
                ctx = contexts[ctx_name].value["context"]
                # --cluster/--user override the context in memory only (nothing is persisted).
                if cluster:
                    if cluster not in {c["name"] for c in merger.config.value.get("clusters") or []}:
                        raise ConfigError(f'cluster "{cluster}" does not exist in the kubeconfig',
                                          hint="list them with: kubectl config get-clusters")
                    ctx["cluster"] = cluster
                if user:
                    if user not in {u["name"] for u in merger.config.value.get("users") or []}:
                        raise ConfigError(f'user "{user}" does not exist in the kubeconfig',
                                          hint="list them with: kubectl config get-users")
                    ctx["user"] = user
                loader = kube_config.KubeConfigLoader(config_dict=merger.config, active_context=ctx_name)
                with _client_log_errors() as errors:
                    loader.load_and_set(cfg)
                if errors and "exec" in _user_entry(merger, ctx.get("user")):
                    # The client logs a failing credential plugin and goes on anonymously; kubectl
                    # stops with the plugin's error. So do we.
                    raise Unauthorized(f"the kubeconfig's credential plugin failed: {_short(errors[0])}",
                                       hint="check the exec command of the user in your kubeconfig, or log in again")
                default_ns = ctx.get("namespace") or "default"
                self._context = Context(ctx_name, cfg.host, namespace or default_ns, ctx.get("user") or "")
            elif os.environ.get("KUBERNETES_SERVICE_HOST"):
                from kubernetes.config import incluster_config

                incluster_config.InClusterConfigLoader(
                    token_filename=incluster_config.SERVICE_TOKEN_FILENAME,
                    cert_filename=incluster_config.SERVICE_CERT_FILENAME,
                    try_refresh_token=True).load_and_set(cfg)
                try:
                    with open(_SA_NAMESPACE_FILE, encoding="utf-8") as fh:
                        default_ns = fh.read().strip() or "default"
                except OSError:
                    default_ns = "default"
                self._context = Context("in-cluster", cfg.host, namespace or default_ns, "serviceaccount")
            else:
                raise ConfigError("no kubeconfig found (looked in "
                                  + (", ".join(_kubeconfig_paths(kubeconfig))) + ")",
                                  hint="set KUBECONFIG or pass --kubeconfig")
        except ConfigException as exc:
            raise ConfigError(f"invalid kubeconfig: {_one_line(str(exc))}",
                              hint="check it with: kubectl config view --minify") from exc
        except PluginError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot load the kubeconfig: {_one_line(str(exc))}",
                              hint="check it with: kubectl config view --minify") from exc
        self._cfg = cfg
        self._ssl_lock = threading.Lock()
        self._ssl_ctx: tuple[tuple[Any, ...], Any] | None = None  # (settings, SSLContext), built on first use
        self._proxy_url = self._proxy()  # decided once: every request and exec uses the same
        self._pool = self._pool_manager(max_connections)

    @property
    def context(self) -> Context:
        return self._context

    # --- raw requests ---------------------------------------------------------------------

    def _request(self, method: str, path: str, *, query: Sequence[tuple[str, Any]] = (),
                 body: Any = None, verb: str, resource: str, namespace: str | None = None,
                 name: str | None = None, accept: str = "application/json",
                 timeout: float | None = None, proxied: bool = False) -> tuple[int, bytes]:
        import urllib3

        headers = self._headers(accept)
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode("utf-8")
        t = timeout if timeout is not None else self._timeout
        try:
            resp = self._pool.request(method, self._url(path, query), body=payload, headers=headers,
                                      timeout=urllib3.Timeout(connect=t, read=t) if t else None,
                                      retries=False, redirect=False)
            data = resp.data
        except PluginError:
            raise
        except Exception as exc:  # the transport's many exception types become one taxonomy
            raise self._transport_error(exc) from exc
        status = resp.status
        if 200 <= status < 300:
            return status, data
        message, reason = _status_message(data)
        if status == 404:
            raise NotFound(f'{resource} "{name}" not found' if name else f"{path}: not found"
                           + (f" ({message})" if message and not name else ""))
        if status == 403 and not (proxied and reason != "Forbidden"):
            raise Forbidden(verb, resource, namespace, name, detail=message)
        if status == 401 and not (proxied and reason != "Unauthorized"):
            raise Unauthorized("the API server rejected the credentials (401 Unauthorized)",
                               hint="the token or certificate may have expired; log in again")
        detail = " ".join(part for part in (str(status), reason, message) if part)
        raise ApiError(f"{verb} {resource}: {detail}", status=status, reason=reason)

    def _transport_error(self, exc: Exception) -> PluginError:
        text = _one_line(str(exc))
        server = self._cfg.host
        low = text.lower()
        if "timed out" in low or "timeout" in low:
            return RequestTimeout(f"the API server at {server} did not answer in time",
                                  hint="raise --request-timeout, or check the cluster")
        if "certificate" in low or "ssl" in low or "tls" in low:
            return Unreachable(f"TLS handshake with {server} failed: {_short(text)}",
                               hint="check the cluster's certificate-authority in the kubeconfig")
        if ("exec" in low and ("plugin" in low or "command" in low)) or "credential" in low:
            return Unauthorized(f"the kubeconfig's credential plugin failed: {_short(text)}",
                                hint="log in again with your provider's CLI")
        if "refused" in low or "resolve" in low or "name or service" in low or "unreachable" in low \
                or "max retries" in low or "connection" in low:
            return Unreachable(f"cannot reach the API server at {server}: {_short(text)}",
                               hint="is the cluster running, and are --context/--kubeconfig right?")
        return Unreachable(f"request to {server} failed: {_short(text)}")

    def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        _, data = self._request(method, path, **kw)
        return json.loads(data) if data else {}

    # --- Cluster protocol -----------------------------------------------------------------

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self._json("GET", resource.path(namespace, name), verb="get", resource=resource.display,
                              namespace=namespace, name=name)
        except NotFound:
            return None

    def list(self, resource: Resource, namespace: str | None = None, *, label_selector: str = "",
             field_selector: str = "", page_size: int = 500,
             metadata_only: bool = False) -> Iterator[dict[str, Any]]:
        # metadata_only: ask for a PartialObjectMetadataList (what `kubectl get -o name` and the
        # client-go metadata informers use); a server that cannot convert answers the plain JSON
        # list (the fallback after the comma), which callers read the same way.
        accept = _PARTIAL_METADATA_LIST if metadata_only else "application/json"
        cont = ""
        while True:
            query: list[tuple[str, Any]] = [("limit", page_size)]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            if cont:
                query.append(("continue", cont))
            try:
                page = self._json("GET", resource.path(namespace), query=query, verb="list",
                                  resource=resource.display, namespace=namespace, accept=accept)
            except NotFound:
                return  # the resource type is not served (e.g. no DatadogMetric CRD)
            items = page.get("items") or []
            page = {"metadata": page.get("metadata") or {}}
            for item in items:
                # List items carry no apiVersion/kind; put them back so they look like `get` results.
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
            yield from items
            del items
            cont = page["metadata"].get("continue") or ""
            if not cont:
                return

    def get_raw(self, path: str, query: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        return self._json("GET", path, query=query, verb="get", resource=path)

    def proxy_get(self, namespace: str, pod: str, port: int, path: str, timeout: float | None = None) -> str:
        # GET only: the proxy forwards any verb to the pod, and the plugin never writes.
        # proxied: a 403 is RBAC's only when the API server says so (a Status with reason Forbidden);
        # otherwise the pod, or something on the way to it, answered 403, which no permission fixes.
        url = f"/api/v1/namespaces/{namespace}/pods/{pod}:{int(port)}/proxy/{path.lstrip('/')}"
        _, data = self._request("GET", url, verb="get", resource="pods/proxy", namespace=namespace, name=pod,
                                accept="text/plain, */*", timeout=timeout, proxied=True)
        return data.decode("utf-8", "replace")

    def logs(self, namespace: str, pod: str, container: str, *, since_seconds: int | None = None,
             tail_lines: int | None = None) -> str:
        query: list[tuple[str, Any]] = [("container", container)]
        if since_seconds:
            query.append(("sinceSeconds", since_seconds))
        if tail_lines is not None:
            query.append(("tailLines", tail_lines))
        _, data = self._request("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query=query,
                                verb="get", resource="pods/log", namespace=namespace, name=pod,
                                accept="*/*")  # the apiserver answers 406 to text/plain alone
        return data.decode("utf-8", "replace")

    def access(self, checks: Sequence[AccessCheck]) -> list[bool | None]:
        def one(check: AccessCheck) -> bool | None:
            attrs: dict[str, Any] = {"verb": check.verb, "group": check.group}
            resource, _, sub = check.resource.partition("/")
            attrs["resource"] = resource
            if sub:
                attrs["subresource"] = sub
            if check.namespace:
                attrs["namespace"] = check.namespace
            if check.name:
                attrs["name"] = check.name
            if check.user:
                kind, path = "SubjectAccessReview", "/apis/authorization.k8s.io/v1/subjectaccessreviews"
                spec: dict[str, Any] = {"resourceAttributes": attrs, "user": check.user}
                if check.user.startswith("system:serviceaccount:"):
                    ns = check.user.split(":")[2]
                    spec["groups"] = ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                      "system:authenticated"]
            else:
                kind, path = "SelfSubjectAccessReview", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
                spec = {"resourceAttributes": attrs}
            body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
            try:
                answer = self._json("POST", path, body=body, verb="create", resource=path.rsplit("/", 1)[1])
            except (Forbidden, NotFound, ApiError):
                return None
            return bool((answer.get("status") or {}).get("allowed"))

        if len(checks) <= 1:
            return [one(c) for c in checks]
        with ThreadPoolExecutor(max_workers=min(ACCESS_REVIEWS_AT_ONCE, len(checks))) as pool:
            return list(pool.map(one, checks))

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        from websocket import ABNF, WebSocketBadStatusException, WebSocketTimeoutException

        query: list[tuple[str, Any]] = [("command", a) for a in argv]
        query += [("container", container), ("stderr", "true"), ("stdout", "true"), ("stdin", "false"),
                  ("tty", "false")]
        url = self._url(f"/api/v1/namespaces/{namespace}/pods/{pod}/exec", query)
        limit = timeout or self._timeout or 60.0
        deadline = time.monotonic() + limit
        try:
            ws = self._websocket(url, limit)
        except WebSocketBadStatusException as exc:
            code = getattr(exc, "status_code", 0)
            if code == 403:
                raise Forbidden("create", "pods/exec", namespace, pod) from exc
            if code == 401:
                raise Unauthorized("the API server rejected the credentials (401 Unauthorized)") from exc
            if code == 404:
                return ExecResult("", "", None, f'pod "{pod}" not found (it may have been deleted)')
            return ExecResult("", "", None, f"exec was refused: {_short(_one_line(str(exc)))}")
        except Exception as exc:  # noqa: BLE001 - transport failures are one taxonomy
            err = self._transport_error(exc)
            return ExecResult("", "", None, err.message)
        # Channel frames (v4/v5.channel.k8s.io): first byte the channel, 1 stdout, 2 stderr, 3 the
        # error channel (a Status), 255 a v5 close-channel notice. Bytes are decoded once at the end
        # so a multi-byte character split across frames stays whole.
        chans: dict[int, bytearray] = {1: bytearray(), 2: bytearray(), 3: bytearray()}

        def text(ch: int) -> str:
            return chans[ch].decode("utf-8", "replace")

        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WebSocketTimeoutException("deadline")
                ws.settimeout(remaining)
                opcode, frame = ws.recv_data_frame(True)
                if opcode == ABNF.OPCODE_CLOSE:
                    break
                if opcode in (ABNF.OPCODE_BINARY, ABNF.OPCODE_TEXT) and frame.data:
                    data = frame.data if isinstance(frame.data, (bytes, bytearray)) \
                        else str(frame.data).encode("utf-8")
                    if data[0] in chans:
                        chans[data[0]] += data[1:]
        except WebSocketTimeoutException:
            return ExecResult(text(1), text(2), None, f"exec did not finish within {limit:g}s")
        except Exception as exc:  # noqa: BLE001 - a cut stream is a result, not a crash
            return ExecResult(text(1), text(2), None, f"the exec stream broke: {_short(str(exc))}")
        finally:
            try:
                ws.close(timeout=0)
            except Exception:  # noqa: BLE001 - closing a broken socket
                pass
        return _exec_result(text(1), text(2), text(3))

    # --- transport ----------------------------------------------------------------------------

    def _url(self, path: str, query: Sequence[tuple[str, Any]] = ()) -> str:
        from urllib.parse import urlencode

        return self._cfg.host.rstrip("/") + path + ("?" + urlencode(list(query)) if query else "")

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": _USER_AGENT}
        # The client's own hook refreshes expiring tokens (exec plugins, token files) here.
        token = self._cfg.get_api_key_with_prefix("authorization")
        if token:
            headers["Authorization"] = token
        return headers

    def _pool_manager(self, max_connections: int) -> Any:
        """One pool for every request of this run: keep-alive connections are reused by every
        thread (at most `max_connections` per host), each opened with the one SSLContext."""
        import urllib3

        cfg = self._cfg
        kw: dict[str, Any] = {"num_pools": 4, "maxsize": max_connections, "block": False, "retries": False}
        if cfg.host.startswith("https"):
            kw["ssl_context"] = self._ssl_context()
            kw["cert_reqs"] = "CERT_REQUIRED" if cfg.verify_ssl else "CERT_NONE"
            if cfg.assert_hostname is not None:
                kw["assert_hostname"] = cfg.assert_hostname
            if cfg.tls_server_name:
                kw["server_hostname"] = cfg.tls_server_name
        if self._proxy_url:
            return urllib3.ProxyManager(self._proxy_url, proxy_headers=cfg.proxy_headers, **kw)
        return urllib3.PoolManager(**kw)

    def _proxy(self) -> str:
        """The proxy URL (the kubeconfig's proxy-url or HTTPS_PROXY, as the client reads them), unless
        NO_PROXY names the API server's host."""
        from urllib.parse import urlparse
        from urllib.request import proxy_bypass_environment

        cfg = self._cfg
        if not cfg.proxy:
            return ""
        # The client (35) reads NO_PROXY into its Configuration, then resets it to None: read it here.
        no_proxy = getattr(cfg, "no_proxy", None) or os.environ.get("NO_PROXY") or os.environ.get("no_proxy")
        host = urlparse(cfg.host).hostname or ""
        if no_proxy and proxy_bypass_environment(host, {"no": no_proxy}):
            return ""
        return str(cfg.proxy)

    def _websocket(self, url: str, timeout: float) -> Any:
        """Open the exec websocket with the same credentials, TLS context and proxy as requests."""
        from websocket import WebSocket

        cfg = self._cfg
        ws_url = "ws" + url[len("http"):] if url.startswith("http") else url
        header = [f"sec-websocket-protocol: {_EXEC_SUBPROTOCOLS}", f"user-agent: {_USER_AGENT}"]
        token = cfg.get_api_key_with_prefix("authorization")
        if token:
            header.append(f"authorization: {token}")
        sslopt: dict[str, Any] = {}
        if ws_url.startswith("wss://"):
            sslopt["context"] = self._ssl_context()
            if cfg.tls_server_name:
                sslopt["server_hostname"] = cfg.tls_server_name
        opts: dict[str, Any] = {"header": header, "timeout": timeout}
        if self._proxy_url:
            from urllib.parse import urlparse

            proxy = urlparse(self._proxy_url)
            opts.update(http_proxy_host=proxy.hostname, http_proxy_port=proxy.port,
                        proxy_type="http" if proxy.scheme in ("http", "https") else proxy.scheme)
            if proxy.username:
                opts["http_proxy_auth"] = (proxy.username, proxy.password or "")
        ws = WebSocket(sslopt=sslopt, skip_utf8_validation=True)
        idle = None if self._proxy_url else self._take_idle_socket(url)
        if idle is not None:
            from websocket import WebSocketConnectionClosedException

            try:
                idle.settimeout(timeout)
                ws.connect(ws_url, socket=idle, **opts)
                return ws
            except (OSError, WebSocketConnectionClosedException):
                # The server closed the idle connection as we took it (its keep-alive timeout):
                # a fresh one, as if there had been none idle.
                ws = WebSocket(sslopt=sslopt, skip_utf8_validation=True)
        ws.connect(ws_url, **opts)
        return ws

    def _take_idle_socket(self, url: str) -> Any:
        """An idle keep-alive connection of the request pool, taken out of it for good, or None.

        An exec upgrade is an HTTP/1.1 request like any other, and the apiserver accepts it on a
        connection that served requests before; so an exec started after some reads costs the
        Upgrade round trip only, not a TCP connect and a TLS handshake more. The connection becomes
        the websocket and never returns to the pool; its slot does, below the idle connections,
        so the next request still finds one of those first (urllib3's pool is a LIFO of idle
        connections above empty slots). urllib3 has no public call for this; if its internals
        ever differ, the exec opens its own connection as before."""
        try:
            pool = self._pool.connection_from_url(url)
            slots = pool.pool
            conn = slots.get(block=False)
        except Exception:  # noqa: BLE001 - queue.Empty, a closed pool, or other internals: no reuse
            return None
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is None or _connection_dropped(conn):
            try:
                slots.put(conn, block=False)        # an empty slot, an unopened or a dropped one: back as it was
            except Exception:  # noqa: BLE001 - a full queue: the pool opens another when it needs one
                pass
            return None
        try:
            conn.sock = None                        # detach: closing the object no longer closes it
            conn.close()
            return sock
        finally:
            try:
                with slots.mutex:                   # the freed slot goes to the bottom
                    slots.queue.insert(0, None)
            except Exception:  # noqa: BLE001 - another queue: on top, reuse merely gets rarer
                slots.put(None, block=False)

    def _ssl_context(self) -> Any:
        import ssl

        cfg = self._cfg
        key = (cfg.verify_ssl, cfg.ssl_ca_cert, cfg.assert_hostname, cfg.cert_file, cfg.key_file)
        with self._ssl_lock:
            cached = self._ssl_ctx
            if cached is not None and cached[0] == key:
                return cached[1]
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if cfg.verify_ssl:
                import certifi

                ctx.load_verify_locations(cafile=cfg.ssl_ca_cert or certifi.where())
                ctx.check_hostname = True if cfg.assert_hostname is None else bool(cfg.assert_hostname)
                ctx.verify_mode = ssl.CERT_REQUIRED
            else:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if cfg.cert_file:
                ctx.load_cert_chain(cfg.cert_file, cfg.key_file or None)
            self._ssl_ctx = (key, ctx)
            return ctx


def _connection_dropped(conn: Any) -> bool:
    from urllib3.util.connection import is_connection_dropped

    try:
        return bool(is_connection_dropped(conn))
    except Exception:  # noqa: BLE001 - cannot tell: do not reuse it
        return True


def _defer_client_package_imports() -> None:
    """Load `kubernetes` and `kubernetes.client` as bare packages whose `__init__` runs only if
    something asks for a name they define.

    Their `__init__` files import every typed API class and model (kubernetes 35: 815 modules,
    0.34 s of a 0.48 s import on 2 cores), and all we use is the kubeconfig loader and
    `Configuration` (about 10 modules). A bare package finds its submodules as usual
    (`kubernetes.config.kube_config`, `kubernetes.client.configuration`); any other attribute runs
    the real `__init__` into the same module first, so nothing the client does can miss a name.
    `ApiClient` (imported by the loader, used only to refresh OIDC tokens) resolves to the real
    class on first use. Done once per process, and never when the client was imported already."""
    import importlib
    import importlib.util
    import sys
    import types

    if "kubernetes" in sys.modules:
        return

    def bare_package(name: str) -> types.ModuleType:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            raise ImportError(f"No module named {name!r}")
        module = importlib.util.module_from_spec(spec)
        complete = False

        def __getattr__(attr: str) -> Any:
            nonlocal complete
            if complete:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}")
            for location in module.__path__:
                if os.path.exists(os.path.join(location, attr + ".py")) or \
                        os.path.isfile(os.path.join(location, attr, "__init__.py")):
                    return importlib.import_module(f"{name}.{attr}")
            complete = True
            assert spec is not None and spec.loader is not None
            spec.loader.exec_module(module)   # the real __init__, into this module
            return module.__dict__[attr]

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        sys.modules[name] = module
        return module

    top = bare_package("kubernetes")
    try:
        client = bare_package("kubernetes.client")
    except ImportError:
        del sys.modules["kubernetes"]
        raise
    top.client = client  # type: ignore[attr-defined]
    from kubernetes.client.configuration import Configuration

    class ApiClient:
        """Stands for kubernetes.client.ApiClient until someone makes one."""

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            from kubernetes.client.api_client import ApiClient as Real

            return Real(*args, **kwargs)

    client.Configuration = Configuration  # type: ignore[attr-defined]
    client.ApiClient = ApiClient  # type: ignore[attr-defined]


class _client_log_errors:
    """Collect what the kubernetes client logs at ERROR on the root logger while loading the
    kubeconfig (a failing exec credential plugin is only logged there), instead of letting Python's
    last-resort handler print it on stderr."""

    def __enter__(self) -> list[str]:
        import logging

        self._errors: list[str] = []
        errors = self._errors

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.levelno >= logging.ERROR:
                    errors.append(record.getMessage())

        self._handler = Collect()
        self._root = logging.getLogger()
        self._root.addHandler(self._handler)
        return self._errors

    def __exit__(self, *exc: object) -> None:
        self._root.removeHandler(self._handler)


def _user_entry(merger: Any, name: str | None) -> dict[str, Any]:
    for u in merger.config.value.get("users") or []:
        if u["name"] == name:
            return dict(u.value.get("user") or {})
    return {}


def _exec_result(stdout: str, stderr: str, status_text: str) -> ExecResult:
    """Decode the exec error channel: Success; NonZeroExitCode with an ExitCode cause (kubelet);
    a Failure whose message ends in `exit status N` (kwok); any other Failure (container not found,
    executable not found...)."""
    if not status_text.strip():
        return ExecResult(stdout, stderr, None, "the exec stream ended without an exit status")
    try:
        status = json.loads(status_text)
    except ValueError:
        return ExecResult(stdout, stderr, None, _short(status_text))
    if status.get("status") == "Success":
        return ExecResult(stdout, stderr, 0)
    message = str(status.get("message") or "")
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return ExecResult(stdout, stderr, int(cause.get("message")), message)
            except (TypeError, ValueError):
                pass
    if "executable file not found" in message or "no such file or directory" in message:
        return ExecResult(stdout, stderr, 127, message)
    m = re.search(r"exit (?:status|code) (\d+)", message)
    if m:
        return ExecResult(stdout, stderr, int(m.group(1)), message)
    return ExecResult(stdout, stderr, None, message or "exec failed")


def _status_message(data: bytes) -> tuple[str, str]:
    try:
        doc = json.loads(data)
        return str(doc.get("message") or ""), str(doc.get("reason") or "")
    except ValueError:
        return _short(data.decode("utf-8", "replace").strip()), ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short(text: str, limit: int = 160) -> str:
    # urllib3 wraps the cause in long reprs; keep the informative tail.
    m = re.search(r"(Connection refused|Name or service not known|certificate verify failed[^)'\"]*|"
                  r"timed out|No route to host|Temporary failure in name resolution)", text)
    if m:
        return m.group(1)
    return text if len(text) <= limit else text[: limit - 3] + "..."
