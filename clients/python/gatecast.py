"""
gatecast — push to browsers through a gatecast push port, with the standard
library only (Python 3.8+). One file: copy it into your project.

    import gatecast

    gc = gatecast.Client("127.0.0.1:8806")           # secret: GATECAST_PUSH_SECRET
    gc.send_to_uid("42", {"type": "new_msg", "unread": 3})
    gc.is_uid_online("42")                            # True
    ok, count = gc.batch([{"type": "is_uid_online", "uid": "42"},
                          {"type": "get_all_client_count"}])

    token = gatecast.token(os.environ["GATECAST_AUTH_SECRET"], "42", ttl=600,
                           groups=["company:7:*"])    # for ws://host:7272/?token=...

The methods are GatewayWorker's Gateway:: methods in snake_case
(send_to_uid, join_group, get_client_count_by_group, ...), one per push-port
command. Sends and ungroup return the gateway's reply as a dict
({"ok": True, "delivered": 2, "offline": []}); queries return the value
(is_uid_online: bool, counts: int, lists: list); bind_uid, join_group,
set_session and the like return None. A reply with "ok": false raises Error,
whose .error is the gateway's code ("not_found", "bad_request", ...), except
"not_found" where there is an answer for it: close_client gives False,
get_uid_by_client_id and get_session None, is_online False. request() and
batch() return raw replies.

Data: a str arrives as its text, bytes as a binary frame, any other value as
compact JSON.

The connection opens on first use and stays open. With a push secret, the
auth line goes first, in the same write as the first requests. A connection
the gateway closed meanwhile (a restart) is noticed before the next request
and replaced. If it breaks after the requests went out and before any reply,
they are sent once more on a new connection unless one of them is a send,
which raises PushConnectionError("closed") instead, because the gateway may
have delivered it. A Client may be shared between threads (a lock
serializes requests); AsyncClient is the same API for asyncio.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import select
import socket
import threading
import time

__all__ = ["Client", "AsyncClient", "Error", "PushConnectionError", "token", "DEFAULT_ADDRESS"]

DEFAULT_ADDRESS = "127.0.0.1:8806"
CHUNK = 1000  # requests per pipelined write, well under the port's 4096 in flight
SENDS = frozenset(("send_to_uid", "send_to_group", "send_to_all", "send_to_client"))
MAX_NAME = 128


class Error(Exception):
    """An "ok": false reply, or a PushConnectionError. .error is the code,
    .message the text, .reply the decoded reply line (or None)."""

    def __init__(self, error, message, reply=None):
        super().__init__("gatecast: %s: %s" % (error, message))
        self.error = error
        self.message = message
        self.reply = reply


class PushConnectionError(Error):
    """The push port could not be used. .error: "connect" (nothing was sent;
    retrying is safe), "closed" (closed before the reply), "timeout" (no reply
    in time), "bad_reply" (not a JSON object). For "closed" and "timeout" the
    outcome is unknown: a send may have been delivered."""


# ------------------------------------------------------------------ tokens

def _b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def token(secret, uid, ttl=3600, groups=None, now=None):
    """An HS256 JWT that the gateway accepts in token mode (auth.mode =
    token), signed with auth.secret (GATECAST_AUTH_SECRET, not the push
    secret): header {"alg":"HS256","typ":"JWT"}, claims sub (uid as text),
    iat, exp = iat + ttl and, when given, groups: the groups the browser may
    join by itself ("company:7:*" matches every group starting "company:7:").
    Raises ValueError for what the gateway would refuse."""
    if not secret:
        raise ValueError("gatecast.token needs auth.secret (it is empty)")
    sub = str(uid)
    if not 0 < len(sub.encode()) <= MAX_NAME:
        raise ValueError("the uid must be 1 to %d bytes" % MAX_NAME)
    if int(ttl) < 1:
        raise ValueError("the ttl must be at least 1 second")
    now = int(time.time() if now is None else now)
    claims = {"sub": sub, "iat": now, "exp": now + int(ttl)}
    if groups is not None:
        groups = [str(g) for g in groups]
        if len(groups) > 256 or not all(0 < len(g.encode()) <= MAX_NAME for g in groups):
            raise ValueError("groups: at most 256 names of 1 to %d bytes" % MAX_NAME)
        claims["groups"] = groups
    signed = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(_dumps(claims))
    key = secret.encode() if isinstance(secret, str) else secret
    return signed + "." + _b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())


# ------------------------------------------------------------------ shared

_RAISE = object()


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _names(v):
    return list(v) if isinstance(v, (list, tuple, set, frozenset)) else v


def _data(cmd, data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        cmd["data_base64"] = base64.b64encode(bytes(data)).decode("ascii")
    else:
        cmd["data"] = data
    return cmd


def _address(address):
    a = address.strip()
    if a.lower().startswith("tcp://"):
        a = a[6:]
    host, sep, port = a.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("bad push address %r (want host:port)" % address)
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "::": "::1"}.get(host, host)
    return host, int(port)


def _encode(commands):
    """(bytes lines, whether resending them is harmless)."""
    lines, repeatable = [], True
    for i, cmd in enumerate(commands):
        if not isinstance(cmd, dict) or not isinstance(cmd.get("type"), str):
            raise TypeError("request %d must be a dict with a str 'type'" % i)
        repeatable = repeatable and cmd["type"] not in SENDS
        lines.append(_dumps(cmd) + b"\n")
    return lines, repeatable


def _decode(line):
    try:
        reply = json.loads(line)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise PushConnectionError("bad_reply", "not a JSON object: %r" % line[:200])
    return reply


def _auth_failed(where, reply):
    return Error(reply.get("error") or "unauthorized", "the push port at %s refused the push "
                 "secret (push.secret, GATECAST_PUSH_SECRET)" % where, reply)


def _needs_secret(where, reply):
    return Error("unauthorized", "the push port at %s needs push.secret (pass secret= or set "
                 "GATECAST_PUSH_SECRET)" % where, reply)


def _result(cmd, reply, key, not_found):
    if reply.get("ok") is True:
        return reply if key is None else key(reply)
    error = reply.get("error") if isinstance(reply.get("error"), str) else "bad_reply"
    if error == "not_found" and not_found is not _RAISE:
        return not_found
    raise Error(error, "%s: %s" % (cmd["type"], reply.get("message", reply)), reply)


class _Commands:
    """The push-port commands. Each builds a command and hands it to
    self._call(cmd, key, not_found); key turns an ok reply into the value."""

    def _call(self, cmd, key=None, not_found=_RAISE):
        raise NotImplementedError

    # sends
    def send_to_uid(self, uid, data):
        """Sends data to every connection of uid (or of each uid in a list).
        Returns {"ok": True, "delivered": n, "offline": [uids without one]}."""
        return self._call(_data({"type": "send_to_uid", "uid": _names(uid)}, data))

    def send_to_group(self, group, data, exclude=None):
        """Sends data to every connection in group (or in any of a list),
        except the client ids in exclude. Returns {"ok": True, "delivered": n}."""
        cmd = {"type": "send_to_group", "group": _names(group)}
        if exclude:
            cmd["exclude"] = [exclude] if isinstance(exclude, str) else list(exclude)
        return self._call(_data(cmd, data))

    def send_to_all(self, data, exclude=None):
        """Sends data to every connection except the client ids in exclude."""
        cmd = {"type": "send_to_all"}
        if exclude:
            cmd["exclude"] = [exclude] if isinstance(exclude, str) else list(exclude)
        return self._call(_data(cmd, data))

    def send_to_client(self, client_id, data):
        """Sends data to a client id (or a list); unknown ids count 0 in "delivered"."""
        return self._call(_data({"type": "send_to_client", "client_id": _names(client_id)}, data))

    def close_client(self, client_id, data=None):
        """Closes a connection (code 1000), after data when given. False when
        it is not connected."""
        cmd = {"type": "close_client", "client_id": client_id}
        return self._call(cmd if data is None else _data(cmd, data), lambda r: True, False)

    # uids, groups
    def bind_uid(self, client_id, uid):
        """Binds a connection to uid. Raises Error "not_found" when it is not connected."""
        return self._call({"type": "bind_uid", "client_id": client_id, "uid": uid}, _none)

    def unbind_uid(self, client_id, uid=None):
        """Unbinds a connection (with uid: only when bound to that uid)."""
        cmd = {"type": "unbind_uid", "client_id": client_id}
        if uid is not None:
            cmd["uid"] = uid
        return self._call(cmd, _none)

    def join_group(self, client_id, group):
        """Adds a connection to group ("not_found", "too_many_groups")."""
        return self._call({"type": "join_group", "client_id": client_id, "group": group}, _none)

    def leave_group(self, client_id, group):
        """Removes a connection from group."""
        return self._call({"type": "leave_group", "client_id": client_id, "group": group}, _none)

    def ungroup(self, group):
        """Removes every connection from group. Returns the reply."""
        return self._call({"type": "ungroup", "group": group})

    # queries
    def is_uid_online(self, uid):
        """True when uid has a connection."""
        return self._call({"type": "is_uid_online", "uid": uid}, lambda r: r["online"])

    def is_online(self, client_id):
        """True when the client id is connected."""
        return self._call({"type": "get_uid_by_client_id", "client_id": client_id},
                          lambda r: True, False)

    def get_client_id_by_uid(self, uid):
        """The client ids of uid's connections (a list)."""
        return self._call({"type": "get_client_id_by_uid", "uid": uid}, lambda r: r["client_ids"])

    def get_uid_by_client_id(self, client_id):
        """The uid of a connection; None when it has none or is not connected."""
        return self._call({"type": "get_uid_by_client_id", "client_id": client_id},
                          lambda r: r["uid"], None)

    def get_client_count_by_group(self, group):
        """Connections in group."""
        return self._call({"type": "get_client_count_by_group", "group": group}, _count)

    def get_uid_list_by_group(self, group):
        """The distinct uids in group, sorted (a list)."""
        return self._call({"type": "get_uid_list_by_group", "group": group}, lambda r: r["uids"])

    def get_uid_count_by_group(self, group):
        """Distinct uids in group."""
        return self._call({"type": "get_uid_count_by_group", "group": group}, _count)

    def get_all_uid_count(self):
        """Distinct uids with a connection."""
        return self._call({"type": "get_all_uid_count"}, _count)

    def get_all_client_count(self):
        """All connections."""
        return self._call({"type": "get_all_client_count"}, _count)

    def get_all_group_id_list(self):
        """The non-empty groups, sorted (a list)."""
        return self._call({"type": "get_all_group_id_list"}, lambda r: r["groups"])

    # sessions
    def set_session(self, client_id, session):
        """Replaces a connection's session (a dict)."""
        return self._call({"type": "set_session", "client_id": client_id, "session": dict(session)}, _none)

    def update_session(self, client_id, session):
        """Merges session's top-level keys into a connection's session."""
        return self._call({"type": "update_session", "client_id": client_id, "session": dict(session)}, _none)

    def get_session(self, client_id):
        """A connection's session: {} when none was set, None when it is not connected."""
        return self._call({"type": "get_session", "client_id": client_id},
                          lambda r: r.get("session") or {}, None)

    # GatewayWorker's aliases
    get_client_id_count_by_group = get_client_count_by_group
    get_all_client_id_count = get_all_client_count


def _none(reply):
    return None


def _count(reply):
    return reply["count"]


# ------------------------------------------------------------------ sync

class Client(_Commands):
    """A connection to a push port. address: "host:port" (gateway.push_listen);
    secret: push.secret, None reads GATECAST_PUSH_SECRET, "" sends none;
    connect_timeout: seconds to connect; timeout: seconds to wait for each
    reply. Usable as a context manager."""

    def __init__(self, address=DEFAULT_ADDRESS, secret=None, connect_timeout=3.0, timeout=10.0):
        self.address = address
        self._host, self._port = _address(address)
        self.secret = os.environ.get("GATECAST_PUSH_SECRET", "") if secret is None else secret
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.last_reply = None  # the reply behind the last method call (e.g. for "partial")
        self._sock = None
        self._in = b""
        self._authed = False
        self._answered = 0
        self._lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Closes the connection; the next request opens a new one."""
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock, self._in, self._authed = None, b"", False

    def request(self, command):
        """Sends one command (a dict with "type") and returns its reply, ok or not."""
        return self.batch([command])[0]

    def batch(self, commands):
        """Pipelines the commands (written in one go, then every reply read)
        and returns their replies in order, ok or not."""
        lines, repeatable = _encode(commands)
        if not lines:
            return []
        with self._lock:
            for attempt in (1, 2):
                reused = self._alive()
                try:
                    return self._round_trip(lines)
                except PushConnectionError as e:
                    self.close()
                    if attempt > 1 or not reused or self._answered or e.error != "closed" or not repeatable:
                        raise

    def _call(self, cmd, key=None, not_found=_RAISE):
        reply = self.last_reply = self.batch([cmd])[0]
        return _result(cmd, reply, key, not_found)

    def _where(self):
        return "%s:%d" % (self._host, self._port)

    def _alive(self):
        """False when there is no connection or the gateway closed it (then
        it is dropped; so are bytes nobody asked for)."""
        if self._sock is None:
            return False
        try:
            readable = select.select([self._sock], [], [], 0)[0]
        except (OSError, ValueError):
            readable = True
        if readable:
            self.close()
            return False
        return True

    def _connect(self):
        try:
            s = socket.create_connection((self._host, self._port), timeout=self.connect_timeout)
        except OSError as e:
            raise PushConnectionError("connect", "cannot connect to the push port %s: %s"
                                      % (self._where(), e)) from None
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._in, self._authed = s, b"", False

    def _round_trip(self, lines):
        self._answered = 0
        if self._sock is None:
            self._connect()
        replies = []
        for i in range(0, len(lines), CHUNK):
            chunk = lines[i:i + CHUNK]
            auth = bool(self.secret) and not self._authed
            out = b"".join(chunk)
            if auth:
                out = _dumps({"type": "auth", "secret": self.secret}) + b"\n" + out
            try:
                self._sock.settimeout(self.timeout)
                self._sock.sendall(out)
            except socket.timeout:
                raise PushConnectionError("timeout", "cannot send to %s within %s s"
                                          % (self._where(), self.timeout)) from None
            except OSError as e:
                raise PushConnectionError("closed", "sending to %s: %s" % (self._where(), e)) from None
            if auth:
                reply = self._read_reply(len(lines))
                if reply.get("ok") is not True:
                    self.close()
                    raise _auth_failed(self._where(), reply)
                self._authed = True
            for _ in chunk:
                reply = self._read_reply(len(lines))
                if not self._authed and reply.get("error") == "unauthorized":
                    self.close()
                    raise _needs_secret(self._where(), reply)
                replies.append(reply)
                self._answered += 1
        return replies

    def _read_reply(self, total):
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self._in:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PushConnectionError("timeout", "no reply from %s within %s s (%d of %d "
                                          "answered); the outcome is unknown"
                                          % (self._where(), self.timeout, self._answered, total))
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                raise PushConnectionError("closed", "the push port %s closed the connection (%d of "
                                          "%d answered)" % (self._where(), self._answered, total))
            self._in += chunk
        line, _, self._in = self._in.partition(b"\n")
        try:
            return _decode(line)
        except PushConnectionError:
            self.close()
            raise


# ------------------------------------------------------------------ asyncio

class AsyncClient(_Commands):
    """Client for asyncio: the same methods, awaited
    (await gc.send_to_uid("42", "hi")), with the same connection rules.
    Concurrent calls on one AsyncClient are serialized."""

    def __init__(self, address=DEFAULT_ADDRESS, secret=None, connect_timeout=3.0, timeout=10.0):
        self.address = address
        self._host, self._port = _address(address)
        self.secret = os.environ.get("GATECAST_PUSH_SECRET", "") if secret is None else secret
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.last_reply = None
        self._reader = self._writer = None
        self._authed = False
        self._answered = 0
        self._lock = None  # made inside the running loop

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def close(self):
        """Closes the connection; the next request opens a new one."""
        w, self._reader, self._writer, self._authed = self._writer, None, None, False
        if w is not None:
            w.close()
            try:
                await w.wait_closed()
            except OSError:
                pass

    async def request(self, command):
        """Sends one command and returns its reply, ok or not."""
        return (await self.batch([command]))[0]

    async def batch(self, commands):
        """Pipelines the commands and returns their replies in order."""
        lines, repeatable = _encode(commands)
        if not lines:
            return []
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            for attempt in (1, 2):
                reused = self._writer is not None and not (self._reader.at_eof() or self._writer.is_closing())
                if not reused:
                    await self.close()
                try:
                    return await self._round_trip(lines)
                except PushConnectionError as e:
                    await self.close()
                    if attempt > 1 or not reused or self._answered or e.error != "closed" or not repeatable:
                        raise

    async def _call(self, cmd, key=None, not_found=_RAISE):
        reply = self.last_reply = (await self.batch([cmd]))[0]
        return _result(cmd, reply, key, not_found)

    async def _round_trip(self, lines):
        where = "%s:%d" % (self._host, self._port)
        self._answered = 0
        if self._writer is None:
            try:
                self._reader, self._writer = await asyncio.wait_for(asyncio.open_connection(
                    self._host, self._port, limit=1 << 24), self.connect_timeout)
            except (OSError, asyncio.TimeoutError) as e:
                raise PushConnectionError("connect", "cannot connect to the push port %s: %s"
                                          % (where, str(e) or "timeout")) from None
        replies = []
        for i in range(0, len(lines), CHUNK):
            chunk = lines[i:i + CHUNK]
            auth = bool(self.secret) and not self._authed
            if auth:
                self._writer.write(_dumps({"type": "auth", "secret": self.secret}) + b"\n")
            self._writer.write(b"".join(chunk))
            if auth:
                reply = await self._read_reply(where, len(lines))
                if reply.get("ok") is not True:
                    await self.close()
                    raise _auth_failed(where, reply)
                self._authed = True
            for _ in chunk:
                reply = await self._read_reply(where, len(lines))
                if not self._authed and reply.get("error") == "unauthorized":
                    await self.close()
                    raise _needs_secret(where, reply)
                replies.append(reply)
                self._answered += 1
        return replies

    async def _read_reply(self, where, total):
        try:
            await asyncio.wait_for(self._writer.drain(), self.timeout)
            line = await asyncio.wait_for(self._reader.readline(), self.timeout)
        except asyncio.TimeoutError:
            raise PushConnectionError("timeout", "no reply from %s within %s s (%d of %d answered); "
                                      "the outcome is unknown" % (where, self.timeout, self._answered,
                                                                  total)) from None
        except (OSError, ValueError):
            line = b""
        if not line.endswith(b"\n"):
            raise PushConnectionError("closed", "the push port %s closed the connection (%d of %d "
                                      "answered)" % (where, self._answered, total))
        return _decode(line)
