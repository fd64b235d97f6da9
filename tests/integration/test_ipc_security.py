#!/usr/bin/env python3
"""
A gateway's ipc:// inbox (a unix stream socket with gatecast's own framing,
cluster/ipc.h) executes nothing for a local process that does not hold
cluster.secret, and nothing replayed from one that did.

The wire, dialer -> listener only (the listener never writes back):

    "GCL1"
    frame 0, the hello: u32be n, then "gatecast ipc hello" sealed (the 40-byte
        trailer of cluster/seal.h) for the inbox URL exactly as announced
    frames 1..: u32be n, then one or more concatenated msgpack messages,
        unsealed: the hello authenticated the connection

The rogue here connects to the socket itself and tries: a wrong magic, an
op with no hello, hellos sealed with another secret / for another inbox /
a minute ago, a correctly sealed op in the hello's place, a frame length of
0x7fffffff (before and after a good hello) and a replay of a hello that was
accepted once. Each must end with the listener closing the connection (EOF
on our side), an `event=ipc_refused` line with the expected reason (and
`event=cluster_message_refused` when the seal failed), a logged-in browser
receiving nothing, and a push through the real worker still arriving. The
positive control (a fresh right hello, then op frames) shows the same
messages ARE executed, exactly once, on a connection that stays open, so
the refusals cannot come from malformed test messages. The socket file is
0600 and the run_dir the gateway made for it 0700; no refused content shows
in the gateway's log.

Both log events are rate-limited (one line a second), so the refusals are
spaced more than a second apart and a test asserts "at least one line".

Run: GATECAST_BUILD=build python3 tests/integration/test_ipc_security.py
"""

import glob
import os
import re
import shutil
import socket
import stat
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import CLUSTER_SECRET, ClusterTestCase, main, uniq, wait_until  # noqa: E402
from test_cluster_security import (OTHER_SECRET, Sealer, log_offset, log_since,  # noqa: E402
                                   op_send_to_all, secrets_in_dir)

MAGIC = b"GCL1"
HELLO_BODY = b"gatecast ipc hello"
HUGE = 0x7FFFFFFF          # far above the 64 MiB frame limit
CLOSE_TIMEOUT = 3.0        # the listener closes a refused connection within this
LOG_TIMEOUT = 3.0
RATE_LIMIT = 1.1           # ipc_refused / cluster_message_refused: one line a second
INBOX_RE = re.compile(r"\bevent=ready\b.*\binbox=(ipc://\S+)")


# ----------------------------------------------------------------- the wire

def frame(payload):
    """One frame: u32 big-endian length, then the bytes."""
    return struct.pack(">I", len(payload)) + payload


def hello(sealer, to, body=HELLO_BODY, **seal_kw):
    """Frame 0: body sealed for `to` (an inbox URL)."""
    return frame(sealer.seal(body, to, **seal_kw))


def ops(*texts):
    """One batch frame: a send_to_all op per text, back to back."""
    return frame(b"".join(op_send_to_all(t) for t in texts))


def ipc_connect(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def closed_by_peer(sock, timeout):
    """True when the listener closes the connection within timeout (EOF, or
    a reset because it dropped bytes it had not read), False when it is still
    open. The listener never writes: bytes from it fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            data = sock.recv(4096)
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True
        if not data:
            return True
        raise AssertionError("the ipc listener wrote to its dialer: %r" % data[:100])


def inbox_url(proc):
    """The ipc:// inbox URL a gateway or worker logged in its ready line."""
    m = INBOX_RE.search(proc.log_text())
    if m is None:
        raise AssertionError("%s logged no `event=ready ... inbox=ipc://...` line" % proc.name)
    return m.group(1)


def events(text, event):
    """The key=value fields of every `event=<event>` line in text."""
    out = []
    for line in text.splitlines():
        if re.search(r"\bevent=%s\b" % re.escape(event), line):
            out.append(dict(re.findall(r"\b(\w+)=(\"[^\"]*\"|\S+)", line)))
    return out


# ----------------------------------------------------------------- the tests

class IpcInboxTest(ClusterTestCase):
    """One gateway and one worker on their default ipc:// inboxes, in a
    run_dir that does not exist before they start (so its mode is theirs)."""

    _last_refusal = 0.0

    @classmethod
    def setUpClass(cls):
        cls.parent = tempfile.mkdtemp(prefix="gci-")
        cls.run_dir = os.path.join(cls.parent, "run")
        # Later --set wins over the fixture's cluster.run_dir (which keeps the logs).
        cls.CLUSTER = dict(gateways=1, workers=1, extra_set={"cluster.run_dir": cls.run_dir})
        try:
            super().setUpClass()
        except BaseException:
            shutil.rmtree(cls.parent, ignore_errors=True)
            raise
        cls.gateway = cls.cluster.gateways[0]
        cls.url = inbox_url(cls.gateway)
        cls.path = cls.url[len("ipc://"):]
        cls.worker_url = inbox_url(cls.cluster.workers[0])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.parent, ignore_errors=True)

    # ------------------------------------------------------------- helpers

    def victim(self):
        """A logged-in browser that a legit push reaches."""
        ws, _ = self.connect(0, uid=uniq("victim"))
        self.assert_legit_push_arrives(ws)
        return ws

    def assert_legit_push_arrives(self, ws):
        """A push through the push port and the real worker (whose link into
        this same inbox must still work) arrives, and nothing else."""
        text = uniq("legit")
        self.request({"type": "send_to_all", "data": text})
        self.assertNextText(ws, text, timeout=5)
        self.assertNothing(ws, 0.3)

    def space_refusals(self):
        """Waits until the previous refusal's log lines can no longer
        suppress the next one's."""
        wait = IpcInboxTest._last_refusal + RATE_LIMIT - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def wait_event(self, offset, event, what, **fields):
        """Waits for an `event=<event>` line with fields in the gateway's log
        after offset."""
        def found():
            return any(all(e.get(k) == v for k, v in fields.items())
                       for e in events(log_since(self.gateway, offset), event))
        try:
            wait_until(found, "%s: event=%s %s in the gateway's log" % (
                what, event, " ".join("%s=%s" % kv for kv in fields.items())), timeout=LOG_TIMEOUT)
        except AssertionError as e:
            seen = events(log_since(self.gateway, offset), event)
            raise AssertionError("%s; lines of that event seen: %r" % (e, seen)) from None

    def assert_refused(self, ws, what, data, reason, seal_reason=None, sock=None):
        """Sends data on a new connection (or on sock) and asserts: the
        listener closes it, logs ipc_refused with reason (and
        cluster_message_refused with seal_reason), and ws got nothing."""
        self.space_refusals()
        off = log_offset(self.gateway)
        own = sock is None
        if own:
            sock = ipc_connect(self.path)
        try:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed while we were still writing: closed_by_peer says so
            closed = closed_by_peer(sock, CLOSE_TIMEOUT)
            IpcInboxTest._last_refusal = time.monotonic()
        finally:
            if own:
                sock.close()
        # The worst failure first: something was executed.
        self.assertEqual(ws.pump(0.3), 0, "%s: the browser received %r" % (what, ws.pending()))
        self.assertTrue(closed, "%s: the listener kept the connection open for %.0fs"
                        % (what, CLOSE_TIMEOUT))
        self.wait_event(off, "ipc_refused", what, path=self.path, reason=reason)
        if seal_reason is not None:
            self.wait_event(off, "cluster_message_refused", what, reason=seal_reason)
        self.assert_legit_push_arrives(ws)
        self.assert_not_in_log(off, what)

    def assert_not_in_log(self, offset, what):
        log = log_since(self.gateway, offset)
        self.assertNotIn("pwned", log, "%s: refused content in the gateway's log" % what)
        self.assertNotIn(b"pwned".hex(), log, "%s: refused content (hex) in the gateway's log" % what)

    def open_link(self, sealer=None):
        """A connection past a fresh, right hello. Returns (socket, the
        hello's bytes)."""
        h = hello(sealer or Sealer(CLUSTER_SECRET), self.url)
        sock = ipc_connect(self.path)
        sock.sendall(MAGIC + h)
        return sock, h

    # ------------------------------------------------------------- the file

    def test_socket_file_is_0600_in_a_0700_directory(self):
        paths = glob.glob(os.path.join(self.run_dir, "gateway-*.ipc"))
        self.assertEqual(paths, [self.path], "the gateway's socket files in its run_dir")
        st = os.stat(self.path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode), "%s is not a socket" % self.path)
        self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(0o600), "mode of %s" % self.path)
        self.assertEqual(st.st_uid, os.getuid(), "owner of %s" % self.path)
        dst = os.stat(os.path.dirname(self.path))
        self.assertEqual(oct(stat.S_IMODE(dst.st_mode)), oct(0o700),
                         "mode of the run_dir the gateway created")

    # ------------------------------------------------------------- positive control

    def test_right_hello_then_ops_are_executed_once_on_a_link_that_stays_open(self):
        ws = self.victim()
        sock, _ = self.open_link()
        try:
            sock.sendall(ops("control-1"))
            self.assertNextText(ws, "control-1", timeout=5)
            self.assertNothing(ws, 0.5)
            self.assertFalse(closed_by_peer(sock, 0.5), "the listener closed a good connection")

            # A batch: two messages in one frame, the frame written in two pieces.
            batch = ops("control-2", "control-3")
            sock.sendall(batch[:7])
            time.sleep(0.2)
            sock.sendall(batch[7:])
            self.assertNextText(ws, "control-2", timeout=5)
            self.assertNextText(ws, "control-3", timeout=5)
            self.assertNothing(ws, 0.5)
            self.assertFalse(closed_by_peer(sock, 0.3), "the listener closed a good connection")
        finally:
            sock.close()
        self.assert_legit_push_arrives(ws)

    # ------------------------------------------------------------- refusals

    def test_wrong_magic_is_refused(self):
        ws = self.victim()
        data = b"XXXX" + hello(Sealer(CLUSTER_SECRET), self.url) + ops("pwned-magic")
        self.assert_refused(ws, "wrong magic", data, "bad_hello")

    def test_op_without_a_hello_is_refused(self):
        ws = self.victim()
        self.assert_refused(ws, "an unsealed op as frame 0", MAGIC + ops("pwned-nohello"),
                            "hello_refused")

    def test_bad_hellos_are_refused(self):
        right = Sealer(CLUSTER_SECRET)
        now = int(time.time() * 1000)
        cases = [
            ("hello sealed with another secret", hello(Sealer(OTHER_SECRET), self.url), "forged"),
            ("hello sealed for the worker's inbox", hello(right, self.worker_url), "forged"),
            ("hello sealed for the path without ipc://", hello(right, self.path), "forged"),
            ("hello a minute old", hello(right, self.url, now_ms=now - 60000), "stale"),
            # Sealed right, so only the hello check stands between it and execution.
            ("an op sealed right in the hello's place",
             frame(right.seal(op_send_to_all("pwned-op0"), self.url)), None),
            ("another body sealed right", hello(right, self.url, body=b"gatecast ipc hellO"), None),
        ]
        for what, h, seal_reason in cases:
            with self.subTest(what):
                self.assert_refused(self.victim(), what, MAGIC + h + ops("pwned-hello"),
                                    "hello_refused", seal_reason=seal_reason)

    def test_huge_frame_lengths_are_refused(self):
        with self.subTest("after a good hello"):
            ws = self.victim()
            sock, _ = self.open_link()
            try:
                # The hello was accepted: this op runs, so the refusal below is the length's.
                sock.sendall(ops("before-the-huge-frame"))
                self.assertNextText(ws, "before-the-huge-frame", timeout=5)
                self.assert_refused(ws, "frame length 0x7fffffff after the hello",
                                    struct.pack(">I", HUGE) + b"pwned-huge", "frame_too_large",
                                    sock=sock)
            finally:
                sock.close()
        with self.subTest("as the hello"):
            self.assert_refused(self.victim(), "hello length 0x7fffffff",
                                MAGIC + struct.pack(">I", HUGE) + b"pwned-huge-hello", "frame_too_large")

    def test_replayed_hello_is_refused(self):
        ws = self.victim()
        sock, accepted = self.open_link()
        try:
            sock.sendall(ops("first-use"))
            self.assertNextText(ws, "first-use", timeout=5)
        finally:
            sock.close()
        self.assert_refused(ws, "the accepted hello again, on a new connection",
                            MAGIC + accepted + ops("pwned-replay"), "hello_refused",
                            seal_reason="replayed")

    def test_zz_nothing_refused_or_secret_in_the_logs(self):
        self.assertNotIn("pwned", self.gateway.log_text(), "refused content in the gateway's log")
        self.assertEqual(secrets_in_dir(self.cluster.run_dir, [CLUSTER_SECRET, OTHER_SECRET]), [],
                         "secrets in the logs")


if __name__ == "__main__":
    main(timeout=280)
