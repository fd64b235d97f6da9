#!/usr/bin/env python3
"""
gatecast on many hosts, with Linux network namespaces as the hosts.

The test builds a small network: a "switch" namespace holding a bridge, and
one namespace per host, each joined to the bridge by a veth pair and given
its own address on a private /24:

    reg  10.x.y.1   gatecast-register
    gw0  10.x.y.2   gatecast-gateway  (WebSocket, push port, HTTP API)
    gw1  10.x.y.3   gatecast-gateway
    wk0  10.x.y.4   gatecast-worker ×2
    cl   10.x.y.5   the clients: browsers (WebSocket) and the application
                    (push port); this test process puts its sockets there
    wk1  10.x.y.6   gatecast-worker, started by the last test ("added later")

The root namespace is never touched: the bridge lives in the switch
namespace, and cutting a host off is `ip link set <its veth> down` there.
Every process is the same binary as in the single-host tests, started with
`ip netns exec <host> <binary> --set ...`; only the config differs (tcp://
addresses of its own host instead of loopback and ipc://).

It shows:
  1. pushes from the application reach browsers on both gateway hosts,
     whichever gateway's push port they enter;
  2. with one gateway host cut off, the rest go on serving (every push is
     answered ok and delivered), a cluster-wide query answers partial, a
     push to a browser on the cut-off host answers it offline, and when the
     link comes back the host rejoins: the orders it missed, arriving late,
     are dropped (that push is never delivered), queries are complete again
     and its browsers, still connected, receive pushes again;
  3. a worker host added later takes load: with the first worker host cut
     off, every push is answered ok and delivered, by the new worker alone.

Needs root and iproute2 (`ip`); it is skipped with a message otherwise (or
when `ip netns add` is refused, e.g. in an unprivileged container).
Everything it creates (namespaces, veths, the bridge, processes) is removed
at the end, also when it fails or is interrupted; leftovers of a run that was
SIGKILLed (named gcnetns-<pid>-…, pid dead) are removed by the next run.

Run: GATECAST_BUILD=build python3 tests/integration/test_netns.py
"""

import atexit
import collections
import ctypes
import http.client
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster  # noqa: E402
import wsclient  # noqa: E402
from cluster import (CLUSTER_SECRET, Cluster, ClusterTestCase, FixtureError, Proc,  # noqa: E402
                     PushClient, binary, clean_env, main, uniq, wait_until)

LEASE = 2.0            # register.lease: lets a query issued right after a cut finish (1 s)
RENEW = 0.25           # register.renew
QUERY_TIMEOUT = 1.0    # worker.query_timeout
SETTLE = 30.0          # deadline for views to change after a cut or a restore
N_PUSH = 200           # pushes in the load part of test 3

# The same ports on every host, as in a real deployment: each host has its
# own address, so nothing collides.
REGISTER_PORT = 1238
WS_PORT = 7272
PUSH_PORT = 8806
HTTP_PORT = 2121
GATEWAY_INBOX_PORT = 7301
WORKER_INBOX_PORT = 7401

NS_PREFIX = "gcnetns-"
NS_NAME_RE = re.compile(r"^gcnetns-(\d+)-")
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


# ------------------------------------------------------------------ network

class NetError(Exception):
    pass


def run_ip(*args, ns=None, check=True):
    """Runs `ip [-n ns] args...`; returns the CompletedProcess. With check,
    a non-zero exit raises NetError carrying ip's stderr."""
    cmd = ["ip"] + (["-n", ns] if ns else []) + [str(a) for a in args]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if check and r.returncode != 0:
        raise NetError("`%s` failed (exit %d): %s" % (" ".join(cmd), r.returncode,
                                                      r.stderr.decode("utf-8", "replace").strip()))
    return r


def netns_list():
    r = run_ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.decode("utf-8", "replace").splitlines() if line.split()]


def remove_stale_namespaces():
    """Deletes namespaces of earlier runs of this test whose process is gone
    (a SIGKILLed run cannot clean up after itself). Namespaces of runs still
    going are left alone."""
    for name in netns_list():
        m = NS_NAME_RE.match(name)
        if m and not cluster.pid_alive(int(m.group(1))):
            run_ip("netns", "del", name, check=False)


class netns:
    """Context manager: the calling thread's sockets are created in network
    namespace `name` (a socket stays in the namespace it was created in,
    after the thread has switched back)."""

    def __init__(self, name):
        self.name = name
        self.back = None

    def __enter__(self):
        self.back = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, "setns(%s): %s" % (self.name, os.strerror(e)))
        except BaseException:
            os.close(self.back)
            raise
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        try:
            if _libc.setns(self.back, CLONE_NEWNET) != 0:
                # Going on in the wrong namespace would make every later
                # socket lie about where it lives.
                e = ctypes.get_errno()
                sys.stderr.write("*** cannot return to the original network namespace: %s\n"
                                 % os.strerror(e))
                cluster._kill_everything()
                Network.remove_all()
                os._exit(3)
        finally:
            os.close(self.back)
        return False


class Network:
    """A bridge in a switch namespace and hosts (namespaces) plugged into it.
    Host h gets address <subnet>.<n>/24 on its eth0; the switch side of its
    cable is the veth v-<h> in the switch namespace."""

    _all = []   # every Network not yet removed (atexit, watchdog)

    def __init__(self):
        # Per run: a unique namespace prefix, and a subnet picked per pid
        # (each run has its own bridge anyway, so addresses never meet).
        self.prefix = "%s%d-%s" % (NS_PREFIX, os.getpid(), uuid.uuid4().hex[:4])
        rnd = random.Random(os.getpid() ^ int.from_bytes(os.urandom(4), "little"))
        self.subnet = "10.%d.%d" % (100 + os.getpid() % 100, rnd.randrange(1, 255))
        self.switch = self.prefix + "-sw"
        self.hosts = {}          # host -> (namespace, address)
        self.namespaces = []     # created, in order
        self.next_addr = 1
        Network._all.append(self)

    def ns(self, host):
        return self.hosts[host][0]

    def addr(self, host):
        return self.hosts[host][1]

    def _add_ns(self, name):
        run_ip("netns", "add", name)
        self.namespaces.append(name)
        run_ip("link", "set", "lo", "up", ns=name)

    def create(self):
        """The switch. Raises unittest.SkipTest when namespaces or the bridge
        cannot be created here."""
        try:
            self._add_ns(self.switch)
        except NetError as e:
            self.remove()
            raise unittest.SkipTest("cannot create network namespaces here (%s): this test needs "
                                    "root with CAP_SYS_ADMIN and CAP_NET_ADMIN" % e)
        try:
            run_ip("link", "add", "br0", "type", "bridge", ns=self.switch)
            run_ip("link", "set", "br0", "up", ns=self.switch)
        except NetError as e:
            self.remove()
            raise unittest.SkipTest("cannot create a bridge in a network namespace (%s): "
                                    "the kernel needs bridge support" % e)
        return self

    def add_host(self, host):
        """A new host namespace cabled to the switch; returns its address."""
        name = "%s-%s" % (self.prefix, host)
        addr = "%s.%d" % (self.subnet, self.next_addr)
        self.next_addr += 1
        veth = "v-" + host
        self._add_ns(name)
        try:
            run_ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name,
                   ns=self.switch)
        except NetError as e:
            raise unittest.SkipTest("cannot create a veth pair (%s): the kernel needs veth "
                                    "support" % e)
        run_ip("link", "set", veth, "master", "br0", ns=self.switch)
        run_ip("link", "set", veth, "up", ns=self.switch)
        run_ip("addr", "add", addr + "/24", "dev", "eth0", ns=name)
        run_ip("link", "set", "eth0", "up", ns=name)
        self.hosts[host] = (name, addr)
        return addr

    def cut(self, host):
        """Unplugs host's cable at the switch: nothing in or out, but its
        processes and connections stay (no RST, no FIN): a partition."""
        run_ip("link", "set", "v-" + host, "down", ns=self.switch)

    def restore(self, host):
        run_ip("link", "set", "v-" + host, "up", ns=self.switch)

    def remove(self):
        """Deletes every namespace created (their veths and the bridge go
        with them). Processes in them must be stopped first."""
        for name in reversed(self.namespaces):
            run_ip("netns", "del", name, check=False)
        self.namespaces = []
        if self in Network._all:
            Network._all.remove(self)

    @classmethod
    def remove_all(cls):
        for n in list(cls._all):
            n.remove()


def _cleanup_at_exit():
    # Processes first (a namespace with processes in it outlives its name).
    cluster._kill_everything()
    Network.remove_all()


atexit.register(_cleanup_at_exit)

# cluster.main()'s watchdog kills every process and leaves with os._exit
# (no atexit): make it unplug the network too.
_orig_kill_everything = cluster._kill_everything


def _kill_everything_and_unplug():
    _orig_kill_everything()
    Network.remove_all()


cluster._kill_everything = _kill_everything_and_unplug


# ------------------------------------------------------------------ processes

class HostProc(Proc):
    """A gatecast program started on a host: `ip netns exec <ns> <binary>
    --set ...`. ip exec's the program, so popen.pid is the program's pid
    (test 1 checks that)."""

    def __init__(self, cluster_, role, index, args, host):
        super().__init__(cluster_, role, index, args)
        self.host = host

    def command(self):
        return ["ip", "netns", "exec", self.cluster.net.ns(self.host), binary(self.role)] + self.args

    def start(self):
        if self.popen is not None and self.popen.poll() is None:
            raise FixtureError("%s is already running (pid %d)" % (self.name, self.popen.pid))
        self.incarnation += 1
        self.log_path = os.path.join(self.cluster.run_dir, "%s.%d.log" % (self.name, self.incarnation))
        self.logs.append(self.log_path)
        cmd = self.command()
        with open(self.log_path, "wb") as logf:
            logf.write(("# %s\n" % " ".join(cmd)).encode())
            logf.flush()
            self.popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                          stderr=subprocess.STDOUT, cwd=self.cluster.run_dir,
                                          env=self.cluster.env,
                                          preexec_fn=cluster._preexec(self.pdeathsig))
        with cluster._live_lock:
            cluster._live.add(self.popen)
        self.expected_dead = False
        self.started_at = time.monotonic()
        return self

    def describe(self):
        return "%s@%s %s" % (self.name, self.host, super().describe().split(" ", 1)[1])


class NetCluster(Cluster):
    """register on host reg, gateway i on host gw<i>, workers on wk0 (more
    on other hosts with add_worker_host); clients on host cl."""

    def __init__(self, net, gateways=2, workers=2):
        super().__init__(gateways=gateways, workers=workers, extra_set={
            "register.lease": LEASE, "register.renew": RENEW, "worker.query_timeout": QUERY_TIMEOUT})
        self.net = net
        # The cluster secret comes from the environment, as on real hosts;
        # the caller's own GATECAST_*_SECRET values never leak in.
        self.env = clean_env({"GATECAST_CLUSTER_SECRET": CLUSTER_SECRET})
        self.worker_ports = {}   # host -> next worker inbox port there

    def register_url(self):
        return "tcp://%s:%d" % (self.net.addr("reg"), REGISTER_PORT)

    def sets_for(self, role, name, host):
        run_dir = os.path.join(self.run_dir, name + ".run")
        os.makedirs(run_dir, exist_ok=True)
        a = self.net.addr(host)
        sets = [("cluster.run_dir", run_dir)]
        if role == "register":
            sets.append(("register.listen", self.register_url()))
        else:
            sets.append(("register.connect", self.register_url()))
        if role == "gateway":
            sets += [
                ("gateway.inbox", "tcp://%s:%d" % (a, GATEWAY_INBOX_PORT)),
                ("gateway.ws_listen", "%s:%d" % (a, WS_PORT)),
                ("gateway.push_listen", "%s:%d" % (a, PUSH_PORT)),
                ("http.listen", "%s:%d" % (a, HTTP_PORT)),
            ]
        if role == "worker":
            port = self.worker_ports.get(host, WORKER_INBOX_PORT)
            self.worker_ports[host] = port + 1
            sets.append(("worker.inbox", "tcp://%s:%d" % (a, port)))
        sets += [("worker.app", self.app), ("auth.mode", "none"), ("gateway.rate_limit", 0)]
        sets += [(k, cluster.set_value(v)) for k, v in self.extra_set.items()]
        args = []
        for k, v in sets:
            args += ["--set", "%s=%s" % (k, v)]
        return args

    def new_proc(self, role, index, host):
        return HostProc(self, role, index, self.sets_for(role, "%s-%d" % (role, index), host), host)

    def start(self):
        self._started = True
        self.run_dir = tempfile.mkdtemp(prefix="gc-netns-")
        cluster._clusters.append(self)
        try:
            for role in ("register", "gateway", "worker"):
                binary(role)
            self.register = self.new_proc("register", 0, "reg")
            self.gateways = [self.new_proc("gateway", i, "gw%d" % i) for i in range(self.n_gateways)]
            self.workers = [self.new_proc("worker", i, "wk0") for i in range(self.n_workers)]
            self.register.start()
            for p in self.gateways + self.workers:
                p.start()
            self.wait_ready()
            with netns(self.net.ns("cl")):
                for i in range(self.n_gateways):
                    for port in (WS_PORT, PUSH_PORT, HTTP_PORT):
                        if not cluster.wait_port(port, 10, host=self.gateway_addr(i)):
                            raise FixtureError("gateway %d: %s:%d does not accept connections "
                                               "from the client host" % (i, self.gateway_addr(i), port))
        except BaseException as e:
            sys.stderr.write("\n*** cluster failed to start: %s\n" % e)
            self.dump_logs()
            self.stop()
            raise
        return self

    def add_worker_host(self, host):
        """A new host with one worker on it; returns the worker's Proc (not
        waited for)."""
        self.net.add_host(host)
        p = self.new_proc("worker", len(self.workers), host)
        self.workers.append(p)
        p.start()
        return p

    def gateway_addr(self, i):
        return self.net.addr(self.gateways[i].host)

    def ws(self, gateway=0, query="", **kw):
        with netns(self.net.ns("cl")):
            c = wsclient.WSClient(self.gateway_addr(gateway), WS_PORT, query=query, **kw)
        self._clients.append(c)
        return c

    def push(self, gateway=0, timeout=5.0):
        with netns(self.net.ns("cl")):
            return PushClient(PUSH_PORT, host=self.gateway_addr(gateway), timeout=timeout)

    def wait_views(self, procs, want, timeout=SETTLE):
        """Waits until each of procs' last cluster_view is want (gateways,
        workers)."""
        return self.wait_ready(timeout=timeout, gateways=want[0], workers=want[1], procs=procs)

    def log_has(self, proc, pattern):
        return re.search(pattern, proc.log_text()) is not None


# ------------------------------------------------------------------ the tests

def ns_inode(path):
    return os.stat(path).st_ino


class NetnsTest(ClusterTestCase):
    """One cluster on six hosts for the whole class; each test leaves it as
    it found it (every link up, two workers on wk0)."""

    net = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: it creates network namespaces, veths and a bridge")
        if shutil.which("ip") is None:
            raise unittest.SkipTest("needs `ip` (iproute2) to create network namespaces")
        remove_stale_namespaces()
        super().setUpClass()   # CLUSTER is None: nothing started yet
        net = Network()
        cls.net = net
        try:
            net.create()
            for host in ("reg", "gw0", "gw1", "wk0", "cl"):
                net.add_host(host)
            cls.cluster = NetCluster(net, gateways=2, workers=2)
            cls.cluster.start()
        except BaseException:
            cls._teardown_all()
            raise

    @classmethod
    def _teardown_all(cls):
        try:
            if cls.cluster is not None:
                cls.cluster.stop()
                cls.cluster = None
        finally:
            if cls.net is not None:
                cls.net.remove()
                cls.net = None

    @classmethod
    def tearDownClass(cls):
        cls._teardown_all()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        c = self.cluster
        self.gw = c.gateways
        # Every host is back and the view is complete (the last test may
        # have cut one off); the clients of earlier tests are gone.
        c.wait_ready(timeout=SETTLE)
        self.wait_query(0, lambda r: r.get("partial") is None and r.get("count") == 0,
                        "no clients left from earlier tests")

    # ------------------------------------------------------------ helpers

    def ws(self, gateway=0, query="", **kw):
        """A WSClient on gateway's host, from the client host."""
        c = self.cluster.ws(gateway, query=query, **kw)
        self._ws.append(c)
        return c

    def query(self, gateway, timeout=10):
        return self.request({"type": "get_all_client_count"}, gateway=gateway, ok=None,
                            timeout=timeout)

    def wait_query(self, gateway, pred, what, timeout=SETTLE):
        """Repeats get_all_client_count on gateway's push port until
        pred(reply); returns that reply."""
        return wait_until(lambda: self.query(gateway), "%s (get_all_client_count)" % what,
                          timeout=timeout, step=0.1, ok=pred)

    def push_and_check(self, gateway, uid, text, client, delivered=1):
        r = self.request({"type": "send_to_uid", "uid": uid, "data": text}, gateway=gateway, timeout=10)
        self.assertEqual((r.get("ok"), r.get("delivered"), r.get("offline")), (True, delivered, []), r)
        self.assertNextText(client, text, timeout=10)
        return r

    def metric(self, gateway, name):
        """The value of the unlabelled metric `name` in gateway's /metrics
        (fetched from the client host)."""
        with netns(self.cluster.net.ns("cl")):
            h = http.client.HTTPConnection(self.cluster.gateway_addr(gateway), HTTP_PORT, timeout=5)
            h.connect()   # the socket is made here, in the client host
        try:
            h.request("GET", "/metrics")
            resp = h.getresponse()
            body = resp.read().decode("utf-8", "replace")
        finally:
            h.close()
        self.assertEqual(resp.status, 200, "gw%d /metrics: %s" % (gateway, body[:200]))
        m = re.search(r"^%s (\d+)$" % re.escape(name), body, re.M)
        self.assertIsNotNone(m, "no %s in gw%d's /metrics" % (name, gateway))
        return int(m.group(1))

    def received_until_pong(self, client):
        """Texts of every data message the client got before the answer to a
        ping sent now (all pushes acknowledged so far come first)."""
        client.send_json({"type": "ping"})
        _, skipped = client.recv_json_until(lambda o: o.get("type") == "pong", timeout=10)
        return [m.text for m in skipped]

    # ------------------------------------------------------------ 1

    def test_1_pushes_reach_clients_on_both_gateway_hosts(self):
        c = self.cluster
        net = self.net
        # Each program runs on its own host, from the very binary the
        # single-host tests run: only its config differs.
        for p in c.procs():
            self.assertTrue(p.alive(), p.describe())
            self.assertEqual(ns_inode("/proc/%d/ns/net" % p.pid), ns_inode("/run/netns/" + net.ns(p.host)),
                             "%s does not run in host %s's network namespace" % (p.name, p.host))
            self.assertEqual(os.path.realpath("/proc/%d/exe" % p.pid), os.path.realpath(binary(p.role)),
                             "%s: pid %d is not the gatecast program itself" % (p.name, p.pid))
        addrs = [net.addr(h) for h in ("reg", "gw0", "gw1", "wk0", "cl")]
        self.assertEqual(len(set(addrs)), 5, "each host has its own address: %r" % addrs)
        # The register lists every member at a tcp address of its own host.
        reg_log = c.register.log_text()
        for p in c.gateways + c.workers:
            inbox = [a for a in p.args if a.startswith(("gateway.inbox=", "worker.inbox="))][0].split("=", 1)[1]
            self.assertIn("tcp://%s:" % net.addr(p.host), inbox)
            self.assertIn("inbox=" + inbox, reg_log, "the register never listed %s's inbox" % p.name)

        a_uid, b_uid, both_uid = uniq("a"), uniq("b"), uniq("both")
        a, _ = self.connect(0, uid=a_uid)
        b, _ = self.connect(1, uid=b_uid)
        both0, _ = self.connect(0, uid=both_uid)
        both1, _ = self.connect(1, uid=both_uid)
        # Whichever gateway's push port the application uses, a push reaches
        # the browser on the other gateway host.
        self.push_and_check(0, b_uid, "to-b-via-gw0", b)
        self.push_and_check(1, a_uid, "to-a-via-gw1", a)
        r = self.request({"type": "send_to_uid", "uid": both_uid, "data": "to-both"}, gateway=0)
        self.assertEqual((r.get("delivered"), r.get("offline")), (2, []), r)
        self.assertNextText(both0, "to-both")
        self.assertNextText(both1, "to-both")
        r = self.request({"type": "send_to_all", "data": "everyone"}, gateway=1)
        self.assertEqual(r.get("delivered"), 4, r)
        for cl in (a, b, both0, both1):
            self.assertNextText(cl, "everyone")
        for g in (0, 1):
            r = self.query(g)
            self.assertEqual((r.get("ok"), r.get("count"), r.get("partial")), (True, 4, None), r)

        # Many pipelined pushes through both push ports: each answered ok
        # once and delivered once, in order.
        targets = {a_uid: a, b_uid: b}
        sent = collections.defaultdict(list)
        answered_ok = 0
        for g in (0, 1):
            p = self.push(g, timeout=20)
            reqs = []
            for k in range(50):
                uid = (a_uid, b_uid)[k % 2]
                text = "p%d-%d" % (g, k)
                reqs.append({"type": "send_to_uid", "id": k, "uid": uid, "data": text})
                sent[uid].append(text)
            replies = p.pipeline(reqs, timeout=20)
            bad = [r for r in replies if (r.get("ok"), r.get("delivered"), r.get("offline")) != (True, 1, [])]
            self.assertEqual(bad[:3], [], "gateway %d push port" % g)
            self.assertEqual([r.get("id") for r in replies], list(range(50)))
            answered_ok += len(replies) - len(bad)
        got = {uid: self.received_until_pong(cl) for uid, cl in targets.items()}
        self.assertEqual(got, dict(sent))
        self.assertEqual((sum(len(v) for v in sent.values()), answered_ok,
                          sum(len(v) for v in got.values())), (100, 100, 100),
                         "sent, answered ok, delivered")

    # ------------------------------------------------------------ 2

    def test_2_gateway_host_cut_off_then_rejoins(self):
        c, net = self.cluster, self.net
        gw0, gw1 = c.gateways
        a_uid, b_uid = uniq("ca"), uniq("cb")
        a, _ = self.connect(0, uid=a_uid)
        b, _ = self.connect(1, uid=b_uid)
        r = self.query(0)
        self.assertEqual((r.get("ok"), r.get("count"), r.get("partial")), (True, 2, None), r)

        others = [gw0] + list(c.workers)
        expired_before = self.metric(1, "gatecast_ops_expired_total")
        missed = 0   # OPs sent to gw1 during the cut: one per partial answer
        net.cut("gw1")
        try:
            # Right after the cut gw1 is still a member (its lease runs):
            # a query waits worker.query_timeout for it and says partial.
            # So does a push to b, on gw1, sent together with it: b is
            # offline as far as the application is told.
            pb = self.push(0, timeout=10)
            pb.send({"type": "send_to_uid", "id": "cut", "uid": b_uid, "data": "during-cut-to-b"})
            r = self.query(0)
            rb = pb.read_reply(timeout=10)
            gone_early = [p.name for p in others if self.cluster.log_has(p, r"event=gateway_left|event=worker_left")]
            self.assertEqual((r.get("ok"), r.get("partial"), r.get("answered"), r.get("expected"),
                              r.get("count")), (True, True, 1, 2, 1),
                             "query with gw1 cut off: %r (processes that had already dropped a "
                             "peer: %r)" % (r, gone_early))
            self.assertEqual((rb.get("ok"), rb.get("id"), rb.get("delivered"), rb.get("offline"),
                              rb.get("partial"), rb.get("answered"), rb.get("expected")),
                             (True, "cut", 0, [b_uid], True, 1, 2),
                             "push to b with gw1 cut off: %r (processes that had already dropped a "
                             "peer: %r)" % (rb, gone_early))
            missed += 2

            # The rest go on serving, also while the others notice that gw1
            # is gone (its lease expires): every push to a browser on gw0 is
            # answered ok and delivered.
            sent = answered = 0
            deadline = time.monotonic() + SETTLE
            while True:
                settled = all(p.last_view() == (1, 2) for p in others)
                text = "during-%d" % sent
                sent += 1
                r = self.request({"type": "send_to_uid", "uid": a_uid, "data": text}, gateway=0, timeout=10)
                self.assertEqual((r.get("ok"), r.get("delivered"), r.get("offline")), (True, 1, []), r)
                answered += 1
                missed += r.get("partial") is True
                self.assertNextText(a, text, timeout=10)
                if settled:
                    break
                self.assertLess(time.monotonic(), deadline, "the others never noticed gw1 leave: %r"
                                % {p.name: p.last_view() for p in others})
                time.sleep(0.1)
            self.assertGreaterEqual(sent, 2)
            self.assertEqual(answered, sent)
            sys.stderr.write("(%d pushes answered ok and delivered while the others noticed gw1 "
                             "leave) " % sent)
            # A browser logs in on gw0 meanwhile (a worker handles it).
            a2, _ = self.connect(0, uid=uniq("ca2"))
            self.assertBrowserAlive(a2)
            self.assertTrue(gw1.alive(), "gw1 is cut off, not dead")
        finally:
            net.restore("gw1")

        # The OPs gw1 missed are still in the workers' TCP connections to it
        # and arrive now, after the worker answered without gw1: gw1 drops
        # every one of them as expired (counted in its /metrics) — above all
        # the push to b, which was answered with b offline and must never be
        # delivered. Until they have all been counted, b must get nothing.
        want = expired_before + missed
        deadline = time.monotonic() + SETTLE
        while True:
            self.assertEqual(b.pump(0.2), 0, "a push answered with b offline during the cut reached b "
                             "after the restore: %r" % b.pending())
            expired = self.metric(1, "gatecast_ops_expired_total")
            if expired >= want:
                break
            self.assertLess(time.monotonic(), deadline,
                            "gw1 never got the %d OPs it missed during the cut: gatecast_ops_expired_total "
                            "%d, want %d" % (missed, expired, want))
        self.assertEqual(expired, want, "OPs gw1 dropped as expired (%d missed during the cut)" % missed)
        sys.stderr.write("(%d OPs missed by gw1 during the cut arrived late and were dropped) " % missed)

        # gw1 rejoins: every member sees it again, queries are complete
        # again and count its browser, which stayed connected.
        c.wait_views(c.members(), (2, 2))
        for g in (0, 1):
            self.wait_query(g, lambda r: (r.get("ok"), r.get("partial"), r.get("count")) == (True, None, 3),
                            "complete count of 3 through gw%d after the restore" % g)
        self.push_and_check(0, b_uid, "after-to-b", b)
        self.push_and_check(1, a_uid, "after-to-a", a)
        self.assertEqual(self.received_until_pong(b), [], "b got nothing else")
        self.assertEqual(self.received_until_pong(a), [], "a got nothing else")

    # ------------------------------------------------------------ 3

    def test_3_worker_host_added_later_takes_load(self):
        c, net = self.cluster, self.net
        gw0, gw1 = c.gateways
        uids = ["w%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(10)]
        clients = {}
        for i, uid in enumerate(uids):
            clients[uid], _ = self.connect(i % 2, uid=uid)

        new = c.add_worker_host("wk1")
        cut = False
        try:
            c.wait_views(c.members(), (2, 3))
            # The first worker host goes away; once the gateways (and the
            # new worker) have noticed, only the new worker is left.
            net.cut("wk0")
            cut = True
            c.wait_views([gw0, gw1, new], (2, 1))

            reqs = {0: [], 1: []}
            sent = collections.defaultdict(list)
            for k in range(N_PUSH):
                uid = uids[k % len(uids)]
                text = "m-%d" % k
                reqs[k % 2].append({"type": "send_to_uid", "id": k, "uid": uid, "data": text})
                sent[uid].append(text)
            answered_ok, bad = 0, []
            for g in (0, 1):
                p = self.push(g, timeout=30)
                for q, r in zip(reqs[g], p.pipeline(reqs[g], timeout=30)):
                    if (r.get("id"), r.get("ok"), r.get("delivered"), r.get("offline"),
                            r.get("partial")) == (q["id"], True, 1, [], None):
                        answered_ok += 1
                    else:
                        bad.append((q, r))
            got = {uid: self.received_until_pong(cl) for uid, cl in clients.items()}
            delivered = sum(len(v) for v in got.values())
            self.assertEqual((N_PUSH, answered_ok, delivered), (N_PUSH, N_PUSH, N_PUSH),
                             "sent, answered ok, delivered (%d bad replies, first: %r)"
                             % (len(bad), bad[:2]))
            self.assertEqual(got, dict(sent), "each browser got its pushes, in order, once")
            sys.stderr.write("(wk0 cut off: %d pushes sent, %d answered ok, %d delivered) "
                             % (N_PUSH, answered_ok, delivered))
            # Browsers come and go meanwhile: their events go to the new worker.
            late, _ = self.connect(1, uid=uniq("late"))
            self.assertBrowserAlive(late)
        finally:
            if cut:
                net.restore("wk0")

        # wk0 rejoins; all three workers serve.
        c.wait_views(c.members(), (2, 3))
        for uid, cl in list(clients.items())[:4]:
            self.push_and_check(uids.index(uid) % 2, uid, "back-" + uid, cl)

        # Leave the cluster as it was: the added worker leaves.
        c.kill("worker", len(c.workers) - 1, signal.SIGTERM)
        self.assertEqual(new.returncode(), 0, "the added worker exits cleanly on SIGTERM")
        c.wait_views(c.members(), (2, 2))


if __name__ == "__main__":
    main(timeout=240)
