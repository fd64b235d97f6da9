#!/usr/bin/env python3
"""
The backend clients (clients/php, clients/python) against a real cluster
(docs/push-api.md "Backend clients"), in token mode with push.secret set:

  * a browser connects with ?token= minted by each client's helper, and
    sendToUid / send_to_uid reaches it; the token's groups claim holds;
  * joinGroup then sendToGroup (with exclude); the query methods return
    GatewayWorker's shapes in PHP (isUidOnline 0/1, uid => uid maps) and
    plain values in Python; sessions set, merged and read;
  * batch() pipelines: replies in request order, pushes delivered in order;
  * "ok":false replies surface as documented: unknown client ids raise
    not_found from joinGroup, give false/null from closeClient,
    getUidByClientId and getSession, count 0 in sendToClient;
  * a wrong or missing push secret raises a clear "unauthorized";
  * a gateway restart between two calls: the next call (a send) succeeds on
    a new connection;
  * against a fake push port: batch() writes every request before reading
    (the fake answers only once it has them all); a connection that breaks
    after a request went out is retried once for a query, never for a send;
    a port nobody listens on raises "connect".

The PHP package is loaded through a vendor/autoload.php made here from its
composer.json PSR-4 map (what `composer install` would do; composer is not
needed). The PHP tests are skipped when php is not installed
(scripts/deps.sh installs php-cli).

Run: GATECAST_BUILD=build python3 tests/integration/test_clients.py
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PHP_DIR = os.path.join(REPO, "clients", "php")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "clients", "python"))

import gatecast  # noqa: E402
from cluster import ClusterTestCase, clean_env, free_port, main, uniq, wait_port  # noqa: E402

AUTH_SECRET = "auth-secret-" + secrets.token_hex(24)
PUSH_SECRET = "push-secret-" + secrets.token_hex(24)
UNKNOWN_CLIENT = "0" * 28
PHP = shutil.which("php")
NO_PHP = "php is not installed (scripts/deps.sh installs php-cli): the PHP client is not tested"

CLUSTER = dict(gateways=2, workers=1, extra_set={"auth.mode": "token"})
ENV = {"GATECAST_AUTH_SECRET": AUTH_SECRET, "GATECAST_PUSH_SECRET": PUSH_SECRET}


def verify_token(token, secret=AUTH_SECRET):
    """The claims of an HS256 token after checking header and signature the
    way common/jwt.h describes (independently of both clients)."""
    h, p, s = token.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(h))) == {"alg": "HS256", "typ": "JWT"}
    mac = hmac.new(secret.encode(), (h + "." + p).encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == s, "bad signature"
    assert "=" not in token and "+" not in token and "/" not in token
    return json.loads(base64.urlsafe_b64decode(pad(p)))


def snippets(path, lang, start):
    """The ```lang blocks of a markdown file (under REPO) that begin with start."""
    with open(os.path.join(REPO, path)) as f:
        text = f.read()
    blocks = re.findall(r"^```%s\n(.*?)^```$" % lang, text, re.S | re.M)
    return [b for b in blocks if b.startswith(start)]


# ------------------------------------------------------------------ PHP harness

PHP_PRELUDE = r"""<?php
declare(strict_types=1);
require getenv('GC_AUTOLOAD');
use Gatecast\Gateway;
use Gatecast\Client;
use Gatecast\Token;
use Gatecast\ConnectionException;
$P = json_decode(getenv('GC_PARAMS'), true);
function out(mixed $v): void { echo json_encode($v, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n"; fflush(STDOUT); }
function err(\Throwable $e): array {
    return ['class' => get_class($e), 'error' => $e instanceof \Gatecast\Exception ? $e->getError() : null,
            'message' => $e->getMessage(), 'reply' => $e instanceof \Gatecast\Exception ? $e->getReply() : null];
}
if (isset($P['address'])) { Gateway::$pushAddress = $P['address']; }
if (array_key_exists('secret', $P)) { Gateway::$secretKey = $P['secret']; }
"""


def make_vendor(root):
    """root/vendor/autoload.php for clients/php, from its composer.json's
    PSR-4 map, as `composer install` in a project requiring it would make."""
    with open(os.path.join(PHP_DIR, "composer.json")) as f:
        composer = json.load(f)
    pkg = os.path.join(root, "vendor", *composer["name"].split("/"))
    os.makedirs(os.path.dirname(pkg))
    os.symlink(PHP_DIR, pkg)
    psr4 = {prefix: os.path.join(pkg, d) for prefix, d in composer["autoload"]["psr-4"].items()}
    path = os.path.join(root, "vendor", "autoload.php")
    with open(path, "w") as f:
        f.write("<?php\n// PSR-4 autoloading as composer generates it (composer is not installed here).\n"
                "spl_autoload_register(function (string $class): void {\n"
                "    foreach (json_decode(%s, true) as $prefix => $dir) {\n"
                "        if (strncmp($class, $prefix, strlen($prefix)) === 0) {\n"
                "            $file = $dir . '/' . str_replace('\\\\', '/', substr($class, strlen($prefix))) . '.php';\n"
                "            if (is_file($file)) { require $file; return; }\n"
                "        }\n"
                "    }\n"
                "});\n" % json.dumps(json.dumps(psr4)).replace("$", "\\$"))
    return path


class PhpMixin:
    """php(body, **params) runs PHP_PRELUDE + body with `php` and returns
    the values the body passed to out(); any PHP warning fails the test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.php_root = tempfile.mkdtemp(prefix="gc-php-")
        cls.autoload = make_vendor(cls.php_root)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.php_root, ignore_errors=True)
        super().tearDownClass()

    def php_cmd(self, body, params):
        path = os.path.join(self.php_root, "t_%s.php" % uniq("s"))
        with open(path, "w") as f:
            f.write(PHP_PRELUDE + body)
        env = clean_env({"GC_AUTOLOAD": self.autoload, "GC_PARAMS": json.dumps(params)})
        return [PHP, "-d", "error_reporting=-1", "-d", "display_errors=stderr", path], env

    def php(self, body, timeout=30, **params):
        argv, env = self.php_cmd(body, params)
        r = subprocess.run(argv, capture_output=True, env=env, timeout=timeout)
        out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        self.assertEqual((r.returncode, err), (0, ""), "php failed; stdout:\n%s" % out)
        return [json.loads(line) for line in out.splitlines()]


# ------------------------------------------------------------------ shared checks

class ClusterClientCase(ClusterTestCase):
    CLUSTER = CLUSTER
    ENV = ENV

    def address(self, gateway=0):
        return "127.0.0.1:%d" % self.cluster.push_port(gateway)

    def browser(self, token, gateway=0):
        """A browser logged in with ?token=; returns (client, client_id)."""
        c = self.ws(gateway, query="token=" + token)
        m = c.recv_json()
        self.assertEqual((m.get("type"), m.get("ok")), ("login", True), m)
        self.assertClientId(m["client_id"])
        return c, m["client_id"], m["uid"]

    def plain_browser(self, uid, gateway=0):
        return self.browser(gatecast.token(AUTH_SECRET, uid, 60), gateway)[:2]

    def assertJoin(self, c, group, allowed):
        c.send_json({"type": "join", "group": group})
        m = c.recv_json()
        if allowed:
            self.assertEqual(m, {"type": "join", "ok": True, "group": group})
        else:
            self.assertEqual((m.get("type"), m.get("error")), ("error", "forbidden"), m)

    def restart_gateway0(self):
        self.cluster.restart("gateway", 0)
        self.assertTrue(wait_port(self.cluster.push_port(0), 10), "push port back after restart")


# ------------------------------------------------------------------ Python

class PythonClientTest(ClusterClientCase):

    def client(self, **kw):
        kw.setdefault("secret", PUSH_SECRET)
        c = gatecast.Client(self.address(), **kw)
        self.addCleanup(c.close)
        return c

    def test_token_and_send_to_uid(self):
        uid = uniq("u")
        t = gatecast.token(AUTH_SECRET, uid, ttl=120, groups=["company:7:*"])
        claims = verify_token(t)
        self.assertEqual(claims["sub"], uid)
        self.assertEqual(claims["exp"] - claims["iat"], 120)
        b, cid, got_uid = self.browser(t, gateway=1)
        self.assertEqual(got_uid, uid)
        self.assertJoin(b, "company:7:feed", True)
        self.assertJoin(b, "company:8:feed", False)
        gc = self.client()
        r = gc.send_to_uid(uid, {"type": "new_msg", "title": "héllo", "n": 0.1})
        self.assertEqual(r, {"ok": True, "delivered": 1, "offline": []})
        self.assertNextText(b, '{"type":"new_msg","title":"héllo","n":0.1}')
        off = uniq("off")
        self.assertEqual(gc.send_to_uid([uid, off], "plain"), {"ok": True, "delivered": 1, "offline": [off]})
        self.assertNextText(b, "plain")
        gc.send_to_uid(uid, b"\x00\xffbin")
        m = b.recv()
        self.assertTrue(m.is_binary)
        self.assertEqual(m.data, b"\x00\xffbin")
        with self.assertRaises(ValueError):
            gatecast.token(AUTH_SECRET, "", 60)
        with self.assertRaises(ValueError):
            gatecast.token("", "42", 60)

    def test_groups_queries_and_sessions(self):
        uid, other = uniq("u"), uniq("v")
        group = uniq("company")
        gc = self.client()
        before_uids, before_clients = gc.get_all_uid_count(), gc.get_all_client_count()
        b1, c1 = self.plain_browser(uid, 0)
        b2, c2 = self.plain_browser(uid, 1)
        b3, c3 = self.plain_browser(other, 1)
        for c in (c1, c2, c3):
            self.assertIsNone(gc.join_group(c, group))
        r = gc.send_to_group(group, {"type": "update_dynamic"}, exclude=[c3])
        self.assertEqual(r, {"ok": True, "delivered": 2})
        for b in (b1, b2):
            self.assertNextJSON(b, {"type": "update_dynamic"})
        self.assertNothing(b3)
        self.assertIs(gc.is_uid_online(uid), True)
        self.assertIs(gc.is_uid_online(uniq("off")), False)
        self.assertEqual(sorted(gc.get_client_id_by_uid(uid)), sorted([c1, c2]))
        self.assertEqual(gc.get_uid_by_client_id(c3), other)
        self.assertEqual(gc.get_client_count_by_group(group), 3)
        self.assertEqual(gc.get_client_id_count_by_group(group), 3)
        self.assertEqual(gc.get_uid_count_by_group(group), 2)
        self.assertEqual(gc.get_uid_list_by_group(group), sorted([uid, other]))
        self.assertIn(group, gc.get_all_group_id_list())
        self.assertEqual(gc.get_all_uid_count() - before_uids, 2)
        self.assertEqual(gc.get_all_client_count() - before_clients, 3)
        self.assertEqual(gc.get_all_client_id_count() - before_clients, 3)
        self.assertTrue(gc.is_online(c1))
        gc.leave_group(c3, group)
        self.assertEqual(gc.get_uid_list_by_group(group), [uid])
        self.assertEqual(gc.ungroup(group), {"ok": True})
        self.assertEqual(gc.get_client_count_by_group(group), 0)
        # sessions
        self.assertEqual(gc.get_session(c1), {})
        self.assertIsNone(gc.set_session(c1, {"name": "Ann", "tags": ["a"]}))
        gc.update_session(c1, {"company": 7})
        self.assertEqual(gc.get_session(c1), {"name": "Ann", "tags": ["a"], "company": 7})
        gc.set_session(c1, {})
        self.assertEqual(gc.get_session(c1), {})
        # bind / unbind / close
        gc.bind_uid(c3, "renamed-" + other)
        self.assertEqual(gc.get_uid_by_client_id(c3), "renamed-" + other)
        gc.unbind_uid(c3)
        self.assertIsNone(gc.get_uid_by_client_id(c3))
        self.assertIs(gc.close_client(c3, "bye"), True)
        self.assertNextText(b3, "bye")
        self.assertEqual(b3.expect_close()[0], 1000)
        self.assertEqual(gc.send_to_client([c1, c2], "to both")["delivered"], 2)
        self.assertEqual(gc.send_to_all("everyone", exclude=c1)["ok"], True)
        self.assertNextText(b2, "to both")
        self.assertNextText(b2, "everyone")
        self.assertNextText(b1, "to both")
        self.assertNothing(b1)

    def test_error_replies(self):
        gc = self.client()
        with self.assertRaises(gatecast.Error) as cm:
            gc.join_group(UNKNOWN_CLIENT, "g")
        self.assertEqual(cm.exception.error, "not_found")
        self.assertIn("join_group", str(cm.exception))
        self.assertIs(cm.exception.reply["ok"], False)
        self.assertNotIsInstance(cm.exception, gatecast.PushConnectionError)
        with self.assertRaises(gatecast.Error) as cm:
            gc.set_session(UNKNOWN_CLIENT, {"a": 1})
        self.assertEqual(cm.exception.error, "not_found")
        self.assertIs(gc.close_client(UNKNOWN_CLIENT), False)
        self.assertIsNone(gc.get_uid_by_client_id(UNKNOWN_CLIENT))
        self.assertIsNone(gc.get_session(UNKNOWN_CLIENT))
        self.assertIs(gc.is_online(UNKNOWN_CLIENT), False)
        self.assertEqual(gc.send_to_client(UNKNOWN_CLIENT, "x"), {"ok": True, "delivered": 0})
        with self.assertRaises(gatecast.Error) as cm:
            gc.send_to_uid("", "x")
        self.assertEqual(cm.exception.error, "bad_request")
        # the connection is still good after errors
        self.assertIsInstance(gc.get_all_client_count(), int)

    def test_batch_pipelined_in_order(self):
        uid = uniq("u")
        b, cid = self.plain_browser(uid, 1)
        gc = self.client()
        cmds = []
        for i in range(60):
            cmds.append({"type": "send_to_uid", "uid": uid, "data": {"i": i}, "id": i})
        cmds[10] = {"type": "no_such_command", "id": 10}
        cmds[20] = {"type": "is_uid_online", "uid": uid, "id": 20}
        cmds[30] = {"type": "join_group", "client_id": UNKNOWN_CLIENT, "group": "g", "id": 30}
        replies = gc.batch(cmds)
        self.assertEqual([r.get("id") for r in replies], list(range(60)))
        self.assertEqual(replies[10]["error"], "unknown_type")
        self.assertEqual(replies[20], {"id": 20, "ok": True, "online": True})
        self.assertEqual(replies[30]["error"], "not_found")
        sends = [i for i in range(60) if i not in (10, 20, 30)]
        for i in sends:
            self.assertEqual(replies[i], {"id": i, "ok": True, "delivered": 1, "offline": []})
        self.assertEqual([b.recv_json()["i"] for _ in sends], sends)
        self.assertEqual(gc.batch([]), [])
        self.assertEqual(gc.request({"type": "get_uid_by_client_id", "client_id": cid}),
                         {"ok": True, "uid": uid})

    def test_push_secret(self):
        with self.assertRaises(gatecast.Error) as cm:
            self.client(secret="not-" + PUSH_SECRET).get_all_uid_count()
        self.assertEqual(cm.exception.error, "unauthorized")
        self.assertIn("refused the push secret", str(cm.exception))
        self.assertNotIn(PUSH_SECRET, str(cm.exception))
        with self.assertRaises(gatecast.Error) as cm:
            self.client(secret="").send_to_uid("42", "x")
        self.assertEqual(cm.exception.error, "unauthorized")
        self.assertIn("needs push.secret", str(cm.exception))
        # secret=None reads GATECAST_PUSH_SECRET
        old = os.environ.get("GATECAST_PUSH_SECRET")
        os.environ["GATECAST_PUSH_SECRET"] = PUSH_SECRET
        try:
            gc = gatecast.Client(self.address())
        finally:
            if old is None:
                del os.environ["GATECAST_PUSH_SECRET"]
            else:
                os.environ["GATECAST_PUSH_SECRET"] = old
        self.addCleanup(gc.close)
        self.assertIsInstance(gc.get_all_uid_count(), int)

    def test_reconnect_after_gateway_restart(self):
        uid = uniq("u")
        b, _ = self.plain_browser(uid, 1)
        gc = self.client()
        self.assertEqual(gc.send_to_uid(uid, "before")["delivered"], 1)
        self.assertNextText(b, "before")
        self.restart_gateway0()
        # A send: not retried after it went out, so this passes only if the
        # dead connection is noticed before the request is written.
        self.assertEqual(gc.send_to_uid(uid, "after"), {"ok": True, "delivered": 1, "offline": []})
        self.assertNextText(b, "after")
        self.assertIs(gc.is_uid_online(uid), True)

    def test_readme_snippet(self):
        """clients/python/README.md's example, run with the cluster's address."""
        [code] = snippets("clients/python/README.md", "python", "import os\nimport gatecast\n")
        to = uniq("u")
        b, _ = self.plain_browser(to, 1)
        user = type("User", (), {"id": 7, "company_id": 3})()
        ns = {"user": user, "to_uid": to, "unread_count": lambda uid: 3}
        old = {k: os.environ.get(k) for k in ENV}
        os.environ.update(ENV)
        try:
            exec(compile(code.replace("127.0.0.1:8806", self.address()), "README", "exec"), ns)
        finally:
            for k, v in old.items():
                if v is None:
                    del os.environ[k]
                else:
                    os.environ[k] = v
            ns["gc"].close()
        self.assertEqual(ns["r"], {"ok": True, "delivered": 1, "offline": []})
        self.assertNextJSON(b, {"type": "new_msg", "unread": 3})
        self.assertEqual(verify_token(ns["token"])["groups"], ["company:3:*"])

    def test_asyncio_client(self):
        uid = uniq("u")
        b, cid = self.plain_browser(uid, 0)

        async def run():
            async with gatecast.AsyncClient(self.address(), secret=PUSH_SECRET) as gc:
                r = await gc.send_to_uid(uid, {"async": True})
                online = await gc.is_uid_online(uid)
                await gc.join_group(cid, "async-group")
                count = await gc.get_client_count_by_group("async-group")
                replies = await gc.batch([{"type": "get_uid_by_client_id", "client_id": cid},
                                          {"type": "get_session", "client_id": UNKNOWN_CLIENT}])
                try:
                    await gc.leave_group(UNKNOWN_CLIENT, "g")
                    err = None
                except gatecast.Error as e:
                    err = e.error
                closed = await gc.close_client(UNKNOWN_CLIENT)
            try:
                async with gatecast.AsyncClient(self.address(), secret="wrong") as bad:
                    await bad.get_all_uid_count()
                bad_err = None
            except gatecast.Error as e:
                bad_err = e.error
            return r, online, count, replies, err, closed, bad_err

        r, online, count, replies, err, closed, bad_err = asyncio.run(run())
        self.assertEqual(r, {"ok": True, "delivered": 1, "offline": []})
        self.assertNextJSON(b, {"async": True})
        self.assertIs(online, True)
        self.assertEqual(count, 1)
        self.assertEqual(replies[0], {"ok": True, "uid": uid})
        self.assertEqual(replies[1]["error"], "not_found")
        self.assertEqual((err, closed, bad_err), ("not_found", False, "unauthorized"))


# ------------------------------------------------------------------ PHP

@unittest.skipUnless(PHP, NO_PHP)
class PhpClientTest(PhpMixin, ClusterClientCase):

    def params(self, **kw):
        p = {"address": self.address(), "secret": PUSH_SECRET}
        p.update(kw)
        return p

    def test_lint_and_composer(self):
        for name in sorted(os.listdir(os.path.join(PHP_DIR, "src"))):
            r = subprocess.run([PHP, "-l", os.path.join(PHP_DIR, "src", name)], capture_output=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(PHP_DIR, "composer.json")) as f:
            composer = json.load(f)
        self.assertEqual(set(composer["require"]), {"php", "ext-json"})
        self.assertEqual(composer["autoload"]["psr-4"], {"Gatecast\\": "src/"})

    def test_token_and_send_to_uid(self):
        uid = uniq("u")
        [t, same] = self.php("""
            Gateway::$authSecret = $P['auth'];
            out(Gateway::token($P['uid'], 120, ['company:7:*']));
            out(Token::mint($P['auth'], 'ü/42', 600, ['a', 'b'], 1700000000));
        """, uid=uid, auth=AUTH_SECRET)
        claims = verify_token(t)
        self.assertEqual((claims["sub"], claims["exp"] - claims["iat"], claims["groups"]),
                         (uid, 120, ["company:7:*"]))
        self.assertEqual(same, gatecast.token(AUTH_SECRET, "ü/42", 600, ["a", "b"], now=1700000000),
                         "PHP and Python mint the same bytes")
        b, cid, got = self.browser(t, gateway=1)
        self.assertEqual(got, uid)
        self.assertJoin(b, "company:7:feed", True)
        self.assertJoin(b, "company:70", False)
        [r1, r2, r3] = self.php("""
            out(Gateway::sendToUid($P['uid'], json_encode(['type' => 'new_msg', 'title' => 'héllo'])));
            out(Gateway::sendToUid([$P['uid'], $P['off']], ['n' => 0.1, 'list' => [1, 2]]));
            out(Gateway::sendToUid($P['uid'], "\\x00\\xffbin"));
        """, **self.params(uid=uid, off="off-" + uid))
        self.assertEqual(r1, {"ok": True, "delivered": 1, "offline": []})
        self.assertEqual(r2, {"ok": True, "delivered": 1, "offline": ["off-" + uid]})
        self.assertEqual(r3["delivered"], 1)
        self.assertNextText(b, '{"type":"new_msg","title":"h\\u00e9llo"}')  # as json_encode wrote it
        self.assertNextText(b, '{"n":0.1,"list":[1,2]}')
        m = b.recv()
        self.assertTrue(m.is_binary, m)
        self.assertEqual(m.data, b"\x00\xffbin")

    def test_secrets_from_environment(self):
        uid = uniq("u")
        argv, env = self.php_cmd("out(Gateway::token($P['uid'], 60)); out(is_int(Gateway::getAllUidCount()));",
                                 {"uid": uid, "address": self.address()})
        env.update(ENV)   # GATECAST_AUTH_SECRET, GATECAST_PUSH_SECRET
        r = subprocess.run(argv, capture_output=True, env=env, timeout=30)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        t, ok = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(verify_token(t)["sub"], uid)
        self.assertIs(ok, True)
        [e] = self.php("try { Gateway::token('42'); } catch (\\InvalidArgumentException $e) { out($e->getMessage()); }")
        self.assertIn("auth.secret", e)

    def test_groups_queries_and_sessions(self):
        uid, other, group = uniq("u"), uniq("v"), uniq("company")
        gc = gatecast.Client(self.address(), secret=PUSH_SECRET)
        self.addCleanup(gc.close)
        before_uids, before_clients = gc.get_all_uid_count(), gc.get_all_client_count()
        b1, c1 = self.plain_browser(uid, 0)
        b2, c2 = self.plain_browser(uid, 1)
        b3, c3 = self.plain_browser(other, 1)
        out = self.php("""
            foreach ([$P['c1'], $P['c2'], $P['c3']] as $c) { Gateway::joinGroup($c, $P['group']); }
            out(Gateway::sendToGroup($P['group'], json_encode(['type' => 'update_dynamic']), [$P['c3']]));
            out([Gateway::isUidOnline($P['uid']), Gateway::isUidOnline('off-' . $P['uid'])]);
            $ids = Gateway::getClientIdByUid($P['uid']); sort($ids); out($ids);
            out(Gateway::getUidByClientId($P['c3']));
            out([Gateway::getClientCountByGroup($P['group']), Gateway::getClientIdCountByGroup($P['group']),
                 Gateway::getUidCountByGroup($P['group'])]);
            out(Gateway::getUidListByGroup($P['group']));
            out(isset(Gateway::getAllGroupIdList()[$P['group']]));
            out([Gateway::getAllUidCount(), Gateway::getAllClientCount(), Gateway::getAllClientIdCount(),
                 Gateway::getClientCountByGroup()]);
            out([Gateway::isOnline($P['c1']), Gateway::isOnline(str_repeat('0', 28))]);
            out(Gateway::getSession($P['c1']));
            Gateway::setSession($P['c1'], ['name' => 'Ann', 'tags' => ['a']]);
            Gateway::updateSession($P['c1'], ['company' => 7]);
            out(Gateway::getSession($P['c1']));
            Gateway::setSession($P['c1'], []);
            out(Gateway::getSession($P['c1']));
            Gateway::leaveGroup($P['c3'], $P['group']);
            out(Gateway::getUidListByGroup($P['group']));
            out(Gateway::ungroup($P['group']));
            out(Gateway::getClientCountByGroup($P['group']));
            Gateway::bindUid($P['c3'], 'renamed');
            out(Gateway::getUidByClientId($P['c3']));
            Gateway::unbindUid($P['c3']);
            out(Gateway::getUidByClientId($P['c3']));
            out(Gateway::closeClient($P['c3'], 'bye'));
            out(Gateway::sendToAll('to both', [$P['c1'], $P['c2'], $P['c3']], $P['c3']));
            out(Gateway::sendToAll('nobody', []));
            out(Gateway::sendToAll('everyone', null, $P['c1'])['ok']);
            out(Gateway::client()->lastReply());
        """, **self.params(uid=uid, c1=c1, c2=c2, c3=c3, group=group))
        (send, online, ids, uid3, counts, uidmap, has_group, totals, isonline, s0, s1, s2, after_leave,
         ungroup, count_after, renamed, unbound, closed, to_both, nobody, everyone_ok, last) = out
        self.assertEqual(send, {"ok": True, "delivered": 2})
        for b in (b1, b2):
            self.assertNextJSON(b, {"type": "update_dynamic"})
        self.assertEqual(online, [1, 0], "isUidOnline returns ints, as GatewayWorker")
        self.assertEqual(ids, sorted([c1, c2]))
        self.assertEqual(uid3, other)
        self.assertEqual(counts, [3, 3, 2])
        self.assertEqual(uidmap, {uid: uid, other: other}, "GatewayWorker's uid => uid map")
        self.assertIs(has_group, True)
        self.assertEqual(totals[0] - before_uids, 2)
        self.assertEqual([t - before_clients for t in totals[1:]], [3, 3, 3])
        self.assertEqual(isonline, [1, 0])
        self.assertEqual(s0, [])
        self.assertEqual(s1, {"name": "Ann", "tags": ["a"], "company": 7})
        self.assertEqual(s2, [])
        self.assertEqual(after_leave, {uid: uid})
        self.assertEqual(ungroup, {"ok": True})
        self.assertEqual(count_after, 0)
        self.assertEqual((renamed, unbound, closed), ("renamed", None, True))
        self.assertNextText(b3, "bye")
        self.assertEqual(b3.expect_close()[0], 1000)
        self.assertEqual(to_both, {"ok": True, "delivered": 2})
        self.assertEqual(nobody, {"ok": True, "delivered": 0})
        self.assertIs(everyone_ok, True)
        self.assertEqual(last["ok"], True)
        self.assertNextText(b1, "to both")
        self.assertNextText(b2, "to both")
        self.assertNextText(b2, "everyone")
        self.assertNothing(b1)

    def test_readme_snippets(self):
        """Seed 000's flow as docs/push-api.md and clients/php/README.md show it,
        run with stand-ins for the application's user and storage."""
        blocks = (snippets("docs/push-api.md", "php", "<?php\nrequire 'vendor/autoload.php';")
                  + snippets("clients/php/README.md", "php", "<?php\nrequire 'vendor/autoload.php';"))
        self.assertEqual(len(blocks), 2)
        self.assertEqual(blocks[0], blocks[1], "the two READMEs show the same example")
        self.assertLess(len(blocks[0].splitlines()), 20)
        pre = os.path.join(self.php_root, "readme_pre.php")
        post = os.path.join(self.php_root, "readme_post.php")
        with open(pre, "w") as f:
            f.write("<?php\nclass Notification { public static function create(array $a): array { return $a; }\n"
                    "  public static function unread(string $to): int { return 3; } }\n"
                    "$user = (object)['id' => 7]; $to = getenv('GC_TO'); $text = 'hello';\n")
        with open(post, "w") as f:
            f.write("<?php\necho json_encode(['r' => $r, 'token' => $token]), \"\\n\";\n")
        to = uniq("u")
        b, _ = self.plain_browser(to, 1)
        path = os.path.join(self.php_root, "readme.php")
        with open(path, "w") as f:
            f.write(blocks[0].replace("127.0.0.1:8806", self.address()))
        env = clean_env(dict(ENV, GC_TO=to))
        r = subprocess.run([PHP, "-d", "error_reporting=-1", "-d", "display_errors=stderr",
                            "-d", "auto_prepend_file=" + pre, "-d", "auto_append_file=" + post, path],
                           capture_output=True, env=env, cwd=self.php_root, timeout=30)
        self.assertEqual((r.returncode, r.stderr), (0, b""), r.stdout)
        out = json.loads(r.stdout)
        self.assertEqual(out["r"], {"ok": True, "delivered": 1, "offline": []})
        self.assertEqual(verify_token(out["token"])["sub"], "7")
        self.assertNextJSON(b, {"type": "new_msg", "unread": 3})

    def test_error_replies(self):
        out = self.php("""
            $u = str_repeat('0', 28);
            try { Gateway::joinGroup($u, 'g'); out('no exception'); } catch (\\Gatecast\\Exception $e) { out(err($e)); }
            try { Gateway::setSession($u, ['a' => 1]); } catch (\\Gatecast\\Exception $e) { out(err($e)); }
            try { Gateway::sendToUid('', 'x'); } catch (\\Gatecast\\Exception $e) { out(err($e)); }
            out([Gateway::closeClient($u), Gateway::getUidByClientId($u), Gateway::getSession($u),
                 Gateway::sendToClient($u, 'x')]);
            try { Gateway::getAllClientIdList(); } catch (\\BadMethodCallException $e) { out($e->getMessage()); }
            out(is_int(Gateway::getAllClientCount()));
        """, **self.params())
        join, session, bad, values, missing, still_ok = out
        self.assertEqual((join["class"], join["error"]), ("Gatecast\\Exception", "not_found"), join)
        self.assertIn("join_group", join["message"])
        self.assertIs(join["reply"]["ok"], False)
        self.assertEqual(session["error"], "not_found")
        self.assertEqual(bad["error"], "bad_request")
        self.assertEqual(values, [False, None, None, {"ok": True, "delivered": 0}])
        self.assertIn("getAllClientIdList", missing)
        self.assertIs(still_ok, True)

    def test_batch_pipelined_in_order(self):
        uid = uniq("u")
        b, cid = self.plain_browser(uid, 1)
        [replies, keyed] = self.php("""
            $cmds = [];
            for ($i = 0; $i < 60; $i++) { $cmds[] = ['type' => 'send_to_uid', 'uid' => $P['uid'], 'data' => ['i' => $i], 'id' => $i]; }
            $cmds[10] = ['type' => 'no_such_command', 'id' => 10];
            $cmds[20] = ['type' => 'is_uid_online', 'uid' => $P['uid'], 'id' => 20];
            $cmds[30] = ['type' => 'set_session', 'client_id' => $P['cid'], 'session' => [], 'id' => 30];
            $c = new Client($P['address'], $P['secret']);
            out($c->batch($cmds));
            out($c->batch(['a' => ['type' => 'get_all_uid_count'], 'b' => ['type' => 'get_session', 'client_id' => $P['cid']]]));
        """, **self.params(uid=uid, cid=cid))
        self.assertEqual([r.get("id") for r in replies], list(range(60)))
        self.assertEqual(replies[10]["error"], "unknown_type")
        self.assertEqual(replies[20], {"id": 20, "ok": True, "online": True})
        self.assertEqual(replies[30], {"id": 30, "ok": True}, "an empty session goes as {}")
        sends = [i for i in range(60) if i not in (10, 20, 30)]
        for i in sends:
            self.assertEqual(replies[i], {"id": i, "ok": True, "delivered": 1, "offline": []})
        self.assertEqual([b.recv_json()["i"] for _ in sends], sends)
        self.assertEqual(sorted(keyed), ["a", "b"])
        self.assertEqual(keyed["b"], {"ok": True, "session": []})  # PHP decodes {} as []

    def test_push_secret(self):
        out = self.php("""
            foreach (['not-' . $P['secret'], ''] as $s) {
                Gateway::$secretKey = $s;
                try { Gateway::sendToUid('42', 'x'); out('no exception'); } catch (\\Gatecast\\Exception $e) { out(err($e)); }
            }
            Gateway::$secretKey = $P['secret'];
            out(is_int(Gateway::getAllUidCount()));
        """, **self.params())
        wrong, missing, ok = out
        self.assertEqual((wrong["class"], wrong["error"]), ("Gatecast\\Exception", "unauthorized"))
        self.assertIn("refused the push secret", wrong["message"])
        self.assertNotIn(PUSH_SECRET, wrong["message"])
        self.assertEqual(missing["error"], "unauthorized")
        self.assertIn("needs push.secret", missing["message"])
        self.assertIs(ok, True)

    def test_reconnect_after_gateway_restart(self):
        uid = uniq("u")
        b, _ = self.plain_browser(uid, 1)
        argv, env = self.php_cmd("""
            out(Gateway::sendToUid($P['uid'], 'before'));
            fgets(STDIN);                       // the test restarts the gateway meanwhile
            out(Gateway::sendToUid($P['uid'], 'after'));
            out(Gateway::isUidOnline($P['uid']));
        """, self.params(uid=uid))
        p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            first = json.loads(p.stdout.readline())
            self.assertEqual(first["delivered"], 1)
            self.assertNextText(b, "before")
            self.restart_gateway0()
            out, err = p.communicate(b"go\n", timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual((p.returncode, err.decode()), (0, ""), out)
        after, online = [json.loads(line) for line in out.decode().splitlines()]
        self.assertEqual(after, {"ok": True, "delivered": 1, "offline": []})
        self.assertEqual(online, 1)
        self.assertNextText(b, "after")


# ------------------------------------------------------------------ fake push port

class FakePort:
    """A push port that plays a script per connection. Each script entry is
    "reply" (answer one line with {"ok":true,"count":<n>}), "drop" (read one
    line, close without answering) or ("all", n) (read n lines, and only
    then answer them all, so a client that waits for each reply before
    sending the next never gets an answer)."""

    def __init__(self, scripts):
        self.scripts = list(scripts)
        self.received = []          # (connection number, request dict)
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            n = self.connections
            self.connections += 1
            script = self.scripts[n] if n < len(self.scripts) else []
            with conn:
                conn.settimeout(10)
                f = conn.makefile("rb")
                try:
                    for step in script:
                        if step == "drop":
                            self.received.append((n, json.loads(f.readline())))
                            break
                        k = step[1] if isinstance(step, tuple) else 1
                        lines = [json.loads(f.readline()) for _ in range(k)]
                        self.received += [(n, x) for x in lines]
                        conn.sendall(b"".join(b'{"ok":true,"count":%d}\n' % len(self.received)
                                              for _ in lines))
                    else:
                        f.read()   # wait for the client to hang up
                except (OSError, ValueError):
                    pass
                f.close()
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.sock.close()
        self.thread.join(5)


class FakePortTest(PhpMixin, unittest.TestCase):
    """Client behaviour that a real gateway does not show on demand."""

    def fake(self, scripts):
        f = FakePort(scripts)
        self.addCleanup(f.close)
        return f

    def types(self, fake):
        return [(n, r["type"]) for n, r in fake.received]

    # -- Python

    def test_python_batch_writes_everything_before_reading(self):
        f = self.fake([[("all", 50)]])
        with gatecast.Client(f.address, secret="", timeout=5) as gc:
            replies = gc.batch([{"type": "get_all_uid_count"}] * 50)
        self.assertEqual(len(replies), 50)

    def test_python_retry_once_for_queries_never_for_sends(self):
        f = self.fake([["reply", "drop"], ["reply"]])
        with gatecast.Client(f.address, secret="") as gc:
            self.assertEqual(gc.get_all_uid_count(), 1)
            self.assertEqual(gc.get_all_uid_count(), 3)   # dropped on 0, answered on 1
        self.assertEqual(self.types(f), [(0, "get_all_uid_count"), (0, "get_all_uid_count"),
                                          (1, "get_all_uid_count")])
        f = self.fake([["reply", "drop"], ["reply"]])
        with gatecast.Client(f.address, secret="") as gc:
            gc.get_all_uid_count()
            with self.assertRaises(gatecast.PushConnectionError) as cm:
                gc.send_to_uid("42", "once")
            self.assertEqual(cm.exception.error, "closed")
            self.assertEqual(gc.get_all_uid_count(), 3)    # the next call reconnects
        self.assertEqual(self.types(f), [(0, "get_all_uid_count"), (0, "send_to_uid"),
                                          (1, "get_all_uid_count")])

    def test_python_connect_error(self):
        with self.assertRaises(gatecast.PushConnectionError) as cm:
            gatecast.Client("127.0.0.1:%d" % free_port(), secret="").get_all_uid_count()
        self.assertEqual(cm.exception.error, "connect")
        with self.assertRaises(ValueError):
            gatecast.Client("no-port")

    def test_python_timeout(self):
        f = self.fake([[("all", 2)]])
        t0 = time.monotonic()
        with gatecast.Client(f.address, secret="", timeout=0.5) as gc:
            with self.assertRaises(gatecast.PushConnectionError) as cm:
                gc.get_all_uid_count()
        self.assertEqual(cm.exception.error, "timeout")
        self.assertLess(time.monotonic() - t0, 3)

    # -- PHP

    @unittest.skipUnless(PHP, NO_PHP)
    def test_php_batch_writes_everything_before_reading(self):
        f = self.fake([[("all", 50)]])
        [n] = self.php("""
            $c = new Client($P['address'], '', 3.0, 5.0);
            out(count($c->batch(array_fill(0, 50, ['type' => 'get_all_uid_count']))));
        """, address=f.address)
        self.assertEqual(n, 50)

    @unittest.skipUnless(PHP, NO_PHP)
    def test_php_retry_once_for_queries_never_for_sends(self):
        body = """
            $c = new Client($P['address'], '');
            out($c->getAllUidCount());
            try { out($P['send'] ? $c->sendToUid('42', 'once') : $c->getAllUidCount()); }
            catch (ConnectionException $e) { out(err($e)); }
            out($c->getAllUidCount());
        """
        f = self.fake([["reply", "drop"], ["reply", "reply"]])
        self.assertEqual(self.php(body, address=f.address, send=False), [1, 3, 4])
        f = self.fake([["reply", "drop"], ["reply"]])
        first, e, last = self.php(body, address=f.address, send=True)
        self.assertEqual((first, last), (1, 3))
        self.assertEqual((e["class"], e["error"]), ("Gatecast\\ConnectionException", "closed"), e)
        self.assertEqual(self.types(f), [(0, "get_all_uid_count"), (0, "send_to_uid"),
                                          (1, "get_all_uid_count")])

    @unittest.skipUnless(PHP, NO_PHP)
    def test_php_connect_error_and_timeout(self):
        f = self.fake([[("all", 2)]])
        conn, tmo = self.php("""
            foreach ([$P['dead'], $P['address']] as $a) {
                try { (new Client($a, '', 1.0, 0.5))->getAllUidCount(); out('no exception'); }
                catch (ConnectionException $e) { out(err($e)); }
            }
        """, address=f.address, dead="127.0.0.1:%d" % free_port())
        self.assertEqual(conn["error"], "connect")
        self.assertIn("cannot connect", conn["message"])
        self.assertEqual(tmo["error"], "timeout")


if __name__ == "__main__":
    main()
