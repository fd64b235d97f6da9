#!/usr/bin/env python3
"""
Hostile input on every port: the gateways' WebSocket and push ports and the
register's nng TCP port get random bytes, half-open and never-finished
connections, 10,000 rapid connect/close cycles, huge and deeply nested JSON,
invalid UTF-8 and NUL bytes. And a browser that never reads.

Nothing may crash, leak or stop answering. Around every test (setUp /
tearDown) the open fd count (/proc/<pid>/fd) and the RSS (VmRSS) of the
register, both gateways and the worker are measured:

  * after the test and a settle of at most SETTLE seconds, every process's
    fd count must be back at its baseline (± FD_SLACK);
  * every process's RSS may not grow by more than RSS_GROWTH_KB (20 MB)
    (not checked when the daemons run under AddressSanitizer, whose shadow
    memory and quarantine dominate RSS; LeakSanitizer checks leaks then);
  * every process must still be alive;
  * a well-formed push request must be answered ok on every gateway, the
    cluster must count no leftover clients, and a browser login + push
    must still work.

The never-reading client (gateway.max_output = 256K) must be closed with
1008 or EOF while the gateway's RSS stays under 64 MB and a normal client
receives every push. The register must refuse SP messages that claim to be
huge instead of buffering them.

Every hostile burst uses a seeded PRNG, so a failure can be replayed.
The numbers measured are printed at the end of the run.

Run: GATECAST_BUILD=build python3 tests/integration/test_hostile.py
"""

import collections
import hashlib
import hmac
import json
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import (CLUSTER_SECRET, ClusterTestCase, PushClient, PushClosed, main, proc_fd_count,  # noqa: E402
                     proc_rss_kb, server_connections, uniq, wait_until)

SEED = 20260521
FD_SLACK = 3                  # fds a process may differ from its baseline after settling
RSS_GROWTH_KB = 20 * 1024     # RSS a process may grow by over one hostile test
SETTLE = 10.0                 # seconds allowed for fd counts to come back
QUIET = 0.5                   # seconds every fd count must stay unchanged for a baseline
HANDSHAKE_TIMEOUT = 2         # gateway.handshake_timeout in this file's cluster
MAX_LINE = 1024 * 1024        # gateway.max_line (the default)
MAX_MESSAGE = 64 * 1024       # gateway.max_message (the default)
CYCLES = 10000                # rapid connect/close cycles per port

MEASURED = []                 # (test, process, fds before, peak, after, rss before, peak, after)


# ------------------------------------------------------------------ helpers

def rng_for(name):
    return random.Random(SEED ^ zlib.crc32(name.encode()))


def rand_bytes(rng, lo, hi):
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(lo, hi)))


def connect(port, timeout=10.0, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def rst_close(s):
    """Closes with an RST instead of a FIN (SO_LINGER 0)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def await_server_close(socks, timeout):
    """Reads (and throws away) everything the server sends on socks until
    each one reaches EOF or is reset. Returns (still_open, received) where
    received maps a socket to the bytes it got (the first 4 KB)."""
    sel = selectors.DefaultSelector()
    got = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        got[s] = b""
    open_ = set(socks)
    deadline = time.monotonic() + timeout
    while open_:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        for key, _ in sel.select(min(remaining, 0.5)):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:      # reset
                chunk = b""
            if chunk:
                if len(got[s]) < 4096:
                    got[s] += chunk[:4096 - len(got[s])]
                continue
            sel.unregister(s)
            open_.discard(s)
    sel.close()
    for s in socks:
        try:
            s.setblocking(True)
        except OSError:
            pass
    return [s for s in socks if s in open_], got


def parallel(fn, items, threads=16):
    """Runs fn(item) for every item on a thread pool; returns the results
    (exceptions are returned, not raised)."""
    def wrap(x):
        try:
            return fn(x)
        except Exception as e:  # collected by the caller
            return e
    with ThreadPoolExecutor(max_workers=threads) as ex:
        return list(ex.map(wrap, items))


def ws_handshake_bytes(path="/", query=""):
    import base64
    key = base64.b64encode(os.urandom(16)).decode()
    target = path + ("?" + query if query else "")
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (target, key)).encode()


def read_http_head(s, timeout=5.0):
    s.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise AssertionError("connection closed during the handshake: %r" % buf[:200])
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def masked_frame(opcode, payload, fin=True):
    return wsclient.encode_frame(opcode, payload, fin=fin, mask=True)


# -- the register's wire protocol: nng's SP over TCP, req0 -> rep0, msgpack

SP_REQ0 = b"\x00SP\x00\x00\x30\x00\x00"   # SP header, protocol 48 = req0


def mp_str(b):
    if len(b) < 32:
        return bytes([0xa0 | len(b)]) + b
    return b"\xd9" + bytes([len(b)]) + b


def announce_leaving(member_id):
    """An ANNOUNCE [1, 1, [role, id, inbox], lease_ms, leaving=true] of a
    member that does not exist: harmless, and the register answers it with
    its live list."""
    return (bytes([0x95, 1, 1, 0x93, 2, 0xcf]) + struct.pack("!Q", member_id)
            + mp_str(b"ipc:///nonexistent/probe.ipc") + b"\xcd" + struct.pack("!H", 3000) + b"\xc3")


class MsgpackReader:
    """Just enough msgpack to read the register's MEMBERS reply."""

    def __init__(self, b):
        self.b = b
        self.i = 0

    def take(self, n):
        v = self.b[self.i:self.i + n]
        if len(v) != n:
            raise ValueError("truncated msgpack")
        self.i += n
        return v

    def read(self):
        t = self.take(1)[0]
        if t <= 0x7f:
            return t
        if 0x90 <= t <= 0x9f:
            return [self.read() for _ in range(t & 0x0f)]
        if 0xa0 <= t <= 0xbf:
            return self.take(t & 0x1f)
        if t in (0xc2, 0xc3):
            return t == 0xc3
        if t == 0xc0:
            return None
        sizes = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}
        if t in sizes:
            return int.from_bytes(self.take(sizes[t]), "big")
        if t in (0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6):
            w = {0xd9: 1, 0xc4: 1, 0xda: 2, 0xc5: 2, 0xdb: 4, 0xc6: 4}[t]
            return self.take(int.from_bytes(self.take(w), "big"))
        if t in (0xdc, 0xdd):
            n = int.from_bytes(self.take(2 if t == 0xdc else 4), "big")
            return [self.read() for _ in range(n)]
        raise ValueError("msgpack type 0x%02x not handled" % t)


def sp_send(s, body, req_id=0x80000001):
    msg = struct.pack("!I", req_id) + body
    s.sendall(struct.pack("!Q", len(msg)) + msg)


def sp_recv(s, timeout=5.0):
    s.settimeout(timeout)
    buf = b""
    while len(buf) < 8:
        chunk = s.recv(8 - len(buf))
        if not chunk:
            raise AssertionError("register closed the connection")
        buf += chunk
    n = struct.unpack("!Q", buf)[0]
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise AssertionError("register closed the connection mid-message")
        data += chunk
    return data


def cluster_seal(body, to):
    """Seals body for receiver `to` with the fixture's cluster secret, as
    cluster/seal.h lays it out (the register answers nothing else)."""
    key = hmac.new(CLUSTER_SECRET.encode(), b"gatecast cluster v1", hashlib.sha256).digest()
    head = struct.pack("!QQQ", random.getrandbits(64), 1, int(time.time() * 1000))
    to = to.encode()
    tag = hmac.new(key, struct.pack("!I", len(to)) + to + head + body, hashlib.sha256).digest()
    return body + head + tag[:16]


def register_members(port):
    """Asks the register for its live list through a fresh req0 connection
    (a sealed announce, from a fresh sender id each time); returns
    [(role, inbox)]."""
    s = connect(port, timeout=5)
    try:
        s.sendall(SP_REQ0)
        hdr = s.recv(8)
        if hdr != b"\x00SP\x00\x00\x31\x00\x00":
            raise AssertionError("register SP header %r" % hdr)
        sp_send(s, cluster_seal(announce_leaving(random.getrandbits(63) | 1), "register"))
        data = sp_recv(s)
    finally:
        s.close()
    msg = MsgpackReader(data[4:-40]).read()  # the answer's seal is not checked here
    if not (isinstance(msg, list) and msg[:2] == [1, 2]):
        raise AssertionError("register reply is not MEMBERS: %r" % msg)
    return [(m[0], m[2]) for m in msg[3]]


# ------------------------------------------------------------------ base

class HostileCase(ClusterTestCase):
    """Takes a baseline of every process's fds and RSS before each test and
    checks after it that nothing leaked and everything still answers."""

    CLUSTER = dict(gateways=2, workers=1, extra_set={"gateway.handshake_timeout": HANDSHAKE_TIMEOUT,
                                                     "register.lease": 3})

    _sanitized = None

    @classmethod
    def sanitized(cls):
        """True when the daemons run under AddressSanitizer: RSS then
        reflects its shadow memory and quarantine (hundreds of MB), so the
        RSS bounds are not checked (LeakSanitizer reports leaks at exit)."""
        if cls._sanitized is None:
            try:
                with open("/proc/%d/maps" % cls.cluster.gateways[0].pid) as f:
                    cls._sanitized = "libasan" in f.read()
            except OSError:
                cls._sanitized = False
        return cls._sanitized

    def snapshot(self):
        out = {}
        for p in self.cluster.procs():
            if p.alive():
                try:
                    out[p.name] = (proc_fd_count(p.pid), proc_rss_kb(p.pid))
                except OSError:
                    pass
        return out

    def sample(self):
        """Records the current fds/RSS as a peak candidate."""
        for name, (fds, rss) in self.snapshot().items():
            pf, pr = self.peak.get(name, (0, 0))
            self.peak[name] = (max(pf, fds), max(pr, rss))
        return self.peak

    def quiet_snapshot(self):
        """The baseline, taken when the processes are quiet: first the
        connections of earlier tests (and of the previous tearDown's checks)
        are gone from the gateways' WebSocket, push and HTTP ports as the
        kernel reports them, then every fd count stays unchanged for QUIET
        seconds (so that a close still being processed is not counted in)."""
        c = self.cluster
        ports = c.ws_ports + c.push_ports + c.http_ports
        wait_until(lambda: server_connections(ports), "no connection left on the gateways' client ports",
                   timeout=SETTLE, ok=lambda conns: not conns)
        state = {}

        def quiet_for():
            snap = self.snapshot()
            fds = {n: v[0] for n, v in snap.items()}
            now = time.monotonic()
            if state.get("fds") != fds:
                state.update(fds=fds, since=now)
            state["snap"] = snap
            return now - state["since"], fds

        wait_until(quiet_for, "fd counts unchanged for %.1fs" % QUIET, timeout=SETTLE,
                   ok=lambda v: v[0] >= QUIET)
        return state["snap"]

    def wait_fds_at_least(self, name, want, what):
        """Waits until process name holds at least want fds (connections
        are accepted asynchronously); returns the peak so far."""
        wait_until(lambda: self.sample()[name][0], "%s: %s holds >= %d fds" % (what, name, want),
                   timeout=SETTLE, ok=lambda n: n >= want)
        return self.peak

    def setUp(self):
        super().setUp()
        self.socks = []
        self.rng = rng_for(self.id())
        self.before = self.quiet_snapshot()
        self.peak = dict(self.before)

    def tearDown(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        super().tearDown()   # closes the test's clients, fails if a process died
        self.check_recovered()

    def track(self, s):
        self.socks.append(s)
        return s

    def check_recovered(self):
        self.cluster.check_alive()
        # Wait for the exact baseline (so that the numbers printed are
        # settled ones); at the deadline, within FD_SLACK passes.
        try:
            wait_until(self.snapshot, "fd counts back at their baseline", timeout=SETTLE, step=0.2,
                       ok=lambda after: all(after.get(n, (None,))[0] == self.before[n][0] for n in self.before))
        except AssertionError:
            pass     # judged below, with FD_SLACK
        after = self.snapshot()
        off = {n: (self.before[n][0], after.get(n, (None,))[0]) for n in self.before
               if n not in after or abs(after[n][0] - self.before[n][0]) > FD_SLACK}
        test = self.id().rsplit(".", 1)[-1]
        for n in sorted(self.before):
            b, a, pk = self.before[n], after.get(n, (0, 0)), self.peak.get(n, self.before[n])
            MEASURED.append((test, n, b[0], max(pk[0], a[0]), a[0], b[1], max(pk[1], a[1]), a[1]))
        self.assertEqual(off, {}, "fd count not back at its baseline (±%d) after %.0fs: {name: (before, after)}"
                         % (FD_SLACK, SETTLE))
        grew = {n: (self.before[n][1], after[n][1]) for n in self.before
                if after[n][1] - self.before[n][1] > RSS_GROWTH_KB and not self.sanitized()}
        self.assertEqual(grew, {}, "RSS grew by more than %d KB: {name: (before KB, after KB)}" % RSS_GROWTH_KB)
        self.check_still_serving()

    def check_still_serving(self):
        n_gw = len(self.cluster.gateways)
        for g in range(n_gw):
            with self.cluster.push(g, timeout=10) as p:
                def count():
                    r = p.request({"type": "get_all_client_count", "id": "after"})
                    self.assertEqual((r.get("id"), r.get("ok")), ("after", True), r)
                    return r
                wait_until(count, "no clients left over in the cluster after the test (asked gateway %d)" % g,
                           timeout=5, step=0.2, ok=lambda r: (r.get("count"), r.get("partial")) == (0, None))
        uid = uniq("alive")
        c = wsclient.WSClient("127.0.0.1", self.cluster.ws_port(0), query="uid=" + uid)
        try:
            m = c.recv_json()
            self.assertEqual((m.get("type"), m.get("ok")), ("login", True), m)
            with self.cluster.push(n_gw - 1, timeout=10) as p:
                r = p.request({"type": "send_to_uid", "uid": uid, "data": "still here"})
            self.assertEqual((r.get("ok"), r.get("delivered")), (True, 1), r)
            self.assertEqual(c.recv_text(), "still here")
        finally:
            c.close()


# ------------------------------------------------------------------ tests

class RandomBytesTest(HostileCase):
    """Random bytes (seeded, bounded) on every port."""

    def test_ws_port_random_bytes(self):
        port = self.cluster.ws_port(0)
        socks = []
        for _ in range(300):
            s = self.track(connect(port))
            data = rand_bytes(self.rng, 1, 4096)
            if self.rng.random() < 0.3:   # looks like HTTP at first
                data = b"GET /" + data[:100] + b" HTTP/1.1\r\n" + data[100:] + b"\r\n\r\n"
            try:
                s.sendall(data)
            except OSError:
                pass   # the server may already have closed it
            socks.append(s)
        self.sample()
        still, got = await_server_close(socks, HANDSHAKE_TIMEOUT + 5)
        answers = collections.Counter((got[s][:12] or b"(nothing)") for s in socks)
        sys.stderr.write("(first bytes of the answers: %s) " % dict(answers.most_common(4)))
        self.assertEqual(len(still), 0, "%d of %d garbage connections not closed by the server within "
                         "handshake_timeout + 5 s" % (len(still), len(socks)))
        bad = [got[s][:40] for s in socks if got[s] and not got[s].startswith(b"HTTP/1.1 4")]
        self.assertEqual(bad[:5], [], "garbage answered with something other than a 4xx")

        # After a good handshake: random frames.
        clients = []
        for i in range(100):
            c = wsclient.WSClient("127.0.0.1", port, timeout=5)
            clients.append(c)
            self._ws.append(c)
            try:
                c.send_raw(rand_bytes(self.rng, 1, 4096))
            except wsclient.WSError:
                pass
        self.sample()
        closed = 0
        for c in clients:
            try:
                c.expect_close(timeout=0.05)
                closed += 1
            except (wsclient.WSError, OSError):
                pass
        sys.stderr.write("(random frames: server closed %d of %d at once) " % (closed, len(clients)))

    def test_push_port_random_bytes(self):
        port = self.cluster.push_port(0)
        rng = self.rng
        jobs = [(i, rand_bytes(rng, 1, 4096)) for i in range(200)]

        def one(job):
            i, garbage = job
            p = PushClient(port, timeout=10)
            try:
                p.send_raw(garbage + b"\n" + PushClient.encode({"type": "get_all_client_count", "id": "probe-%d" % i}))
                n = 0
                while True:
                    r = p.read_reply(timeout=10)
                    n += 1
                    if r.get("id") == "probe-%d" % i:
                        return ("ok" if r.get("ok") is True else r), n
                    if r.get("ok") is not False or r.get("error") not in ("bad_json", "bad_request", "unknown_type",
                                                                         "too_large"):
                        return ("garbage answered %r" % r), n
            finally:
                p.close()
        results = parallel(one, jobs)
        bad = [(jobs[i][0], r) for i, r in enumerate(results) if not (isinstance(r, tuple) and r[0] == "ok")]
        self.assertEqual(bad[:5], [], "%d of %d connections: the request after the garbage was not answered ok"
                         % (len(bad), len(jobs)))
        errs = sum(r[1] - 1 for r in results)
        sys.stderr.write("(%d garbage lines answered with errors) " % errs)
        # Garbage without a newline, then the connection just closes.
        for _ in range(100):
            s = connect(port)
            s.sendall(rand_bytes(rng, 1, 4096).replace(b"\n", b" "))
            (rst_close if rng.random() < 0.5 else socket.socket.close)(s)
        self.sample()

    def test_register_port_random_bytes(self):
        port = self.cluster.register_port
        rng = self.rng
        socks = []
        for _ in range(100):
            s = self.track(connect(port))
            data = rand_bytes(rng, 8, 2048)
            if data[:4] == b"\x00SP\x00":
                data = b"\x01" + data[1:]
            s.sendall(data)
            socks.append(s)
        still, _ = await_server_close(socks, 5)
        self.assertEqual(len(still), 0, "%d of %d connections with a bad SP header not closed by the register"
                         % (len(still), len(socks)))
        # A good SP header, then random messages: random bodies, and
        # msgpack-ish bodies with a request id (oversized lengths: below).
        for i in range(60):
            s = self.track(connect(port))
            s.sendall(SP_REQ0)
            try:
                if i % 2 == 0:
                    for _ in range(5):
                        body = rand_bytes(rng, 0, 1024)
                        s.sendall(struct.pack("!Q", len(body)) + body)
                else:
                    for _ in range(5):
                        sp_send(s, bytes([0x95, 1, 1]) + rand_bytes(rng, 0, 512))
                        sp_send(s, rand_bytes(rng, 1, 512))
            except OSError:
                pass
            socks.append(s)
        self.sample()
        # A wrong protocol in an otherwise good header (pub0 = 32).
        s = self.track(connect(port))
        s.sendall(b"\x00SP\x00\x00\x20\x00\x00")
        still, _ = await_server_close([s], 5)
        self.assertEqual(still, [], "register kept a connection that speaks the wrong protocol")
        for s in socks:
            s.close()
        # The register still answers, and still lists everybody.
        members = register_members(port)
        roles = collections.Counter(r for r, _ in members)
        self.assertEqual((roles[1], roles[2]), (2, 1), "register's live list after the garbage: %r" % members)
        self.cluster.wait_ready(timeout=5)


class RegisterOversizedTest(HostileCase):
    """The register's port takes SP messages from anybody (the seal is
    checked only once a message is whole): a message that claims to be huge
    must be refused (the connection dropped) before it costs memory.
    Announces are a few dozen bytes."""

    CLAIM = 256 << 20         # the length prefix
    SEND = 32 << 20           # what is actually sent on each connection

    def test_register_refuses_huge_messages(self):
        port = self.cluster.register_port
        pid = self.cluster.register.pid
        socks = []
        chunk = b"\x80" * (1 << 20)
        for _ in range(2):
            s = self.track(connect(port, timeout=5))
            s.sendall(SP_REQ0)
            try:
                s.sendall(struct.pack("!Q", self.CLAIM))
                for _ in range(self.SEND // len(chunk)):
                    s.sendall(chunk)
            except OSError:
                pass         # refused: what we want
            socks.append(s)
        time.sleep(0.5)
        self.sample()
        grown = proc_rss_kb(pid) - self.before["register-0"][1]
        still, _ = await_server_close(socks, 3)
        sys.stderr.write("(register RSS grew by %.1f MB while 2 connections each claimed a %d MB message "
                         "and sent %d MB) " % (grown / 1024.0, self.CLAIM >> 20, self.SEND >> 20))
        if not self.sanitized():
            self.assertLess(grown, RSS_GROWTH_KB, "the register buffers a claimed-huge message from anybody "
                                                  "(no receive size limit on its listener)")
        self.assertEqual(len(still), 0, "the register keeps connections that announce a %d MB message"
                         % (self.CLAIM >> 20))
        for s in socks:
            s.close()
        # Absurd lengths.
        socks = []
        for n in (1 << 40, 1 << 63, 0xffffffffffffffff):
            s = self.track(connect(port))
            s.sendall(SP_REQ0 + struct.pack("!Q", n) + b"\x80\x00\x00\x01")
            socks.append(s)
        still, _ = await_server_close(socks, 3)
        self.cluster.check_alive()
        self.assertEqual(len(still), 0, "the register keeps connections that announce absurd lengths")
        members = register_members(port)
        self.assertEqual(len(members), 3, "register's live list: %r" % members)


class HalfOpenTest(HostileCase):
    """Connections that never finish: nothing sent, half a request, and
    shutdown(SHUT_WR) in the middle of a message."""

    def test_ws_port_half_open(self):
        port = self.cluster.ws_port(0)
        hs = ws_handshake_bytes(query="uid=" + uniq("half"))
        silent = [self.track(connect(port)) for _ in range(100)]
        half = []
        for _ in range(100):
            s = self.track(connect(port))
            s.sendall(hs[:self.rng.randint(1, len(hs) - 3)])
            half.append(s)
        shut = []
        for _ in range(50):
            s = self.track(connect(port))
            s.sendall(hs[:self.rng.randint(1, len(hs) - 3)])
            s.shutdown(socket.SHUT_WR)
            shut.append(s)
        # The 200 silent and half ones stay until handshake_timeout.
        self.wait_fds_at_least("gateway-0", self.before["gateway-0"][0] + 200,
                               "the gateway holds the half-open connections (measuring the wrong process?)")
        t0 = time.monotonic()
        still, _ = await_server_close(shut, 3)
        self.assertEqual(len(still), 0, "%d connections that shut down mid-handshake not closed" % len(still))
        still, _ = await_server_close(silent + half, HANDSHAKE_TIMEOUT + 5 - (time.monotonic() - t0))
        self.assertEqual(len(still), 0, "%d of %d never-finished handshakes still open after handshake_timeout "
                         "(%ds) + 5 s" % (len(still), len(silent) + len(half), HANDSHAKE_TIMEOUT))

        # After a complete handshake: half a frame, then silence or SHUT_WR.
        frame = masked_frame(wsclient.OP_TEXT, json.dumps({"type": "ping", "pad": "x" * 200}).encode())
        mid, mid_shut = [], []
        for i in range(60):
            s = self.track(connect(port))
            s.sendall(ws_handshake_bytes(query="uid=" + uniq("mid")))
            read_http_head(s)
            s.sendall(frame[:self.rng.randint(1, len(frame) - 1)])
            if i % 3 == 0:
                s.shutdown(socket.SHUT_WR)
                mid_shut.append(s)
            else:
                mid.append(s)
        self.sample()
        still, _ = await_server_close(mid_shut, 5)
        self.assertEqual(len(still), 0, "%d WebSocket connections that shut down mid-frame not closed" % len(still))
        # The silent mid-frame ones may stay (until idle_timeout); we close them.
        r = self.request({"type": "get_all_client_count"}, gateway=1)
        self.assertEqual(r.get("count"), len(mid), "clients mid-frame should still be connected: %r" % r)
        for s in mid:
            s.close()

    def test_push_port_half_open(self):
        port = self.cluster.push_port(0)
        line = PushClient.encode({"type": "get_all_client_count", "id": "half"})
        silent = [self.track(connect(port)) for _ in range(100)]
        half = []
        for _ in range(100):
            s = self.track(connect(port))
            s.sendall(line[:self.rng.randint(1, len(line) - 2)])
            half.append(s)
        self.sample()
        # Half a request, then SHUT_WR: answered bad_request, then closed.
        # A whole request, half of the next, SHUT_WR: ok, bad_request, closed.
        def shut(whole):
            p = PushClient(port, timeout=10)
            try:
                if whole:
                    p.send_raw(PushClient.encode({"type": "get_all_client_count", "id": "whole"}))
                p.send_raw(line[:20])
                p.sock.shutdown(socket.SHUT_WR)
                replies = []
                while True:
                    try:
                        replies.append(p.read_reply(timeout=10))
                    except PushClosed:
                        return replies
            finally:
                p.close()
        results = parallel(shut, [i % 2 == 0 for i in range(100)])
        bad = []
        for i, rs in enumerate(results):
            if isinstance(rs, Exception):
                bad.append(rs)
                continue
            want = ([("whole", True, None)] if i % 2 == 0 else []) + [(None, False, "bad_request")]
            got = [(r.get("id"), r.get("ok"), r.get("error")) for r in rs]
            if got != want:
                bad.append((got, want))
        self.assertEqual(bad[:5], [], "half-closed push connections: replies then close expected")
        self.wait_fds_at_least("gateway-0", self.before["gateway-0"][0] + 200,
                               "the gateway holds the half-open connections (measuring the wrong process?)")
        # Still open and still usable: finish the half lines.
        for s in half[:10]:
            s.sendall(b"\n")
        still, got = await_server_close(half[:10], 0.5)
        self.assertEqual(len(still), 10, "the gateway closed push connections with half a line")
        for s in silent + half:
            (rst_close if self.rng.random() < 0.5 else socket.socket.close)(s)


    def test_register_port_half_open(self):
        port = self.cluster.register_port
        socks = [self.track(connect(port)) for _ in range(30)]
        for i in range(50):
            s = self.track(connect(port))
            if i < 30:
                s.sendall(SP_REQ0[:self.rng.randint(1, 7)])        # half the SP header
            else:
                s.sendall(SP_REQ0 + struct.pack("!Q", 64) + b"\x80\x00\x00\x01" + b"\x95\x01")  # half a message
                if i % 2:
                    s.shutdown(socket.SHUT_WR)
            socks.append(s)
        self.wait_fds_at_least("register-0", self.before["register-0"][0] + 60,
                               "the register holds the half-open connections (measuring the wrong process?)")
        members = register_members(port)
        self.assertEqual(len(members), 3, "the register answers while half-open connections wait: %r" % members)
        for s in socks:
            (rst_close if self.rng.random() < 0.5 else socket.socket.close)(s)


class RapidCyclesTest(HostileCase):
    """10,000 connect/close cycles on the WebSocket port and on the push
    port (half closed with FIN, half with RST, in 8 threads), and 1,000
    complete WebSocket handshakes that are dropped at once."""

    THREADS = 8
    BOUND = 90.0

    def cycles(self, port, n, what):
        per = n // self.THREADS
        fails = []

        def run(t):
            for i in range(per):
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=10)
                except OSError as e:
                    fails.append(repr(e))
                    continue
                if (i + t) % 2:
                    rst_close(s)
                else:
                    s.close()
        t0 = time.monotonic()
        threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(self.THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(self.BOUND)
        elapsed = time.monotonic() - t0
        self.sample()
        sys.stderr.write("(%d %s cycles in %.1fs) " % (per * self.THREADS, what, elapsed))
        self.assertFalse(any(th.is_alive() for th in threads), "%s cycles still running after %.0fs"
                         % (what, self.BOUND))
        self.assertEqual(fails[:5], [], "%d connects failed" % len(fails))

    def test_ws_port_cycles(self):
        self.cycles(self.cluster.ws_port(0), CYCLES, "WebSocket")

    def test_push_port_cycles(self):
        self.cycles(self.cluster.push_port(0), CYCLES, "push")

    def test_ws_handshake_then_drop(self):
        port = self.cluster.ws_port(0)
        n = 1000

        def one(i):
            s = connect(port)
            try:
                s.sendall(ws_handshake_bytes(query=("uid=drop%d" % i) if i % 2 else ""))
                head, _ = read_http_head(s)
                if not head.startswith(b"HTTP/1.1 101"):
                    return head[:100]
            finally:
                (rst_close if i % 3 else socket.socket.close)(s)
            return None
        bad = [r for r in parallel(one, range(n), threads=8) if r is not None]
        self.sample()
        self.assertEqual(bad[:5], [], "%d handshakes failed" % len(bad))


class HugeJsonTest(HostileCase):
    """Huge lines, deep nesting, huge lists and many keys on the push port,
    and as browser messages."""

    def test_push_port_huge_and_deep(self):
        uid = uniq("deep")
        c, _ = self.connect(1, uid=uid)
        p = self.push(0, timeout=30)

        def ok_after():
            r = p.request({"type": "get_all_client_count", "id": "next"})
            self.assertEqual((r.get("id"), r.get("ok")), ("next", True), "the connection must stay usable: %r" % r)

        # A line just under max_line: answered, and delivered intact.
        head = '{"type":"send_to_uid","id":"under","uid":"%s","data":"' % uid
        pad = MAX_LINE - 2 - len(head) - 2
        p.send_line((head + "x" * pad + '"}').encode())
        r = p.read_reply(timeout=30)
        self.assertEqual((r.get("id"), r.get("ok"), r.get("delivered")), ("under", True, 1),
                         "a line of max_line - 1 bytes (with its newline): %r" % r)
        got = c.recv_text(timeout=15)
        self.assertEqual(len(got), pad, "the big push arrived with a different size")
        ok_after()
        self.sample()
        # Deep nesting: an error, the connection stays.
        deep = [b"[" * 100000 + b"]" * 100000,
                b'{"a":' * 100000 + b"1" + b"}" * 100000,
                b'{"type":"send_to_uid","uid":"x","data":' + b"[" * 100000 + b"]" * 100000 + b"}",
                b'{"type":"get_all_client_count","id":' + b'{"a":' * 50000 + b"1" + b"}" * 51000,
                b"[" * 200000]
        for line in deep:
            p.send_line(line)
            r = p.read_reply(timeout=10)
            self.assertEqual((r.get("ok"), r.get("error")), (False, "bad_json"), "%r...: %r" % (line[:40], r))
            ok_after()
        # Nesting the parser accepts: echoed and delivered exactly.
        # (compared as text: Python's json module cannot parse 1000 levels)
        nested = "[" * 1000 + "7" + "]" * 1000
        p.send_line(('{"type":"send_to_uid","id":%s,"uid":"%s","data":%s}' % (nested, uid, nested)).encode())
        line = p.read_line(timeout=10).decode()
        self.assertEqual(line, '{"id":%s,"ok":true,"delivered":1,"offline":[]}' % nested,
                         "a 1000-deep id is echoed as it was, and 1000-deep data delivered")
        self.assertEqual(c.recv_text(), nested)
        # Lists at and over the limit; many keys.
        r = p.request({"type": "send_to_uid", "uid": ["n%d" % i for i in range(10000)], "data": "l"})
        self.assertEqual((r.get("ok"), r.get("delivered"), len(r.get("offline") or [])), (True, 0, 10000))
        r = p.request({"type": "send_to_uid", "uid": ["n%d" % i for i in range(10001)], "data": "l"})
        self.assertEqual((r.get("ok"), r.get("error")), (False, "too_large"), r)
        ok_after()
        many = {"k%d" % i: i for i in range(50000)}
        many.update({"type": "get_all_client_count", "id": "many"})
        r = p.request(many)
        self.assertEqual((r.get("id"), r.get("ok"), r.get("count")), ("many", True, 1), r)
        self.sample()
        # A line over max_line: too_large, then the connection is closed.
        p.send_line(b'{"type":"get_all_client_count","pad":"' + b"y" * MAX_LINE + b'"}')
        r = p.read_reply(timeout=30)
        self.assertEqual((r.get("ok"), r.get("error")), (False, "too_large"), r)
        self.assertTrue(p.wait_closed(timeout=10), "the connection stays open after a line over max_line")
        # Over max_line without any newline at all, on another connection.
        q = self.push(0, timeout=30)
        try:
            q.send_raw(b"[" * (MAX_LINE + 4096))
        except OSError:
            pass
        r = q.read_reply(timeout=30)
        self.assertEqual((r.get("ok"), r.get("error")), (False, "too_large"), r)
        self.assertTrue(q.wait_closed(timeout=10), "the connection stays open after an endless line")
        self.sample()
        self.assertBrowserAlive(c)

    def test_browser_huge_and_deep(self):
        c, _ = self.connect(0, uid=uniq("bdeep"))
        msgs = [b"[" * 30000 + b"]" * 30000,
                b'{"a":' * 10000 + b"1" + b"}" * 10000,
                b'{"type":"login","uid":' + b"[" * 20000 + b"]" * 20000 + b"}",
                b"[" * 60000]
        for m in msgs:
            c.send_text(m)
            err, skipped = c.recv_json_until(lambda o: o.get("type") == "error", timeout=10)
            self.assertIn(err.get("error"), ("bad_json", "bad_request"), "%r...: %r" % (m[:30], err))
            self.assertBrowserAlive(c)
        # Just under max_message: a ping with padding.
        c.send_json({"type": "ping", "pad": "z" * (MAX_MESSAGE - 100)})
        obj, _ = c.recv_json_until(lambda o: o.get("type") in ("pong", "error"), timeout=10)
        self.assertEqual(obj.get("type"), "pong", obj)
        # 100000 deep is over max_message: closed with 1009.
        d = self.ws(0)
        self.assertEqual(d.recv_json().get("type"), "welcome")
        d.send_text(b"[" * 100000 + b"]" * 100000)
        code, _ = d.expect_close(timeout=10)
        self.assertEqual(code, 1009)
        self.sample()


class BadUtf8Test(HostileCase):
    """Invalid UTF-8 and NUL bytes inside JSON: an error reply, and the
    connection stays."""

    LINES = [
        b'{"type":"send_to_uid","uid":"\xff\xfe","data":"x"}',
        b'{"type":"send_to_uid","uid":"%(uid)s","data":"\xc0\xaf"}',          # overlong
        b'{"type":"send_to_uid","uid":"%(uid)s","data":"\xed\xa0\x80"}',      # surrogate
        b'{"type":"send_to_uid","uid":"%(uid)s","data":"\xe2\x82"}',          # truncated
        b'{"type":"send_to_uid","uid":"%(uid)s","data":"\xf4\x90\x80\x80"}',  # > U+10FFFF
        b'{"type":"send_to_uid","uid":"%(uid)s","data":"\x80abc"}',           # lone continuation
        b'{"\xff":1,"type":"get_all_client_count"}',
        b'{"type":"get_all_client_count","id":"\x80"}',
        b'{"type":"\xfe"}',
        b'{"type":"send_to_uid","uid":"%(uid)s","data":"\\ud800"}',           # lone surrogate escape
        b'{"type":"send_to_group","group":"g\xc3","data":"x"}',
        b'{"type":"set_session","client_id":"%(cid)s","session":{"k":"\xff"}}',
        b"\x00",
        b'{"type":"get_all_client_count"}\x00',
        b'\x00{"type":"get_all_client_count"}',
        b'{"type":"get_all_client_count",\x00"id":1}',
        b'{"type":"send_to_uid","uid":"a\x00b","data":"x"}',
        b'{"type":"send_to_uid","uid":"%(uid)s","data":"a\x00b"}',
        b'{"type":"send_to_uid","uid":"a\\u0000b","data":"x"}',
        b'{"type":"get_all_client_count","id":"a\\u0000b"}',
        b'{"type":"send_to_uid","uid":"%(uid)s","data":"\xff","data_base64":"AA=="}',
    ]

    def test_push_port(self):
        uid = uniq("u8")
        c, cid = self.connect(0, uid=uid)
        p = self.push(1)
        for i, tmpl in enumerate(self.LINES):
            line = tmpl.replace(b"%(uid)s", uid.encode()).replace(b"%(cid)s", cid.encode())
            p.send_line(line)
            r = p.read_reply(timeout=10)
            self.assertEqual(r.get("ok"), False, "line %d %r: %r" % (i, line, r))
            self.assertIn(r.get("error"), ("bad_json", "bad_request"), "line %d %r: %r" % (i, line, r))
            self.assertIsInstance(r.get("message"), str, r)
            r = p.request({"type": "get_all_client_count", "id": i})
            self.assertEqual((r.get("id"), r.get("ok"), r.get("count")), (i, True, 1), "after line %d: %r" % (i, r))
        # A NUL escaped inside data is valid JSON: if accepted, it must arrive as sent.
        r = p.request({"type": "send_to_uid", "uid": uid, "data": "a\u0000b"})
        if r.get("ok") is True:
            self.assertEqual(r.get("delivered"), 1, r)
            self.assertEqual(c.recv_text(), "a\u0000b")
        else:
            self.assertIn(r.get("error"), ("bad_json", "bad_request"), r)
        self.assertNothing(c, 0.3)
        self.assertBrowserAlive(c)

    def test_browser(self):
        c, _ = self.connect(0, uid=uniq("bu8"))
        for m in (b'{"type":"login","uid":"a\\u0000b"}', b'{"type":"join","group":"\\udc00"}',
                  b'{"type":"ping"}\x00', b'{"type":"login","uid":"\\ud800\\udc00"}'):
            c.send_text(m)
            obj, _ = c.recv_json_until(lambda o: o.get("type") in ("error", "login", "join", "pong"), timeout=10)
            if m == b'{"type":"login","uid":"\\ud800\\udc00"}':
                self.assertIn(obj.get("type"), ("login", "error"), obj)  # a valid (astral) uid
            else:
                self.assertEqual(obj.get("type"), "error", "%r -> %r" % (m, obj))
            self.assertBrowserAlive(c)
        c.send_binary(b'{"type":"login","uid":"\xff"}')
        obj, _ = c.recv_json_until(lambda o: o.get("type") == "error", timeout=10)
        self.assertEqual(obj.get("error"), "bad_request", obj)
        self.assertBrowserAlive(c)
        c.send_text(b'{"type":"login","uid":"\xff"}')
        code, _ = c.expect_close(timeout=10)
        self.assertEqual(code, 1007, "a text frame that is not UTF-8")


# ------------------------------------------------------------------ slow reader

SLOW_MAX_OUTPUT = 256 * 1024
SLOW_RSS_BOUND_KB = 64 * 1024     # the gateway's RSS while a client does not read
PUSH_SIZE = 1024


class NeverReadingClientTest(HostileCase):
    """One browser never reads (a 4 KB kernel receive buffer) while ~1 KB
    pushes go to everybody with send_to_all; gateway.max_output = 256K.

    The never-reading client must be closed (close frame 1008 "slow
    consumer" in what it eventually reads, or EOF), the gateway's RSS must
    stay under SLOW_RSS_BOUND_KB (64 MB) throughout, and a normal client
    must receive every push that was acknowledged: counted as lost, must be
    zero."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={"gateway.max_output": "256K"})
    MAX_PUSHES = 40000
    BATCH = 50

    def test_never_reading_client_is_cut_off(self):
        port = self.cluster.ws_port(0)
        slow = self.track(connect(port, rcvbuf=4096))
        slow.sendall(ws_handshake_bytes(query="uid=slow"))
        head, _ = read_http_head(slow)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        # From here on, nothing is read from `slow`.

        normal, _ = self.connect(0, uid="normal")
        received = collections.Counter()
        stop = threading.Event()
        reader_error = []

        def reader():
            try:
                while not stop.is_set():
                    try:
                        m = normal.recv(timeout=0.5)
                    except wsclient.WSTimeout:
                        continue
                    received[m.text[:12]] += 1
            except Exception as e:
                reader_error.append(e)
        th = threading.Thread(target=reader, daemon=True)
        th.start()

        p = self.push(0, timeout=30)
        acked = []           # (key, delivered)
        rss_max = 0
        cut_at = None
        pad = "p" * (PUSH_SIZE - 12)
        t0 = time.monotonic()
        k = 0
        try:
            while k < self.MAX_PUSHES and time.monotonic() - t0 < 60:
                # Flow control for the normal client only, so that it never
                # has more than ~150 KB outstanding (under max_output).
                lag_deadline = time.monotonic() + 10
                while len(acked) - sum(received.values()) > 150 - self.BATCH and time.monotonic() < lag_deadline:
                    time.sleep(0.005)
                reqs = [{"type": "send_to_all", "id": k + i, "data": "n-%09d" % (k + i) + pad}
                        for i in range(self.BATCH)]
                for q, r in zip(reqs, p.pipeline(reqs, timeout=30)):
                    self.assertEqual((r.get("id"), r.get("ok")), (q["id"], True), r)
                    acked.append((q["data"][:12], r.get("delivered")))
                    if cut_at is None and r.get("delivered") == 1:
                        cut_at = q["id"]
                k += self.BATCH
                rss_max = max(rss_max, proc_rss_kb(self.cluster.gateways[0].pid))
                if cut_at is not None and k >= cut_at + 1000:
                    break
            # Let the normal client catch up.
            deadline = time.monotonic() + 15
            while sum(received.values()) < len(acked) and time.monotonic() < deadline and th.is_alive():
                time.sleep(0.05)
        finally:
            stop.set()
            th.join(5)
        self.sample()
        sys.stderr.write("(%d pushes of %d bytes; slow client cut off after push %r; gateway RSS max %.1f MB, "
                         "baseline %.1f MB) " % (k, PUSH_SIZE, cut_at, rss_max / 1024.0,
                                                 self.before["gateway-0"][1] / 1024.0))
        self.assertEqual(reader_error, [], "the normal client failed")
        self.assertIsNotNone(cut_at, "the never-reading client was never cut off (every send_to_all "
                             "still delivered to 2 connections after %d pushes)" % k)
        if not self.sanitized():
            self.assertLess(rss_max, SLOW_RSS_BOUND_KB, "gateway RSS went over the bound")
        bad = [(i, d) for i, (_, d) in enumerate(acked) if d not in (1, 2) or (i >= cut_at and d != 1)]
        self.assertEqual(bad[:5], [], "send_to_all replies with odd delivered counts")
        missing = [key for key, _ in acked if received[key] != 1]
        self.assertEqual(missing[:5], [], "lost or duplicated at the normal client: %d of %d pushes"
                         % (len(missing), len(acked)))
        self.assertIn("event=slow_consumer", self.cluster.gateways[0].log_text())
        # What the slow client reads now: frames, then 1008 or EOF.
        slow.settimeout(10)
        data = bytearray()
        deadline = time.monotonic() + 20
        eof = False
        while time.monotonic() < deadline:
            try:
                chunk = slow.recv(1 << 20)
            except socket.timeout:
                break
            except ConnectionResetError:
                eof = True
                break
            if not chunk:
                eof = True
                break
            data += chunk
        self.assertTrue(eof, "the never-reading client's connection is still open (read %d bytes)" % len(data))
        close_code = None
        i = 0
        while i + 2 <= len(data):
            op, n = data[i] & 0x0F, data[i + 1] & 0x7F
            j = i + 2
            if n == 126:
                n, j = struct.unpack("!H", bytes(data[j:j + 2]))[0], j + 2
            elif n == 127:
                n, j = struct.unpack("!Q", bytes(data[j:j + 8]))[0], j + 8
            if j + n > len(data):
                break
            if op == wsclient.OP_CLOSE and n >= 2:
                close_code = struct.unpack("!H", bytes(data[j:j + 2]))[0]
                reason = bytes(data[j + 2:j + n])
                break
            i = j + n
        sys.stderr.write("(slow client read %d bytes, then %s) "
                         % (len(data), "close %d %r" % (close_code, reason) if close_code else "EOF"))
        if close_code is not None:
            self.assertEqual((close_code, reason), (1008, b"slow consumer"))


def print_measurements():
    if not MEASURED:
        return
    out = ["", "fd count and RSS per process around each test (before / peak / after):"]
    for test, name, fb, fp, fa, rb, rp, ra in MEASURED:
        out.append("  %-40s %-10s fds %4d / %5d / %4d   RSS %6.1f / %6.1f / %6.1f MB"
                   % (test[:40], name, fb, fp, fa, rb / 1024.0, rp / 1024.0, ra / 1024.0))
    sys.stderr.write("\n".join(out) + "\n")


if __name__ == "__main__":
    import atexit
    atexit.register(print_measurements)
    main(timeout=280)
