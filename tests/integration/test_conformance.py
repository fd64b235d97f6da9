#!/usr/bin/env python3
"""
RFC 6455 conformance of the gateway, in the spirit of the Autobahn|Testsuite
fuzzingclient cases 1.x-10.x (no compression), against the echo app: every
message goes gateway -> worker -> gateway and comes back byte-exact with its
opcode.

Every byte is under the test's control (raw frames through wsclient). Each
case is strict:
  * echoes are byte-exact, and every frame the server sends is checked on the
    wire: unmasked (§5.1), RSV 0 (§5.2), minimal length encoding (§5.2),
    control frames unfragmented and at most 125 bytes (§5.5);
  * a failure case must get the exact close code (§7.4.1) and nothing the case
    does not allow before it; then the client answers the close (§5.5.1) and
    the server must end TCP (§7.1.1);
  * a witness connection per test class must still echo after every test.

Cases of one kind (reserved bits, opcodes, close codes, UTF-8 sequences...)
run on parallel connections so that the server's close timers overlap;
subTest names the case that failed, with the bytes sent.

Run: GATECAST_BUILD=build python3 tests/integration/test_conformance.py
"""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import ClusterTestCase, main, uniq  # noqa: E402
from wsclient import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT  # noqa: E402

CLOSE_WAIT = 5.0     # the server's close frame must come within this
EOF_WAIT = 3.0       # after the close handshake the server ends TCP within this
PROMPT_EOF = 1.0     # ...and, strictly (§7.1.1 "immediately"), within this
FAIL_FAST = 2.0      # a violation must be answered within this while we withhold the rest
ECHO_WAIT = 10.0

PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
TOO_BIG = 1009


# ------------------------------------------------------------------ bytes

def frame(opcode, payload=b"", fin=True, rsv=0, mask=True):
    return wsclient.encode_frame(opcode, payload, fin=fin, rsv=rsv, mask=mask)


def text(payload, fin=True, rsv=0):
    return frame(OP_TEXT, payload, fin=fin, rsv=rsv)


def cont(payload, fin=True):
    return frame(OP_CONT, payload, fin=fin)


def close(code=1000, reason=b""):
    if code is None:
        return frame(OP_CLOSE, b"")
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return frame(OP_CLOSE, struct.pack("!H", code) + reason)


def header(opcode, length, fin=True, mask_key=b"\x01\x02\x03\x04", form=None):
    """Only a frame header (masked) declaring `length`; form forces the
    7/16/64-bit length encoding."""
    b0 = (0x80 if fin else 0) | opcode
    if form is None:
        form = 7 if length < 126 else 16 if length < 65536 else 64
    if form == 7:
        h = struct.pack("!BB", b0, 0x80 | length)
    elif form == 16:
        h = struct.pack("!BBH", b0, 0x80 | 126, length)
    else:
        h = struct.pack("!BBQ", b0, 0x80 | 127, length)
    return h + mask_key


def masked_part(data, mask_key=b"\x01\x02\x03\x04", offset=0):
    """data masked as the bytes at `offset` of a payload under mask_key."""
    key = (mask_key[offset % 4:] + mask_key[:offset % 4])
    return wsclient.mask_payload(key, data)


def fragments(opcode, data, sizes):
    """One message as frames of the given sizes (remainder in the last)."""
    parts, pos = [], 0
    for s in sizes:
        parts.append(data[pos:pos + s])
        pos += s
    if pos < len(data) or not parts:
        parts.append(data[pos:])
    return b"".join(frame(opcode if i == 0 else OP_CONT, p, fin=(i == len(parts) - 1))
                    for i, p in enumerate(parts))


def hexs(b, n=48):
    h = b[:n].hex(" ")
    return h + (" ...(%d bytes)" % len(b) if len(b) > n else "")


def close_desc(payload):
    if len(payload) == 0:
        return "close with no code"
    if len(payload) == 1:
        return "close with a 1-byte body %s" % hexs(payload)
    (code,) = struct.unpack("!H", payload[:2])
    return "close %d %r" % (code, payload[2:])


def text_of_size(n, seed=0):
    """Valid UTF-8 of exactly n bytes with 1-4 byte characters."""
    alphabet = ["a", "Z", "0", " ", "é", "ß", "✓", "日", "😀", "\U0010ffff"]
    out, size, i = [], 0, seed
    while size < n:
        ch = alphabet[(i * 7 + 3) % len(alphabet)]
        i += 1
        b = len(ch.encode("utf-8"))
        if size + b > n:
            ch, b = "x", 1
        out.append(ch)
        size += b
    return "".join(out).encode("utf-8")


# ------------------------------------------------------------------ cases

class Case:
    """A connection-level case: chunks are written one by one (pause seconds
    apart); the server must answer with close `code` (an int, None for a
    close without code, or a tuple of accepted ones); `allow` lists frames
    ((opcode, payload)) it MAY send before that close; reply=False when the
    case's bytes already contain our close."""

    def __init__(self, name, chunks, code, allow=(), pause=0.0, reply=True):
        self.name = name
        self.chunks = [chunks] if isinstance(chunks, bytes) else list(chunks)
        self.code = code
        self.allow = list(allow)
        self.pause = pause
        self.reply = reply

    def sent(self):
        return " | ".join(hexs(c) for c in self.chunks)

    def __str__(self):
        return "%s [sent: %s]" % (self.name, self.sent())


def parse_close(payload):
    """(code or None, reason bytes)."""
    if len(payload) < 2:
        return None, b""
    return struct.unpack("!H", payload[:2])[0], payload[2:]


def watch_eof(conns, timeout):
    """Watches several clients at once for the server ending TCP. conns:
    [(client, since)]. Returns [(seconds from since to EOF or None, bytes
    that arrived meanwhile)], so the times are right also for a batch."""
    import selectors
    sel = selectors.DefaultSelector()
    results = [[None, b""] for _ in conns]
    now = time.monotonic()
    for i, (c, since) in enumerate(conns):
        results[i][1] = bytes(c._buf)
        del c._buf[:]
        if c.sock is None:
            results[i][0] = max(0.0, now - since)
        else:
            c.sock.setblocking(False)
            sel.register(c.sock, selectors.EVENT_READ, i)
    deadline = max([since for _, since in conns] or [now]) + timeout
    while sel.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        for key, _ in sel.select(remaining):
            i = key.data
            c, since = conns[i]
            try:
                chunk = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                results[i][1] += chunk
                continue
            results[i][0] = time.monotonic() - since
            sel.unregister(c.sock)
            c.abort()
    sel.close()
    return [tuple(r) for r in results]


# ------------------------------------------------------------------ base class

class ConformanceCase(ClusterTestCase):
    """Helpers shared by the conformance classes; a witness client per class
    must still echo after every test."""

    witness = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.cluster is not None:
            cls.witness = cls.cluster.ws(0)
            cls._witness_echo(cls.witness)

    @staticmethod
    def _witness_echo(w):
        token = uniq("witness").encode()
        w.send_text(token)
        deadline = time.monotonic() + ECHO_WAIT
        while True:
            m = w.recv(max(0.01, deadline - time.monotonic()))
            if m.is_text and m.data == token:
                return

    def tearDown(self):
        try:
            if self.witness is not None:
                try:
                    self._witness_echo(self.witness)
                except (wsclient.WSError, OSError) as e:
                    self.fail("the witness connection no longer echoes after this test: %s" % e)
        finally:
            super().tearDown()

    # --------------------------------------------------------------- wire checks

    def check_wire(self, f, head, ctx=""):
        """One server frame against §5.1/§5.2/§5.5."""
        self.assertFalse(f.masked, "%sserver frame is masked (§5.1 forbids): %r" % (ctx, f))
        self.assertEqual(f.rsv, 0, "%sserver frame has RSV bits without an extension (§5.2): %r" % (ctx, f))
        n = len(f.payload)
        want = 2 if n < 126 else 4 if n < 65536 else 10
        self.assertEqual(len(head), want, "%sserver frame of %d bytes uses a %d-byte header; §5.2 requires "
                         "the minimal length encoding (%d)" % (ctx, n, len(head), want))
        self.assertIn(f.opcode, (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG),
                      "%sserver frame with a reserved opcode: %r" % (ctx, f))
        if f.opcode >= 8:
            self.assertTrue(f.fin and n <= 125, "%sserver control frame fragmented or > 125 bytes (§5.5): %r"
                            % (ctx, f))

    def read_msg(self, c, timeout=ECHO_WAIT, ctx=""):
        """The next data message (opcode, payload), every frame checked on
        the way; server pings are answered, pongs recorded in
        c.pong_payloads."""
        deadline = time.monotonic() + timeout
        op, parts = None, []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail("%sno (complete) message within %.1fs" % (ctx, timeout))
            try:
                f, head = c.recv_frame_wire(remaining)
            except wsclient.WSTimeout:
                self.fail("%sno (complete) message within %.1fs" % (ctx, timeout))
            except wsclient.WSClosed as e:
                self.fail("%sthe server dropped TCP instead of sending a message: %s" % (ctx, e))
            self.check_wire(f, head, ctx)
            if f.opcode == OP_CLOSE:
                self.fail("%sthe server sent %s instead of a message" % (ctx, close_desc(f.payload)))
            if f.opcode == OP_PING:
                c.send_raw(frame(OP_PONG, f.payload))
                continue
            if f.opcode == OP_PONG:
                c.pong_payloads.append(f.payload)
                continue
            if f.opcode == OP_CONT:
                self.assertIsNotNone(op, "%sserver sent a continuation without a message start" % ctx)
            else:
                self.assertIsNone(op, "%sserver started a message inside another" % ctx)
                op = f.opcode
            parts.append(f.payload)
            if f.fin:
                data = b"".join(parts)
                if op == OP_TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError:
                        self.fail("%sserver sent a text message that is not UTF-8: %s" % (ctx, hexs(data)))
                return op, data

    def assertEcho(self, c, opcode, payload, timeout=ECHO_WAIT, ctx=""):
        op, data = self.read_msg(c, timeout, ctx)
        kind = {OP_TEXT: "text", OP_BINARY: "binary"}
        self.assertEqual(op, opcode, "%sexpected a %s echo, got opcode %d" % (ctx, kind.get(opcode), op))
        if data != payload:
            i = next((k for k in range(min(len(data), len(payload))) if data[k] != payload[k]),
                     min(len(data), len(payload)))
            self.fail("%secho differs: sent %d bytes, got %d; first difference at byte %d (sent %s / got %s)"
                      % (ctx, len(payload), len(data), i, hexs(payload[i:i + 16]), hexs(data[i:i + 16])))

    def pongs(self, c, n, timeout=ECHO_WAIT, ctx=""):
        """Reads until n pongs have arrived (data messages are returned too)."""
        deadline = time.monotonic() + timeout
        msgs = []
        while len(c.pong_payloads) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail("%sonly %d of %d pongs within %.1fs: %r" % (ctx, len(c.pong_payloads), n, timeout,
                                                                     c.pong_payloads))
            try:
                f, head = c.recv_frame_wire(remaining)
            except wsclient.WSTimeout:
                continue
            except wsclient.WSClosed as e:
                self.fail("%sconnection dropped while waiting for pongs: %s" % (ctx, e))
            self.check_wire(f, head, ctx)
            if f.opcode == OP_PONG:
                c.pong_payloads.append(f.payload)
            elif f.opcode == OP_PING:
                c.send_raw(frame(OP_PONG, f.payload))
            elif f.opcode == OP_CLOSE:
                self.fail("%sthe server sent %s while we waited for pongs" % (ctx, close_desc(f.payload)))
            else:
                msgs.append(f)
        return msgs

    # ------------------------------------------------------------ failures

    def read_close(self, c, timeout=CLOSE_WAIT):
        """Frames until the server's close: (frames before, close frame | None
        on EOF | "timeout")."""
        deadline = time.monotonic() + timeout
        frames = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return frames, "timeout"
            try:
                f, head = c.recv_frame_wire(remaining)
            except wsclient.WSTimeout:
                return frames, "timeout"
            except wsclient.WSClosed:
                return frames, None
            self.check_wire(f, head)
            if f.opcode == OP_CLOSE:
                return frames, f
            frames.append(f)

    def assertServerCloses(self, c, code, ctx, allow=(), reply=True, timeout=CLOSE_WAIT):
        """Phase 1 of a failure case: the server's close frame carries
        `code` (see Case) and only `allow`ed frames came before; then our
        close answer (§5.5.1: echo the code). Returns when we answered."""
        ctx = "%s: " % ctx
        frames, cf = self.read_close(c, timeout)
        allowed = [(op, p) for op, p in allow]
        extra = [f for f in frames if (f.opcode, f.payload) not in allowed]
        want = code if isinstance(code, tuple) else (code,)
        want_s = " or ".join("close with no code" if w is None else "close %d" % w for w in want)
        if cf == "timeout":
            self.fail("%sexpected %s, but nothing closed within %.1fs (frames: %r)" % (ctx, want_s, timeout, frames))
        if cf is None:
            self.fail("%sexpected %s, but the server dropped TCP without a close frame (frames before: %r)"
                      % (ctx, want_s, frames))
        self.assertEqual(extra, [], "%sunexpected frames before the server's close: %r" % (ctx, extra))
        self.assertNotEqual(len(cf.payload), 1, "%sserver close with a 1-byte body" % ctx)
        got, reason = parse_close(cf.payload)
        if got not in want:
            self.fail("%sexpected %s, got %s" % (ctx, want_s, close_desc(cf.payload)))
        try:
            reason.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("%sserver close reason is not UTF-8: %r" % (ctx, reason))
        if reply:
            try:
                c.send_raw(frame(OP_CLOSE, cf.payload[:2]))
            except wsclient.WSError:
                pass
        return time.monotonic()

    def assertServerEOF(self, c, ctx, since, within=EOF_WAIT):
        """Phase 2: the server ends TCP within `within` of `since` and sends
        nothing after its close frame (§5.5.1, §7.1.1)."""
        (res,) = watch_eof([(c, since)], within + 3.0)
        self.check_eof(res, ctx, within)

    def check_eof(self, res, ctx, within):
        took, extra = res
        self.assertEqual(extra, b"", "%s: the server sent bytes after its close frame: %s" % (ctx, hexs(extra)))
        if took is None:
            self.fail("%s: the server did not close TCP within %.1fs after the close handshake (still open "
                      "%.1fs later)" % (ctx, within, within + 3.0))
        if took > within:
            self.fail("%s: the server closed TCP %.2fs after the close handshake completed (bound %.1fs)"
                      % (ctx, took, within))

    def run_cases(self, cases, eof_within=EOF_WAIT):
        """Runs failure cases on parallel connections, each as a subTest."""
        conns = [self.ws(0) for _ in cases]
        for case, c in zip(cases, conns):
            for i, chunk in enumerate(case.chunks):
                if i and case.pause:
                    time.sleep(case.pause)
                try:
                    c.send_raw(chunk)
                except wsclient.WSError:
                    break
        answered = []
        for case, c in zip(cases, conns):
            with self.subTest(case=str(case)):
                t = self.assertServerCloses(c, case.code, case, case.allow, case.reply)
                answered.append((case, c, t))
        results = watch_eof([(c, t) for case, c, t in answered], eof_within + 3.0)
        for (case, c, t), res in zip(answered, results):
            with self.subTest(case=str(case), check="server ends TCP"):
                self.check_eof(res, case, eof_within)
        for c in conns:
            c.abort()

    def fail_case(self, name, chunks, code, **kw):
        self.run_cases([Case(name, chunks, code, **kw)])


ECHO = dict(gateways=1, workers=2, app="echo")


# ------------------------------------------------------------------ 1.x framing

class FramingTest(ConformanceCase):
    """Autobahn 1.x/9.x-style framing: every length class, both opcodes."""

    CLUSTER = dict(ECHO, extra_set={"gateway.max_message": "64K"})
    SIZES = [0, 1, 125, 126, 127, 65535, 65536]

    def test_text_sizes(self):
        c = self.ws(0)
        for n in self.SIZES:
            with self.subTest(size=n):
                p = text_of_size(n, n)
                c.send_raw(text(p))
                self.assertEcho(c, OP_TEXT, p, ctx="text of %d bytes: " % n)

    def test_binary_sizes(self):
        c = self.ws(0)
        for n in self.SIZES:
            with self.subTest(size=n):
                p = os.urandom(n)
                c.send_raw(frame(OP_BINARY, p))
                self.assertEcho(c, OP_BINARY, p, ctx="binary of %d bytes: " % n)

    def test_length_encodings(self):
        """7-bit (125), 16-bit (126, 65535) and 64-bit (65536) length forms,
        header forced per form; the echo uses the minimal form too."""
        c = self.ws(0)
        for n, form in [(0, 7), (125, 7), (126, 16), (1000, 16), (65535, 16), (65536, 64)]:
            with self.subTest(length=n, form=form):
                p = bytes(range(256)) * (n // 256 + 1)
                p = p[:n]
                key = os.urandom(4)
                c.send_raw(header(OP_BINARY, n, mask_key=key, form=form) + masked_part(p, key))
                self.assertEcho(c, OP_BINARY, p, ctx="%d bytes with a %d-bit length: " % (n, form))

    def test_1000_small_frames_in_order(self):
        c = self.ws(0)
        sent = []
        for i in range(1000):
            if i % 3:
                p = ("m%d-" % i).encode() + b"x" * (i % 50)
                sent.append((OP_TEXT, p))
            else:
                p = bytes([i & 0xFF]) * (i % 40)
                sent.append((OP_BINARY, p))
        c.send_raw(b"".join(frame(op, p) for op, p in sent))
        for i, (op, p) in enumerate(sent):
            self.assertEcho(c, op, p, ctx="message %d of 1000: " % i)

    def test_message_written_byte_by_byte(self):
        """A text (16-bit length), a binary and a ping, each byte its own TCP
        write."""
        c = self.ws(0)
        t = text_of_size(300, 5)
        b = os.urandom(130)
        data = text(t) + frame(OP_BINARY, b) + frame(OP_PING, b"byte-by-byte")
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
            time.sleep(0.0005)
        self.assertEcho(c, OP_TEXT, t, ctx="text sent byte by byte: ")
        self.assertEcho(c, OP_BINARY, b, ctx="binary sent byte by byte: ")
        self.pongs(c, 1, ctx="ping sent byte by byte: ")
        self.assertEqual(c.pong_payloads, [b"byte-by-byte"])

    def test_message_in_997_byte_chops(self):
        """Autobahn 1.1.8/1.2.8: 65535 bytes written in 997-byte chops."""
        c = self.ws(0)
        for op, p in [(OP_TEXT, text_of_size(65535, 3)), (OP_BINARY, os.urandom(65535))]:
            data = frame(op, p)
            for i in range(0, len(data), 997):
                c.send_raw(data[i:i + 997])
            self.assertEcho(c, op, p, ctx="65535 bytes in 997-byte chops: ")

    def test_unmasked_client_frames(self):
        """§5.1: a server MUST close on an unmasked client frame."""
        self.run_cases([
            Case("unmasked text", frame(OP_TEXT, b"Hello", mask=False), PROTOCOL_ERROR),
            Case("unmasked binary", frame(OP_BINARY, b"\x00\x01", mask=False), PROTOCOL_ERROR),
            Case("unmasked empty text", frame(OP_TEXT, b"", mask=False), PROTOCOL_ERROR),
            Case("unmasked ping", frame(OP_PING, b"p", mask=False), PROTOCOL_ERROR),
            Case("unmasked close", frame(OP_CLOSE, struct.pack("!H", 1000), mask=False), PROTOCOL_ERROR),
            Case("masked text, then unmasked text", [text(b"ok") + frame(OP_TEXT, b"bad", mask=False)],
                 PROTOCOL_ERROR, allow=[(OP_TEXT, b"ok")]),
        ])

    def test_64bit_length_with_top_bit_set(self):
        """§5.2: the most significant bit of a 64-bit length MUST be 0."""
        h = struct.pack("!BBQ", 0x82, 0xFF, 1 << 63) + b"\x00\x00\x00\x00"
        self.fail_case("binary, 64-bit length 0x8000000000000000", h, PROTOCOL_ERROR)


# ------------------------------------------------------------------ 2.x ping/pong

class PingPongTest(ConformanceCase):
    CLUSTER = dict(ECHO, extra_set={"gateway.max_message": "64K"})

    def test_ping_payload_echoed_in_pong(self):
        c = self.ws(0)
        payloads = [b"", b"Hello, world!", bytes(range(125)), b"\xff\xfe\x00\x01" * 31 + b"x"]
        for i, p in enumerate(payloads):
            c.send_raw(frame(OP_PING, p))
            self.pongs(c, i + 1, ctx="ping of %d bytes: " % len(p))
        self.assertEqual(c.pong_payloads, payloads)

    def test_ping_of_126_bytes(self):
        """Autobahn 2.5 / §5.5: control frames carry at most 125 bytes."""
        self.fail_case("ping with a 126-byte payload", frame(OP_PING, b"\xfe" * 126), PROTOCOL_ERROR)

    def test_pong_of_126_bytes(self):
        self.fail_case("pong with a 126-byte payload", frame(OP_PONG, b"\xfe" * 126), PROTOCOL_ERROR)

    def test_fragmented_ping_and_pong(self):
        """Autobahn 5.1/5.2 / §5.5: control frames MUST NOT be fragmented."""
        self.run_cases([
            Case("ping FIN=0 + continuation", frame(OP_PING, b"ping ", fin=False) + cont(b"payload"),
                 PROTOCOL_ERROR),
            Case("pong FIN=0 + continuation", frame(OP_PONG, b"pong ", fin=False) + cont(b"payload"),
                 PROTOCOL_ERROR),
            Case("ping FIN=0 alone", frame(OP_PING, b"x", fin=False), PROTOCOL_ERROR),
        ])

    def test_unsolicited_pong_is_ignored(self):
        """Autobahn 2.7/2.8/2.9 / §5.5.3: an unsolicited pong is ignored."""
        c = self.ws(0)
        c.send_raw(frame(OP_PONG, b""))
        c.send_raw(frame(OP_PONG, b"unsolicited pong payload"))
        c.send_raw(frame(OP_PING, b"ping payload"))
        self.pongs(c, 1, ctx="ping after unsolicited pongs: ")
        self.assertEqual(c.pong_payloads, [b"ping payload"])
        c.send_raw(text(b"still here"))
        self.assertEcho(c, OP_TEXT, b"still here", ctx="echo after unsolicited pongs: ")

    def test_ten_pings_answered_in_order(self):
        """Autobahn 2.10/2.11: 10 pings in one write and in 10 writes."""
        c = self.ws(0)
        c.send_raw(b"".join(frame(OP_PING, b"burst-%d" % i) for i in range(10)))
        self.pongs(c, 10, ctx="10 pings in one write: ")
        for i in range(10):
            c.send_raw(frame(OP_PING, b"single-%d" % i))
            time.sleep(0.01)
        self.pongs(c, 20, ctx="10 pings in 10 writes: ")
        self.assertEqual(c.pong_payloads, [b"burst-%d" % i for i in range(10)] +
                         [b"single-%d" % i for i in range(10)])


# ------------------------------------------------------------------ 3.x/4.x reserved bits, opcodes

class ReservedTest(ConformanceCase):
    CLUSTER = dict(ECHO, extra_set={"gateway.max_message": "64K"})

    def test_reserved_bits(self):
        """Autobahn 3.1-3.7 / §5.2: RSV bits without a negotiated extension
        fail the connection; an echo of the valid message before may come,
        a pong for the ping after MUST NOT."""
        hello = b"Hello, world!"
        ok = [(OP_TEXT, hello)]
        self.run_cases([
            Case("3.1 text RSV=1", text(hello, rsv=1), PROTOCOL_ERROR),
            Case("3.2 text, text RSV=2, ping", text(hello) + text(hello, rsv=2) + frame(OP_PING),
                 PROTOCOL_ERROR, allow=ok),
            Case("3.3 text, text RSV=3, ping (separate writes)", [text(hello), text(hello, rsv=3), frame(OP_PING)],
                 PROTOCOL_ERROR, allow=ok, pause=0.05),
            Case("3.4 text, text RSV=4, ping", text(hello) + text(hello, rsv=4) + frame(OP_PING),
                 PROTOCOL_ERROR, allow=ok),
            Case("3.5 binary RSV=5", frame(OP_BINARY, bytes(range(256)), rsv=5), PROTOCOL_ERROR),
            Case("3.6 ping RSV=6", frame(OP_PING, hello, rsv=6), PROTOCOL_ERROR),
            Case("3.7 close RSV=7", frame(OP_CLOSE, struct.pack("!H", 1000), rsv=7), PROTOCOL_ERROR),
            Case("pong RSV=1", frame(OP_PONG, b"", rsv=1), PROTOCOL_ERROR),
            Case("continuation RSV=2", text(b"frag", fin=False) + frame(OP_CONT, b"ment", rsv=2),
                 PROTOCOL_ERROR),
        ])

    def test_reserved_data_opcodes(self):
        """Autobahn 4.1.x / §5.2: opcodes 3-7 are reserved."""
        hello = b"Hello, world!"
        self.run_cases([
            Case("4.1.1 opcode 3", frame(3), PROTOCOL_ERROR),
            Case("4.1.2 opcode 4 with payload", frame(4, b"reserved opcode payload"), PROTOCOL_ERROR),
            Case("4.1.3 text, opcode 5, ping", text(hello) + frame(5) + frame(OP_PING),
                 PROTOCOL_ERROR, allow=[(OP_TEXT, hello)]),
            Case("4.1.4 text, opcode 6 with payload, ping", text(hello) + frame(6, b"payload") + frame(OP_PING),
                 PROTOCOL_ERROR, allow=[(OP_TEXT, hello)]),
            Case("4.1.5 text, opcode 7 with payload, ping (separate writes)",
                 [text(hello), frame(7, b"payload"), frame(OP_PING)], PROTOCOL_ERROR,
                 allow=[(OP_TEXT, hello)], pause=0.05),
            Case("opcode 6 inside a fragmented message", text(b"a", fin=False) + frame(6, b"x"),
                 PROTOCOL_ERROR),
        ])

    def test_reserved_control_opcodes(self):
        """Autobahn 4.2.x / §5.2: opcodes 0xB-0xF are reserved."""
        hello = b"Hello, world!"
        self.run_cases([
            Case("4.2.1 opcode 0xB", frame(0xB), PROTOCOL_ERROR),
            Case("4.2.2 opcode 0xC with payload", frame(0xC, b"reserved opcode payload"), PROTOCOL_ERROR),
            Case("4.2.3 text, opcode 0xD, ping", text(hello) + frame(0xD) + frame(OP_PING),
                 PROTOCOL_ERROR, allow=[(OP_TEXT, hello)]),
            Case("4.2.4 text, opcode 0xE with payload, ping", text(hello) + frame(0xE, b"p") + frame(OP_PING),
                 PROTOCOL_ERROR, allow=[(OP_TEXT, hello)]),
            Case("4.2.5 text, opcode 0xF with payload, ping (separate writes)",
                 [text(hello), frame(0xF, b"payload"), frame(OP_PING)], PROTOCOL_ERROR,
                 allow=[(OP_TEXT, hello)], pause=0.05),
            Case("opcode 0xB inside a fragmented message", text(b"a", fin=False) + frame(0xB),
                 PROTOCOL_ERROR),
        ])


# ------------------------------------------------------------------ 5.x fragmentation

class FragmentationTest(ConformanceCase):
    CLUSTER = dict(ECHO, extra_set={"gateway.max_message": "64K"})

    def test_text_in_two_fragments(self):
        """Autobahn 5.3-5.5: one write, two writes, two writes apart."""
        c = self.ws(0)
        c.send_raw(text(b"fragment1", fin=False) + cont(b"fragment2"))
        self.assertEcho(c, OP_TEXT, b"fragment1fragment2", ctx="5.3: ")
        c.send_raw(text(b"fragment1", fin=False))
        c.send_raw(cont(b"fragment2"))
        self.assertEcho(c, OP_TEXT, b"fragment1fragment2", ctx="5.4: ")
        c.send_raw(text(b"fragment1", fin=False))
        time.sleep(0.3)
        c.send_raw(cont(b"fragment2"))
        self.assertEcho(c, OP_TEXT, b"fragment1fragment2", ctx="5.5: ")

    def test_many_fragments(self):
        c = self.ws(0)
        t = text_of_size(20000, 1)
        c.send_raw(fragments(OP_TEXT, t, [200] * 99))
        self.assertEcho(c, OP_TEXT, t, ctx="text in 100 fragments: ")
        b = os.urandom(20000)
        c.send_raw(fragments(OP_BINARY, b, [0, 1, 0, 5000, 0, 7000]))
        self.assertEcho(c, OP_BINARY, b, ctx="binary in fragments with empty ones: ")
        c.send_raw(text(b"", fin=False) + cont(b"", fin=False) + cont(b""))
        self.assertEcho(c, OP_TEXT, b"", ctx="empty text in 3 empty fragments: ")

    def test_one_byte_fragments(self):
        """Autobahn 6.2.3/6.2.4-like: 1-byte fragments, splitting multi-byte
        characters; then binary."""
        c = self.ws(0)
        t = "Hello-µ@ßöäüàá-UTF-8!! κόσμε 😀 \U0010ffff".encode("utf-8")
        c.send_raw(fragments(OP_TEXT, t, [1] * len(t)))
        self.assertEcho(c, OP_TEXT, t, ctx="text in 1-byte fragments: ")
        b = bytes(range(256))
        c.send_raw(fragments(OP_BINARY, b, [1] * 256))
        self.assertEcho(c, OP_BINARY, b, ctx="binary in 1-byte fragments: ")

    def test_fragments_written_one_by_one(self):
        """Autobahn 5.8/5.9-style: each fragment (and its bytes) its own write."""
        c = self.ws(0)
        data = text(b"fragment1", fin=False) + frame(OP_PING, b"pongme 2!") + cont(b"fragment2")
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
            time.sleep(0.0005)
        self.assertEcho(c, OP_TEXT, b"fragment1fragment2", ctx="fragments chopped into bytes: ")
        self.pongs(c, 1)
        self.assertEqual(c.pong_payloads, [b"pongme 2!"])

    def test_ping_between_fragments(self):
        """Autobahn 5.6/5.7 / §5.4: control frames may be injected between
        fragments; the pong comes, and the message is echoed whole."""
        c = self.ws(0)
        c.send_raw(text(b"fragment1", fin=False) + frame(OP_PING, b"pongme!") + cont(b"fragment2"))
        self.assertEcho(c, OP_TEXT, b"fragment1fragment2", ctx="5.6: ")
        self.pongs(c, 1)
        t = text_of_size(5000, 9)
        c.send_raw(text(t[:1000], fin=False))
        for i in range(5):
            c.send_raw(frame(OP_PING, b"p%d" % i))
            c.send_raw(cont(t[1000 + i * 800:1000 + (i + 1) * 800], fin=(i == 4)))
        self.assertEcho(c, OP_TEXT, t, ctx="5 pings between 6 fragments: ")
        self.pongs(c, 6)
        self.assertEqual(c.pong_payloads, [b"pongme!"] + [b"p%d" % i for i in range(5)])
        b = os.urandom(3000)
        c.send_raw(frame(OP_BINARY, b[:1000], fin=False) + frame(OP_PONG, b"unsolicited") +
                   cont(b[1000:2000], fin=False) + frame(OP_PING, b"bin") + cont(b[2000:]))
        self.assertEcho(c, OP_BINARY, b, ctx="binary with a pong and a ping between fragments: ")
        self.pongs(c, 7)
        self.assertEqual(c.pong_payloads[-1], b"bin")

    def test_fragmentation_errors(self):
        """§5.4: a continuation without a start, or a new start while a
        fragmented message is in progress, fail the connection."""
        ff = b"fragment1fragment2"
        self.run_cases([
            Case("5.9 continuation FIN=1 without start, then text fragments",
                 cont(b"fragment2") + text(b"fragment1", fin=False) + cont(b"fragment3"), PROTOCOL_ERROR),
            Case("5.10 same, separate writes",
                 [cont(b"fragment2"), text(b"fragment1", fin=False), cont(b"fragment3")], PROTOCOL_ERROR,
                 pause=0.05),
            Case("5.12 continuation FIN=0 without start",
                 cont(b"fragment2", fin=False) + text(b"fragment1", fin=False) + cont(b"fragment3"),
                 PROTOCOL_ERROR),
            Case("5.15 text+cont(FIN), then cont(FIN=0) without start, text",
                 text(b"fragment1", fin=False) + cont(b"fragment2") + cont(b"fragment3", fin=False) +
                 text(b"fragment4"), PROTOCOL_ERROR, allow=[(OP_TEXT, ff)]),
            Case("5.18 text FIN=0 then text FIN=1", text(b"fragment1", fin=False) + text(b"fragment2"),
                 PROTOCOL_ERROR),
            Case("text FIN=0 then binary FIN=1", text(b"fragment1", fin=False) + frame(OP_BINARY, b"x"),
                 PROTOCOL_ERROR),
            Case("binary FIN=0 then binary FIN=0", frame(OP_BINARY, b"a", fin=False) +
                 frame(OP_BINARY, b"b", fin=False), PROTOCOL_ERROR),
            Case("text FIN=0, ping, text FIN=1", text(b"fragment1", fin=False) + frame(OP_PING, b"p") +
                 text(b"fragment2"), PROTOCOL_ERROR, allow=[(OP_PONG, b"p")]),
        ])


# ------------------------------------------------------------------ 6.x UTF-8

def utf8_sequences():
    """Autobahn 6.x's table (from Markus Kuhn's UTF-8-test.txt) as
    [(group, payload, valid)]."""
    out = []

    def add(group, items):
        out.extend((group, p, v) for v, p in items)

    vss = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
    add("6.5 valid", [(True, b"hello\x24world"), (True, b"hello\xc2\xa2world"),
                      (True, b"hello\xe2\x82\xacworld"), (True, b"hello\xf0\xa4\xad\xa2world"),
                      (True, vss)])
    prefixes = []
    for i in range(1, len(vss) + 1):
        try:
            vss[:i].decode("utf-8")
            prefixes.append((True, vss[:i]))
        except UnicodeDecodeError:
            prefixes.append((False, vss[:i]))
    add("6.6 prefixes", prefixes)
    add("6.7 first of a length", [(True, b"\x00"), (True, b"\xc2\x80"), (True, b"\xe0\xa0\x80"),
                                  (True, b"\xf0\x90\x80\x80")])
    add("6.8 5/6-byte first", [(False, b"\xf8\x88\x80\x80\x80"), (False, b"\xfc\x84\x80\x80\x80\x80")])
    add("6.9 last of a length", [(True, b"\x7f"), (True, b"\xdf\xbf"), (True, b"\xef\xbf\xbf"),
                                 (True, b"\xf4\x8f\xbf\xbf")])
    add("6.10 4/5/6-byte last", [(False, b"\xf7\xbf\xbf\xbf"), (False, b"\xfb\xbf\xbf\xbf\xbf"),
                                 (False, b"\xfd\xbf\xbf\xbf\xbf\xbf")])
    add("6.11 boundaries", [(True, b"\xed\x9f\xbf"), (True, b"\xee\x80\x80"), (True, b"\xef\xbf\xbd"),
                            (True, b"\xf4\x8f\xbf\xbf"), (False, b"\xf4\x90\x80\x80")])
    add("6.12 unexpected continuation", [(False, b"\x80"), (False, b"\xbf"), (False, b"\x80\xbf"),
                                         (False, b"\x80\xbf\x80"), (False, b"\x80\xbf\x80\xbf"),
                                         (False, b"\x80\xbf\x80\xbf\x80"),
                                         (False, b"\x80\xbf\x80\xbf\x80\xbf"),
                                         (False, bytes(range(0x80, 0xbf)))])
    lonely = []
    for lo, hi in [(0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb), (0xfc, 0xfd)]:
        lonely.append((False, b"".join(bytes([i, 0x20]) for i in range(lo, hi))))
    add("6.13 lonely start", lonely)
    k = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
         b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    add("6.14 last byte missing", [(False, x) for x in k])
    add("6.15 concatenated incomplete", [(False, b"".join(k))])
    add("6.16 impossible bytes", [(False, b"\xfe"), (False, b"\xff"), (False, b"\xfe\xfe\xff\xff")])
    add("6.17 overlong ASCII", [(False, b"\xc0\xaf"), (False, b"\xe0\x80\xaf"), (False, b"\xf0\x80\x80\xaf"),
                                (False, b"\xf8\x80\x80\x80\xaf"), (False, b"\xfc\x80\x80\x80\x80\xaf")])
    add("6.18 maximum overlong", [(False, b"\xc1\xbf"), (False, b"\xe0\x9f\xbf"), (False, b"\xf0\x8f\xbf\xbf"),
                                  (False, b"\xf8\x87\xbf\xbf\xbf"), (False, b"\xfc\x83\xbf\xbf\xbf\xbf")])
    add("6.19 overlong NUL", [(False, b"\xc0\x80"), (False, b"\xe0\x80\x80"), (False, b"\xf0\x80\x80\x80"),
                              (False, b"\xf8\x80\x80\x80\x80"), (False, b"\xfc\x80\x80\x80\x80\x80")])
    add("6.20 single surrogates", [(False, x) for x in [
        b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf", b"\xed\xb0\x80",
        b"\xed\xbe\x80", b"\xed\xbf\xbf"]])
    add("6.21 paired surrogates", [(False, x) for x in [
        b"\xed\xa0\x80\xed\xb0\x80", b"\xed\xa0\x80\xed\xbf\xbf", b"\xed\xad\xbf\xed\xb0\x80",
        b"\xed\xad\xbf\xed\xbf\xbf", b"\xed\xae\x80\xed\xb0\x80", b"\xed\xae\x80\xed\xbf\xbf",
        b"\xed\xaf\xbf\xed\xb0\x80", b"\xed\xaf\xbf\xed\xbf\xbf"]])
    nonchars = [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]
    for z1 in [b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4"]:
        for z2 in [b"\x8f", b"\x9f", b"\xaf", b"\xbf"]:
            if not (z1 == b"\xf4" and z2 != b"\x8f"):
                for z3 in [b"\xbe", b"\xbf"]:
                    zz = z1 + z2 + b"\xbf" + z3
                    if zz not in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):
                        nonchars.append(zz)
    add("6.22 noncharacters (valid)", [(True, x) for x in nonchars])
    add("6.23 specials", [(True, x) for x in [b"\xef\xbf\xb9", b"\xef\xbf\xba", b"\xef\xbf\xbb",
                                              b"\xef\xbf\xbc", b"\xef\xbf\xbd", b"\xef\xbf\xbe",
                                              b"\xef\xbf\xbf"]])
    add("extra", [(True, "\U0010ffff".encode()), (True, "\uffff".encode()), (True, "\u0800".encode()),
                  (True, "\u07ff".encode()), (True, "\U00010000".encode()), (True, "\ud7ff".encode()),
                  (True, "\ue000".encode()), (True, b"")])
    for group, p, v in out:   # the table agrees with Python's strict decoder
        try:
            p.decode("utf-8")
            ok = True
        except UnicodeDecodeError:
            ok = False
        assert ok == v, (group, p, v)
    return out


class Utf8Test(ConformanceCase):
    CLUSTER = dict(ECHO, extra_set={"gateway.max_message": "64K"})

    def test_valid_sequences_echoed(self):
        """Autobahn 6.2/6.5-6.23 valid cases: whole, and in 1-byte fragments."""
        c = self.ws(0)
        valid = [(g, p) for g, p, v in utf8_sequences() if v]
        for g, p in valid:
            with self.subTest(group=g, payload=hexs(p)):
                c.send_raw(text(p))
                self.assertEcho(c, OP_TEXT, p, ctx="%s %s: " % (g, hexs(p)))
                if len(p) > 1:
                    c.send_raw(fragments(OP_TEXT, p, [1] * len(p)))
                    self.assertEcho(c, OP_TEXT, p, ctx="%s %s in 1-byte fragments: " % (g, hexs(p)))
        s = "κόσμε 日本 😀 \U0010ffff \uffff \u0080 \u07ff \u0800".encode() * 100
        c.send_raw(text(s))
        self.assertEcho(c, OP_TEXT, s, ctx="long mixed text: ")

    def test_invalid_sequences_close_1007(self):
        """Autobahn 6.x invalid cases / §8.1: text that is not UTF-8 fails
        the connection with 1007 — as one frame, and in 1-byte fragments."""
        cases = []
        for g, p, v in utf8_sequences():
            if v:
                continue
            cases.append(Case("%s %s" % (g, hexs(p)), text(p), INVALID_DATA))
            if len(p) > 1:
                cases.append(Case("%s %s in 1-byte fragments" % (g, hexs(p)),
                                  fragments(OP_TEXT, p, [1] * len(p)), INVALID_DATA))
        self.run_cases(cases)

    def test_named_invalid_sequences(self):
        """The sequences the brief names, embedded in valid text, so the
        error is in the middle, at the end, and split over fragments."""
        bad = {
            "overlong C0 AF": b"\xc0\xaf", "overlong E0 80 AF": b"\xe0\x80\xaf",
            "overlong F0 80 80 AF": b"\xf0\x80\x80\xaf", "surrogate ED A0 80": b"\xed\xa0\x80",
            "surrogate ED BF BF": b"\xed\xbf\xbf", "above U+10FFFF F4 90 80 80": b"\xf4\x90\x80\x80",
            "lone continuation 80": b"\x80", "lone continuation BF": b"\xbf", "FE": b"\xfe", "FF": b"\xff",
        }
        cases = []
        for name, seq in bad.items():
            p = "κόσμε-".encode() + seq + b"-edited"
            cases.append(Case("%s in the middle" % name, text(p), INVALID_DATA))
            cases.append(Case("%s split over two fragments" % name,
                              text(p[:len("κόσμε-".encode()) + 1], fin=False) +
                              cont(p[len("κόσμε-".encode()) + 1:]), INVALID_DATA))
        for name, seq in [("truncated 2-byte C3", b"\xc3"), ("truncated 3-byte E2 82", b"\xe2\x82"),
                          ("truncated 4-byte F0 9F 98", b"\xf0\x9f\x98")]:
            cases.append(Case("%s at message end" % name, text(b"abc" + seq), INVALID_DATA))
            cases.append(Case("%s at the end of the last fragment" % name,
                              text(b"abc", fin=False) + cont(seq), INVALID_DATA))
            cases.append(Case("%s at the end of a first fragment, valid text after" % name,
                              text(b"abc" + seq, fin=False) + cont(b"xyz"), INVALID_DATA))
        cases.append(Case("6.3.1 κόσμε + ED A0 80 + edited",
                          text(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), INVALID_DATA))
        self.run_cases(cases)

    def test_valid_sequence_split_across_fragments(self):
        c = self.ws(0)
        p = "€😀".encode()   # E2 82 AC F0 9F 98 80
        for cut in range(1, len(p)):
            c.send_raw(text(p[:cut], fin=False) + cont(p[cut:]))
            self.assertEcho(c, OP_TEXT, p, ctx="split at byte %d: " % cut)

    def fail_fast(self, name, first, rest, pause_between=None):
        """Sends `first` (which contains an invalid sequence, possibly in
        pieces), withholds `rest`: the server must answer 1007 within
        FAIL_FAST seconds (§8.1; Autobahn 6.4.x)."""
        c = self.ws(0)
        t0 = time.monotonic()
        for piece in first:
            c.send_raw(piece)
            if pause_between:
                time.sleep(pause_between)
        ctx = "%s [sent: %s; withheld: %s]" % (name, " | ".join(hexs(x) for x in first), hexs(rest))
        t = self.assertServerCloses(c, INVALID_DATA, ctx, timeout=FAIL_FAST + (time.monotonic() - t0))
        self.assertServerEOF(c, ctx, t)
        c.abort()

    def test_fail_fast_fragmented(self):
        """Autobahn 6.4.1/6.4.2: the invalid fragment is rejected before the
        last fragment is sent."""
        p1 = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
        self.fail_fast("6.4.1 fragment 2 holds F4 90 80 80",
                       [text(p1, fin=False), cont(b"\xf4\x90\x80\x80", fin=False)], cont(b"\x65\x64\x69\x74\x65\x64"))
        self.fail_fast("6.4.2 F4 ends fragment 1, 90 starts fragment 2",
                       [text(p1 + b"\xf4", fin=False), cont(b"\x90", fin=False)], cont(b"\x80\x80edited"))

    def test_fail_fast_inside_one_frame(self):
        """Autobahn 6.4.3/6.4.4 and the brief: one frame declares its full
        length; only its first bytes are sent and they are invalid."""
        key = b"\x11\x22\x33\x44"
        p1 = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
        whole = p1 + b"\xf4\x90\x80\x80" + b"\x65\x64\x69\x74\x65\x64"
        h = header(OP_TEXT, len(whole), mask_key=key)
        m = masked_part(whole, key)
        self.fail_fast("6.4.3 valid chop, then invalid chop, rest withheld",
                       [h + m[:11], m[11:15]], m[15:], pause_between=0.2)
        self.fail_fast("6.4.4 valid chop, then F4, then 90, rest withheld",
                       [h + m[:11], m[11:12], m[12:13]], m[13:], pause_between=0.2)
        big = 60000
        self.fail_fast("text declaring %d bytes, first 4 sent are F4 90 80 80" % big,
                       [header(OP_TEXT, big, mask_key=key) + masked_part(b"\xf4\x90\x80\x80", key)],
                       b"(%d more bytes)" % (big - 4))
        self.fail_fast("text declaring %d bytes, first byte sent is FF" % big,
                       [header(OP_TEXT, big, mask_key=key) + masked_part(b"\xff", key)],
                       b"(%d more bytes)" % (big - 1))

    def test_close_reason_split_over_tcp_writes(self):
        """The close frame's bytes may arrive in any number of TCP segments;
        the reason's UTF-8 check must not depend on where they split."""
        def split(payload, cuts):
            f = frame(OP_CLOSE, payload)
            out, prev = [], 0
            for cut in cuts + [len(f)]:
                out.append(f[prev:cut])
                prev = cut
            return out
        hdr = 6   # 2 header bytes + 4 mask bytes
        bad = struct.pack("!H", 1000) + b"\xff\xfe"
        good = struct.pack("!H", 1000) + "κόσμε".encode()
        self.run_cases([
            Case("close 1000 + reason FF FE, byte by byte", split(bad, list(range(1, len(bad) + hdr))),
                 INVALID_DATA, pause=0.02, reply=False),
            Case("close 1000 + reason FF FE, second write starts at the reason", split(bad, [hdr + 2]),
                 INVALID_DATA, pause=0.1, reply=False),
            Case("close 1000 + reason FF FE, second write starts inside the code", split(bad, [hdr + 1]),
                 INVALID_DATA, pause=0.1, reply=False),
            Case("close 1000 + reason κόσμε, byte by byte", split(good, list(range(1, len(good) + hdr))),
                 1000, pause=0.02, reply=False),
            Case("close 1000 + reason κόσμε, split inside a character", split(good, [hdr + 3]),
                 1000, pause=0.1, reply=False),
        ])

    def test_invalid_utf8_in_close_reason(self):
        """Autobahn 7.5.1 / §5.5.1 + §8.1: a close reason is UTF-8."""
        bad = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"
        self.run_cases([
            Case("7.5.1 close 1000 with reason κόσμε+ED A0 80+edited", close(1000, bad), INVALID_DATA, reply=False),
            Case("close 1000 with reason FF", close(1000, b"\xff"), INVALID_DATA, reply=False),
            Case("close 1000 with truncated reason C3", close(1000, b"ok\xc3"), INVALID_DATA, reply=False),
        ])


# ------------------------------------------------------------------ 7.x close

VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


class CloseTest(ConformanceCase):
    CLUSTER = dict(ECHO, extra_set={"gateway.max_message": "64K"})

    def test_valid_codes_echoed(self):
        """Autobahn 7.7.x (+ 1012-1014, registered with IANA and valid in
        current Autobahn): the server answers with the same code (§5.5.1)
        and ends TCP."""
        self.run_cases([Case("close %d" % code, close(code, "bye"), code, reply=False)
                        for code in VALID_CODES])

    def test_invalid_codes(self):
        """Autobahn 7.9.x / §7.4: codes that may not be sent fail the
        connection with 1002."""
        self.run_cases([Case("close %d" % code, close(code), PROTOCOL_ERROR, reply=False)
                        for code in INVALID_CODES])

    def test_close_payload_shapes(self):
        """Autobahn 7.3.x."""
        self.run_cases([
            Case("7.3.1 empty close", close(None), (None, 1000), reply=False),
            Case("7.3.2 close with a 1-byte body", frame(OP_CLOSE, b"\x03"), PROTOCOL_ERROR, reply=False),
            Case("7.3.3 close 1000 without reason", close(1000), 1000, reply=False),
            Case("7.3.4 close 1000 with reason", close(1000, "Hello World!"), 1000, reply=False),
            Case("7.3.5 close 1000 with a 123-byte reason (payload 125)", close(1000, "*" * 123), 1000,
                 reply=False),
            Case("7.3.6 close 1000 with a 124-byte reason (payload 126)", close(1000, "*" * 124),
                 PROTOCOL_ERROR, reply=False),
        ])

    def test_after_close_nothing_is_processed(self):
        """Autobahn 7.1.2-7.1.5 / §5.5.1: after the client's close, frames it
        sends are ignored: no echo, no pong, just the close answer."""
        self.run_cases([
            Case("7.1.2 close twice", close(1000) + close(1000), 1000, reply=False),
            Case("7.1.3 close then ping", close(1000) + frame(OP_PING, b"ping"), 1000, reply=False),
            Case("7.1.4 close then text", close(1000) + text(b"Hello World!"), 1000, reply=False),
            Case("7.1.5 text FIN=0, close, continuation",
                 text(b"fragment1", fin=False) + close(1000) + cont(b"fragment2"), 1000, reply=False),
            Case("close then an invalid frame", close(1000) + frame(0xB) + text(b"\xff", rsv=1), 1000,
                 reply=False),
            Case("close, then text in a later write", [close(1000), text(b"late")], 1000, reply=False,
                 pause=0.1),
        ])

    def test_message_then_close(self):
        """Autobahn 7.1.1: a message then close. §5.5.1 allows the server to
        answer the close before the (asynchronous) echo — then the echo must
        not follow the close; the answer is close 1000 and TCP ends."""
        self.run_cases([Case("7.1.1 text then close", text(b"Hello World!") + close(1000), 1000,
                             allow=[(OP_TEXT, b"Hello World!")], reply=False)])

    def test_server_close_handshake_then_tcp_ends_promptly(self):
        """§7.1.1: once the close handshake is complete the server should
        end TCP immediately — also when it sent the first close (here after
        a protocol error) and the client answered it."""
        cases = [Case("text RSV=1, client answers the server's close", text(b"x", rsv=1), PROTOCOL_ERROR),
                 Case("invalid UTF-8, client answers the server's close", text(b"\xff"), INVALID_DATA),
                 Case("close 999, server answers 1002 to the client's close", close(999), PROTOCOL_ERROR,
                      reply=False),
                 Case("close 1000, server answers (client-initiated)", close(1000), 1000, reply=False)]
        self.run_cases(cases, eof_within=PROMPT_EOF)


# ------------------------------------------------------------------ limits

class LimitsTest(ConformanceCase):
    CLUSTER = dict(ECHO, extra_set={"gateway.max_message": "64K"})

    def test_message_at_the_limit_is_echoed(self):
        c = self.ws(0)
        for op, p in [(OP_TEXT, text_of_size(65536, 2)), (OP_BINARY, os.urandom(65536))]:
            c.send_raw(frame(op, p))
            self.assertEcho(c, op, p, ctx="65536-byte message: ")
            c.send_raw(fragments(op, p, [30000, 30000]))
            self.assertEcho(c, op, p, ctx="65536 bytes in 3 fragments: ")

    def test_over_the_limit_closes_1009(self):
        key = b"\x55\x66\x77\x88"
        self.run_cases([
            Case("text of 65537 bytes", text(text_of_size(65537, 4)), TOO_BIG),
            Case("binary of 65537 bytes", frame(OP_BINARY, os.urandom(65537)), TOO_BIG),
            Case("3 text fragments of 30000 (90000 in all)",
                 fragments(OP_TEXT, text_of_size(90000, 6), [30000, 30000]), TOO_BIG),
            Case("binary fragments 65536 + 1", fragments(OP_BINARY, os.urandom(65537), [65536]), TOO_BIG),
        ])
        # The header and one payload byte (diagnoses the header-only case below).
        self.run_cases([
            Case("binary header declaring 100 MB + 1 payload byte",
                 header(OP_BINARY, 100 << 20, mask_key=key) + b"\x00", TOO_BIG),
            Case("text header declaring 2^40 bytes + 1 payload byte",
                 header(OP_TEXT, 1 << 40, mask_key=key) + b"a", TOO_BIG),
        ])
        # Only the header: the server must not wait for the payload.
        for name, h in [("binary header declaring 100 MB, no payload", header(OP_BINARY, 100 << 20, mask_key=key)),
                        ("text header declaring 2^40 bytes, no payload", header(OP_TEXT, 1 << 40, mask_key=key)),
                        ("continuation header declaring 70000 after a 10-byte first fragment",
                         frame(OP_BINARY, b"0123456789", fin=False) + header(OP_CONT, 70000, mask_key=key))]:
            with self.subTest(case=name):
                c = self.ws(0)
                c.send_raw(h)
                ctx = "%s [sent: %s]" % (name, hexs(h))
                t = self.assertServerCloses(c, TOO_BIG, ctx, timeout=FAIL_FAST)
                self.assertServerEOF(c, ctx, t)
                c.abort()


# ------------------------------------------------------------------ big messages

class BigMessageTest(ConformanceCase):
    """Autobahn 9.1/9.2-style large messages."""

    CLUSTER = dict(gateways=1, workers=1, app="echo",
                   extra_set={"gateway.max_message": "8M", "gateway.max_output": "16M"})

    def test_text_1m_4m(self):
        c = self.ws(0, timeout=30)
        for n in (1 << 20, 4 << 20):
            p = text_of_size(n, n)
            c.send_raw(text(p))
            self.assertEcho(c, OP_TEXT, p, timeout=30, ctx="text of %d bytes: " % n)

    def test_binary_1m_4m_8m(self):
        c = self.ws(0, timeout=30)
        for n in (1 << 20, 4 << 20, 8 << 20):
            p = os.urandom(n)
            c.send_raw(frame(OP_BINARY, p))
            self.assertEcho(c, OP_BINARY, p, timeout=30, ctx="binary of %d bytes: " % n)

    def test_4m_in_64k_fragments(self):
        c = self.ws(0, timeout=30)
        p = os.urandom(4 << 20)
        c.send_raw(fragments(OP_BINARY, p, [65536] * 63))
        self.assertEcho(c, OP_BINARY, p, timeout=30, ctx="4 MiB in 64 fragments: ")

    def test_8m_plus_one_closes_1009(self):
        """The limit at 8M: a frame declaring 8 MiB + 1 (its first 64 KiB
        sent) and 8 MiB + 1 in fragments are refused with 1009."""
        key = b"\x01\x02\x03\x04"
        self.run_cases([
            Case("binary declaring 8 MiB + 1, first 64 KiB sent",
                 header(OP_BINARY, (8 << 20) + 1, mask_key=key) + masked_part(os.urandom(65536), key), TOO_BIG),
            Case("binary fragments 8 MiB + 1 byte",
                 fragments(OP_BINARY, os.urandom((8 << 20) + 1), [8 << 20]), TOO_BIG),
        ])


# ------------------------------------------------------------------ handshake

def http_exchange(port, raw, timeout=5.0, chunks_pause=None):
    """Sends raw (bytes or list of chunks) and reads until the server closes.
    Returns (status, headers, body, closed, raw_response)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    deadline = time.monotonic() + timeout
    try:
        for piece in (raw if isinstance(raw, list) else [raw]):
            try:
                s.sendall(piece)
            except OSError:
                break
            if chunks_pause:
                time.sleep(chunks_pause)
        buf, closed = b"", False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            s.settimeout(remaining)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            buf += chunk
    finally:
        s.close()
    if b"\r\n\r\n" not in buf:
        return None, {}, b"", closed, buf
    head, body = buf.split(b"\r\n\r\n", 1)
    status, _reason, headers = wsclient.parse_head(head + b"\r\n\r\n")
    return status, headers, body, closed, buf


class HandshakeTest(ConformanceCase):
    CLUSTER = dict(ECHO, extra_set={"gateway.handshake_timeout": 2})

    def lines(self, drop=(), replace=None, method="GET", key=None):
        port = self.cluster.ws_port(0)
        out = ["%s / HTTP/1.1" % method, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
               "Connection: Upgrade", "Sec-WebSocket-Key: %s" % (key or "dGhlIHNhbXBsZSBub25jZQ=="),
               "Sec-WebSocket-Version: 13"]
        out = [line for line in out if line.split(":")[0] not in drop]
        for name, value in (replace or {}).items():
            out = [("%s: %s" % (name, value)) if line.split(":")[0] == name else line for line in out]
        return ("\r\n".join(out) + "\r\n\r\n").encode()

    def refused(self, raw, status, ctx, header=None):
        st, headers, body, closed, resp = http_exchange(self.cluster.ws_port(0), raw)
        self.assertEqual(st, status, "%s: expected HTTP %d, got %r (response %r)" % (ctx, status, st, resp[:300]))
        self.assertTrue(closed, "%s: the server kept the connection open after %d" % (ctx, status))
        if header:
            name, value = header
            vals = headers.get(name.lower(), [])
            self.assertTrue(any(value in v for v in vals), "%s: response lacks %s: %s (headers %r)"
                            % (ctx, name, value, headers))
        return headers

    def test_good_raw_handshake(self):
        st, headers, body, closed, resp = http_exchange(self.cluster.ws_port(0), self.lines(), timeout=1.0)
        self.assertEqual(st, 101, resp)
        self.assertEqual(headers.get("sec-websocket-accept"), ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="],
                         "§4.2.2 / §1.3 example key")

    def test_missing_key(self):
        self.refused(self.lines(drop=("Sec-WebSocket-Key",)), 400, "no Sec-WebSocket-Key")

    def test_invalid_keys(self):
        for key in ["abc", "AAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA=", "!!!!!!!!!!!!!!!!!!!!!A==",
                    "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ==dGhl"]:
            with self.subTest(key=key):
                self.refused(self.lines(key=key), 400, "Sec-WebSocket-Key: %s" % key)

    def test_version_8(self):
        self.refused(self.lines(replace={"Sec-WebSocket-Version": "8"}), 426, "Sec-WebSocket-Version: 8",
                     header=("Sec-WebSocket-Version", "13"))

    def test_post(self):
        self.refused(self.lines(method="POST"), 405, "POST", header=("Allow", "GET"))

    def test_no_upgrade_header(self):
        self.refused(self.lines(drop=("Upgrade",)), 400, "no Upgrade header")

    def test_no_connection_upgrade(self):
        self.refused(self.lines(drop=("Connection",)), 400, "no Connection header")
        self.refused(self.lines(replace={"Connection": "keep-alive"}), 400, "Connection: keep-alive")

    def test_head_over_8k(self):
        raw = self.lines()[:-2] + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n"
        self.refused(raw, 431, "a request head with a 9000-byte header")

    def test_head_just_under_8k_is_accepted(self):
        raw = self.lines()[:-2] + b"X-Big: " + b"a" * 7800 + b"\r\n\r\n"
        self.assertLess(len(raw), 8192)
        st, headers, body, closed, resp = http_exchange(self.cluster.ws_port(0), raw, timeout=1.0)
        self.assertEqual(st, 101, "a %d-byte request head: %r" % (len(raw), resp[:300]))

    def test_header_values_are_case_insensitive_token_lists(self):
        """§4.2.1: Upgrade is "websocket" case-insensitively; Connection
        is a token list that includes "Upgrade" (Firefox sends
        "keep-alive, Upgrade")."""
        for name, raw in [
                ("Upgrade: WebSocket", self.lines(replace={"Upgrade": "WebSocket"})),
                ("Connection: keep-alive, Upgrade", self.lines(replace={"Connection": "keep-alive, Upgrade"})),
                ("Connection: upgrade", self.lines(replace={"Connection": "upgrade"}))]:
            with self.subTest(header=name):
                st, headers, body, closed, resp = http_exchange(self.cluster.ws_port(0), raw, timeout=1.0)
                self.assertEqual(st, 101, "%s: %r" % (name, resp[:300]))

    def test_other_bad_requests(self):
        """§4.2.1 / RFC 7230 §5.4: no Host, HTTP/1.0, a repeated key."""
        self.refused(self.lines(drop=("Host",)), 400, "no Host header")
        raw = self.lines().replace(b"HTTP/1.1", b"HTTP/1.0", 1)
        st, headers, body, closed, resp = http_exchange(self.cluster.ws_port(0), raw)
        self.assertIn(st, (400, 505), "an HTTP/1.0 upgrade request: %r" % resp[:300])
        raw = self.lines()[:-2] + b"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n"
        self.refused(raw, 400, "two Sec-WebSocket-Key headers")

    def test_frame_pipelined_with_the_request(self):
        """Bytes after the request head (a frame sent before the 101
        arrived) are the first frame of the connection."""
        req = self.lines()
        c = wsclient.WSClient("127.0.0.1", self.cluster.ws_port(0),
                              raw_request=req + text(b"pipelined") + frame(OP_PING, b"pp"))
        self._ws.append(c)
        self.assertEqual(c.response_headers.get("sec-websocket-accept"), ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
        self.assertEcho(c, OP_TEXT, b"pipelined")
        self.pongs(c, 1)
        self.assertEqual(c.pong_payloads, [b"pp"])

    def test_slowloris_half_head(self):
        """Half a request head and nothing more: closed within
        handshake_timeout (2 s) + 2 s."""
        half = self.lines()[:40]
        s = socket.create_connection(("127.0.0.1", self.cluster.ws_port(0)), timeout=6)
        try:
            t0 = time.monotonic()
            s.sendall(half)
            data, closed = b"", False
            while time.monotonic() - t0 < 6:
                s.settimeout(max(0.01, 6 - (time.monotonic() - t0)))
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    break
                except OSError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                data += chunk
            elapsed = time.monotonic() - t0
        finally:
            s.close()
        self.assertTrue(closed, "half a request head (%r): still open after 6 s (handshake_timeout=2)" % half)
        self.assertLessEqual(elapsed, 4.0, "half a request head: closed only after %.1fs (handshake_timeout=2)"
                             % elapsed)
        self.assertNotIn(b"101", data[:12], data)

    def test_slowloris_trickle(self):
        """A byte every 0.25 s never completes the head: the deadline counts
        from accept, not from the last byte."""
        raw = self.lines()
        s = socket.create_connection(("127.0.0.1", self.cluster.ws_port(0)), timeout=6)
        t0 = time.monotonic()
        closed = False
        try:
            for i in range(len(raw) - 4):
                try:
                    s.sendall(raw[i:i + 1])
                except OSError:
                    closed = True
                    break
                s.settimeout(0.25)
                try:
                    chunk = s.recv(4096)
                    if not chunk:
                        closed = True
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
                    break
                if time.monotonic() - t0 > 6:
                    break
            elapsed = time.monotonic() - t0
        finally:
            s.close()
        self.assertTrue(closed, "a head trickled a byte per 0.25 s: still open after %.1fs" % elapsed)
        self.assertLessEqual(elapsed, 4.0, "trickled head: closed only after %.1fs (handshake_timeout=2)" % elapsed)

    def test_upgraded_connection_outlives_handshake_timeout(self):
        c = self.ws(0)
        time.sleep(3.0)
        c.send_raw(text(b"still open"))
        self.assertEcho(c, OP_TEXT, b"still open")


if __name__ == "__main__":
    main(timeout=280)
