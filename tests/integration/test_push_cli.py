#!/usr/bin/env python3
"""
`gatecast push`: the push-port CLI for shell scripts and cron.

  * a command from arguments reaches a logged-in browser, and its reply is
    printed (exit 0); --uid/--data/--data-text/--id build the request;
  * raw JSON lines from stdin are pipelined, one reply line each, in order;
  * an "ok":false reply exits 1; usage errors and no server exit 2;
  * with push.secret (GATECAST_PUSH_SECRET) it authenticates first, and the
    secret never shows in its output; a missing or wrong secret exits 2.

Run: GATECAST_BUILD=build python3 tests/integration/test_push_cli.py
"""

import json
import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClusterTestCase, binary, clean_env, free_port, main, uniq  # noqa: E402

PUSH_SECRET = "push-secret-" + secrets.token_hex(24)
UNKNOWN_CLIENT = "0" * 28


class PushCliCase(ClusterTestCase):
    def cli(self, *args, stdin=None, env=None, host=True, timeout=30):
        argv = [binary("launcher"), "push"] + list(args)
        if host:
            argv += ["--host", "127.0.0.1:%d" % self.cluster.push_port(0)]
        r = subprocess.run(argv, input=(stdin or "").encode("utf-8"), capture_output=True,
                           env=clean_env(self.ENV if env is None else env), timeout=timeout)
        r.out = r.stdout.decode("utf-8")
        r.err = r.stderr.decode("utf-8")
        return r

    def replies(self, r):
        lines = r.out.splitlines()
        return [json.loads(line) for line in lines]


class PushCliTest(PushCliCase):
    CLUSTER = dict(gateways=1, workers=1)

    def test_help(self):
        r = subprocess.run([binary("launcher"), "push", "--help"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"gatecast push <command>", r.stdout)
        r = subprocess.run([binary("launcher"), "--help"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"gatecast push", r.stdout)

    def test_send_to_uid_args(self):
        uid = uniq("u")
        b, _ = self.connect(0, uid=uid)
        r = self.cli("send_to_uid", "--uid", uid, "--data", '{"title":"hi"}')
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual(r.err, "")
        self.assertEqual(self.replies(r), [{"ok": True, "delivered": 1, "offline": []}])
        self.assertNextJSON(b, {"title": "hi"})

    def test_config_listen_repeated_uid_and_text(self):
        u1, u2, off = uniq("u"), uniq("u"), uniq("off")
        b1, _ = self.connect(0, uid=u1)
        b2, _ = self.connect(0, uid=u2)
        # The address from the config (--set), not --host.
        r = self.cli("send_to_uid", "--uid", u1, "--uid", u2, "--uid", off, "--data-text",
                     '{"not":"parsed"}', "--id", "7",
                     "--set", "gateway.push_listen=127.0.0.1:%d" % self.cluster.push_port(0),
                     host=False)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual(self.replies(r), [{"id": 7, "ok": True, "delivered": 2, "offline": [off]}])
        self.assertNextText(b1, '{"not":"parsed"}')
        self.assertNextText(b2, '{"not":"parsed"}')
        # --data that is not JSON goes as a string.
        r = self.cli("send_to_uid", "--uid", u1, "--data", "plain words")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertNextText(b1, "plain words")
        # --data-base64.
        r = self.cli("send_to_uid", "--uid", u2, "--data-base64", "AAEC")
        self.assertEqual(r.returncode, 0, r.err)
        m = b2.recv(5)
        self.assertFalse(m.is_text, m)
        self.assertEqual(m.data, b"\x00\x01\x02")

    def test_stdin_pipelined(self):
        uid = uniq("u")
        b, cid = self.connect(0, uid=uid)
        lines = [
            json.dumps({"type": "send_to_uid", "uid": uid, "data": "one", "id": 1}),
            "",
            json.dumps({"type": "is_uid_online", "uid": uid, "id": 2}),
            json.dumps({"type": "get_uid_by_client_id", "client_id": cid, "id": 3}),
        ]
        r = self.cli(stdin="\n".join(lines))  # the last line has no newline
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual(self.replies(r), [
            {"id": 1, "ok": True, "delivered": 1, "offline": []},
            {"id": 2, "ok": True, "online": True},
            {"id": 3, "ok": True, "uid": uid},
        ])
        self.assertNextText(b, "one")

    def test_error_reply_exits_1(self):
        r = self.cli("close_client", "--client-id", UNKNOWN_CLIENT)
        self.assertEqual(r.returncode, 1, r.err)
        rep = self.replies(r)
        self.assertEqual(len(rep), 1)
        self.assertIs(rep[0]["ok"], False)
        self.assertEqual(rep[0]["error"], "not_found")
        # From stdin: every reply is printed, and one failure makes it 1.
        r = self.cli(stdin='{"type":"get_all_uid_count"}\n{"type":"nope"}\n'
                           '{"type":"get_all_client_count"}\n')
        self.assertEqual(r.returncode, 1, r.err)
        rep = self.replies(r)
        self.assertEqual([x["ok"] for x in rep], [True, False, True])
        self.assertEqual(rep[1]["error"], "unknown_type")

    def test_usage_errors_exit_2(self):
        for args in (["send_to_uid", "--bogus"], ["send_to_uid", "--uid"],
                     ["send_to_uid", "--uid", "1", "--data", "x", "--data-text", "y"],
                     ["set_session", "--client-id", UNKNOWN_CLIENT, "--session", "[1]"],
                     ["--uid", "1"], ["a", "b"]):
            with self.subTest(args=args):
                r = self.cli(*args)
                self.assertEqual(r.returncode, 2, (r.out, r.err))
                self.assertEqual(r.out, "")
                self.assertIn("gatecast push:", r.err)

    def test_no_server_exits_2(self):
        port = free_port()
        r = self.cli("get_all_uid_count", "--host", "127.0.0.1:%d" % port, host=False)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.out, "")
        self.assertIn("cannot connect to 127.0.0.1:%d" % port, r.err)
        r = self.cli("get_all_uid_count", "-c", "/nonexistent/gatecast.ini")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/gatecast.ini", r.err)


class PushCliSecretTest(PushCliCase):
    CLUSTER = dict(gateways=1, workers=1)
    ENV = {"GATECAST_PUSH_SECRET": PUSH_SECRET}

    def assertNoSecret(self, r, *secrets_):
        for s in (PUSH_SECRET,) + secrets_:
            self.assertNotIn(s, r.out)
            self.assertNotIn(s, r.err)

    def test_authenticates(self):
        uid = uniq("u")
        b, _ = self.connect(0, uid=uid)
        r = self.cli("send_to_uid", "--uid", uid, "--data", '{"title":"hi"}')
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual(self.replies(r), [{"ok": True, "delivered": 1, "offline": []}])
        self.assertNextJSON(b, {"title": "hi"})
        self.assertNoSecret(r)
        # stdin mode too.
        r = self.cli(stdin='{"type":"get_all_uid_count","id":1}\n{"type":"is_uid_online","uid":"%s"}\n'
                     % uid)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual([x.get("ok") for x in self.replies(r)], [True, True])
        self.assertEqual(self.replies(r)[0]["id"], 1)
        self.assertNoSecret(r)

    def test_missing_or_wrong_secret(self):
        wrong = "wrong-secret-" + secrets.token_hex(16)
        for env in ({}, {"GATECAST_PUSH_SECRET": wrong}):
            with self.subTest(env=list(env)):
                r = self.cli("get_all_uid_count", env=env)
                self.assertEqual(r.returncode, 2, (r.out, r.err))
                self.assertIn("gatecast push:", r.err)
                self.assertNoSecret(r, wrong)


if __name__ == "__main__":
    main()
