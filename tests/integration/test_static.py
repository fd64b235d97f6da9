#!/usr/bin/env python3
"""Plain HTTP on the WebSocket port (issue 6): the browser library at
/gatecast.js, the demo page under /demo/ and the demo's token endpoint
(demo.enabled), next to the WebSocket path and inside its limits.

  * /gatecast.js is served always: the bytes of clients/js/gatecast.js, as
    JavaScript, with a short Cache-Control and an ETag (If-None-Match gets
    304), HEAD without a body, Connection: close;
  * /demo/, its files and /demo/token are 404 with the demo off, like every
    path we do not know; bad upgrades keep their 400/405/426;
  * with demo.enabled = on: the demo's files, /demo → /demo/, and
    GET /demo/token?uid=U — an HS256 token for U (1 h, groups
    ["company:*"]) that the gateway then accepts, or "token": null with
    auth.mode = none; bad uids get a JSON 400; the gateway warns at start;
  * the limits of the WebSocket path hold: a plain request takes a slot of
    gateway.max_connections_per_ip while it lives (429 beyond), a half
    request or a peer that never closes is cut at handshake_timeout, and
    WebSockets work as before around plain requests;
  * POST /demo/push (demo.enabled = on only; 405 otherwise): a JSON push
    command, send_to_uid to one uid or send_to_group to one company:*
    group, answered with the push port's reply (200, or the HTTP API's
    status for its error; 403 for other commands), bad JSON 400, a body
    over 4 KiB 413, not application/json 415, gateway.allowed_origins and
    the IP limit as for upgrades; a connection that ends before its push
    is answered (the peer, or handshake_timeout) leaves nothing behind,
    and the late answer is dropped.

HTTP is spoken by urllib (a client that shares nothing with the gateway)
and, where the bytes matter, by hand over a socket.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import REPO, ClusterTestCase, main, wait_until  # noqa: E402

SECRET = "static-test-secret-" + secrets.token_hex(24)
LIB = os.path.join(REPO, "clients", "js", "gatecast.js")
DEMO = os.path.join(REPO, "demo")
HANDSHAKE_TIMEOUT = 2


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def mint(uid, ttl=600, groups=None):
    """An HS256 token for uid, made here with the standard library."""
    b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    now = int(time.time())
    claims = {"sub": uid, "iat": now, "exp": now + ttl}
    if groups is not None:
        claims["groups"] = groups
    signed = b64u(b'{"alg":"HS256","typ":"JWT"}') + "." + b64u(json.dumps(claims).encode())
    mac = hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).digest()
    return signed + "." + b64u(mac)


def raw_exchange(port, raw, timeout=5.0):
    """Sends raw bytes, reads until the server ends the stream (or the
    timeout). Returns (status, headers, body, eof) — eof: the server closed
    its side."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(raw)
        data, eof = b"", False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                eof = True
                break
            if not chunk:
                eof = True
                break
            data += chunk
    finally:
        s.close()
    if b"\r\n\r\n" not in data:
        return None, {}, data, eof
    head, body = data.split(b"\r\n\r\n", 1)
    status, _reason, headers = wsclient.parse_head(head + b"\r\n\r\n")
    return status, headers, body, eof


def plain(method, target, headers=()):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1"] + ["%s: %s" % h for h in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post(body, target="/demo/push", ctype="application/json", headers=()):
    """A POST with body (bytes, or an object sent as JSON)."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    h = ([("Content-Type", ctype)] if ctype else []) + [("Content-Length", str(len(body)))]
    return plain("POST", target, h + list(headers)) + body


class StaticCase(ClusterTestCase):
    def get(self, path, headers=None, gateway=0):
        """GET through urllib, redirects not followed. Returns (status,
        headers as a lowercase dict, body)."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **kw):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.cluster.ws_port(gateway), path),
                                     headers=headers or {})
        try:
            with opener.open(req, timeout=5) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def metric(self, name, gateway=0):
        url = "http://127.0.0.1:%d/metrics" % self.cluster.http_port(gateway)
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
        m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
        self.assertIsNotNone(m, "%s not in /metrics" % name)
        return int(m.group(1))

    def wait_connections(self, want, timeout, what="", gateway=0):
        """Waits until gateway's gatecast_connections is want (fails after
        timeout, saying what was expected and the last count)."""
        wait_until(lambda: self.metric("gatecast_connections", gateway),
                   "gatecast_connections == %d%s" % (want, (": " + what) if what else ""),
                   timeout=timeout, ok=lambda n: n == want)


class LibraryTest(StaticCase):
    """Demo off (the default), token mode."""
    CLUSTER = dict(gateways=1, workers=1, extra_set={
        "auth.mode": "token", "gateway.handshake_timeout": HANDSHAKE_TIMEOUT,
        "gateway.max_connections_per_ip": 3})
    ENV = {"GATECAST_AUTH_SECRET": SECRET}

    def test_gatecast_js_is_the_library(self):
        before = self.metric("gatecast_http_requests_total")
        st, h, body = self.get("/gatecast.js")
        self.assertEqual(st, 200)
        self.assertEqual(body, read_file(LIB), "/gatecast.js must be clients/js/gatecast.js as built")
        self.assertEqual(h.get("content-type"), "application/javascript; charset=utf-8")
        self.assertEqual(h.get("content-length"), str(len(body)))
        self.assertRegex(h.get("cache-control", ""), r"max-age=\d+")
        self.assertLessEqual(int(re.search(r"max-age=(\d+)", h["cache-control"]).group(1)), 600,
                             "the library's cache must be short: it changes with the server")
        self.assertRegex(h.get("etag", ""), r'^"[0-9a-f]{8,}"$')
        self.assertEqual(h.get("connection"), "close")
        self.assertEqual(h.get("x-content-type-options"), "nosniff")
        self.assertEqual(self.get("/gatecast.js?v=2")[2], body, "the query string is ignored")
        self.assertGreaterEqual(self.metric("gatecast_http_requests_total") - before, 2)

    def test_head_has_no_body(self):
        port = self.cluster.ws_port(0)
        st, h, body, eof = raw_exchange(port, plain("HEAD", "/gatecast.js"))
        self.assertEqual(st, 200)
        self.assertEqual(h.get("content-length"), [str(len(read_file(LIB)))])
        self.assertEqual(body, b"", "HEAD must not send the body")
        self.assertTrue(eof, "the server ends the connection after its answer")

    def test_half_close_after_the_request_still_gets_the_answer(self):
        """A client that shuts its side after the request (nc -N, some
        scripts) gets the whole answer, then the close."""
        s = socket.create_connection(("127.0.0.1", self.cluster.ws_port(0)), timeout=5)
        try:
            s.sendall(plain("GET", "/gatecast.js"))
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head[:100])
        self.assertEqual(body, read_file(LIB))
        self.wait_connections(0, 3, "the connection ends once the answer is out")

    def test_if_none_match_is_304(self):
        etag = self.get("/gatecast.js")[1]["etag"]
        st, h, body = self.get("/gatecast.js", {"If-None-Match": etag})
        self.assertEqual((st, body), (304, b""))
        self.assertEqual(h.get("etag"), etag)
        st, h, body = self.get("/gatecast.js", {"If-None-Match": '"something-else"'})
        self.assertEqual(st, 200)

    def test_demo_is_404_when_off(self):
        for path in ["/demo/", "/demo", "/demo/index.html", "/demo/app.js", "/demo/style.css",
                     "/demo/token?uid=alice", "/", "/nope", "/gatecast.js/", "/GATECAST.JS"]:
            with self.subTest(path=path):
                st, h, body = self.get(path)
                self.assertEqual(st, 404, "%s: %r" % (path, body[:100]))
                self.assertEqual(body, b"Not Found\n")

    def test_demo_push_is_405_when_off(self):
        port = self.cluster.ws_port(0)
        st, h, body, eof = raw_exchange(port, post({"type": "send_to_uid", "uid": "a", "data": 1}))
        self.assertEqual(st, 405, body)
        self.assertEqual(h.get("allow"), ["GET"])
        self.assertTrue(eof)
        self.assertEqual(self.get("/demo/push")[0], 404)

    def test_bad_upgrades_keep_their_answers(self):
        port = self.cluster.ws_port(0)
        key = base64.b64encode(os.urandom(16)).decode()
        cases = [
            (plain("GET", "/", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                ("Sec-WebSocket-Key", key)]), 426, "no version"),
            (plain("GET", "/", [("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
                                ("Sec-WebSocket-Version", "13")]), 400, "no Upgrade"),
            (plain("GET", "/gatecast.js", [("Upgrade", "websocket")]), 400, "Upgrade alone"),
            (plain("GET", "/gatecast.js", [("Sec-WebSocket-Version", "13")]), 400, "a version alone"),
            (plain("POST", "/gatecast.js"), 405, "POST"),
            (b"GET /gatecast.js HTTP/1.0\r\nHost: x\r\n\r\n", 400, "HTTP/1.0"),
            (b"GET /gatecast.js HTTP/1.1\r\n\r\n", 400, "no Host"),
        ]
        for raw, want, what in cases:
            with self.subTest(what=what):
                st, h, body, eof = raw_exchange(port, raw)
                self.assertEqual(st, want, "%s: %r" % (what, body[:200]))
                self.assertTrue(eof, "%s: the server closes after a refusal" % what)

    def test_websocket_still_works_around_plain_requests(self):
        port = self.cluster.ws_port(0)
        for _ in range(30):
            st, _h, _b, eof = raw_exchange(port, plain("GET", "/gatecast.js") + b"garbage after")
            self.assertEqual(st, 200)
            self.assertTrue(eof)
        c = self.ws(0, query="token=" + mint("after-plain"))
        self.assertEqual(c.recv_json().get("uid"), "after-plain")
        self.assertBrowserAlive(c)

    def test_peer_that_never_closes_is_cut_at_handshake_timeout(self):
        """The response is written and our side shut down; a peer that keeps
        its side open is closed within handshake_timeout, and its slot in
        the connection count (and its IP's) comes back."""
        port = self.cluster.ws_port(0)
        self.wait_connections(0, 5, "no connection left from earlier tests")
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(plain("GET", "/gatecast.js"))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:100])
            self.assertEqual(self.metric("gatecast_connections"), 1,
                             "until the peer closes (or the timeout), the connection counts")
            t0 = time.monotonic()
            self.wait_connections(0, HANDSHAKE_TIMEOUT + 2, "a peer that never closes must be cut at handshake_timeout")
            self.assertLess(time.monotonic() - t0, HANDSHAKE_TIMEOUT + 1.5)
        finally:
            s.close()

    def test_half_request_is_cut_like_a_slow_handshake(self):
        port = self.cluster.ws_port(0)
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            s.sendall(b"GET /gatecast.js HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            t0 = time.monotonic()
            s.settimeout(HANDSHAKE_TIMEOUT + 3)
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            self.assertEqual(data, b"", "half a request gets no answer, only the close")
            self.assertLess(time.monotonic() - t0, HANDSHAKE_TIMEOUT + 2)
        finally:
            s.close()

    def test_plain_requests_count_against_the_ip_limit(self):
        """gateway.max_connections_per_ip = 3: three WebSockets fill the
        IP's slots, so a plain request is refused with 429; one closed
        WebSocket gives its slot back."""
        cs = []
        for _ in range(3):
            c = self.ws(0)
            self.assertEqual(c.recv_json().get("type"), "welcome")
            cs.append(c)
        st, _h, _b = self.get("/gatecast.js")
        self.assertEqual(st, 429)
        cs[0].close()
        wait_until(lambda: self.get("/gatecast.js")[0], "the WebSocket's slot to come back (200)", timeout=3,
                   ok=lambda st: st == 200)

    def test_a_plain_request_holds_a_slot_while_it_lives(self):
        port = self.cluster.ws_port(0)
        cs = []
        for _ in range(2):
            c = self.ws(0)
            self.assertEqual(c.recv_json().get("type"), "welcome")
            cs.append(c)
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(plain("GET", "/gatecast.js"))
            while s.recv(65536):
                pass   # the whole answer; we keep our side open
            with self.assertRaises(wsclient.HandshakeError) as cm:
                wsclient.WSClient("127.0.0.1", port).abort()
            self.assertEqual(cm.exception.status, 429, "the plain connection holds the third slot")
        finally:
            s.close()
        def ws_unless_429():
            try:
                return self.ws(0)
            except wsclient.HandshakeError as e:
                self.assertEqual(e.status, 429, "refused with another status: %s" % e)
                return None
        c = wait_until(ws_unless_429, "the slot given back after the close", timeout=3)
        self.assertEqual(c.recv_json().get("type"), "welcome")


class DemoTokenTest(StaticCase):
    """demo.enabled = on with token auth."""
    CLUSTER = dict(gateways=1, workers=1, extra_set={"auth.mode": "token", "demo.enabled": "on"})
    ENV = {"GATECAST_AUTH_SECRET": SECRET}

    def test_demo_files(self):
        for path, name, ctype in [("/demo/", "index.html", "text/html; charset=utf-8"),
                                  ("/demo/index.html", "index.html", "text/html; charset=utf-8"),
                                  ("/demo/app.js", "app.js", "application/javascript; charset=utf-8"),
                                  ("/demo/style.css", "style.css", "text/css; charset=utf-8")]:
            with self.subTest(path=path):
                st, h, body = self.get(path)
                self.assertEqual(st, 200)
                self.assertEqual(body, read_file(os.path.join(DEMO, name)))
                self.assertEqual(h.get("content-type"), ctype)
                self.assertIn("etag", h)
        self.assertEqual(self.get("/gatecast.js")[2], read_file(LIB))
        for path in ["/demo", "/"]:
            st, h, _ = self.get(path)
            self.assertEqual((st, h.get("location")), (301, "/demo/"), path)
        self.assertEqual(self.get("/demo/nope.js")[0], 404)

    def token_for(self, uid):
        st, h, body = self.get("/demo/token?uid=" + quote(uid, safe=""))
        self.assertEqual(st, 200, body)
        self.assertEqual(h.get("content-type"), "application/json")
        self.assertEqual(h.get("cache-control"), "no-store")
        reply = json.loads(body)
        self.assertEqual(set(reply), {"token", "uid"}, reply)
        self.assertEqual(reply["uid"], uid)
        return reply["token"]

    def test_token_is_a_real_token_for_the_uid(self):
        token = self.token_for("alice")
        head, payload, sig = token.split(".")
        want = hmac.new(SECRET.encode(), ("%s.%s" % (head, payload)).encode(), hashlib.sha256).digest()
        self.assertEqual(b64u_decode(sig), want, "signed with auth.secret")
        claims = json.loads(b64u_decode(payload))
        self.assertEqual(claims["sub"], "alice")
        self.assertEqual(claims["exp"] - claims["iat"], 3600)
        self.assertLessEqual(abs(claims["iat"] - time.time()), 5)
        self.assertEqual(claims["groups"], ["company:*"])

        c = self.ws(0, query="token=" + token)
        m = c.recv_json()
        self.assertEqual((m.get("type"), m.get("ok"), m.get("uid")), ("login", True, "alice"), m)
        c.send_json({"type": "join", "group": "company:7"})
        self.assertEqual(c.recv_json(), {"type": "join", "ok": True, "group": "company:7"})
        c.send_json({"type": "join", "group": "admins"})
        self.assertEqual(c.recv_json().get("error"), "forbidden")

        # In a login message too, and for a uid that needs escaping.
        uid = "bob ü/42"
        token = self.token_for(uid)
        c2 = self.ws(0)
        self.assertEqual(c2.recv_json().get("type"), "welcome")
        c2.send_json({"type": "login", "token": token})
        m = c2.recv_json()
        self.assertEqual((m.get("type"), m.get("uid")), ("login", uid), m)

    def test_bad_uids_get_400(self):
        for q in ["", "?uid=", "?user=alice", "?uid=" + "x" * 129, "?uid=%ff", "?uid=a%00b",
                  "?uid=%zz"]:
            with self.subTest(query=q):
                st, h, body = self.get("/demo/token" + q)
                self.assertEqual(st, 400, body)
                self.assertEqual(h.get("content-type"), "application/json")
                self.assertEqual(json.loads(body).get("error"), "bad_request")
        self.assertEqual(self.get("/demo/token?uid=" + "x" * 128)[0], 200, "128 bytes is the limit")

    def test_head_on_token(self):
        st, h, body, eof = raw_exchange(self.cluster.ws_port(0), plain("HEAD", "/demo/token?uid=a"))
        self.assertEqual((st, body), (200, b""))
        self.assertTrue(eof)

    def test_gateway_warns_at_start(self):
        log = self.cluster.gateways[0].log_text()
        line = [l for l in log.splitlines() if "event=demo_enabled" in l]
        self.assertTrue(line, "the gateway must warn that the demo hands out tokens")
        self.assertIn("level=warn", line[0])
        self.assertIn("any uid", line[0])
        self.assertNotIn(SECRET, log)


class DemoPushTest(StaticCase):
    """POST /demo/push: demo.enabled = on, token mode. handshake_timeout is
    shorter than request_timeout, so a push that takes long outlives its
    connection."""
    HANDSHAKE = 1.5
    CLUSTER = dict(gateways=1, workers=1, extra_set={
        "auth.mode": "token", "demo.enabled": "on", "gateway.handshake_timeout": HANDSHAKE,
        "gateway.request_timeout": 4, "gateway.max_connections_per_ip": 4})
    ENV = {"GATECAST_AUTH_SECRET": SECRET}

    def demo_push(self, body, **kw):
        """POST /demo/push; returns (status, headers, reply JSON or None, raw body)."""
        st, h, raw, eof = raw_exchange(self.cluster.ws_port(0), post(body, **kw))
        self.assertTrue(eof, "every answer ends its connection")
        try:
            reply = json.loads(raw)
        except ValueError:
            reply = None
        return st, h, reply, raw

    def login(self, uid, group=None):
        c = self.ws(0, query="token=" + mint(uid, groups=["company:*"]))
        self.assertEqual(c.recv_json().get("uid"), uid)
        if group:
            c.send_json({"type": "join", "group": group})
            self.assertEqual(c.recv_json().get("ok"), True)
        return c

    def test_send_to_uid(self):
        a1, a2 = self.login("pu-alice"), self.login("pu-alice")
        before = self.metric("gatecast_push_requests_total")
        st, h, reply, _ = self.demo_push({"type": "send_to_uid", "uid": "pu-alice", "id": 7,
                                          "data": {"title": "from the form"}})
        self.assertEqual(st, 200)
        self.assertEqual(reply, {"id": 7, "ok": True, "delivered": 2, "offline": []})
        self.assertEqual(h.get("content-type"), ["application/json"])
        self.assertEqual(h.get("cache-control"), ["no-store"])
        self.assertEqual(h.get("connection"), ["close"])
        for c in (a1, a2):
            self.assertEqual(c.recv_json(), {"title": "from the form"})
        self.assertEqual(self.metric("gatecast_push_requests_total") - before, 1,
                         "counted like the push port's and the HTTP API's commands")

    def test_send_to_group(self):
        b = self.login("pu-bob", "company:3")
        other = self.login("pu-carol", "company:4")
        st, _h, reply, _ = self.demo_push({"type": "send_to_group", "group": "company:3",
                                           "data": "deploy finished"},
                                          ctype="application/json; charset=utf-8")
        self.assertEqual((st, reply), (200, {"ok": True, "delivered": 1}))
        self.assertEqual(b.recv().text, "deploy finished")
        self.assertNothing(other)

    def test_offline_uid(self):
        st, _h, reply, _ = self.demo_push({"type": "send_to_uid", "uid": "pu-nobody", "data": 1})
        self.assertEqual((st, reply), (200, {"ok": True, "delivered": 0, "offline": ["pu-nobody"]}))

    def test_other_commands_are_403(self):
        c = self.login("pu-dave", "company:5")
        e = self.login("pu-erin")
        for cmd in [{"type": "send_to_all", "data": "x"},
                    {"type": "send_to_group", "group": "admins", "data": "x"},
                    {"type": "send_to_group", "group": ["company:5", "company:6"], "data": "x"},
                    {"type": "send_to_uid", "uid": ["pu-dave", "pu-erin"], "data": "x"},
                    {"type": "ungroup", "group": "company:5"},
                    {"type": "get_all_uid_count", "id": "q"},
                    {"type": "close_client", "client_id": "0" * 28}]:
            with self.subTest(cmd=cmd):
                st, h, reply, raw = self.demo_push(cmd)
                self.assertEqual(st, 403, raw)
                self.assertEqual(h.get("content-type"), ["application/json"])
                self.assertEqual((reply.get("ok"), reply.get("error")), (False, "forbidden"), reply)
                self.assertIn("send_to_uid", reply.get("message"))
                if "id" in cmd:
                    self.assertEqual(reply.get("id"), cmd["id"])
        self.assertNothing(c)
        self.assertNothing(e)
        self.assertBrowserAlive(c)

    def test_bad_requests_are_400(self):
        for body, code in [(b"{nope", "bad_json"), (b"", "bad_json"), (b"[1,2]", "bad_request"),
                           (b'{"uid":"x","data":1}', "bad_request"),
                           (b'{"type":"no_such_thing"}', "unknown_type"),
                           (b'{"type":"send_to_uid","uid":"x"}', "bad_request")]:
            with self.subTest(body=body):
                st, _h, reply, raw = self.demo_push(body)
                self.assertEqual(st, 400, raw)
                self.assertEqual((reply.get("ok"), reply.get("error")), (False, code), reply)

    def test_not_json_is_415(self):
        for ctype in [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonp"]:
            with self.subTest(ctype=ctype):
                st, _h, reply, raw = self.demo_push({"type": "send_to_uid", "uid": "x", "data": 1},
                                                    ctype=ctype)
                self.assertEqual(st, 415, raw)
                self.assertEqual(reply.get("error"), "unsupported_media_type")

    def test_body_limits(self):
        port = self.cluster.ws_port(0)
        cmd = {"type": "send_to_uid", "uid": "pu-big", "data": ""}
        cmd["data"] = "x" * (4096 - len(json.dumps(cmd)))
        self.assertEqual(len(json.dumps(cmd)), 4096)
        st, _h, reply, raw = self.demo_push(cmd)
        self.assertEqual((st, reply.get("ok")), (200, True), "4096 bytes is the limit: %r" % raw[:200])
        cmd["data"] += "x"
        st, _h, reply, raw = self.demo_push(cmd)
        self.assertEqual(st, 413, raw[:200])
        self.assertEqual(reply.get("error"), "too_large")
        # A big body that is still coming: the 413 gets through, then the close.
        big = b"x" * 300000
        st, _h, body, eof = raw_exchange(port, post(big))
        self.assertEqual(st, 413, body[:200])
        self.assertTrue(eof)
        # Chunked bodies are not taken (411), nor an ambiguous length (400).
        raw_chunked = plain("POST", "/demo/push", [("Content-Type", "application/json"),
                                                    ("Transfer-Encoding", "chunked")]) + b"2\r\n{}\r\n0\r\n\r\n"
        self.assertEqual(raw_exchange(port, raw_chunked)[0], 411)
        two = plain("POST", "/demo/push", [("Content-Type", "application/json"),
                                            ("Content-Length", "2"), ("Content-Length", "3")]) + b"{}"
        self.assertEqual(raw_exchange(port, two)[0], 400)

    def test_body_in_pieces_and_100_continue(self):
        body = json.dumps({"type": "send_to_uid", "uid": "pu-slow", "data": 1}).encode()
        head = plain("POST", "/demo/push", [("Content-Type", "application/json"),
                                            ("Content-Length", str(len(body))),
                                            ("Expect", "100-continue")])
        s = socket.create_connection(("127.0.0.1", self.cluster.ws_port(0)), timeout=5)
        try:
            s.sendall(head)
            self.assertEqual(s.recv(4096), b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(body[:10])
            time.sleep(0.2)
            s.sendall(body[10:])
            s.shutdown(socket.SHUT_WR)  # a half-close still gets the answer
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data)
        self.assertEqual(json.loads(data.split(b"\r\n\r\n", 1)[1]),
                         {"ok": True, "delivered": 0, "offline": ["pu-slow"]})

    def test_other_paths_and_methods(self):
        port = self.cluster.ws_port(0)
        for target in ["/demo/token", "/gatecast.js", "/demo/push/", "/"]:
            with self.subTest(target=target):
                st, h, body, eof = raw_exchange(port, post({"type": "send_to_uid", "uid": "x",
                                                            "data": 1}, target=target))
                self.assertEqual(st, 405, body)
                self.assertTrue(eof)
        st, h, body = self.get("/demo/push")
        self.assertEqual((st, h.get("allow")), (405, "POST"))
        self.assertEqual(raw_exchange(port, plain("PUT", "/demo/push"))[0], 405)

    def test_ip_limit(self):
        """Like every plain request, a push holds one of its IP's slots;
        at the limit the answer is 429 (still JSON, for the page)."""
        cs = [self.login("pu-ip") for _ in range(4)]
        st, _h, reply, raw = self.demo_push({"type": "send_to_uid", "uid": "pu-ip", "data": 1})
        self.assertEqual(st, 429, raw)
        self.assertEqual(reply.get("ok"), False)
        cs[0].close()
        st, _h, reply, _ = wait_until(lambda: self.demo_push({"type": "send_to_uid", "uid": "pu-ip", "data": 1}),
                                      "the slot given back (the push answered 200)", timeout=3,
                                      ok=lambda r: r[0] == 200)
        self.assertEqual((st, reply.get("delivered")), (200, 3))

    def test_connection_gone_before_the_answer(self):
        """The worker is stopped, so pushes wait. One connection is reset by
        the peer, one closed (a FIN: taken as a half-close, so its answer is
        written to a socket nobody reads), one kept open until the gateway
        cuts it at handshake_timeout. When the worker resumes, the late
        answers find nobody waiting and are dropped; nothing is left
        behind (connections, pending requests, IP slots), and the next push
        works. The sanitizer build checks the memory."""
        port = self.cluster.ws_port(0)
        before = self.metric("gatecast_push_requests_total")
        self.cluster.kill("worker", 0, signal.SIGSTOP)
        socks = []
        try:
            for i in range(3):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(post({"type": "send_to_uid", "uid": "pu-late-%d" % i, "data": i}))
                socks.append(s)
            wait_until(lambda: self.metric("gatecast_push_requests_total") - before,
                       "the 3 pushes counted by the gateway", timeout=3, ok=lambda n: n >= 3)
            self.assertEqual(self.metric("gatecast_pending_requests"), 3)
            socks[0].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socks[0].close()  # a reset
            socks[1].close()  # a FIN
            t0 = time.monotonic()
            socks[2].settimeout(self.HANDSHAKE + 3)
            try:
                data = socks[2].recv(4096)
            except ConnectionResetError:
                data = b""
            self.assertEqual(data, b"", "no answer before handshake_timeout: only the close")
            self.assertLess(time.monotonic() - t0, self.HANDSHAKE + 1)
            self.wait_connections(0, 2, "the closed one waited for its answer until handshake_timeout too")
            self.assertEqual(self.metric("gatecast_pending_requests"), 3,
                             "the pushes themselves go on")
        finally:
            for s in socks:
                s.close()
            self.cluster.kill("worker", 0, signal.SIGCONT)
        # The worker answers within request_timeout: too late for everyone.
        wait_until(lambda: self.metric("gatecast_pending_requests"), "the late answers freeing their slots",
                   timeout=8, step=0.1, ok=lambda n: n == 0)
        self.wait_connections(0, 3, "the late answers' connections closed")
        c = self.login("pu-after")
        st, _h, reply, raw = wait_until(
            lambda: self.demo_push({"type": "send_to_uid", "uid": "pu-after", "data": 9}),
            "a push answered 200 after the worker is back", timeout=10, step=0.2, ok=lambda r: r[0] == 200)
        self.assertEqual((st, reply), (200, {"ok": True, "delivered": 1, "offline": []}), raw)
        self.assertEqual(c.recv_json(), 9)


class DemoPushOriginTest(StaticCase):
    """gateway.allowed_origins applies to /demo/push as to upgrades; with
    auth.mode = none the push works the same."""
    CLUSTER = dict(gateways=1, workers=1, extra_set={
        "demo.enabled": "on", "gateway.allowed_origins": "http://good.example"})

    def test_origin(self):
        port = self.cluster.ws_port(0)
        cmd = {"type": "send_to_uid", "uid": "po", "data": 1}
        for origin, want in [("http://good.example", 200), ("http://evil.example", 403), (None, 403)]:
            with self.subTest(origin=origin):
                st, _h, body, eof = raw_exchange(port, post(cmd, headers=[("Origin", origin)] if origin else []))
                self.assertEqual(st, want, body)
                self.assertEqual(json.loads(body).get("ok"), want == 200)
        two = post(cmd, headers=[("Origin", "http://good.example"), ("Origin", "http://evil.example")])
        self.assertEqual(raw_exchange(port, two)[0], 400, "two Origins: which one?")


class DemoNoAuthTest(StaticCase):
    """demo.enabled = on with auth.mode = none: no token to hand out."""
    CLUSTER = dict(gateways=1, workers=1, extra_set={"demo.enabled": "on"})

    def test_token_is_null(self):
        st, h, body = self.get("/demo/token?uid=bob")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body), {"token": None, "uid": "bob"})
        self.assertEqual(self.get("/demo/")[0], 200)
        log = self.cluster.gateways[0].log_text()
        self.assertIn("event=demo_enabled", log)


if __name__ == "__main__":
    main(timeout=300)
