#!/usr/bin/env python3
"""
Client authentication and abuse limits, end to end (docs/auth.md):

  * HS256 tokens, minted here with the standard library (hmac, hashlib,
    base64, json: an implementation that shares nothing with common/jwt.c)
    and with `gatecast token`, are accepted in ?token= before the 101 and in
    a login message; every kind of bad token is refused (401 before the
    upgrade; an "unauthorized" error frame and close 4001 after it);
  * key rotation with auth.previous_secret; auth.login_timeout;
  * the groups claim (with "prefix:*" wildcards) limits client joins, not
    the backend's push-port join_group; gateway.max_groups;
  * gateway.max_connections_per_uid closes the oldest tab with 4008;
  * push.secret guards the push port;
  * gateway.allowed_origins (403), max_connections_per_ip with and without
    trusted_proxies / X-Forwarded-For (429), rate_limit (rate_limited, 1008);
  * auth.mode = none says so in the log; token mode refuses to start without
    auth.secret; no secret ever shows in a process log.

Secrets reach the processes through the environment (GATECAST_AUTH_SECRET,
GATECAST_AUTH_PREVIOUS_SECRET, GATECAST_PUSH_SECRET), as in production: the
fixture writes every process's command line into its log.

Run: GATECAST_BUILD=build python3 tests/integration/test_auth.py
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import time
import unittest
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import (CLUSTER_SECRET, SECRET_ENV, Cluster, ClusterTestCase, PushClient, clean_env,  # noqa: E402
                     binary, main, uniq, wait_until)



def new_secret(tag):
    # 32+ bytes, and recognisable should one ever show up in a log.
    return "%s-%s" % (tag, secrets.token_hex(24))


SECRET = new_secret("auth-secret")
OLD_SECRET = new_secret("previous-secret")
OTHER_SECRET = new_secret("unrelated-secret")
PUSH_SECRET = new_secret("push-secret")


# ------------------------------------------------------------ tokens (stdlib)

def b64u(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def sign(secret, signing_input, digest=hashlib.sha256):
    return b64u(hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), digest).digest())


def mint(secret=SECRET, sub=None, ttl=3600, groups=None, claims=None, header=None,
         digest=hashlib.sha256, now=None):
    """A compact JWS. claims replaces the default payload entirely when
    given; header defaults to {"alg":"HS256","typ":"JWT"}."""
    now = int(time.time()) if now is None else now
    if claims is None:
        claims = {"sub": sub if sub is not None else uniq("u"), "iat": now, "exp": now + ttl}
        if groups is not None:
            claims["groups"] = groups
    h = b64u(compact(header if header is not None else {"alg": "HS256", "typ": "JWT"}))
    p = b64u(compact(claims))
    return "%s.%s.%s" % (h, p, sign(secret, h + "." + p, digest))


def token_q(token, **more):
    q = "token=" + quote(token, safe="")
    for k, v in more.items():
        q += "&%s=%s" % (k, quote(v, safe=""))
    return q


def cli_token(uid, ttl=None, groups=None, secret=SECRET, extra_args=()):
    """`gatecast token`, with the secret in the environment. Returns the
    CompletedProcess."""
    env = clean_env()
    if secret is not None:
        env["GATECAST_AUTH_SECRET"] = secret
    args = [binary("launcher"), "token", "--uid", uid]
    if ttl is not None:
        args += ["--ttl", str(ttl)]
    if groups is not None:
        args += ["--groups", groups]
    args += list(extra_args)
    return subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=10)


def bad_tokens(sub):
    """(name, token) pairs the gateway must refuse, all for sub."""
    now = int(time.time())
    good = mint(sub=sub)
    h, p, s = good.split(".")
    other_payload = b64u(compact({"sub": "admin", "iat": now, "exp": now + 3600}))
    none_h = b64u(compact({"alg": "none", "typ": "JWT"}))
    none_p = b64u(compact({"sub": sub, "iat": now, "exp": now + 3600}))
    return [
        ("expired", mint(sub=sub, claims={"sub": sub, "iat": now - 7200, "exp": now - 3600})),
        ("wrong secret", mint(OTHER_SECRET, sub=sub)),
        ("tampered payload", "%s.%s.%s" % (h, other_payload, s)),
        ("tampered signature", "%s.%s.%s" % (h, p, s[:-2] + ("AA" if s[-2:] != "AA" else "BA"))),
        ("alg none, no signature", "%s.%s." % (none_h, none_p)),
        ("alg none, HS256 signature", "%s.%s.%s" % (none_h, none_p, sign(SECRET, none_h + "." + none_p))),
        ("HS512 header", mint(sub=sub, header={"alg": "HS512", "typ": "JWT"}, digest=hashlib.sha512)),
        ("HS512 header, HS256 signature", mint(sub=sub, header={"alg": "HS512", "typ": "JWT"})),
        ("no exp", mint(sub=sub, claims={"sub": sub, "iat": now})),
        ("not yet valid", mint(sub=sub, claims={"sub": sub, "nbf": now + 3600, "exp": now + 7200})),
        ("empty sub", mint(sub=sub, claims={"sub": "", "exp": now + 3600})),
        ("groups not an array", mint(sub=sub, claims={"sub": sub, "exp": now + 3600, "groups": "news"})),
        ("extra header key", mint(sub=sub, header={"alg": "HS256", "typ": "JWT", "kid": "1"})),
        ("sub not a string", mint(sub=sub, claims={"sub": 42, "exp": now + 3600})),
        ("garbage", "garbage"),
        ("three garbage parts", "a.b.c"),
        ("two parts", "%s.%s" % (h, p)),
    ]


# ------------------------------------------------------------ the test base

class AuthCase(ClusterTestCase):
    """ClusterTestCase whose cluster gets ENV (secrets) in its environment
    (ClusterTestCase keeps the caller's own GATECAST_*_SECRET values out)."""

    # ------------------------------------------------------------- helpers

    def login_by_query(self, token, sub, gateway=0, **kw):
        """Connects with ?token=; asserts the first frame is the login
        reply for sub. Returns (client, client_id)."""
        c = self.ws(gateway, query=token_q(token), **kw)
        m = c.recv_json()
        self.assertEqual(set(m), {"type", "ok", "uid", "client_id"}, "first frame with ?token=: %r" % m)
        self.assertEqual((m["type"], m["ok"], m["uid"]), ("login", True, sub), m)
        self.assertClientId(m["client_id"])
        return c, m["client_id"]

    def welcome(self, gateway=0, **kw):
        """Connects without a token; asserts the welcome. Returns (client, client_id)."""
        c = self.ws(gateway, **kw)
        m = c.recv_json()
        self.assertEqual(set(m), {"type", "client_id"}, "first frame without a token: %r" % m)
        self.assertEqual(m["type"], "welcome", m)
        self.assertClientId(m["client_id"])
        return c, m["client_id"]

    def assertRefused(self, status, query="", headers=None, gateway=0, msg=None):
        """The upgrade is refused with status: no 101, no WebSocket."""
        with self.assertRaises(wsclient.HandshakeError, msg=msg) as cm:
            c = wsclient.WSClient("127.0.0.1", self.cluster.ws_port(gateway), query=query,
                                  headers=headers)
            c.abort()
        e = cm.exception
        self.assertEqual(e.status, status, "%s: %s" % (msg, e))
        self.assertNotIn("sec-websocket-accept", e.headers, msg)
        return e

    def assertRefusedRaw(self, status, target, headers=(), gateway=0):
        """Same as assertRefused, through a hand-written request; also
        checks that the server closes the connection after its answer."""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % target, "Host: 127.0.0.1", "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        lines += ["%s: %s" % hv for hv in headers]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
        t0 = time.monotonic()
        st, hdrs, _body = wsclient.http_request("127.0.0.1", self.cluster.ws_port(gateway), raw,
                                                timeout=5)
        self.assertEqual(st, status, "%s -> %r %r" % (target, st, hdrs))
        self.assertNotIn("upgrade", hdrs)
        return time.monotonic() - t0

    def assertLoginOk(self, c, sub):
        m = c.recv_json()
        self.assertEqual(set(m), {"type", "ok", "uid", "client_id"}, m)
        self.assertEqual((m["type"], m["ok"], m["uid"]), ("login", True, sub), m)
        self.assertClientId(m["client_id"])
        return m

    def assertUnauthorizedThenClose(self, c, code=4001):
        m = c.recv_json()
        self.assertEqual((m.get("type"), m.get("error")), ("error", "unauthorized"), m)
        self.assertIsInstance(m.get("message"), str, m)
        got = c.expect_close(5)
        self.assertEqual(got[0], code, "close after unauthorized: %r" % (got,))
        self.assertEqual(c.skipped, [], "frames between the error and the close")
        return m

    def assertPushReaches(self, uid, clients, gateway=0, delivered=None):
        data = {"to": uid, "n": uniq("p")}
        r = self.request({"type": "send_to_uid", "uid": uid, "data": data}, gateway=gateway)
        self.assertEqual(r.get("delivered"), len(clients) if delivered is None else delivered, r)
        self.assertEqual(r.get("offline"), [], r)
        for c in clients:
            self.assertNextJSON(c, data)

    def ws_unless_429(self, gateway=0):
        """A client on gateway, or None when the handshake is refused 429
        (any other refusal fails the test)."""
        try:
            return self.ws(gateway)
        except wsclient.HandshakeError as e:
            self.assertEqual(e.status, 429, "refused with another status: %s" % e)
            return None

    def assertOffline(self, uid, timeout=2.0):
        """Nobody is bound to uid (a connection the server just closed may
        take a moment to be forgotten)."""
        def send():
            r = self.request({"type": "send_to_uid", "uid": uid, "data": "x"})
            self.assertEqual(r.get("delivered"), 0, "uid %r: %r" % (uid, r))
            return r
        wait_until(send, "uid %r offline" % uid, timeout=timeout, ok=lambda r: r.get("offline") == [uid])

    def join(self, c, group):
        c.send_json({"type": "join", "group": group})
        return c.recv_json()

    def assertJoinOk(self, c, group):
        m = self.join(c, group)
        self.assertEqual(m, {"type": "join", "ok": True, "group": group})

    def assertJoinError(self, c, group, code):
        m = self.join(c, group)
        self.assertEqual((m.get("type"), m.get("error")), ("error", code), "join %r: %r" % (group, m))
        self.assertIsInstance(m.get("message"), str, m)

    def gateway_log(self, i=0):
        return self.cluster.gateways[i].log_text()


TOKEN_ENV = {"GATECAST_AUTH_SECRET": SECRET}


# =================================================================== tokens

class MintTest(unittest.TestCase):
    """`gatecast token` output, checked by the stdlib implementation."""

    def test_cli_token_is_a_standard_hs256_jwt(self):
        uid = uniq("cli")
        t0 = int(time.time())
        r = cli_token(uid, ttl=120, groups="company:7:*,news")
        t1 = int(time.time())
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertTrue(out.endswith("\n") and out.count("\n") == 1, repr(out))
        tok = out.strip()
        h, p, s = tok.split(".")
        for part in (h, p, s):
            self.assertRegex(part, r"^[A-Za-z0-9_-]+$", "base64url without padding: %r" % tok)
        self.assertEqual(json.loads(b64u_decode(h)), {"alg": "HS256", "typ": "JWT"})
        claims = json.loads(b64u_decode(p))
        self.assertEqual(set(claims), {"sub", "exp", "iat", "groups"}, claims)
        self.assertEqual(claims["sub"], uid)
        self.assertEqual(claims["groups"], ["company:7:*", "news"])
        self.assertTrue(t0 <= claims["iat"] <= t1, claims)
        self.assertEqual(claims["exp"] - claims["iat"], 120)
        self.assertTrue(hmac.compare_digest(s, sign(SECRET, h + "." + p)),
                        "signature does not verify with the stdlib HMAC-SHA256")
        self.assertFalse(hmac.compare_digest(s, sign(OTHER_SECRET, h + "." + p)))

    def test_cli_defaults_and_no_groups(self):
        r = cli_token("42")
        self.assertEqual(r.returncode, 0, r.stderr)
        h, p, s = r.stdout.decode().strip().split(".")
        claims = json.loads(b64u_decode(p))
        self.assertEqual(set(claims), {"sub", "exp", "iat"}, claims)
        self.assertEqual(claims["sub"], "42")
        self.assertEqual(claims["exp"] - claims["iat"], 3600, "--ttl defaults to 3600")
        self.assertEqual(s, sign(SECRET, h + "." + p))

    def test_cli_refuses_without_secret_or_uid(self):
        r = cli_token("42", secret=None)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(b"auth.secret", r.stderr)
        self.assertEqual(r.stdout, b"")
        r = cli_token("42", ttl=0)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout, b"")
        r = subprocess.run([binary("launcher"), "token"], env=dict(os.environ, GATECAST_AUTH_SECRET=SECRET),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(b"--uid", r.stderr)
        self.assertNotIn(SECRET.encode(), r.stdout + r.stderr)


class TokenTest(AuthCase):
    """Token mode (auth.secret from the environment), two gateways."""

    CLUSTER = dict(gateways=2, workers=2, extra_set={"auth.mode": "token"})
    ENV = TOKEN_ENV

    # ----------------------------------------------------- ?token= at upgrade

    def test_query_token_python_minted(self):
        uid = uniq("py")
        c, cid = self.login_by_query(mint(sub=uid), uid)
        self.assertPushReaches(uid, [c], gateway=0)
        self.assertPushReaches(uid, [c], gateway=1)
        r = self.request({"type": "get_uid_by_client_id", "client_id": cid})
        self.assertEqual(r.get("uid"), uid, r)
        self.assertBrowserAlive(c)

    def test_query_token_cli_minted(self):
        uid = uniq("cli")
        r = cli_token(uid, ttl=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        c, _ = self.login_by_query(r.stdout.decode().strip(), uid, gateway=1)
        self.assertPushReaches(uid, [c])

    def test_query_token_with_matching_uid(self):
        uid = uniq("same")
        c = self.ws(0, query=token_q(mint(sub=uid), uid=uid))
        self.assertLoginOk(c, uid)
        self.assertPushReaches(uid, [c])

    def test_token_claims_that_are_fine(self):
        now = int(time.time())
        cases = [
            ("exp just past, within the 30 s leeway", {"exp": now - 5}),
            ("nbf and iat in the past", {"nbf": now - 10, "iat": now - 10, "exp": now + 60}),
            ("extra claims are ignored", {"exp": now + 60, "iss": "php", "aud": "x", "jti": "1"}),
            ("non-ASCII uid", {"exp": now + 60, "sub": "usér-名前-" + uniq("")}),
        ]
        for name, claims in cases:
            with self.subTest(name):
                claims = dict(claims)
                sub = claims.setdefault("sub", uniq("ok"))
                c, _ = self.login_by_query(mint(claims=claims), sub)
                self.assertPushReaches(sub, [c])
                c.close()
        # A header without "typ" is fine too.
        sub = uniq("notyp")
        c, _ = self.login_by_query(mint(sub=sub, header={"alg": "HS256"}), sub)
        self.assertPushReaches(sub, [c])

    def test_bad_tokens_get_401_before_upgrade(self):
        sub = uniq("bad")
        for name, tok in bad_tokens(sub):
            with self.subTest(name):
                self.assertRefused(401, token_q(tok), msg=name)
                self.assertRefusedRaw(401, "/?" + token_q(tok))
        self.assertOffline(sub)
        self.assertOffline("admin")

    def test_uid_without_token_gets_401(self):
        for q in ("uid=42", "uid=", "foo=1&uid=42", "uid=42&token="):
            with self.subTest(q):
                self.assertRefused(401, q, msg=q)
        self.assertOffline("42")

    def test_malformed_token_parameter_gets_401(self):
        # A token parameter that is there but cannot even be decoded is a
        # bad token, not a missing one.
        for q in ("token=%ZZ", "token=" + "A" * 5000):
            with self.subTest(q[:20]):
                self.assertRefused(401, q, msg=q[:40])

    def test_token_with_other_uid_gets_401(self):
        sub = uniq("tok")
        other = uniq("other")
        self.assertRefused(401, token_q(mint(sub=sub), uid=other))
        self.assertRefused(401, "uid=%s&%s" % (other, token_q(mint(sub=sub))))
        self.assertOffline(sub)
        self.assertOffline(other)

    def test_token_of_previous_secret_refused_without_previous_secret(self):
        sub = uniq("old")
        self.assertRefused(401, token_q(mint(OLD_SECRET, sub=sub)))

    # ------------------------------------------------------- login message

    def test_welcome_then_unauthorized_until_login(self):
        c, cid = self.welcome()
        for msg in ({"type": "ping"}, {"type": "join", "group": "g"}, {"type": "logout"},
                    {"type": "nonsense"}):
            with self.subTest(msg["type"]):
                c.send_json(msg)
                m = c.recv_json()
                self.assertEqual((m.get("type"), m.get("error")), ("error", "unauthorized"), m)
                self.assertIsInstance(m.get("message"), str, m)
        c.send_text("not json")
        m = c.recv_json()
        self.assertEqual((m.get("type"), m.get("error")), ("error", "unauthorized"), m)
        self.assertNothing(c, 0.5)
        self.assertFalse(c.closed, "closed before login: %r" % (c.close_received,))
        r = self.request({"type": "get_uid_by_client_id", "client_id": cid})
        self.assertIsNone(r.get("uid"), r)
        r = self.request({"type": "get_client_count_by_group", "group": "g"})
        self.assertEqual(r.get("count"), 0, "unauthenticated join happened: %r" % r)
        # Now log in: the token's uid, pushes arrive, pings work.
        uid = uniq("msg")
        c.send_json({"type": "login", "token": mint(sub=uid)})
        m = self.assertLoginOk(c, uid)
        self.assertEqual(m["client_id"], cid)
        self.assertPushReaches(uid, [c], gateway=1)
        self.assertBrowserAlive(c)

    def test_login_message_cli_token(self):
        uid = uniq("clilogin")
        r = cli_token(uid)
        self.assertEqual(r.returncode, 0, r.stderr)
        c, _ = self.welcome(1)
        c.send_json({"type": "login", "token": r.stdout.decode().strip()})
        self.assertLoginOk(c, uid)
        self.assertPushReaches(uid, [c])

    def test_login_message_with_matching_uid(self):
        uid = uniq("mu")
        c, _ = self.welcome()
        c.send_json({"type": "login", "uid": uid, "token": mint(sub=uid)})
        self.assertLoginOk(c, uid)
        self.assertPushReaches(uid, [c])

    def test_login_message_bad_token_closes_4001(self):
        sub = uniq("badmsg")
        for name, tok in bad_tokens(sub):
            with self.subTest(name):
                c, _ = self.welcome()
                c.send_json({"type": "login", "token": tok})
                self.assertUnauthorizedThenClose(c)
        self.assertOffline(sub)
        self.assertOffline("admin")

    def test_login_message_without_token_closes_4001(self):
        for msg in ({"type": "login", "uid": "42"}, {"type": "login", "uid": 42},
                    {"type": "login"}, {"type": "login", "uid": "42", "token": 7},
                    {"type": "login", "uid": "42", "token": None}):
            with self.subTest(json.dumps(msg)):
                c, _ = self.welcome()
                c.send_json(msg)
                self.assertUnauthorizedThenClose(c)
        self.assertOffline("42")

    def test_login_message_too_long_token_closes_4001(self):
        c, _ = self.welcome()
        c.send_json({"type": "login", "token": "A" * 5000})
        self.assertUnauthorizedThenClose(c)

    def test_login_message_integer_uid_matching_sub(self):
        # docs/browser.md: "An integer becomes its decimal text, so 42 and "42" are
        # the same uid" -- also when it is checked against a token's sub.
        sub = str(int(time.time() * 1000) % 10**12)
        c, _ = self.welcome()
        c.send_json({"type": "login", "uid": int(sub), "token": mint(sub=sub)})
        self.assertLoginOk(c, sub)
        self.assertPushReaches(sub, [c])

    def test_login_message_uid_mismatch_closes_4001(self):
        sub = uniq("mm")
        for uid in (uniq("other"), 42, ""):
            with self.subTest(uid):
                c, _ = self.welcome()
                c.send_json({"type": "login", "uid": uid, "token": mint(sub=sub)})
                self.assertUnauthorizedThenClose(c)
        self.assertOffline(sub)

    def test_logged_in_client_cannot_switch_uid_without_token(self):
        uid = uniq("sw")
        c, _ = self.login_by_query(mint(sub=uid), uid)
        c.send_json({"type": "login", "uid": "admin"})
        self.assertUnauthorizedThenClose(c)
        self.assertOffline("admin")
        self.assertOffline(uid)

    def test_relogin_with_another_valid_token(self):
        a, b = uniq("a"), uniq("b")
        c, _ = self.login_by_query(mint(sub=a), a)
        c.send_json({"type": "login", "token": mint(sub=b)})
        self.assertLoginOk(c, b)
        self.assertPushReaches(b, [c])
        self.assertOffline(a)

    # --------------------------------------------------------------- groups

    def test_groups_claim_with_wildcard(self):
        uid = uniq("g")
        c, cid = self.login_by_query(mint(sub=uid, groups=["company:7:*", "news"]), uid)
        self.assertJoinOk(c, "company:7:feed")
        self.assertJoinOk(c, "news")
        for g in ("company:8", "company:7", "company:70", "company:8:feed", "news2", "new", "NEWS"):
            with self.subTest(g):
                self.assertJoinError(c, g, "forbidden")
        r = self.request({"type": "get_all_group_id_list"})
        self.assertEqual(sorted(x for x in r.get("groups", []) if x.startswith(("company:", "news", "new"))),
                         ["company:7:feed", "news"], r)
        for g in ("company:7:feed", "news"):
            r = self.request({"type": "send_to_group", "group": g, "data": g})
            self.assertEqual(r.get("delivered"), 1, r)
            self.assertNextText(c, g)
        r = self.request({"type": "send_to_group", "group": "company:8", "data": "no"})
        self.assertEqual(r.get("delivered"), 0, r)
        # Leaving needs no permission; the backend can join any group.
        c.send_json({"type": "leave", "group": "news"})
        self.assertEqual(c.recv_json(), {"type": "leave", "ok": True, "group": "news"})
        g8 = uniq("company:8")
        self.request({"type": "join_group", "client_id": cid, "group": g8})
        r = self.request({"type": "send_to_group", "group": g8, "data": "backend"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(c, "backend")
        self.assertNothing(c)

    def test_cli_token_groups(self):
        uid = uniq("cg")
        r = cli_token(uid, groups="company:7:*,news")
        self.assertEqual(r.returncode, 0, r.stderr)
        c, _ = self.login_by_query(r.stdout.decode().strip(), uid)
        self.assertJoinOk(c, "company:7:feed")
        self.assertJoinOk(c, "news")
        self.assertJoinError(c, "company:8", "forbidden")

    def test_star_allows_every_group(self):
        uid = uniq("star")
        c, _ = self.login_by_query(mint(sub=uid, groups=["*"]), uid)
        for g in ("a", "company:8", uniq("any")):
            self.assertJoinOk(c, g)

    def test_no_groups_claim_forbids_client_joins_not_backend_joins(self):
        for name, groups in (("no groups claim", None), ("empty groups", [])):
            with self.subTest(name):
                uid = uniq("ng")
                c, cid = self.login_by_query(mint(sub=uid, groups=groups), uid)
                grp = uniq("grp")
                for g in (grp, "news", "company:7:feed"):
                    self.assertJoinError(c, g, "forbidden")
                r = self.request({"type": "get_client_count_by_group", "group": grp})
                self.assertEqual(r.get("count"), 0, r)
                # The backend decides what it likes.
                self.request({"type": "join_group", "client_id": cid, "group": grp}, gateway=1)
                r = self.request({"type": "send_to_group", "group": grp, "data": "hi"})
                self.assertEqual(r.get("delivered"), 1, r)
                self.assertNextText(c, "hi")
                self.assertNothing(c)

    def test_groups_of_an_old_token_do_not_survive_relogin(self):
        uid = uniq("rg")
        c, _ = self.login_by_query(mint(sub=uid, groups=["news"]), uid)
        self.assertJoinOk(c, "news")
        c.send_json({"type": "login", "token": mint(sub=uid)})
        self.assertLoginOk(c, uid)
        self.assertJoinError(c, "news2", "forbidden")
        self.assertJoinError(c, uniq("news"), "forbidden")

    # ------------------------------------------------------------ log lines

    def test_token_mode_does_not_log_auth_disabled(self):
        for i in range(len(self.cluster.gateways)):
            log = self.gateway_log(i)
            self.assertIn("event=ready", log)
            self.assertNotIn("auth_disabled", log)


class RotationTest(AuthCase):
    """auth.previous_secret: tokens of the old key keep working."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={"auth.mode": "token"})
    ENV = {"GATECAST_AUTH_SECRET": SECRET, "GATECAST_AUTH_PREVIOUS_SECRET": OLD_SECRET}

    def test_both_secrets_accepted(self):
        for name, secret in (("current", SECRET), ("previous", OLD_SECRET)):
            with self.subTest(name):
                uid = uniq(name)
                c, _ = self.login_by_query(mint(secret, sub=uid), uid)
                self.assertPushReaches(uid, [c])
                uid2 = uniq(name)
                c2, _ = self.welcome()
                c2.send_json({"type": "login", "token": mint(secret, sub=uid2)})
                self.assertLoginOk(c2, uid2)
                self.assertPushReaches(uid2, [c2])

    def test_other_secrets_still_refused(self):
        sub = uniq("x")
        self.assertRefused(401, token_q(mint(OTHER_SECRET, sub=sub)))
        # A key made of both is neither.
        self.assertRefused(401, token_q(mint(SECRET + OLD_SECRET, sub=sub)))
        self.assertRefused(401, token_q(mint(OLD_SECRET[:-1], sub=sub)))
        c, _ = self.welcome()
        c.send_json({"type": "login", "token": mint(OTHER_SECRET, sub=sub)})
        self.assertUnauthorizedThenClose(c)


class LoginTimeoutTest(AuthCase):
    """auth.login_timeout = 1."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={"auth.mode": "token", "auth.login_timeout": 1})
    ENV = TOKEN_ENV

    def test_silent_unauthenticated_connection_closed_4001(self):
        t0 = time.monotonic()
        c, _ = self.welcome()
        m = c.recv_json(5)
        self.assertEqual((m.get("type"), m.get("error")), ("error", "unauthorized"), m)
        code, _reason = c.expect_close(5)
        elapsed = time.monotonic() - t0
        self.assertEqual(code, 4001)
        self.assertEqual(c.skipped, [])
        self.assertGreaterEqual(elapsed, 0.8, "closed before login_timeout")
        self.assertLess(elapsed, 4.0, "closed %.1fs after connect with login_timeout=1" % elapsed)

    def test_unauthenticated_but_chatty_connection_closed_too(self):
        c, _ = self.welcome()
        t0 = time.monotonic()
        got = None
        while time.monotonic() - t0 < 5:
            try:
                c.send_json({"type": "ping"})
            except wsclient.WSClosed:
                break
            try:
                c.pump(0.2)
            except wsclient.WSClosed as e:
                got = e.code
                break
        self.assertEqual(got, 4001, "still open after %.1fs" % (time.monotonic() - t0))

    def test_authenticated_connections_stay(self):
        uid = uniq("q")
        c1, _ = self.login_by_query(mint(sub=uid), uid)
        uid2 = uniq("m")
        c2, _ = self.welcome()
        c2.send_json({"type": "login", "token": mint(sub=uid2)})
        self.assertLoginOk(c2, uid2)
        for c in (c1, c2):
            c.pump(0)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            for c in (c1, c2):
                self.assertEqual(c.pump(0.1), 0, c.pending())
        for c in (c1, c2):
            self.assertFalse(c.closed, c.close_received)
            self.assertBrowserAlive(c)
        self.assertPushReaches(uid, [c1])
        self.assertPushReaches(uid2, [c2])


class LimitsTest(AuthCase):
    """gateway.max_groups = 2, gateway.max_connections_per_uid = 2 (per
    gateway, so one gateway)."""

    CLUSTER = dict(gateways=1, workers=2, extra_set={
        "auth.mode": "token", "gateway.max_groups": 2, "gateway.max_connections_per_uid": 2})
    ENV = TOKEN_ENV

    def test_max_groups_client_join(self):
        uid = uniq("mg")
        c, cid = self.login_by_query(mint(sub=uid, groups=["*"]), uid)
        a, b, x = uniq("a"), uniq("b"), uniq("x")
        self.assertJoinOk(c, a)
        self.assertJoinOk(c, b)
        self.assertJoinError(c, x, "too_many_groups")
        r = self.request({"type": "get_client_count_by_group", "group": x})
        self.assertEqual(r.get("count"), 0, r)
        # Joining a group it is in already is fine at the limit.
        self.assertJoinOk(c, a)
        # So is a push join beyond it? No: the same limit.
        r = self.request({"type": "join_group", "client_id": cid, "group": x}, ok=False)
        self.assertEqual(r.get("error"), "too_many_groups", r)
        self.assertIsInstance(r.get("message"), str, r)
        self.assertNothing(c)
        # Leaving makes room.
        c.send_json({"type": "leave", "group": a})
        self.assertEqual(c.recv_json(), {"type": "leave", "ok": True, "group": a})
        self.assertJoinOk(c, x)

    def test_max_groups_push_join(self):
        uid = uniq("pg")
        c, cid = self.login_by_query(mint(sub=uid), uid)
        a, b, x = uniq("a"), uniq("b"), uniq("x")
        self.request({"type": "join_group", "client_id": cid, "group": a})
        self.request({"type": "join_group", "client_id": cid, "group": b})
        r = self.request({"type": "join_group", "client_id": cid, "group": x, "id": 9}, ok=False)
        self.assertEqual((r.get("id"), r.get("error")), (9, "too_many_groups"), r)
        self.request({"type": "join_group", "client_id": cid, "group": b})
        r = self.request({"type": "send_to_group", "group": x, "data": "x"})
        self.assertEqual(r.get("delivered"), 0, r)
        self.assertNothing(c)
        # The client itself is refused as well (its token has no groups:
        # forbidden comes first).
        self.assertJoinError(c, x, "forbidden")

    def test_max_connections_per_uid_closes_oldest_4008(self):
        uid = uniq("tabs")
        tok = mint(sub=uid)
        c1, _ = self.login_by_query(tok, uid)
        c2, _ = self.login_by_query(tok, uid)
        self.assertNothing(c1, 0.2)
        c3, _ = self.login_by_query(tok, uid)
        code, _reason = c1.expect_close(5)
        self.assertEqual(code, 4008)
        self.assertEqual(c1.skipped, [])
        self.assertPushReaches(uid, [c2, c3])
        for c in (c2, c3):
            self.assertBrowserAlive(c)
        r = self.request({"type": "get_client_id_by_uid", "uid": uid})
        self.assertEqual(len(r.get("client_ids", [])), 2, r)

    def test_max_connections_per_uid_by_login_message(self):
        uid = uniq("tabs2")
        c1, _ = self.login_by_query(mint(sub=uid), uid)
        c2, _ = self.login_by_query(mint(sub=uid), uid)
        c3, _ = self.welcome()
        c3.send_json({"type": "login", "token": mint(sub=uid)})
        self.assertLoginOk(c3, uid)
        code, _reason = c1.expect_close(5)
        self.assertEqual(code, 4008)
        self.assertPushReaches(uid, [c2, c3])
        # A fourth: now c2 is the oldest.
        c4, _ = self.login_by_query(mint(sub=uid), uid)
        self.assertEqual(c2.expect_close(5)[0], 4008)
        self.assertPushReaches(uid, [c3, c4])

    def test_relogin_as_same_uid_closes_nobody(self):
        uid = uniq("same")
        c1, _ = self.login_by_query(mint(sub=uid), uid)
        c2, _ = self.login_by_query(mint(sub=uid), uid)
        for _ in range(3):
            c2.send_json({"type": "login", "token": mint(sub=uid)})
            self.assertLoginOk(c2, uid)
        self.assertNothing(c1, 0.3)
        self.assertPushReaches(uid, [c1, c2])

    def test_push_bind_uid_also_closes_oldest(self):
        uid = uniq("pb")
        c1, _ = self.login_by_query(mint(sub=uid), uid)
        c2, _ = self.login_by_query(mint(sub=uid), uid)
        c3, cid3 = self.welcome()
        self.request({"type": "bind_uid", "client_id": cid3, "uid": uid})
        self.assertEqual(c1.expect_close(5)[0], 4008)
        self.assertPushReaches(uid, [c2, c3])

    def test_other_uids_unaffected(self):
        a, b = uniq("ua"), uniq("ub")
        ca = [self.login_by_query(mint(sub=a), a)[0] for _ in range(2)]
        cb = [self.login_by_query(mint(sub=b), b)[0] for _ in range(2)]
        self.assertPushReaches(a, ca)
        self.assertPushReaches(b, cb)
        for c in ca + cb:
            self.assertFalse(c.closed)


# =================================================================== push port

class PushSecretTest(AuthCase):
    """push.secret (from GATECAST_PUSH_SECRET), token mode with a previous
    secret, and debug logging: then no secret may show in any log."""

    CLUSTER = dict(gateways=2, workers=1, extra_set={"auth.mode": "token", "log.level": "debug"})
    ENV = {"GATECAST_AUTH_SECRET": SECRET, "GATECAST_AUTH_PREVIOUS_SECRET": OLD_SECRET,
           "GATECAST_PUSH_SECRET": PUSH_SECRET}

    def push_raw(self, gateway=0):
        return self.push(gateway)

    def request(self, obj, gateway=0, ok=True, timeout=None):
        p = getattr(self, "_authed_%d" % gateway, None)
        if p is None or p not in self._push:
            p = self.authed_push(gateway)
            setattr(self, "_authed_%d" % gateway, p)
        r = p.request(obj, timeout=timeout)
        if ok is not None:
            self.assertIs(r.get("ok"), ok, "request %r -> reply %r" % (obj, r))
        return r

    def authed_push(self, gateway=0):
        p = self.push(gateway)
        r = p.request({"type": "auth", "secret": PUSH_SECRET})
        self.assertEqual(r, {"ok": True})
        return p

    def assertUnauthorizedClosed(self, p, first, id_=None):
        r = p.request(first)
        self.assertEqual((r.get("ok"), r.get("error")), (False, "unauthorized"), r)
        self.assertIsInstance(r.get("message"), str, r)
        if id_ is not None:
            self.assertEqual(r.get("id"), id_, r)
        else:
            self.assertNotIn("id", r)
        self.assertTrue(p.wait_closed(3), "push connection still open after unauthorized")
        self.assertEqual(bytes(p._buf), b"", "more after the unauthorized reply")

    def test_command_first_is_unauthorized_and_closed(self):
        uid = uniq("pu")
        c, _ = self.login_by_query(mint(sub=uid), uid)
        p = self.push_raw()
        self.assertUnauthorizedClosed(p, {"type": "send_to_uid", "uid": uid, "data": "sneaky"})
        self.assertNothing(c, 0.5)
        p = self.push_raw(1)
        self.assertUnauthorizedClosed(p, {"type": "get_all_client_count", "id": "q1"}, "q1")

    def test_wrong_secret_is_unauthorized_and_closed(self):
        for name, secret in (("wrong", "nope"), ("same length", PUSH_SECRET[:-1] + ("x" if PUSH_SECRET[-1] != "x" else "y")),
                             ("prefix", PUSH_SECRET[:-1]), ("longer", PUSH_SECRET + "x"),
                             ("empty", ""), ("auth secret", SECRET), ("not a string", 12345)):
            with self.subTest(name):
                p = self.push_raw()
                self.assertUnauthorizedClosed(p, {"type": "auth", "secret": secret, "id": name}, name)
        p = self.push_raw()
        self.assertUnauthorizedClosed(p, {"type": "auth"})
        p = self.push_raw()
        p.send_line(b"{not json")
        r = p.read_reply()
        self.assertEqual((r.get("ok"), r.get("error")), (False, "unauthorized"), r)
        self.assertTrue(p.wait_closed(3))

    def test_right_secret_then_commands_work(self):
        uid = uniq("ok")
        c, cid = self.login_by_query(mint(sub=uid), uid)
        for gw in (0, 1):
            with self.subTest(gateway=gw):
                p = self.authed_push(gw)
                r = p.request({"type": "send_to_uid", "uid": uid, "data": "gw%d" % gw, "id": 1})
                self.assertEqual(r, {"id": 1, "ok": True, "delivered": 1, "offline": []})
                self.assertNextText(c, "gw%d" % gw)
                r = p.request({"type": "get_uid_by_client_id", "client_id": cid})
                self.assertEqual(r.get("uid"), uid, r)
                r = p.request({"type": "no_such_command"})
                self.assertEqual(r.get("error"), "unknown_type", r)
                r = p.request({"type": "get_all_client_count"})
                self.assertIs(r.get("ok"), True, r)

    def test_auth_reply_echoes_id(self):
        for id_ in (7, "abc", [1, {"x": None}], None):
            with self.subTest(id=id_):
                p = self.push()
                r = p.request({"type": "auth", "secret": PUSH_SECRET, "id": id_})
                self.assertEqual(r, {"id": id_, "ok": True})
                line_r = p.request({"type": "get_all_client_count", "id": "after"})
                self.assertEqual((line_r.get("id"), line_r.get("ok")), ("after", True), line_r)

    def test_auth_pipelined_with_commands(self):
        uid = uniq("pipe")
        c, _ = self.login_by_query(mint(sub=uid), uid)
        p = self.push()
        replies = p.pipeline([{"type": "auth", "secret": PUSH_SECRET, "id": 0},
                              {"type": "send_to_uid", "uid": uid, "data": "a", "id": 1},
                              {"type": "send_to_uid", "uid": uid, "data": "b", "id": 2}])
        self.assertEqual(replies[0], {"id": 0, "ok": True})
        self.assertEqual([(r.get("id"), r.get("delivered")) for r in replies[1:]], [(1, 1), (2, 1)])
        self.assertNextText(c, "a")
        self.assertNextText(c, "b")

    def test_bad_auth_pipelined_with_commands_does_nothing(self):
        uid = uniq("pipebad")
        c, _ = self.login_by_query(mint(sub=uid), uid)
        p = self.push()
        p.send_raw(b"".join(PushClient.encode(o) for o in (
            {"type": "auth", "secret": "wrong", "id": 0},
            {"type": "send_to_uid", "uid": uid, "data": "a", "id": 1})))
        r = p.read_reply()
        self.assertEqual((r.get("id"), r.get("error")), (0, "unauthorized"), r)
        self.assertTrue(p.wait_closed(3))
        self.assertEqual(bytes(p._buf), b"", "the command after a failed auth was answered")
        self.assertNothing(c, 0.5)

    def test_previous_secret_tokens_accepted(self):
        uid = uniq("prev")
        c, _ = self.login_by_query(mint(OLD_SECRET, sub=uid), uid)
        p = self.authed_push(1)
        r = p.request({"type": "send_to_uid", "uid": uid, "data": "old key"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(c, "old key")

    def test_zz_no_secret_in_any_log(self):
        """Exercises everything that might log a secret (good and bad
        tokens, good and bad push auth, at log.level = debug), then reads
        every file in the run dir."""
        uid = uniq("leak")
        good = mint(sub=uid, groups=["news"])
        old = mint(OLD_SECRET, sub=uid)
        c, cid = self.login_by_query(good, uid)
        self.login_by_query(old, uid)
        c2, _ = self.welcome()
        c2.send_json({"type": "login", "token": good})
        self.assertLoginOk(c2, uid)
        self.assertJoinOk(c, "news")
        self.assertJoinError(c, "company:1", "forbidden")
        for _name, tok in bad_tokens(uid):
            self.assertRefused(401, token_q(tok))
        c3, _ = self.welcome()
        c3.send_json({"type": "login", "token": mint(OTHER_SECRET, sub=uid)})
        self.assertUnauthorizedThenClose(c3)
        wrong_push = "wrong-" + PUSH_SECRET[::-1]
        p = self.push()
        p.request({"type": "auth", "secret": wrong_push})
        p.wait_closed(3)
        p = self.authed_push(1)
        p.request({"type": "send_to_uid", "uid": uid, "data": "x"})
        # A negative: log lines the steps above cause after their replies
        # are looked for 0.3 s later (a guess only bounds what is checked).
        time.sleep(0.3)
        run_dir = self.cluster.run_dir
        needles = {"auth.secret": SECRET, "auth.previous_secret": OLD_SECRET, "push.secret": PUSH_SECRET,
                   "cluster.secret": self.cluster.env["GATECAST_CLUSTER_SECRET"],
                   "a wrong push secret": wrong_push, "an unrelated token key": OTHER_SECRET}
        # A valid token is a credential as well: its signature must not show.
        for i, tok in enumerate((good, old)):
            needles["signature of token %d" % i] = tok.split(".")[2]
        files = 0
        for name in sorted(os.listdir(run_dir)):
            path = os.path.join(run_dir, name)
            if not os.path.isfile(path):
                continue
            files += 1
            with open(path, "rb") as f:
                data = f.read()
            for what, value in needles.items():
                self.assertNotIn(value.encode(), data, "%s appears in %s" % (what, name))
        self.assertGreaterEqual(files, 4, "expected the processes' logs in %s" % run_dir)
        # The environment really was used (so the check above means something).
        self.assertIn("event=ready", self.gateway_log(0))

    def test_help_hides_secrets(self):
        env = dict(self.cluster.env)
        for prog in ("gateway", "worker", "register"):
            r = subprocess.run([binary(prog), "--help"], env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            for s in (SECRET, OLD_SECRET, PUSH_SECRET):
                self.assertNotIn(s.encode(), r.stdout + r.stderr, prog)


class NoPushSecretTest(AuthCase):
    """Without push.secret an auth line is not a command (and commands
    need no auth)."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={"auth.mode": "token"})
    ENV = TOKEN_ENV

    def test_commands_without_auth(self):
        p = self.push()
        r = p.request({"type": "get_all_client_count", "id": 3})
        self.assertEqual((r.get("id"), r.get("ok")), (3, True), r)


# =================================================================== the door

class OriginTest(AuthCase):
    CLUSTER = dict(gateways=1, workers=1, extra_set={
        "gateway.allowed_origins": "https://good.example, https://other.example"})

    def test_allowed_origins(self):
        for origin in ("https://good.example", "https://other.example"):
            with self.subTest(origin):
                c = self.ws(0, query="uid=o1", headers={"Origin": origin})
                m = c.recv_json()
                self.assertEqual((m.get("type"), m.get("uid")), ("login", "o1"), m)
                c.close()

    def test_other_origins_get_403(self):
        for origin in ("https://evil.example", "http://good.example", "https://good.example.evil.com",
                       "https://good.example:8443", "null", "https://GOOD.example", "https://good.exampl",
                       "https://good.example, https://evil.example"):
            with self.subTest(origin):
                self.assertRefused(403, "uid=o2", headers={"Origin": origin}, msg=origin)
        r = self.request({"type": "is_uid_online", "uid": "o2"})
        self.assertIs(r.get("online"), False, r)

    def test_no_origin_gets_403(self):
        self.assertRefused(403, "uid=o3")
        self.assertRefusedRaw(403, "/?uid=o3")


class PerIpTest(AuthCase):
    """max_connections_per_ip = 3, no trusted proxy: X-Forwarded-For means
    nothing."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={"gateway.max_connections_per_ip": 3})

    def test_fourth_connection_gets_429_until_one_closes(self):
        cs = [self.connect(0)[0] for _ in range(3)]
        self.assertRefused(429)
        self.assertRefusedRaw(429, "/")
        # Forged X-Forwarded-For from an untrusted peer changes nothing.
        self.assertRefused(429, headers={"X-Forwarded-For": "203.0.113.9"})
        for c in cs:
            self.assertBrowserAlive(c)
        cs[0].close()
        c = wait_until(self.ws_unless_429, "the slot given back after close", timeout=3)
        self.assertEqual(c.recv_json().get("type"), "welcome")
        self.assertRefused(429)

    def test_refused_handshakes_do_not_use_slots(self):
        cs = [self.connect(0)[0] for _ in range(2)]
        for _ in range(5):
            self.assertRefusedRaw(400, "/", headers=[("Sec-WebSocket-Version", "13")])
        c3, _ = self.connect(0)
        self.assertRefused(429)
        cs[1].abort()  # no closing handshake: the slot must come back anyway
        c = wait_until(self.ws_unless_429, "the slot given back after abort", timeout=3)
        c.recv_json()


class TrustedProxyTest(AuthCase):
    """max_connections_per_ip = 3 behind a trusted proxy at 127.0.0.1."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={
        "gateway.max_connections_per_ip": 3, "gateway.trusted_proxies": "127.0.0.1"})

    def xff(self, value):
        return {"X-Forwarded-For": value}

    def open_n(self, n, xff):
        out = []
        for _ in range(n):
            c = self.ws(0, headers=self.xff(xff) if xff is not None else None)
            self.assertEqual(c.recv_json().get("type"), "welcome")
            out.append(c)
        return out

    def test_each_forwarded_ip_counts_separately(self):
        a = self.open_n(3, "203.0.113.1")
        self.assertRefused(429, headers=self.xff("203.0.113.1"))
        b = self.open_n(3, "203.0.113.2")
        self.assertRefused(429, headers=self.xff("203.0.113.2"))
        # The proxy's own (no header) budget is untouched.
        own = self.open_n(3, None)
        self.assertRefused(429)
        for c in a + b + own:
            self.assertBrowserAlive(c)

    def test_client_supplied_leftmost_entry_cannot_evade(self):
        self.open_n(3, "203.0.113.3")
        for v in ("1.1.1.1, 203.0.113.3", "1.1.1.1,203.0.113.3", "9.9.9.9, 8.8.8.8, 203.0.113.3",
                  "203.0.113.3, 127.0.0.1", "1.1.1.1, 203.0.113.3, 127.0.0.1"):
            with self.subTest(v):
                self.assertRefused(429, headers=self.xff(v), msg=v)
        # ...while the leftmost entry really is another client's budget
        # only when it is the last untrusted hop.
        self.open_n(1, "203.0.113.3, 1.1.1.1")

    def test_only_proxy_entries_fall_back_to_the_peer(self):
        self.open_n(3, "127.0.0.1")
        self.assertRefused(429)
        self.assertRefused(429, headers=self.xff("127.0.0.1, 127.0.0.1"))


class RateLimitTest(AuthCase):
    """rate_limit = 5/s, bursts of 5, closed after 10 limited in a row."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={
        "gateway.rate_limit": 5, "gateway.rate_burst": 5, "gateway.rate_limit_close": 10})

    def pings(self, c, n):
        c.send_raw(b"".join(wsclient.encode_frame(wsclient.OP_TEXT, b'{"type":"ping"}') for _ in range(n)))

    def collect(self, c, n, timeout=5):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            out.append(c.recv_json(max(0.01, deadline - time.monotonic())))
        return out

    def test_burst_then_limited_then_refilled(self):
        c, _ = self.connect(0)
        self.pings(c, 7)
        got = self.collect(c, 7)
        pongs = [m for m in got if m == {"type": "pong"}]
        limited = [m for m in got if m.get("type") == "error" and m.get("error") == "rate_limited"]
        self.assertEqual((len(pongs), len(limited)), (5, 2), got)
        self.assertIsInstance(limited[0].get("message"), str)
        self.assertNothing(c, 0.2)
        time.sleep(1.1)
        self.pings(c, 5)
        got = self.collect(c, 5)
        self.assertEqual(got, [{"type": "pong"}] * 5)
        self.assertFalse(c.closed)

    def test_steady_rate_passes(self):
        c, _ = self.connect(0)
        for _ in range(12):
            c.send_json({"type": "ping"})
            self.assertEqual(c.recv_json(), {"type": "pong"})
            time.sleep(0.22)

    def test_flood_closes_1008(self):
        c, _ = self.connect(0)
        try:
            self.pings(c, 50)
        except wsclient.WSClosed:
            pass
        code, reason = c.expect_close(5)
        self.assertEqual(code, 1008, (code, reason))
        # 5 pass (their pongs come back through the worker and may lose
        # the race with the close), 9 are answered rate_limited, the 10th
        # in a row closes.
        kinds = [m.json() for m in c.skipped]
        limited = [m for m in kinds if m.get("error") == "rate_limited"]
        self.assertEqual(len(limited), 9, kinds)
        self.assertLessEqual(kinds.count({"type": "pong"}), 5, kinds)
        self.assertEqual(len(kinds), len(limited) + kinds.count({"type": "pong"}), kinds)

    def test_websocket_pings_are_not_counted(self):
        c, _ = self.connect(0)
        for i in range(20):
            c.ping_roundtrip(b"p%d" % i)
        c.send_json({"type": "ping"})
        self.assertEqual(c.recv_json(), {"type": "pong"})

    def test_auth_disabled_logged_in_none_mode(self):
        log = self.gateway_log(0)
        self.assertIn("event=auth_disabled", log)


# =================================================================== modes

class ModeTest(unittest.TestCase):
    """What the programs say about auth.mode at start."""

    def run_gateway(self, env_extra=None, sets=()):
        env = clean_env()
        env.setdefault("GATECAST_CLUSTER_SECRET", CLUSTER_SECRET)
        env.update(env_extra or {})
        args = [binary("gateway"), "--set", "gateway.ws_listen=127.0.0.1:0",
                "--set", "gateway.push_listen=127.0.0.1:0", "--set", "cluster.run_dir=/tmp"]
        for s in sets:
            args += ["--set", s]
        try:
            return subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        except subprocess.TimeoutExpired as e:
            self.fail("the gateway kept running: %r" % (e.stderr,))

    def test_token_mode_without_secret_refuses_to_start(self):
        for name, sets, env in (("default mode", (), None),
                                ("explicit token mode", ("auth.mode=token",), None),
                                ("short secret", ("auth.mode=token",), {"GATECAST_AUTH_SECRET": "short"})):
            with self.subTest(name):
                r = self.run_gateway(env, sets)
                self.assertNotEqual(r.returncode, 0, r.stderr)
                self.assertIn(b"auth.secret", r.stdout + r.stderr)
                self.assertNotIn(b"event=ready", r.stdout + r.stderr)

    def test_short_previous_secret_refused(self):
        r = self.run_gateway({"GATECAST_AUTH_SECRET": SECRET, "GATECAST_AUTH_PREVIOUS_SECRET": "short"},
                             ("auth.mode=token",))
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"auth.previous_secret", r.stdout + r.stderr)

    def test_auth_disabled_logged_only_in_none_mode(self):
        with Cluster(gateways=1, workers=1) as c:
            self.assertIn("event=auth_disabled", c.gateways[0].log_text())
            w = wsclient.WSClient("127.0.0.1", c.ws_port(0), query="uid=anyone")
            self.assertEqual(w.recv_json().get("uid"), "anyone")
            w.close()
        cl = Cluster(gateways=1, workers=1, extra_set={"auth.mode": "token"})
        for k in SECRET_ENV:
            cl.env.pop(k, None)
        cl.env["GATECAST_AUTH_SECRET"] = SECRET
        with cl as c:
            log = c.gateways[0].log_text()
            self.assertIn("event=ready", log)
            self.assertNotIn("auth_disabled", log)
            self.assertNotIn("auth_disabled", c.workers[0].log_text())


if __name__ == "__main__":
    main(timeout=400)
