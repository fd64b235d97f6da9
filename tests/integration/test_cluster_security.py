#!/usr/bin/env python3
"""
Cluster links: a process that does not hold cluster.secret can neither join
the cluster nor have a gateway execute its commands; a member with another
secret never joins; tls+tcp:// links work end to end and refuse plain TCP
and certificate-less peers; no secret ever shows in a log, an error or
--help. Threat model: SECURITY.md.

The rogue speaks nng's SP protocol over TCP itself (SP/TCP: an 8-byte
greeting "\\0SP\\0" + protocol id + 2 zero bytes, then messages framed by a
64-bit big-endian length; REQ messages start with a 4-byte request id with
the high bit set), builds the msgpack messages by hand (layouts in
proto/msg.c) and seals them in Python (layout in cluster/seal.h). Each refusal
has a positive control: the same message sealed with the right secret IS
acted on, so a refusal cannot come from a malformed test message.

Run: GATECAST_BUILD=build python3 tests/integration/test_cluster_security.py
"""

import hashlib
import hmac
import os
import re
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import (CLUSTER_SECRET, Cluster, ClusterTestCase, Launcher, Proc,  # noqa: E402
                     binary, free_port, main, uniq, wait_until)

LEASE = 3.0
OTHER_SECRET = "another-cluster-secret-" + secrets.token_hex(8)

# ----------------------------------------------------------------- msgpack

def mp(v):
    """A minimal msgpack encoder: what proto/msg.c's layouts need."""
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if v < 0x80:
            return bytes([v])
        if v < 0x100:
            return b"\xcc" + bytes([v])
        if v < 0x10000:
            return b"\xcd" + struct.pack(">H", v)
        if v < 0x100000000:
            return b"\xce" + struct.pack(">I", v)
        return b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xa0 | len(b)]) + b
        return b"\xd9" + bytes([len(b)]) + b
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list):
        assert len(v) < 16
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    raise TypeError(v)


ROLE_WORKER = 2
CMD_SEND_TO_ALL = 3


def announce(member_id, inbox, leaving=False):
    # ANNOUNCE [1, 1, [role, id, inbox], lease_ms, leaving]
    return mp([1, 1, [ROLE_WORKER, member_id, inbox], 3000, leaving])


def op_send_to_all(data):
    # OP [1, 5, worker, op, cmd]; op 0 = no result wanted
    # cmd [type, uids, groups, clients, exclude, data, has_data, binary, session]
    return mp([1, 5, 0x1234, 0, [CMD_SEND_TO_ALL, [], [], [], [], data.encode(), True, False, ""]])


# ----------------------------------------------------------------- the seal

class Sealer:
    """cluster/seal.h in Python: body || sender || counter || time || tag16,
    tag = HMAC-SHA256(key, u32be(len(to)) || to || sender || counter || time
    || body), key = HMAC-SHA256(secret, "gatecast cluster v1")."""

    def __init__(self, secret):
        self.key = hmac.new(secret.encode(), b"gatecast cluster v1", hashlib.sha256).digest()
        self.id = int.from_bytes(os.urandom(8), "big")
        self.counter = 0

    def seal(self, body, to, now_ms=None, counter=None):
        if counter is None:
            self.counter += 1
            counter = self.counter
        ts = int(time.time() * 1000) if now_ms is None else now_ms
        head = struct.pack(">QQQ", self.id, counter, ts)
        to = to.encode()
        tag = hmac.new(self.key, struct.pack(">I", len(to)) + to + head + body, hashlib.sha256).digest()
        return body + head + tag[:16]

    def open(self, msg, to):
        """The body when msg is sealed for `to` with our key, else None."""
        if len(msg) < 40:
            return None
        body, head, tag = msg[:-40], msg[-40:-16], msg[-16:]
        to = to.encode()
        want = hmac.new(self.key, struct.pack(">I", len(to)) + to + head + body, hashlib.sha256).digest()
        return body if hmac.compare_digest(want[:16], tag) else None


# ----------------------------------------------------------------- SP over TCP

SP_PUSH, SP_PULL, SP_REQ, SP_REP = 0x50, 0x51, 0x30, 0x31


class SPConn:
    """One nng SP connection over TCP (optionally inside TLS)."""

    def __init__(self, port, proto, host="127.0.0.1", timeout=5.0, tls=None):
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = raw
        try:
            if tls is not None:
                self.sock = tls.wrap_socket(raw, server_hostname=host)
            self.sock.settimeout(timeout)
            self.sock.sendall(b"\0SP\0" + struct.pack(">H", proto) + b"\0\0")
            peer = self._exact(8)
            if peer[:4] != b"\0SP\0":
                raise AssertionError("not an SP peer: %r" % peer)
        except BaseException:
            raw.close()
            raise
        self.peer_proto = struct.unpack(">H", peer[4:6])[0]
        self.next_id = 0x80000001

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("SP peer closed")
            out += chunk
        return out

    def send(self, payload):
        self.sock.sendall(struct.pack(">Q", len(payload)) + payload)

    def request(self, body):
        """REQ: prepends a request id."""
        rid = self.next_id
        self.next_id += 1
        self.send(struct.pack(">I", rid) + body)
        return rid

    def recv(self, timeout):
        """One message, or None when nothing comes within timeout."""
        self.sock.settimeout(timeout)
        try:
            n = struct.unpack(">Q", self._exact(8))[0]
        except (socket.timeout, TimeoutError):
            return None
        self.sock.settimeout(5)
        return self._exact(n)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ----------------------------------------------------------------- helpers

def log_offset(proc):
    return len(proc.log_text())


def log_since(proc, offset):
    return proc.log_text()[offset:]


VIEW_LINE = re.compile(r"event=cluster_view gateways=(\d+) workers=(\d+)")


def views_in(text):
    return [(int(g), int(w)) for g, w in VIEW_LINE.findall(text)]


def secrets_in_dir(run_dir, values):
    """[(file, secret)] for every file under run_dir holding one of values."""
    found = []
    for root, _, files in os.walk(run_dir):
        for name in files:
            if name.endswith(".ipc"):
                continue
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for v in values:
                if v.encode() in data:
                    found.append((path, v))
    return found


def start_extra(cluster, role, name_index, sets, env=None):
    """Starts one more process of `role` outside the cluster's bookkeeping
    (so wait_ready does not expect it): the cluster's arguments, then sets
    ({key: value}, later --set wins), with env replacing the cluster's
    environment. The caller stops it."""
    args = cluster.args_for(role, 0)
    for k, v in sets.items():
        args += ["--set", "%s=%s" % (k, v)]
    p = Proc(cluster, role, name_index, args)
    saved = cluster.env
    cluster.env = env if env is not None else saved
    try:
        p.start()
    finally:
        cluster.env = saved
    return p


# ----------------------------------------------------------------- rogue on plain TCP

GW_INBOX_PORT = free_port()
WK_INBOX_PORT = free_port()
GW_INBOX = "tcp://127.0.0.1:%d" % GW_INBOX_PORT


class RogueTest(ClusterTestCase):
    """One gateway and one worker whose inboxes listen on TCP, so a rogue
    process on the host (or the network) can reach them."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={
        "gateway.inbox": GW_INBOX,
        "worker.inbox": "tcp://127.0.0.1:%d" % WK_INBOX_PORT,
        "register.lease": LEASE,
    })

    def assert_view_stays(self, offsets, want=(1, 1)):
        for p, off in offsets.items():
            seen = views_in(log_since(p, off))
            self.assertTrue(all(v == want for v in seen),
                            "%s changed its view to %r (want %r throughout)" % (p.name, seen, want))
            self.assertEqual(p.last_view(), want, "%s's view" % p.name)

    def test_announce_without_the_secret_is_not_listed(self):
        c = self.cluster
        members = [c.gateways[0], c.workers[0]]
        offsets = {p: log_offset(p) for p in members}
        reg_off = log_offset(c.register)
        rogue_id = int.from_bytes(os.urandom(8), "big")
        body = announce(rogue_id, "tcp://127.0.0.1:%d" % free_port())
        wrong = Sealer(OTHER_SECRET)
        forged_tag = bytearray(Sealer(CLUSTER_SECRET).seal(body, "register"))
        forged_tag[-1] ^= 1
        attempts = {
            "unsealed": body,
            "random trailer": body + os.urandom(40),
            "sealed with another secret": wrong.seal(body, "register"),
            "right secret, one tag bit flipped": bytes(forged_tag),
            "right secret, sealed for another receiver": Sealer(CLUSTER_SECRET).seal(body, "member:00"),
        }
        r = SPConn(c.register_port, SP_REQ)
        try:
            self.assertEqual(r.peer_proto, SP_REP, "the register speaks rep0")
            for what, msg in attempts.items():
                for _ in range(3):  # as a member would: again and again
                    r.request(msg)
                    self.assertIsNone(r.recv(0.3), "the register answered an announce: %s" % what)
        finally:
            r.close()
        time.sleep(LEASE / 2)
        self.assert_view_stays(offsets)
        reg_log = log_since(c.register, reg_off)
        self.assertNotIn("%016x" % rogue_id, reg_log, "the register logged the rogue as a member")
        self.assertIn("event=cluster_message_refused", reg_log)
        self.assertIn("reason=forged", reg_log)

    def test_announce_with_the_secret_is_listed_positive_control(self):
        """The same announce, sealed with the cluster's secret, is listed,
        and the register's answer is sealed for the announcer alone."""
        c = self.cluster
        rogue_id = int.from_bytes(os.urandom(8), "big")
        inbox = "tcp://127.0.0.1:%d" % free_port()
        s = Sealer(CLUSTER_SECRET)
        r = SPConn(c.register_port, SP_REQ)
        try:
            rid = r.request(s.seal(announce(rogue_id, inbox), "register"))
            reply = r.recv(5)
            self.assertIsNotNone(reply, "no answer to a properly sealed announce")
            self.assertEqual(struct.unpack(">I", reply[:4])[0], rid)
            members_msg = s.open(reply[4:], "member:%016x" % s.id)
            self.assertIsNotNone(members_msg, "the answer is not sealed for us")
            self.assertIsNone(s.open(reply[4:], "member:%016x" % (s.id ^ 1)),
                              "the answer also opens for another member")
            self.assertIn(inbox.encode(), members_msg, "the answer does not list us")
            c.wait_ready(timeout=10, workers=2)
            # Leave again so the others stop routing to a worker that is not there.
            r.request(s.seal(announce(rogue_id, inbox, leaving=True), "register"))
            self.assertIsNotNone(r.recv(5))
            c.wait_ready(timeout=LEASE + 10)
        finally:
            r.close()

    def test_op_without_the_secret_is_not_executed(self):
        c = self.cluster
        uid = uniq("victim")
        ws, _ = self.connect(0, uid=uid)
        self.request({"type": "send_to_all", "data": "legit-1"})
        self.assertNextText(ws, "legit-1")
        gw_off = log_offset(c.gateways[0])

        body = op_send_to_all("pwned")
        right = Sealer(CLUSTER_SECRET)
        flipped = bytearray(right.seal(body, GW_INBOX))
        flipped[0] ^= 1
        attempts = {
            "unsealed": body,
            "random trailer": body + os.urandom(40),
            "sealed with another secret": Sealer(OTHER_SECRET).seal(body, GW_INBOX),
            "right secret, body altered": bytes(flipped),
            "right secret, sealed for another inbox": right.seal(body, "tcp://127.0.0.1:1"),
            "right secret, a minute old": right.seal(body, GW_INBOX, now_ms=int(time.time() * 1000) - 60000),
            "right secret, a minute ahead": right.seal(body, GW_INBOX, now_ms=int(time.time() * 1000) + 60000),
            "empty": b"",
        }
        p = SPConn(GW_INBOX_PORT, SP_PUSH)
        try:
            self.assertEqual(p.peer_proto, SP_PULL, "the inbox speaks pull0")
            for what, msg in attempts.items():
                p.send(msg)
            time.sleep(0.5)
            self.assertNothing(ws, 0.3)
            self.request({"type": "send_to_all", "data": "legit-2"})
            self.assertNextText(ws, "legit-2")

            # Positive control: the same op sealed right is executed, once.
            sealed = right.seal(op_send_to_all("with-the-secret"), GW_INBOX)
            p.send(sealed)
            self.assertNextText(ws, "with-the-secret")
            p.send(sealed)
            p2 = SPConn(GW_INBOX_PORT, SP_PUSH)
            p2.send(sealed)
            time.sleep(0.5)
            p2.close()
            self.assertNothing(ws, 0.3)
            self.request({"type": "send_to_all", "data": "legit-3"})
            self.assertNextText(ws, "legit-3")
        finally:
            p.close()
        log = log_since(c.gateways[0], gw_off)
        self.assertIn("event=cluster_message_refused", log)
        self.assertNotIn("pwned", log, "the refused message's content was logged")
        self.assertBrowserAlive(ws)

    def test_worker_with_another_secret_never_joins(self):
        c = self.cluster
        members = [c.gateways[0], c.workers[0]]
        offsets = {p: log_offset(p) for p in members}
        reg_off = log_offset(c.register)
        env = dict(c.env, GATECAST_CLUSTER_SECRET=OTHER_SECRET)
        odd = start_extra(c, "worker", 90, {"worker.inbox": ""}, env=env)
        try:
            wait_until(lambda: "event=register_unanswered" in odd.log_text(),
                       "the odd worker to report an unanswered register", timeout=LEASE + 5)
            self.assertTrue(odd.alive(), "the odd worker exited:\n" + odd.log_text()[-2000:])
            self.assertEqual(odd.last_view(), (0, 1), "the odd worker sees no one")
            self.assert_view_stays(offsets)
            self.assertIn("event=cluster_message_refused", log_since(c.register, reg_off))
            self.assertIn("cluster.secret", odd.log_text())
            # Still serving.
            ws, _ = self.connect(0, uid=uniq("still"))
            self.request({"type": "send_to_all", "data": "still-fine"})
            self.assertNextText(ws, "still-fine")
        finally:
            odd.stop()

    def test_zz_no_secret_in_any_log(self):
        found = secrets_in_dir(self.cluster.run_dir, [CLUSTER_SECRET, OTHER_SECRET])
        self.assertEqual(found, [], "secrets found in logs")


# ----------------------------------------------------------------- start-up rules

class StartupTest(unittest.TestCase):

    def run_prog(self, role, env_secret, extra=()):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
        if env_secret is not None:
            env["GATECAST_CLUSTER_SECRET"] = env_secret
        run_dir = tempfile.mkdtemp(prefix="gcs-")
        try:
            args = [binary(role), "--set", "cluster.run_dir=" + run_dir, "--set", "auth.mode=none",
                    "--set", "register.listen=tcp://127.0.0.1:%d" % free_port(),
                    "--set", "gateway.ws_listen=127.0.0.1:%d" % free_port(),
                    "--set", "gateway.push_listen=127.0.0.1:%d" % free_port()] + list(extra)
            return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                                  timeout=10)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)

    def test_programs_refuse_to_start_without_a_secret(self):
        for role in ("register", "gateway", "worker"):
            with self.subTest(role):
                r = self.run_prog(role, None)
                err = r.stderr.decode()
                self.assertEqual(r.returncode, 2, "%s: rc %d, stderr %r" % (role, r.returncode, err))
                self.assertIn("cluster.secret", err)
                self.assertIn("GATECAST_CLUSTER_SECRET", err)

    def test_a_short_secret_is_refused_without_quoting_it(self):
        short = "sh0rtSecr3t"  # 11 bytes
        for role in ("register", "worker"):
            with self.subTest(role):
                r = self.run_prog(role, short)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(b"cluster.secret", r.stderr)
                self.assertNotIn(short.encode(), r.stdout + r.stderr)
        # Also when given on the command line.
        r = self.run_prog("worker", None, ["--set", "cluster.secret=" + short])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertNotIn(short.encode(), r.stdout + r.stderr)

    def test_help_shows_no_secret(self):
        secret = "help-must-not-show-" + secrets.token_hex(8)
        for role in ("register", "gateway", "worker"):
            with self.subTest(role):
                r = self.run_prog(role, secret, ["--help"])
                self.assertEqual(r.returncode, 0)
                self.assertIn(b"cluster.secret", r.stdout)
                self.assertNotIn(secret.encode(), r.stdout + r.stderr)

    def test_unreadable_tls_files_stop_the_program_at_start(self):
        r = self.run_prog("worker", CLUSTER_SECRET,
                          ["--set", "cluster.tls_ca=/nonexistent/ca.pem"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"cluster.tls_ca", r.stderr)
        self.assertIn(b"/nonexistent/ca.pem", r.stderr)


# ----------------------------------------------------------------- the launcher's secret

class LauncherSecretTest(unittest.TestCase):

    def test_gatecast_start_makes_a_secret_and_passes_it_in_the_environment(self):
        la = Launcher(gateways=1, workers=1)
        la.env.pop("GATECAST_CLUSTER_SECRET", None)
        la.start()
        try:
            la.wait_serving(timeout=30)
            kids = la.current_children()
            self.assertEqual(sorted(r for r, _ in kids), ["gateway", "register", "worker"])
            found = set()
            for (role, _), pid in kids.items():
                with open("/proc/%d/environ" % pid, "rb") as f:
                    env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
                secret = env.get(b"GATECAST_CLUSTER_SECRET", b"")
                self.assertRegex(secret.decode(), r"^[0-9a-f]{64}$", "%s's cluster secret" % role)
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    self.assertNotIn(secret, f.read(), "the secret is on %s's command line" % role)
                found.add(secret)
            self.assertEqual(len(found), 1, "every child holds the same secret")
            secret = found.pop().decode()
            self.assertIn("event=cluster_secret_generated", la.log_text())
            self.assertNotIn(secret, la.log_text(), "the generated secret is in the log")
            self.assertEqual(secrets_in_dir(la.run_dir, [secret]), [])
        except BaseException:
            la.dump_logs()
            raise
        finally:
            la.cleanup()


# ----------------------------------------------------------------- TLS

def have_tls_tools():
    return shutil.which("openssl") is not None


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + "-ca.key", "-out", name + "-ca.pem", "-days", "2",
            "-subj", "/CN=gatecast test " + name, cwd=d)


def make_cert(d, ca, name):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=DNS:127.0.0.1,IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=127.0.0.1", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + "-ca.pem", "-CAkey", ca + "-ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=d)


class TLSCluster(Cluster):
    """Register and every inbox on tls+tcp://."""

    def __init__(self, certs, **kw):
        super().__init__(**kw)
        self.certs = certs
        self.inbox_ports = {}

    def inbox_port(self, role, index):
        return self.inbox_ports.setdefault((role, index), free_port())

    def common_sets(self):
        sets = [(k, v) for k, v in super().common_sets() if k != "register.listen"]
        return sets + [
            ("register.listen", "tls+tcp://127.0.0.1:%d" % self.register_port),
            ("cluster.tls_cert", os.path.join(self.certs, "node.pem")),
            ("cluster.tls_key", os.path.join(self.certs, "node.key")),
            ("cluster.tls_ca", os.path.join(self.certs, "main-ca.pem")),
        ]

    def args_for(self, role, index):
        args = super().args_for(role, index)
        if role in ("gateway", "worker"):
            args += ["--set", "%s.inbox=tls+tcp://127.0.0.1:%d" % (role, self.inbox_port(role, index))]
        return args


@unittest.skipUnless(have_tls_tools(), "openssl is not installed (scripts/deps.sh installs it)")
class TLSTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="gct-")
        make_ca(cls.certs, "main")
        make_cert(cls.certs, "main", "node")
        make_ca(cls.certs, "other")
        make_cert(cls.certs, "other", "stranger")
        cls.cluster = TLSCluster(cls.certs, gateways=2, workers=2, extra_set={"register.lease": LEASE})
        try:
            cls.cluster.start()
        except BaseException:
            cls.cluster.dump_logs()
            cls.cluster.stop()
            shutil.rmtree(cls.certs, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def run(self, result=None):
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            self.cluster.dump_logs()
        return out

    def cert(self, name):
        return os.path.join(self.certs, name)

    def tls_context(self, cert="node", ca="main-ca.pem"):
        ctx = ssl.create_default_context(cafile=self.cert(ca))
        if cert:
            ctx.load_cert_chain(self.cert(cert + ".pem"), self.cert(cert + ".key"))
        return ctx

    def test_push_end_to_end_over_tls(self):
        c = self.cluster
        uid = uniq("tls")
        clients = []
        try:
            for g in (0, 1):
                ws = c.ws(g, "uid=" + uid)
                m = ws.recv_json()
                self.assertEqual((m.get("type"), m.get("ok")), ("login", True), m)
                clients.append(ws)
            with c.push(1) as p:
                r = p.request({"type": "send_to_uid", "uid": uid, "data": "over-tls"})
                self.assertEqual((r.get("ok"), r.get("delivered")), (True, 2), r)
                r = p.request({"type": "get_all_client_count"})
                self.assertTrue(r.get("ok"), r)
            for ws in clients:
                self.assertEqual(ws.recv_text(), "over-tls")
        finally:
            for ws in clients:
                ws.close()

    def test_the_links_really_speak_tls(self):
        """The register and every inbox complete a TLS handshake (with a
        client certificate from the cluster's CA) and then speak SP."""
        c = self.cluster
        ports = [(c.register_port, SP_REQ, SP_REP)] + \
            [(port, SP_PUSH, SP_PULL) for port in c.inbox_ports.values()]
        for port, proto, want in ports:
            with self.subTest(port=port):
                conn = SPConn(port, proto, tls=self.tls_context())
                try:
                    self.assertEqual(conn.peer_proto, want)
                    self.assertEqual(conn.sock.version()[:3], "TLS")
                finally:
                    conn.close()
                # Plain SP on the same port gets no SP greeting back.
                with self.assertRaises((ConnectionError, OSError, AssertionError, struct.error)):
                    plain = SPConn(port, proto, timeout=3)
                    plain.close()

    def test_tls_peer_without_a_client_certificate_is_refused(self):
        conn = None
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            conn = SPConn(self.cluster.register_port, SP_REQ, tls=self.tls_context(cert=None))
            # Were it TLS 1.3, a missing client certificate would show after
            # the handshake.
            conn.request(b"x")
            if conn.recv(3) is None:
                raise ConnectionError("no answer")
        if conn is not None:
            conn.close()

    def check_never_joins(self, sets, what):
        c = self.cluster
        members = c.gateways + c.workers
        offsets = {p: log_offset(p) for p in members}
        odd = start_extra(c, "worker", 80, dict({"worker.inbox": ""}, **sets))
        try:
            wait_until(lambda: "event=register_unanswered" in odd.log_text(),
                       "%s: the worker to report an unanswered register" % what, timeout=LEASE + 5)
            self.assertTrue(odd.alive(), "%s: the worker exited:\n%s" % (what, odd.log_text()[-2000:]))
            self.assertEqual(odd.last_view(), (0, 1), "%s: the worker's view" % what)
            for p, off in offsets.items():
                seen = views_in(log_since(p, off))
                self.assertTrue(all(v == (2, 2) for v in seen), "%s: %s's views %r" % (what, p.name, seen))
        finally:
            odd.stop()

    def test_plain_tcp_member_cannot_join_a_tls_register(self):
        self.check_never_joins({"register.connect": "tcp://127.0.0.1:%d" % self.cluster.register_port},
                               "plain tcp:// dialer")

    def test_member_without_a_certificate_cannot_join(self):
        self.check_never_joins({"cluster.tls_cert": "", "cluster.tls_key": ""}, "no client certificate")

    def test_member_trusting_another_ca_cannot_join(self):
        self.check_never_joins({"cluster.tls_ca": self.cert("other-ca.pem"),
                                "cluster.tls_cert": self.cert("stranger.pem"),
                                "cluster.tls_key": self.cert("stranger.key")}, "another CA")

    def test_zz_no_secret_in_any_log(self):
        self.assertEqual(secrets_in_dir(self.cluster.run_dir, [CLUSTER_SECRET]), [])
        for p in self.cluster.procs():
            self.assertTrue(p.alive(), "%s died:\n%s" % (p.name, p.log_text()[-2000:]))


if __name__ == "__main__":
    main(timeout=280)
