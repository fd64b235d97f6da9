"""
cluster — starts a real gatecast cluster (register, gateways, workers, or the
launcher) on loopback for the integration tests, and talks to its push port.

    with Cluster(gateways=2, workers=2) as c:
        ws = c.ws(0, "uid=42")               # connected wsclient.WSClient
        print(ws.recv_json())                # {"type":"login",...}
        p = c.push(1)                        # PushClient on gateway 1's push port
        print(p.request({"type": "send_to_uid", "uid": "42", "data": "hi"}))

The binaries come from $GATECAST_BUILD (a meson build dir; default: <repo>/build):
register/gatecast-register, gateway/gatecast-gateway, worker/gatecast-worker,
launcher/gatecast. Each process gets `--set key=value` arguments for
cluster.run_dir (a fresh temp dir), register.listen, gateway.ws_listen and
gateway.push_listen (distinct free ports per gateway), worker.app, and the
caller's extra settings. Output goes to one log file per process incarnation
in the run dir; tails are printed when a test or the fixture fails.

Readiness: gateways and workers log `event=cluster_view gateways=<n>
workers=<m>` whenever their view changes; the cluster is ready when every live
gateway's and worker's LAST such line shows the expected n and m.

Processes never outlive the tests: they get PR_SET_PDEATHSIG, are killed at
exit (atexit, SIGTERM/SIGINT handlers) and by the watchdog of main().
"""

import atexit
import ctypes
import faulthandler
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import wsclient

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

BINARIES = {
    "register": os.path.join("register", "gatecast-register"),
    "gateway": os.path.join("gateway", "gatecast-gateway"),
    "worker": os.path.join("worker", "gatecast-worker"),
    "launcher": os.path.join("launcher", "gatecast"),
}

READY_TIMEOUT = 15.0
SECRET_ENV = ("GATECAST_AUTH_SECRET", "GATECAST_AUTH_PREVIOUS_SECRET", "GATECAST_PUSH_SECRET")
CLUSTER_SECRET = "test-cluster-secret-" + uuid.uuid4().hex
STOP_TIMEOUT = 5.0
VIEW_RE = re.compile(r"\bevent=cluster_view\b")
VIEW_G_RE = re.compile(r"\bgateways=(\d+)\b")
VIEW_W_RE = re.compile(r"\bworkers=(\d+)\b")
CLIENT_ID_RE = re.compile(r"^[0-9a-f]{28}$")


class FixtureError(Exception):
    pass


# ------------------------------------------------------------------ binaries

def build_dir():
    d = os.environ.get("GATECAST_BUILD")
    if not d:
        d = os.path.join(REPO, "build")
    return os.path.abspath(d)


def binary(role):
    path = os.path.join(build_dir(), BINARIES[role])
    if not os.access(path, os.X_OK):
        raise FixtureError("%s binary not found or not executable: %s (set GATECAST_BUILD to the "
                           "meson build dir)" % (role, path))
    return path


# ------------------------------------------------------- process bookkeeping

_live = set()           # Popen objects of every process we started
_live_lock = threading.Lock()
_extra_pids = set()     # grandchildren we know of (launcher children)
_clusters = []          # started Cluster/Launcher objects, for the watchdog's log dump


def _kill_everything():
    with _live_lock:
        procs = list(_live)
        pids = list(_extra_pids)
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for p in procs:
        try:
            p.wait(timeout=2)
        except Exception:
            pass


atexit.register(_kill_everything)

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    _libc = None
PR_SET_PDEATHSIG = 1


def _preexec(sig):
    def fn():
        # Die with the test process even if it is SIGKILLed.
        if _libc is not None:
            _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    return fn


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(name))
    return out


def proc_fd_count(pid):
    """Open file descriptors of pid (from /proc/<pid>/fd)."""
    return len(os.listdir("/proc/%d/fd" % pid))


_TCP_STATES = {"01": "ESTABLISHED", "03": "SYN_RECV", "08": "CLOSE_WAIT"}


def server_connections(ports):
    """Accepted TCP connections on 127.0.0.1 whose local port is in ports and
    that are not closed yet on the server side, as the kernel reports them
    (/proc/net/tcp: ESTABLISHED, SYN_RECV or CLOSE_WAIT, i.e. in the accept
    queue or still holding a descriptor in the server). Returns
    [(local port, remote port, state)]. Connections the test itself dialed
    have the listening port as their remote port and are not counted."""
    ports = set(ports)
    out = []
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, st = fields[1], fields[2], fields[3]
                lport = int(local.rsplit(":", 1)[1], 16)
                if lport in ports and st in _TCP_STATES:
                    out.append((lport, int(remote.rsplit(":", 1)[1], 16), _TCP_STATES[st]))
    except OSError as e:
        raise FixtureError("cannot read /proc/net/tcp: %s" % e)
    return out


def proc_rss_kb(pid):
    """Resident set size of pid in KiB (VmRSS from /proc/<pid>/status)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise FixtureError("no VmRSS for pid %d" % pid)


# ----------------------------------------------------------------- ports

_used_ports = set()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago and that this
    process has not handed out before."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise FixtureError("no free port")


WAIT_TIMEOUT = 10.0


def wait_until(probe, what, timeout=WAIT_TIMEOUT, ok=bool, step=0.05, retry_on=()):
    """The one way a test waits for something that happens asynchronously
    (an announce, a metric, a log line, a close): calls probe() every step
    seconds until ok(value) is true and returns that value. At the deadline
    raises AssertionError "timed out after <t>s waiting for <what>; last
    value: <value>" (so a failure says what was awaited and what was seen).
    Exceptions of the types in retry_on count as "not yet" (the last one is
    reported); any other exception propagates. probe is called at least
    once, and once more at the deadline."""
    deadline = time.monotonic() + timeout
    last = "(never read)"
    while True:
        expired = time.monotonic() >= deadline
        try:
            v = probe()
        except retry_on as e:
            last = e
        else:
            if ok(v):
                return v
            last = v
        if expired:
            raise AssertionError("timed out after %.1fs waiting for %s; last value: %s"
                                 % (timeout, what, _short(last)))
        time.sleep(min(step, max(0.0, deadline - time.monotonic())))


def _short(v, limit=2000):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def set_value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            data = f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-n:])


# ----------------------------------------------------------------- a process

SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                          r"ERROR: ThreadSanitizer")


def sanitizer_reports(run_dir):
    """Lines from any process log in run_dir that report a sanitizer error
    (a build with -Db_sanitize=address,undefined makes memory errors and leaks
    in the daemons fail the tests)."""
    found = []
    if not run_dir or not os.path.isdir(run_dir):
        return found
    for name in sorted(os.listdir(run_dir)):
        path = os.path.join(run_dir, name)
        if not os.path.isfile(path) or name.endswith(".ipc"):
            continue
        try:
            with open(path, "r", errors="replace") as f:
                for line in f:
                    if SANITIZER_RE.search(line):
                        found.append("%s: %s" % (name, line.rstrip()))
                        break
        except OSError:
            pass
    return found


class Proc:
    """One gatecast program (one role/index), possibly started several times
    (each incarnation logs to its own file)."""

    def __init__(self, cluster, role, index, args, pdeathsig=signal.SIGKILL):
        self.cluster = cluster
        self.role = role
        self.index = index
        self.args = args
        self.pdeathsig = pdeathsig
        self.popen = None
        self.incarnation = 0
        self.log_path = None
        self.logs = []
        self.expected_dead = True   # False while it is meant to be running
        self.started_at = None

    @property
    def name(self):
        return "%s-%d" % (self.role, self.index)

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def start(self):
        if self.popen is not None and self.popen.poll() is None:
            raise FixtureError("%s is already running (pid %d)" % (self.name, self.popen.pid))
        self.incarnation += 1
        self.log_path = os.path.join(self.cluster.run_dir, "%s.%d.log" % (self.name, self.incarnation))
        self.logs.append(self.log_path)
        cmd = [binary(self.role)] + self.args
        with open(self.log_path, "wb") as logf:
            logf.write(("# %s\n" % " ".join(cmd)).encode())
            logf.flush()
            self.popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                          stderr=subprocess.STDOUT, cwd=self.cluster.run_dir,
                                          env=self.cluster.env, preexec_fn=_preexec(self.pdeathsig))
        with _live_lock:
            _live.add(self.popen)
        self.expected_dead = False
        self.started_at = time.monotonic()
        return self

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def returncode(self):
        return None if self.popen is None else self.popen.poll()

    def signal(self, sig):
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status."""
        self.expected_dead = True
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                self.popen.kill()
                self.wait(5)
        with _live_lock:
            _live.discard(self.popen)
        return self.popen.poll()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def last_view(self):
        """(gateways, workers) of the last cluster_view line of the current
        incarnation's log, or None."""
        last = None
        for line in self.log_text().splitlines():
            if VIEW_RE.search(line):
                g = VIEW_G_RE.search(line)
                w = VIEW_W_RE.search(line)
                if g and w:
                    last = (int(g.group(1)), int(w.group(1)))
        return last

    def describe(self):
        rc = self.returncode()
        state = "running" if rc is None and self.popen else "exited %r" % rc
        return "%s pid=%s %s%s" % (self.name, self.pid, state, " (expected)" if self.expected_dead else "")


# ----------------------------------------------------------------- the cluster

class Cluster:
    """A register, `gateways` gateways and `workers` workers on loopback.
    extra_set: {"gateway.max_line": 4096, ...} applied to every process."""

    def __init__(self, gateways=2, workers=2, app="builtin", extra_set=None,
                 ready_timeout=READY_TIMEOUT, keep_dir=None):
        self.n_gateways = gateways
        self.n_workers = workers
        self.app = app
        self.extra_set = dict(extra_set or {})
        self.ready_timeout = ready_timeout
        self.keep_dir = keep_dir if keep_dir is not None else bool(os.environ.get("GATECAST_KEEP"))
        self.run_dir = None
        self.register_port = None
        self.ws_ports = []
        self.push_ports = []
        self.http_ports = []
        self.register = None
        self.gateways = []
        self.workers = []
        self.env = dict(os.environ)
        # Every process of a cluster holds the same secret (from the
        # environment, so it never shows in ps).
        self.env.setdefault("GATECAST_CLUSTER_SECRET", CLUSTER_SECRET)
        self._clients = []
        self._started = False

    # -------------------------------------------------------------- settings

    def common_sets(self):
        sets = [
            ("cluster.run_dir", self.run_dir),
            ("register.listen", "tcp://127.0.0.1:%d" % self.register_port),
            ("worker.app", self.app),
        ]
        # Client authentication is the subject of test_auth.py; elsewhere
        # clients declare their uid (explicitly, as the product requires).
        if "auth.mode" not in self.extra_set:
            sets.append(("auth.mode", "none"))
        # Conformance and load tests send bursts; the rate limiter has its
        # own tests (test_auth.py).
        if "gateway.rate_limit" not in self.extra_set:
            sets.append(("gateway.rate_limit", 0))
        sets += [(k, set_value(v)) for k, v in self.extra_set.items()]
        return sets

    def args_for(self, role, index):
        sets = self.common_sets()
        if role == "gateway":
            sets = sets[:2] + [
                ("gateway.ws_listen", "127.0.0.1:%d" % self.ws_ports[index]),
                ("gateway.push_listen", "127.0.0.1:%d" % self.push_ports[index]),
                ("http.listen", "127.0.0.1:%d" % self.http_ports[index]),
            ] + sets[2:]
        args = []
        for k, v in sets:
            args += ["--set", "%s=%s" % (k, v)]
        return args

    # ------------------------------------------------------------ lifecycle

    def start(self):
        if self._started:
            return self
        self._started = True
        self.run_dir = tempfile.mkdtemp(prefix="gc-")
        _clusters.append(self)
        self.register_port = free_port()
        try:
            for role in ("register", "gateway", "worker"):
                binary(role)
            self.register = Proc(self, "register", 0, [])
            self.register.args = self.args_for("register", 0)
            for i in range(self.n_gateways):
                self.ws_ports.append(free_port())
                self.push_ports.append(free_port())
                self.http_ports.append(free_port())
            self.gateways = [Proc(self, "gateway", i, self.args_for("gateway", i))
                             for i in range(self.n_gateways)]
            self.workers = [Proc(self, "worker", i, self.args_for("worker", i))
                            for i in range(self.n_workers)]
            self.register.start()
            for p in self.gateways + self.workers:
                p.start()
            self.wait_ready()
            for port in self.ws_ports + self.push_ports:
                if not wait_port(port, 5):
                    raise FixtureError("port %d is not accepting connections" % port)
        except BaseException as e:
            sys.stderr.write("\n*** cluster failed to start: %s\n" % e)
            self.dump_logs()
            self.stop()
            raise
        return self

    def procs(self):
        return ([self.register] if self.register else []) + self.gateways + self.workers

    def members(self):
        """Gateways and workers meant to be running."""
        return [p for p in self.gateways + self.workers if not p.expected_dead]

    def expected_view(self):
        g = sum(1 for p in self.gateways if not p.expected_dead)
        w = sum(1 for p in self.workers if not p.expected_dead)
        return g, w

    def wait_ready(self, timeout=None, gateways=None, workers=None, procs=None):
        """Waits until every live member's last cluster_view shows the
        expected counts (default: the members meant to be running). Raises
        FixtureError naming the laggards."""
        timeout = self.ready_timeout if timeout is None else timeout
        eg, ew = self.expected_view()
        want = (eg if gateways is None else gateways, ew if workers is None else workers)

        def views():
            members = procs if procs is not None else self.members()
            dead = [p for p in self.procs() if not p.expected_dead and not p.alive()]
            if dead:
                raise FixtureError("process(es) died: %s" % ", ".join(p.describe() for p in dead))
            return {p.name: p.last_view() for p in members}
        try:
            return wait_until(views, "every member's last cluster_view to be gateways=%d workers=%d "
                              "(last view per process)" % want, timeout=timeout,
                              ok=lambda vs: all(v == want for v in vs.values()))
        except AssertionError as e:
            raise FixtureError("cluster not ready: %s" % e) from None

    def stop(self):
        """Stops every process (SIGTERM, SIGKILL after 5 s), closes clients.
        Returns {name: exit status}."""
        for c in self._clients:
            c.abort()
        self._clients = []
        codes = {}
        procs = [p for p in self.procs() if p.popen is not None]
        for p in procs:
            p.expected_dead = True
            if p.alive():
                p.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for p in procs:
            if p.wait(max(0.0, deadline - time.monotonic())) is None:
                p.popen.kill()
                p.wait(5)
            with _live_lock:
                _live.discard(p.popen)
            codes[p.name] = p.returncode()
        if self in _clusters:
            _clusters.remove(self)
        reports = sanitizer_reports(self.run_dir)
        if self.run_dir and not self.keep_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif self.run_dir:
            sys.stderr.write("cluster run dir kept: %s\n" % self.run_dir)
        if reports:
            raise FixtureError("sanitizer reports in process logs:\n" + "\n".join(reports))
        return codes

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not isinstance(exc, unittest.SkipTest):
            self.dump_logs()
        self.stop()
        return False

    # ------------------------------------------------------- fault injection

    def proc(self, role, index=0):
        if role == "register":
            return self.register
        return {"gateway": self.gateways, "worker": self.workers}[role][index]

    def kill(self, role, index=0, sig=signal.SIGKILL, wait=True):
        """Sends sig to one process. For terminating signals the process is
        marked as expected dead (check_alive ignores it, wait_ready no longer
        counts it) and, with wait, reaped (bounded)."""
        p = self.proc(role, index)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGABRT):
            p.expected_dead = True
            p.signal(sig)
            if wait and p.wait(STOP_TIMEOUT + 5) is None:
                raise FixtureError("%s did not exit after signal %s" % (p.name, sig))
        else:
            p.signal(sig)
        return p

    def start_process(self, role, index=0, wait=True):
        """(Re)starts one process; with wait, waits until the whole cluster
        has the full expected view again."""
        p = self.proc(role, index)
        if p.alive():
            raise FixtureError("%s is still running" % p.name)
        with _live_lock:
            if p.popen is not None:
                _live.discard(p.popen)
        p.start()
        if wait:
            self.wait_ready()
        return p

    def restart(self, role, index=0, sig=signal.SIGTERM, wait=True):
        """Stops one process with sig (SIGKILL after 5 s), waits until the
        others have noticed (bounded by the lease), starts it again and, with
        wait, waits for the full view."""
        p = self.proc(role, index)
        p.expected_dead = True
        p.signal(sig)
        if p.wait(STOP_TIMEOUT) is None:
            p.popen.kill()
            p.wait(5)
        if role in ("gateway", "worker"):
            lease = float(self.extra_set.get("register.lease", 3))
            try:
                self.wait_ready(timeout=lease + 10)
            except FixtureError as e:
                sys.stderr.write("restart: the others did not notice %s leaving: %s\n" % (p.name, e))
        return self.start_process(role, index, wait=wait)

    def add_worker(self, wait=True):
        """Starts one more worker; returns its index."""
        i = len(self.workers)
        p = Proc(self, "worker", i, self.args_for("worker", i))
        self.workers.append(p)
        p.start()
        if wait:
            self.wait_ready()
        return i

    def add_gateway(self, wait=True):
        """Starts one more gateway (with its own WebSocket and push ports);
        returns its index. With wait, waits until the whole cluster has the
        full expected view."""
        i = len(self.gateways)
        self.ws_ports.append(free_port())
        self.push_ports.append(free_port())
        self.http_ports.append(free_port())
        p = Proc(self, "gateway", i, self.args_for("gateway", i))
        self.gateways.append(p)
        p.start()
        if not wait_port(self.ws_ports[i], 10) or not wait_port(self.push_ports[i], 10):
            raise FixtureError("gateway %d does not accept connections" % i)
        if wait:
            self.wait_ready()
        return i

    def check_alive(self):
        """Raises AssertionError when a process that should run has exited."""
        dead = [p for p in self.procs() if not p.expected_dead and not p.alive()]
        if dead:
            msg = "process(es) exited unexpectedly: %s" % ", ".join(p.describe() for p in dead)
            for p in dead:
                msg += "\n--- %s (%s) ---\n%s" % (p.name, p.log_path, tail(p.log_path, 30))
            raise AssertionError(msg)

    # ------------------------------------------------------------- clients

    def ws_port(self, i=0):
        return self.ws_ports[i]

    def push_port(self, i=0):
        return self.push_ports[i]

    def http_port(self, i=0):
        return self.http_ports[i]

    def ws(self, gateway=0, query="", **kw):
        """A connected WSClient on gateway `gateway` (handshake done, nothing
        read yet)."""
        c = wsclient.WSClient("127.0.0.1", self.ws_ports[gateway], query=query, **kw)
        self._clients.append(c)
        return c

    def push(self, gateway=0, timeout=5.0):
        return PushClient(self.push_ports[gateway], timeout=timeout)

    # ----------------------------------------------------------------- logs

    def dump_logs(self, n=40, out=None):
        out = out or sys.stderr
        if not self.run_dir:
            return
        out.write("\n===== cluster logs (%s) =====\n" % self.run_dir)
        for p in self.procs():
            for path in p.logs:
                out.write("----- %s: %s [%s] -----\n" % (p.name, os.path.basename(path), p.describe()))
                out.write(tail(path, n) + "\n")
        out.write("===== end of cluster logs =====\n")
        out.flush()


# ----------------------------------------------------------------- launcher

class Launcher:
    """`gatecast start` with ports and run dir on loopback. Children are
    found through the launcher's `event=child_started child_role=R index=I child_pid=P`
    log lines."""

    CHILD_RE = re.compile(r"\bevent=child_started\b")
    FIELD_RE = re.compile(r"\b(child_role|index|child_pid)=(\S+)")

    def __init__(self, gateways=2, workers=2, app="builtin", extra_set=None):
        self.run_dir = tempfile.mkdtemp(prefix="gcl-")
        self.register_port = free_port()
        self.ws_port = free_port()
        self.push_port = free_port()
        self.http_port = free_port()
        self.sets = [
            ("cluster.run_dir", self.run_dir),
            ("register.listen", "tcp://127.0.0.1:%d" % self.register_port),
            ("gateway.ws_listen", "127.0.0.1:%d" % self.ws_port),
            ("gateway.push_listen", "127.0.0.1:%d" % self.push_port),
            ("http.listen", "127.0.0.1:%d" % self.http_port),
            ("gateway.count", gateways),
            ("worker.count", workers),
            ("worker.app", app),
        ] + ([] if "auth.mode" in (extra_set or {}) else [("auth.mode", "none")]) \
          + ([] if "gateway.rate_limit" in (extra_set or {}) else [("gateway.rate_limit", 0)]) \
          + list((extra_set or {}).items())
        self.log_path = os.path.join(self.run_dir, "launcher.log")
        self.popen = None
        self.env = dict(os.environ)
        # In case the launcher looks its programs up on PATH.
        bd = build_dir()
        self.env["PATH"] = os.pathsep.join(
            [os.path.join(bd, d) for d in ("register", "gateway", "worker", "launcher")]
            + [self.env.get("PATH", "")])

    def command(self):
        args = [binary("launcher"), "start"]
        for k, v in self.sets:
            args += ["--set", "%s=%s" % (k, set_value(v))]
        return args

    def start(self):
        _clusters.append(self)
        cmd = self.command()
        with open(self.log_path, "wb") as logf:
            logf.write(("# %s\n" % " ".join(cmd)).encode())
            logf.flush()
            self.popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                          stderr=subprocess.STDOUT, cwd=self.run_dir, env=self.env,
                                          preexec_fn=_preexec(signal.SIGTERM))
        with _live_lock:
            _live.add(self.popen)
        return self

    @property
    def pid(self):
        return self.popen.pid

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def children_started(self):
        """[(role, index, pid)] in log order."""
        out = []
        for line in self.log_text().splitlines():
            if not self.CHILD_RE.search(line):
                continue
            f = dict(self.FIELD_RE.findall(line))
            try:
                out.append((f["child_role"], int(f.get("index", "0")), int(f["child_pid"])))
            except (KeyError, ValueError):
                continue
        with _live_lock:
            _extra_pids.update(pid for _, _, pid in out)
        return out

    def current_children(self):
        """{(role, index): pid} of the latest start of each child."""
        cur = {}
        for role, index, pid in self.children_started():
            cur[(role, index)] = pid
        return cur

    def wait_serving(self, timeout=20.0):
        """Waits until a push request answers ok and a browser can log in."""

        def probe():
            if self.popen.poll() is not None:
                raise FixtureError("launcher exited with %r" % self.popen.poll())
            p = PushClient(self.push_port, timeout=2.0)
            try:
                r = p.request({"type": "get_all_client_count"})
            finally:
                p.close()
            if r.get("ok") is not True:
                return r
            c = wsclient.WSClient("127.0.0.1", self.ws_port, query="uid=launcher-probe", timeout=3.0)
            try:
                return c.recv_json()
            finally:
                c.close()
        try:
            wait_until(probe, "the launcher serving (a push answered ok, then a browser logged in; last answer)",
                       timeout=timeout, step=0.2, retry_on=(OSError, wsclient.WSError, ValueError),
                       ok=lambda m: m.get("type") == "login" and m.get("ok") is True)
        except AssertionError as e:
            raise FixtureError(str(e)) from None
        return True

    def stop(self, timeout=10.0):
        rc = None
        if self.popen is not None:
            if self.popen.poll() is None:
                self.popen.send_signal(signal.SIGTERM)
                try:
                    rc = self.popen.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.popen.wait(5)
            rc = self.popen.poll()
            with _live_lock:
                _live.discard(self.popen)
        for _, _, pid in self.children_started():
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return rc

    def cleanup(self):
        self.stop()
        if self in _clusters:
            _clusters.remove(self)
        if not os.environ.get("GATECAST_KEEP"):
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def dump_logs(self, n=80, out=None):
        out = out or sys.stderr
        out.write("\n===== launcher log (%s) =====\n%s\n===== end =====\n" % (self.log_path, tail(self.log_path, n)))
        out.flush()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        self.cleanup()
        return False


# ----------------------------------------------------------------- push port

class PushClosed(Exception):
    pass


class PushClient:
    """A connection to a gateway's push port: one JSON object per line, one
    reply line per request, in order."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self._lock = threading.Lock()

    @staticmethod
    def encode(obj):
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"

    def send_raw(self, data):
        with self._lock:
            self.sock.settimeout(self.timeout)
            self.sock.sendall(data)

    def send_line(self, raw):
        """Sends raw bytes as one line (a '\\n' is added unless present)."""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if not raw.endswith(b"\n"):
            raw += b"\n"
        self.send_raw(raw)

    def send(self, obj):
        self.send_raw(self.encode(obj))

    def read_line(self, timeout=None):
        """One line without its '\\n'. Raises PushClosed on EOF, TimeoutError."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            i = self._buf.find(b"\n")
            if i >= 0:
                line = bytes(self._buf[:i])
                del self._buf[:i + 1]
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply line within %.1fs (partial: %r)"
                                   % (self.timeout if timeout is None else timeout, bytes(self._buf[:300])))
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(262144)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise PushClosed("push connection closed (partial: %r)" % bytes(self._buf[:300]))
            self._buf += chunk

    def read_reply(self, timeout=None):
        line = self.read_line(timeout)
        try:
            obj = json.loads(line.decode("utf-8"))
        except ValueError as e:
            raise AssertionError("reply is not JSON (%s): %r" % (e, line[:500]))
        if not isinstance(obj, dict):
            raise AssertionError("reply is not a JSON object: %r" % line[:500])
        return obj

    def request(self, obj, timeout=None):
        self.send(obj)
        return self.read_reply(timeout)

    def pipeline(self, objs, timeout=None):
        """Writes every request in one go, then reads as many replies."""
        self.send_raw(b"".join(self.encode(o) for o in objs))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        return [self.read_reply(max(0.01, deadline - time.monotonic())) for _ in objs]

    def wait_closed(self, timeout=None):
        """True when the server closes the connection within timeout (bytes
        that arrive meanwhile are kept for read_line); False otherwise."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(262144)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self._buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ----------------------------------------------------------------- test helpers

def clean_env(extra=None):
    """os.environ without GATECAST_*_SECRET values, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env.update(extra or {})
    return env


def uniq(prefix="x"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def close_all(clients, timeout=3.0):
    """Closing handshake with many clients at once, bounded in total."""
    live = [c for c in clients if not c.closed]
    for c in live:
        try:
            if not c.close_sent:
                c.send_close(1000)
        except (wsclient.WSError, OSError):
            c.abort()
    deadline = time.monotonic() + timeout
    for c in live:
        if c.closed:
            continue
        try:
            c.expect_close(max(0.01, deadline - time.monotonic()))
        except (wsclient.WSError, OSError):
            pass
        c.abort()


class LauncherTestCase(unittest.TestCase):
    """A test that runs `gatecast start` (self.start) and has it cleaned up,
    with the launcher's log printed when the test fails."""

    log_lines = 80

    def setUp(self):
        self.launcher = None

    def tearDown(self):
        if self.launcher is not None:
            self.launcher.cleanup()

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self.launcher is not None:
            self.launcher.dump_logs(n=self.log_lines)
        return out

    def start(self, env=None, **kw):
        """Starts a Launcher(**kw) with env added to its environment and
        waits until it serves."""
        self.launcher = Launcher(**kw)
        self.launcher.env.update(env or {})
        self.launcher.start()
        self.launcher.wait_serving(timeout=30)
        return self.launcher


class ClusterTestCase(unittest.TestCase):
    """Base class: one Cluster per test class (CLUSTER = kwargs for Cluster,
    None for none), clients opened through self.ws()/self.push() are closed
    after each test, crashed processes fail the test, and cluster logs are
    printed when a test fails."""

    CLUSTER = None
    ENV = {}      # extra environment (secrets) for the cluster's processes
    cluster = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.CLUSTER is not None:
            c = Cluster(**cls.CLUSTER)
            # The caller's own GATECAST_*_SECRET values never leak in.
            for k in SECRET_ENV:
                c.env.pop(k, None)
            c.env.update(cls.ENV)
            cls.cluster = c
            c.start()

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.stop()
            cls.cluster = None
        super().tearDownClass()

    def setUp(self):
        self._ws = []
        self._push = []

    def tearDown(self):
        close_all(self._ws)
        for p in self._push:
            p.close()
        if self.cluster is not None:
            self.cluster.check_alive()

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self.cluster is not None:
            self.cluster.dump_logs()
        return out

    # --------------------------------------------------------- conveniences

    def ws(self, gateway=0, query="", **kw):
        c = wsclient.WSClient("127.0.0.1", self.cluster.ws_port(gateway), query=query, **kw)
        self._ws.append(c)
        return c

    def push(self, gateway=0, timeout=5.0):
        p = self.cluster.push(gateway, timeout=timeout)
        self._push.append(p)
        return p

    def assertClientId(self, cid):
        self.assertIsInstance(cid, str, "client_id should be a string")
        self.assertRegex(cid, CLIENT_ID_RE, "client_id should be 28 lowercase hex chars")

    def connect(self, gateway=0, uid=None, **kw):
        """A client on gateway; with uid, logged in by query. Returns (client,
        client_id) with the welcome/login message consumed and checked."""
        if uid is None:
            c = self.ws(gateway, **kw)
            m = c.recv_json()
            self.assertEqual(m.get("type"), "welcome", "first message on plain connect: %r" % m)
            self.assertEqual(set(m), {"type", "client_id"}, "welcome message: %r" % m)
        else:
            from urllib.parse import quote
            c = self.ws(gateway, query="uid=" + quote(str(uid), safe=""), **kw)
            m = c.recv_json()
            self.assertEqual((m.get("type"), m.get("ok"), m.get("uid")), ("login", True, str(uid)),
                             "first message on connect with ?uid=: %r" % m)
        self.assertClientId(m.get("client_id"))
        return c, m["client_id"]

    def request(self, obj, gateway=0, ok=True, timeout=None):
        """One push request on a fresh-per-test connection to `gateway`;
        asserts ok (True/False/None = don't check). Returns the reply."""
        p = getattr(self, "_pushc_%d" % gateway, None)
        if p is None or p not in self._push:
            p = self.push(gateway)
            setattr(self, "_pushc_%d" % gateway, p)
        r = p.request(obj, timeout=timeout)
        if ok is not None:
            self.assertIs(r.get("ok"), ok, "request %r -> reply %r" % (obj, r))
        return r

    def assertNextText(self, client, text, timeout=None):
        m = client.recv(timeout)
        self.assertTrue(m.is_text, "expected text %r, got %r" % (text, m))
        self.assertEqual(m.text, text)

    def assertNextJSON(self, client, expected, timeout=None):
        m = client.recv_json(timeout)
        self.assertEqual(m, expected)
        return m

    def assertNothing(self, client, wait=0.3):
        n = client.pump(wait)
        self.assertEqual(n, 0, "expected no message, got %r" % client.pending())

    def assertBrowserAlive(self, client, timeout=None):
        """The client still answers {"type":"ping"} with {"type":"pong"};
        data messages that come first are returned."""
        client.send_json({"type": "ping"})
        obj, skipped = client.recv_json_until(lambda o: o.get("type") == "pong", timeout)
        self.assertEqual(obj, {"type": "pong"})
        return skipped


# ----------------------------------------------------------------- main

def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main(timeout=600):
    """Runs unittest (verbose) with a watchdog: after `timeout` seconds
    ($GATECAST_WATCHDOG instead when set: meson sets it just under its own
    test timeout) tracebacks are dumped, every process is killed and the
    run fails."""
    if os.environ.get("GATECAST_WATCHDOG"):
        timeout = float(os.environ["GATECAST_WATCHDOG"])

    def watchdog():
        sys.stderr.write("\n*** watchdog: test file still running after %ds, aborting\n" % timeout)
        faulthandler.dump_traceback(all_threads=True)
        for c in list(_clusters):
            try:
                c.dump_logs()
            except Exception:
                pass
        _kill_everything()
        sys.stderr.flush()
        os._exit(3)

    t = threading.Timer(timeout, watchdog)
    t.daemon = True
    t.start()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    unittest.main(verbosity=2)
