"""
wsclient — a small, strict WebSocket client (RFC 6455) over raw sockets, for
the integration tests. It shares no code with the server on purpose: it is the
independent other side.

What it does:
  * opening handshake with a random key, checks the 101 response and
    Sec-WebSocket-Accept (§4.1, §4.2.2); extra headers or a whole raw request
    can be given for negative tests (HandshakeError carries status/headers/body)
  * sends text/binary/ping/pong/close frames, masked with a fresh random key
    (§5.3); send_frame() can also send unmasked frames, RSV bits, any opcode,
    and send_raw() any bytes at all, for conformance tests
  * receives frames, reassembles fragmented messages (§5.4), answers server
    pings with pongs (auto_pong, configurable) and counts them, validates the
    UTF-8 of text messages and that server frames are not masked (§5.1)
  * every blocking call has a timeout (default 5 s); nothing can hang

Only the standard library is used.
"""

import base64
import collections
import hashlib
import json
import os
import socket
import struct
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

OPCODE_NAMES = {
    OP_CONT: "continuation",
    OP_TEXT: "text",
    OP_BINARY: "binary",
    OP_CLOSE: "close",
    OP_PING: "ping",
    OP_PONG: "pong",
}

DEFAULT_TIMEOUT = 5.0
MAX_HEAD = 64 * 1024


class WSError(Exception):
    """Base class of everything this module raises (besides socket errors
    wrapped into these)."""


class WSTimeout(WSError, TimeoutError):
    """Nothing (or not enough) arrived before the deadline."""


class ProtocolError(WSError):
    """The server broke RFC 6455 (masked frame, bad opcode, bad UTF-8...)."""


class WSClosed(WSError):
    """The connection is closed: by a close frame (code/reason as sent, code
    1005 when the frame had no code) or without one (code 1006)."""

    def __init__(self, code, reason="", message=None):
        self.code = code
        self.reason = reason
        super().__init__(message or "connection closed: code=%r reason=%r" % (code, reason))


class HandshakeError(WSError):
    """The opening handshake failed. status is the HTTP status (None when no
    valid status line came back), headers a dict of lowercase name -> list of
    values, body the bytes after the head (as much as arrived)."""

    def __init__(self, message, status=None, headers=None, body=b"", head=b""):
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.head = head
        super().__init__("%s (status=%r, head=%r, body=%r)" % (message, status, head[:500], body[:500]))


class Frame:
    """One frame as it was on the wire (payload already unmasked)."""

    __slots__ = ("fin", "rsv", "opcode", "payload", "masked")

    def __init__(self, fin, rsv, opcode, payload, masked=False):
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.payload = payload
        self.masked = masked

    def __repr__(self):
        return "Frame(fin=%d rsv=%d opcode=%s len=%d payload=%r%s)" % (
            self.fin, self.rsv, OPCODE_NAMES.get(self.opcode, hex(self.opcode)),
            len(self.payload), _short(self.payload), " masked" if self.masked else "")


class Message:
    """A complete (reassembled) data message."""

    __slots__ = ("opcode", "data", "fragments")

    def __init__(self, opcode, data, fragments=1):
        self.opcode = opcode
        self.data = data          # bytes
        self.fragments = fragments

    @property
    def is_text(self):
        return self.opcode == OP_TEXT

    @property
    def is_binary(self):
        return self.opcode == OP_BINARY

    @property
    def text(self):
        return self.data.decode("utf-8")

    def json(self):
        return json.loads(self.data.decode("utf-8"))

    def __repr__(self):
        return "Message(%s len=%d %r)" % (OPCODE_NAMES.get(self.opcode), len(self.data), _short(self.data))


def _short(b, n=200):
    if len(b) <= n:
        return b
    return b[:n] + b"...(%d bytes)" % len(b)


def mask_payload(key, data):
    """XORs data with the 4-byte key (§5.3), fast for large payloads."""
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def accept_for(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2 5.4)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def encode_frame(opcode, payload, fin=True, rsv=0, mask=True, mask_key=None):
    """Builds the bytes of one frame. mask=False sends it unmasked (a protocol
    violation from a client, for negative tests)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    payload = bytes(payload)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    if mask_key is None:
        mask_key = os.urandom(4)
    return head + mask_key + mask_payload(mask_key, payload)


def close_payload(code=1000, reason=""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


def parse_head(head):
    """Parses an HTTP response head (bytes up to and including the blank
    line). Returns (status, reason, headers) with headers as a dict of
    lowercase name -> list of values. Raises ValueError."""
    text = head.decode("iso-8859-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError("bad status line %r" % lines[0])
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        if ":" not in line:
            raise ValueError("bad header line %r" % line)
        name, value = line.split(":", 1)
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, reason, headers


def http_request(host, port, raw, timeout=DEFAULT_TIMEOUT):
    """Sends raw bytes (e.g. a malformed upgrade request) and reads the HTTP
    response. Returns (status, headers, body); status None when the server
    closed without a response. Reads the body by Content-Length, else until
    the server closes or the timeout passes."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        if raw:
            s.sendall(raw)
        buf = b""
        while b"\r\n\r\n" not in buf:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                raise WSTimeout("no complete HTTP response within %.1fs, got %r" % (timeout, buf[:500]))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if not buf:
                    return None, {}, b""
                raise WSError("connection closed inside the response head: %r" % buf[:500])
            buf += chunk
        head, body = buf.split(b"\r\n\r\n", 1)
        status, _reason, headers = parse_head(head + b"\r\n\r\n")
        length = headers.get("content-length")
        want = int(length[0]) if length else None
        while want is None or len(body) < want:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            s.settimeout(remaining)
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            body += chunk
        return status, headers, body


class WSClient:
    """One client connection.

        c = WSClient("127.0.0.1", 7272, query="uid=42")   # connects at once
        c.send_json({"type": "ping"})
        assert c.recv_json() == {"type": "pong"}
        c.close()

    Data messages that arrive while the client waits for something else (in
    pump() or expect_pong()) are queued and returned by the next recv().
    """

    def __init__(self, host="127.0.0.1", port=7272, path="/", query="", headers=None,
                 timeout=DEFAULT_TIMEOUT, auto_pong=True, connect=True, raw_request=None,
                 strict=True, host_header=None):
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        self.extra_headers = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        self.timeout = timeout
        self.auto_pong = auto_pong
        self.strict = strict
        self.host_header = host_header
        self.sock = None
        self.key = None
        self.response_status = None
        self.response_headers = {}
        self._buf = bytearray()
        self._inbox = collections.deque()
        self._frag_opcode = None
        self._frag_parts = []
        self._send_lock = threading.Lock()
        self.pings_seen = 0          # server pings received
        self.ping_payloads = []
        self.pongs_seen = 0          # pongs received (answers to our pings)
        self.pong_payloads = []
        self.frames_seen = 0
        self.close_sent = False
        self.close_received = None   # (code, reason) once a close frame came
        self.closed = False          # socket closed (either way)
        self.skipped = []            # data messages thrown away by expect_close
        if connect:
            self.connect(raw_request=raw_request)

    # ----------------------------------------------------------------- setup

    def request_bytes(self):
        target = self.path + ("?" + self.query if self.query else "")
        host = self.host_header or "%s:%d" % (self.host, self.port)
        lines = [
            "GET %s HTTP/1.1" % target,
            "Host: %s" % host,
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: %s" % self.key,
            "Sec-WebSocket-Version: 13",
        ]
        for name, value in self.extra_headers:
            lines.append("%s: %s" % (name, value))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def connect(self, raw_request=None):
        """Opens the TCP connection and performs the handshake. raw_request
        (bytes) replaces the generated request entirely; the Accept check then
        uses the key of the generated request only if the raw request
        contains it."""
        deadline = time.monotonic() + self.timeout
        self.key = base64.b64encode(os.urandom(16)).decode("ascii")
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            raise WSError("cannot connect to %s:%d: %s" % (self.host, self.port, e)) from e
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = raw_request if raw_request is not None else self.request_bytes()
        try:
            self.sock.sendall(req)
            head = self._read_head(deadline)
        except Exception:
            self._close_socket()
            raise
        try:
            status, _reason, headers = parse_head(head)
        except ValueError as e:
            self._close_socket()
            raise HandshakeError("malformed response: %s" % e, head=head)
        self.response_status = status
        self.response_headers = headers
        if status != 101:
            body = self._read_error_body(headers, deadline)
            self._close_socket()
            raise HandshakeError("expected status 101", status, headers, body, head)

        def one(name):
            v = headers.get(name, [])
            return v[0] if len(v) == 1 else None

        up = one("upgrade")
        if up is None or up.lower() != "websocket":
            self._close_socket()
            raise HandshakeError("bad Upgrade header", status, headers, b"", head)
        conn_tokens = [t.strip().lower() for v in headers.get("connection", []) for t in v.split(",")]
        if "upgrade" not in conn_tokens:
            self._close_socket()
            raise HandshakeError("bad Connection header", status, headers, b"", head)
        if raw_request is None or self.key.encode() in raw_request:
            acc = one("sec-websocket-accept")
            if acc != accept_for(self.key):
                self._close_socket()
                raise HandshakeError("bad Sec-WebSocket-Accept %r, want %r" % (acc, accept_for(self.key)),
                                     status, headers, b"", head)
        return self

    def _read_head(self, deadline):
        while True:
            i = self._buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self._buf[:i + 4])
                del self._buf[:i + 4]
                return head
            if len(self._buf) > MAX_HEAD:
                raise HandshakeError("response head longer than %d bytes" % MAX_HEAD, head=bytes(self._buf))
            if not self._fill(deadline):
                raise HandshakeError("connection closed during the handshake", head=bytes(self._buf))

    def _read_error_body(self, headers, deadline):
        length = headers.get("content-length")
        want = int(length[0]) if length else 65536
        end = min(deadline, time.monotonic() + 1.0)
        try:
            while len(self._buf) < want and self._fill(end):
                pass
        except (WSTimeout, OSError):
            pass
        return bytes(self._buf[:want])

    # --------------------------------------------------------------- low level

    def _fill(self, deadline):
        """Reads more bytes into the buffer. False on EOF."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WSTimeout("timed out waiting for data from %s:%d" % (self.host, self.port))
        if self.sock is None:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            raise WSTimeout("timed out waiting for data from %s:%d" % (self.host, self.port))
        except (ConnectionResetError, BrokenPipeError):
            return False
        if not chunk:
            return False
        self._buf += chunk
        return True

    def _read_exact(self, n, deadline):
        while len(self._buf) < n:
            if not self._fill(deadline):
                self._close_socket()
                if self.close_received:
                    raise WSClosed(*self.close_received)
                raise WSClosed(1006, "", "connection closed without a close frame (%d bytes pending)"
                               % len(self._buf))
        b = bytes(self._buf[:n])
        del self._buf[:n]
        return b

    def send_raw(self, data):
        """Writes bytes as they are (no framing)."""
        if self.sock is None:
            raise WSClosed(1006, "", "socket already closed")
        with self._send_lock:
            self.sock.settimeout(self.timeout)
            try:
                self.sock.sendall(data)
            except socket.timeout:
                raise WSTimeout("send timed out")
            except (BrokenPipeError, ConnectionResetError) as e:
                raise WSClosed(1006, "", "send failed: %s" % e)

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None):
        """Sends one frame. Use mask=False / rsv / any opcode for negative tests."""
        if opcode == OP_CLOSE:
            self.close_sent = True
        self.send_raw(encode_frame(opcode, payload, fin=fin, rsv=rsv, mask=mask, mask_key=mask_key))

    def recv_frame(self, timeout=None):
        """Reads exactly one frame, with no processing at all (no pong, no
        reassembly, no checks). For conformance tests."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        b0, b1 = self._read_exact(2, deadline)
        fin = b0 >> 7
        rsv = (b0 >> 4) & 7
        opcode = b0 & 0x0F
        masked = b1 >> 7
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._read_exact(2, deadline))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._read_exact(8, deadline))
            if n >> 63:
                raise ProtocolError("64-bit length with the top bit set")
        key = self._read_exact(4, deadline) if masked else None
        payload = self._read_exact(n, deadline)
        if masked:
            payload = mask_payload(key, payload)
        self.frames_seen += 1
        return Frame(fin, rsv, opcode, payload, bool(masked))

    def recv_frame_wire(self, timeout=None):
        """Like recv_frame, but returns (frame, head): head is the frame's
        header bytes as they were on the wire (to check, e.g., that the
        length uses the minimal encoding, §5.2)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        head = self._read_exact(2, deadline)
        b0, b1 = head
        n = b1 & 0x7F
        if n == 126:
            ext = self._read_exact(2, deadline)
            head += ext
            (n,) = struct.unpack("!H", ext)
        elif n == 127:
            ext = self._read_exact(8, deadline)
            head += ext
            (n,) = struct.unpack("!Q", ext)
            if n >> 63:
                raise ProtocolError("64-bit length with the top bit set")
        key = None
        if b1 >> 7:
            key = self._read_exact(4, deadline)
            head += key
        payload = self._read_exact(n, deadline)
        if key is not None:
            payload = mask_payload(key, payload)
        self.frames_seen += 1
        return Frame(b0 >> 7, (b0 >> 4) & 7, b0 & 0x0F, payload, key is not None), head

    # ----------------------------------------------------------------- sending

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode("utf-8") if isinstance(text, str) else text)

    def send_binary(self, data):
        self.send_frame(OP_BINARY, data)

    def send_json(self, obj):
        self.send_text(json.dumps(obj, separators=(",", ":")))

    def send_ping(self, payload=b""):
        self.send_frame(OP_PING, payload)

    def send_pong(self, payload=b""):
        self.send_frame(OP_PONG, payload)

    def send_close(self, code=1000, reason="", payload=None):
        """Sends a close frame (code None = empty body; payload = raw body)."""
        self.send_frame(OP_CLOSE, payload if payload is not None else close_payload(code, reason))

    def send_fragmented(self, opcode, data, sizes, interleave_ping=False):
        """Sends one message as several frames: the first with opcode, the
        rest continuations; sizes gives the fragment lengths (the remainder
        goes in a last fragment). interleave_ping puts a ping between
        fragments (allowed by §5.4)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        parts = []
        pos = 0
        for s in sizes:
            parts.append(data[pos:pos + s])
            pos += s
        if pos < len(data) or not parts:
            parts.append(data[pos:])
        for i, part in enumerate(parts):
            self.send_frame(opcode if i == 0 else OP_CONT, part, fin=(i == len(parts) - 1))
            if interleave_ping and i < len(parts) - 1:
                self.send_ping(b"frag-%d" % i)

    # --------------------------------------------------------------- receiving

    def _handle(self, f):
        """Processes one frame: returns a Message when one completes, else
        None. Raises WSClosed on a close frame, ProtocolError on violations."""
        if self.strict:
            if f.masked:
                raise ProtocolError("server sent a masked frame: %r" % f)
            if f.rsv:
                raise ProtocolError("server set RSV bits without an extension: %r" % f)
        if f.opcode >= 0x8:
            if self.strict and (not f.fin or len(f.payload) > 125):
                raise ProtocolError("bad control frame: %r" % f)
            if f.opcode == OP_PING:
                self.pings_seen += 1
                self.ping_payloads.append(f.payload)
                if self.auto_pong and not self.close_sent:
                    try:
                        self.send_pong(f.payload)
                    except WSClosed:
                        pass
                return None
            if f.opcode == OP_PONG:
                self.pongs_seen += 1
                self.pong_payloads.append(f.payload)
                return None
            if f.opcode == OP_CLOSE:
                code, reason = 1005, ""
                if len(f.payload) == 1:
                    raise ProtocolError("close frame with a 1-byte body")
                if len(f.payload) >= 2:
                    (code,) = struct.unpack("!H", f.payload[:2])
                    try:
                        reason = f.payload[2:].decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtocolError("close reason is not UTF-8: %r" % f.payload)
                self.close_received = (code, reason)
                if not self.close_sent:
                    try:
                        self.send_close(code if code != 1005 else None)
                    except WSError:
                        pass
                self._close_socket()
                raise WSClosed(code, reason)
            raise ProtocolError("unknown control opcode: %r" % f)
        if f.opcode == OP_CONT:
            if self._frag_opcode is None:
                raise ProtocolError("continuation frame without a message: %r" % f)
            self._frag_parts.append(f.payload)
            if not f.fin:
                return None
            data = b"".join(self._frag_parts)
            opcode, nparts = self._frag_opcode, len(self._frag_parts)
            self._frag_opcode, self._frag_parts = None, []
            return self._message(opcode, data, nparts)
        if f.opcode in (OP_TEXT, OP_BINARY):
            if self._frag_opcode is not None:
                raise ProtocolError("new data frame inside a fragmented message: %r" % f)
            if f.fin:
                return self._message(f.opcode, f.payload, 1)
            self._frag_opcode, self._frag_parts = f.opcode, [f.payload]
            return None
        raise ProtocolError("unknown data opcode: %r" % f)

    def _message(self, opcode, data, nparts):
        if opcode == OP_TEXT and self.strict:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError("text message is not valid UTF-8: %r" % _short(data))
        return Message(opcode, data, nparts)

    def recv(self, timeout=None):
        """The next data message (a Message), answering pings on the way.
        Raises WSTimeout, WSClosed (close frame or EOF), ProtocolError."""
        if self._inbox:
            return self._inbox.popleft()
        if self.closed:
            raise WSClosed(*(self.close_received or (1006, "")))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WSTimeout("no message within %.1fs" % (self.timeout if timeout is None else timeout))
            m = self._handle(self.recv_frame(remaining))
            if m is not None:
                return m

    def recv_text(self, timeout=None):
        m = self.recv(timeout)
        if not m.is_text:
            raise ProtocolError("expected a text message, got %r" % m)
        return m.text

    def recv_binary(self, timeout=None):
        m = self.recv(timeout)
        if not m.is_binary:
            raise ProtocolError("expected a binary message, got %r" % m)
        return m.data

    def recv_json(self, timeout=None):
        """The next message parsed as JSON (it must be a text frame)."""
        m = self.recv(timeout)
        if not m.is_text:
            raise ProtocolError("expected a JSON text message, got %r" % m)
        try:
            return json.loads(m.data.decode("utf-8"))
        except ValueError as e:
            raise ProtocolError("message is not JSON (%s): %r" % (e, _short(m.data)))

    def recv_json_until(self, pred, timeout=None):
        """Reads messages until one is JSON and pred(obj) is true; returns
        (obj, skipped) where skipped lists the messages read before it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        skipped = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WSTimeout("no matching message within the timeout; got %r" % skipped)
            try:
                m = self.recv(remaining)
            except WSTimeout:
                raise WSTimeout("no matching message within the timeout; got %r" % skipped)
            obj = None
            if m.is_text:
                try:
                    obj = json.loads(m.data.decode("utf-8"))
                except ValueError:
                    obj = None
            if obj is not None and pred(obj):
                return obj, skipped
            skipped.append(m)

    def pump(self, duration):
        """Processes incoming frames for duration seconds (answering pings),
        queueing data messages for recv(). Returns the number of data messages
        queued. Raises WSClosed if the connection closes meanwhile."""
        deadline = time.monotonic() + duration
        n = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return n
            try:
                f = self.recv_frame(remaining)
            except WSTimeout:
                return n
            m = self._handle(f)
            if m is not None:
                self._inbox.append(m)
                n += 1

    def pending(self):
        """Data messages already queued (by pump)."""
        return list(self._inbox)

    def expect_close(self, timeout=None):
        """Reads until the connection closes. Returns (code, reason): those of
        the close frame, or (1006, "") when the TCP connection ended without
        one. Data messages before the close are kept in self.skipped. Raises
        WSTimeout if it is still open after timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while self._inbox:
            self.skipped.append(self._inbox.popleft())
        if self.closed:
            return self.close_received or (1006, "")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WSTimeout("connection still open after %.1fs (skipped %r)"
                                % (self.timeout if timeout is None else timeout, self.skipped))
            try:
                m = self._handle(self.recv_frame(remaining))
            except WSClosed as e:
                return e.code, e.reason
            except WSTimeout:
                raise WSTimeout("connection still open after %.1fs (skipped %r)"
                                % (self.timeout if timeout is None else timeout, self.skipped))
            if m is not None:
                self.skipped.append(m)

    def ping_roundtrip(self, payload=b"rt", timeout=None):
        """Sends a WebSocket ping and waits for its pong (data messages that
        arrive meanwhile are queued). Returns the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + (self.timeout if timeout is None else timeout)
        before = len(self.pong_payloads)
        self.send_ping(payload)
        while payload not in self.pong_payloads[before:]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WSTimeout("no pong for ping %r" % payload)
            m = self._handle(self.recv_frame(remaining))
            if m is not None:
                self._inbox.append(m)
        return time.monotonic() - t0

    # ----------------------------------------------------------------- closing

    def _close_socket(self):
        self.closed = True
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def close(self, code=1000, reason="", timeout=1.0):
        """Closing handshake: sends close, waits (bounded) for the server's
        close, closes the socket. Never raises."""
        if self.closed:
            return self.close_received
        try:
            if not self.close_sent:
                self.send_close(code, reason)
            self.expect_close(timeout)
        except (WSError, OSError):
            pass
        self._close_socket()
        return self.close_received

    def abort(self):
        """Drops the TCP connection without a closing handshake."""
        self._close_socket()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "WSClient(%s:%d%s%s)" % (self.host, self.port, self.path,
                                       "?" + self.query if self.query else "")
