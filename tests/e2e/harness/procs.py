"""Child processes that never outlive the harness.

Every component runs in its own process group (so a signal reaches whatever it forked) under
`setpriv --pdeathsig KILL` (so it dies with the Python process that started it, even if that one
is SIGKILLed). Live processes are tracked in a module-level registry; `atexit` and SIGTERM/SIGHUP
handlers stop whatever is left. Each cluster also writes the process-group ids into its state
directory so `e2e-cluster down` can clean up after a crashed supervisor.
"""
from __future__ import annotations

import atexit
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

_live: "list[Proc]" = []
_live_lock = threading.Lock()
_cleanups: "list[Callable[[], None]]" = []


def log(msg: str) -> None:
    """Progress goes to stderr, never stdout (stdout of `e2e-cluster up` is the export line)."""
    sys.stderr.write(f"[e2e {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """`n` distinct ports free right now (all held open until all are chosen, so none repeats).

    Free now is not free later: another process may bind one before our component does. Callers
    start components through `Cluster._start_with_port_retry`, which picks fresh ports then."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


ADDRESS_IN_USE = "address already in use"


class PortInUse(RuntimeError):
    """A component could not bind its port: another process took it after we chose it."""


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP `port` (IPv4 and IPv6), from /proc/net."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is field 9
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    return inodes


def listens_on(pid: int, port: int) -> bool:
    """True when process `pid` itself holds a listening socket on `port`. A plain "the port
    accepts connections" check is fooled by whatever other process took the port."""
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class _Spawner:
    """Forks every component from one thread that lives as long as the process.

    `setpriv --pdeathsig KILL` sets PR_SET_PDEATHSIG, which fires when the *thread* that forked
    the child exits, not the process: a cluster started from a worker thread (a thread pool
    starting several clusters at once) would be SIGKILLed as soon as that worker finished."""

    def __init__(self) -> None:
        self._queue: "queue.Queue" = queue.Queue()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    def popen(self, argv: list, **kw) -> subprocess.Popen:
        if threading.current_thread() is threading.main_thread():
            return subprocess.Popen(argv, **kw)   # the main thread lives as long as the process
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="harness-spawner", daemon=True)
                self._thread.start()
        box: dict = {}
        done = threading.Event()
        self._queue.put((argv, kw, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["popen"]

    def _run(self) -> None:
        while True:
            argv, kw, box, done = self._queue.get()
            try:
                box["popen"] = subprocess.Popen(argv, **kw)
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = e
            finally:
                done.set()


_spawner = _Spawner()


class Proc:
    """One component process: logs to <logdir>/<name>.log, lives in its own process group."""

    def __init__(self, name: str, argv: list[str], *, log_dir: Path, env: Optional[dict] = None,
                 pgid_file: Optional[Path] = None):
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self._logf = open(self.log_path, "ab")
        setpriv = shutil.which("setpriv")   # resolved here: the child's env may have another PATH
        pre = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
        self.popen = _spawner.popen(pre + argv, stdin=subprocess.DEVNULL, stdout=self._logf,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.pid = self.popen.pid
        self.pgid_file = pgid_file
        if pgid_file is not None:
            with open(pgid_file, "a") as f:
                f.write(f"{self.pid} {name}\n")
        with _live_lock:
            _live.append(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the group, wait up to `grace` seconds, then SIGKILL the group."""
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may hold children even after the leader exited.
        self.signal(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._logf.close()
        with _live_lock:
            if self in _live:
                _live.remove(self)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def kill_recorded(pgid_file: Path) -> list[str]:
    """Kill every process group listed in a cluster's pgid file (for `down` after a crash)."""
    killed = []
    if not pgid_file.exists():
        return killed
    for line in pgid_file.read_text().splitlines():
        try:
            pid_s, name = line.split(" ", 1)
            pid = int(pid_s)
        except ValueError:
            continue
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
                if sig == signal.SIGTERM:
                    killed.append(name)
                    time.sleep(0.5)
            except (ProcessLookupError, PermissionError):
                break
    return killed


def register_cleanup(fn: Callable[[], None]) -> None:
    _cleanups.append(fn)


def unregister_cleanup(fn: Callable[[], None]) -> None:
    if fn in _cleanups:
        _cleanups.remove(fn)


def _cleanup_all() -> None:
    for fn in list(reversed(_cleanups)):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - keep cleaning the rest
            log(f"cleanup error: {e}")
    with _live_lock:
        left = list(_live)
    for p in left:
        p.stop(grace=2)


def _on_signal(signum, frame):
    _cleanup_all()
    # Re-raise the default behaviour so the exit status tells the truth.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


atexit.register(_cleanup_all)
if threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_sig) in (signal.SIG_DFL, None):
            signal.signal(_sig, _on_signal)
