#!/usr/bin/env python3
"""
Operating a cluster: `gatecast start -d`, `status`, `reload`, `stop`, SIGHUP.

The centre piece is test_reload_under_load: browsers and a backend keep
traffic going (pushes by uid through the push port, and client messages
answered by a worker) while `gatecast reload` replaces every worker; every
push must be answered ok and delivered, every ping answered, and no
browser connection dropped.

Run: GATECAST_BUILD=build python3 tests/integration/test_operate.py
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import (Launcher, LauncherTestCase, PushClient, _extra_pids, _live_lock, binary, free_port, main,  # noqa: E402
                     pid_alive, set_value, tail, uniq, wait_until)


def run_cli(args, timeout=60, env=None):
    return subprocess.run([binary("launcher")] + args, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, env=env)


class LauncherCase(LauncherTestCase):
    """Runs a foreground launcher per test and drives it with the CLI."""

    log_lines = 150

    def sets(self, la=None):
        la = la or self.launcher
        out = []
        for k, v in la.sets:
            out += ["--set", "%s=%s" % (k, set_value(v))]
        return out

    def cli(self, cmd, extra=(), timeout=60):
        r = run_cli([cmd] + self.sets() + list(extra), timeout=timeout, env=self.launcher.env)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    def status_rows(self):
        rc, out, err = self.cli("status")
        self.assertEqual(rc, 0, "gatecast status: rc %d\n%s\n%s" % (rc, out, err))
        rows = []
        for line in out.splitlines():
            f = line.split()
            if f and f[0] in ("register", "gateway", "worker"):
                rows.append(f)
        return rows, out

    def wait_status(self, pred, what, timeout=10):
        """Runs `gatecast status` until pred(rows) (the members announce
        their numbers every register.renew); returns (rows, output)."""
        return wait_until(self.status_rows, "status showing " + what, timeout=timeout, step=0.2,
                          ok=lambda ro: pred(ro[0]))


class StatusTest(LauncherCase):

    def test_status_reads_every_process(self):
        la = self.start(extra_set={"register.renew": 0.2, "register.lease": 1})
        cur = la.current_children()
        uid = uniq("st")
        clients = [wsclient.WSClient("127.0.0.1", la.ws_port, query="uid=%s-%d" % (uid, i)) for i in range(6)]
        try:
            for c in clients:
                self.assertEqual(c.recv_json().get("type"), "login")
            # Six connections on the gateways: the CONNS and UIDS columns
            # sum to 6 once each gateway has announced again after the
            # logins (an announce may carry a connection whose login the
            # gateway has not bound yet, so both columns are awaited).
            def six(rows):
                gws = [r for r in rows if r[0] == "gateway"]
                return (len(gws) == 2 and sum(int(r[5]) for r in gws) == 6
                        and sum(int(r[6]) for r in gws) == 6)
            rows, out = self.wait_status(six, "6 connections and 6 uids over 2 gateways")
            pids = {("register" if r[0] == "register" else r[0], int(r[1])) for r in rows}
            want = {(role, pid) for (role, _), pid in cur.items()}
            self.assertEqual(pids, want, "status lists exactly the launcher's children:\n" + out)
            self.assertIn("total: 1 register, 2 gateways, 2 workers; connections 6", out)
            for r in rows:
                self.assertEqual(r[4], "ok", out)
            # uids: each client has its own uid
            self.assertEqual(sum(int(r[6]) for r in rows if r[0] == "gateway"), 6, out)
            # A push counts as a message out of a gateway.
            p = PushClient(la.push_port)
            try:
                rep = p.request({"type": "send_to_uid", "uid": "%s-0" % uid, "data": "x"})
            finally:
                p.close()
            self.assertTrue(rep.get("ok"), rep)
            self.assertEqual(clients[0].recv(timeout=5).data, b"x")

            def pushed(rows):
                return sum(int(r[10]) for r in rows if r[0] == "gateway") >= 7
            self.wait_status(pushed, "the push counted in MSGS_OUT")
        finally:
            for c in clients:
                c.close()

    def test_status_without_launcher_asks_the_register(self):
        secret = "status-test-cluster-secret-" + uniq("s")
        la = self.start(env={"GATECAST_CLUSTER_SECRET": secret})
        # A config with another run_dir has no launcher: status goes to the
        # register directly (as under systemd or on another host).
        other = tempfile.mkdtemp(prefix="gcs-")
        env2 = dict(la.env)
        env2["GATECAST_CLUSTER_SECRET"] = "another-cluster-secret-0123456789abcdef"
        r = run_cli(["status"] + self.sets() + ["--set", "cluster.run_dir=" + other], env=env2)
        out = r.stdout.decode()
        # With the wrong secret the register does not answer, and status
        # says what to check.
        self.assertEqual(r.returncode, 1, out + r.stderr.decode())
        self.assertIn("cluster.secret", r.stderr.decode())
        env2["GATECAST_CLUSTER_SECRET"] = secret
        r = run_cli(["status"] + self.sets() + ["--set", "cluster.run_dir=" + other], env=env2)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out + r.stderr.decode())
        self.assertEqual(len([l for l in out.splitlines() if l.startswith("gateway ")]), 2, out)
        self.assertEqual(len([l for l in out.splitlines() if l.startswith("worker ")]), 2, out)

    def test_commands_without_a_cluster(self):
        d = tempfile.mkdtemp(prefix="gcn-")
        for cmd in ("stop", "reload"):
            r = run_cli([cmd, "--set", "cluster.run_dir=" + d, "--set", "auth.mode=none"])
            self.assertEqual(r.returncode, 1, r)
            self.assertIn(b"no gatecast running", r.stderr)


class ReloadTest(LauncherCase):

    def test_reload_under_load(self):
        """Rolling worker restart while pushes and client messages flow:
        sent = answered ok = delivered, every ping answered by a worker with
        a pong, no client dropped."""
        la = self.start(extra_set={"register.renew": 0.2, "register.lease": 1})
        before = la.current_children()
        n_clients = 24
        tag = uniq("rl")
        clients = []
        for i in range(n_clients):
            c = wsclient.WSClient("127.0.0.1", la.ws_port, query="uid=%s-%d" % (tag, i), timeout=10)
            self.assertEqual(c.recv_json().get("type"), "login")
            clients.append(c)

        stop = threading.Event()
        errors = []
        pushed = {i: [] for i in range(n_clients)}    # uid index -> push numbers acknowledged
        replies = {"sent": 0, "ok": 0, "bad": []}
        got_push = {i: [] for i in range(n_clients)}
        echo_sent = {i: 0 for i in range(n_clients)}
        echo_got = {i: [] for i in range(n_clients)}
        closed = []

        def publisher():
            p = PushClient(la.push_port, timeout=15)
            seq = 0
            inflight = []
            try:
                while not stop.is_set() or inflight:
                    while not stop.is_set() and len(inflight) < 16:
                        u = seq % n_clients
                        p.send({"type": "send_to_uid", "uid": "%s-%d" % (tag, u),
                                "data": json.dumps({"p": seq}), "id": seq})
                        inflight.append((seq, u))
                        replies["sent"] += 1
                        seq += 1
                    rep = json.loads(p.read_line(timeout=15))
                    s, u = inflight.pop(0)
                    if rep.get("ok") is True and rep.get("delivered") == 1 and rep.get("id") == s:
                        replies["ok"] += 1
                        pushed[u].append(s)
                    else:
                        replies["bad"].append(rep)
                    time.sleep(0.001)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("publisher: %r" % e)
            finally:
                p.close()

        def browser(i):
            c = clients[i]
            n = 0
            last_send = 0.0
            try:
                while True:
                    now = time.monotonic()
                    if not stop.is_set() and now - last_send > 0.02:
                        c.send_text('{"type":"ping"}')
                        echo_sent[i] = n + 1
                        n += 1
                        last_send = now
                    if stop.is_set() and len(echo_got[i]) >= echo_sent[i] and \
                            (drained.is_set() and len(got_push[i]) >= len(pushed[i])):
                        return
                    try:
                        m = c.recv(timeout=0.05)
                    except wsclient.WSTimeout:
                        if stop.is_set() and time.monotonic() > final_deadline[0]:
                            return
                        continue
                    except wsclient.WSClosed as e:
                        closed.append((i, e.code))
                        return
                    obj = json.loads(m.data.decode())
                    if obj.get("type") == "pong":
                        echo_got[i].append(len(echo_got[i]))
                    else:
                        got_push[i].append(obj["p"])
            except Exception as e:  # noqa: BLE001
                errors.append("browser %d: %r" % (i, e))

        drained = threading.Event()
        final_deadline = [float("inf")]
        threads = [threading.Thread(target=publisher)] + \
                  [threading.Thread(target=browser, args=(i,)) for i in range(n_clients)]
        for t in threads:
            t.start()
        def answered():
            if errors:
                raise AssertionError("load threads failed: %r" % errors)
            return replies["ok"]

        try:
            # Traffic flows before the reload, and goes on after it.
            wait_until(answered, "100 pushes answered before the reload", timeout=30, ok=lambda n: n >= 100)
            rc, out, err = self.cli("reload", timeout=120)
            self.assertEqual(rc, 0, "reload failed:\n%s\n%s" % (out, err))
            self.assertEqual(len(re.findall(r"worker \d+: replaced by pid \d+", out)), 2, out)
            at_reload = replies["ok"]
            wait_until(answered, "100 more pushes answered after the reload", timeout=30,
                       ok=lambda n: n >= at_reload + 100)
        finally:
            stop.set()
            threads[0].join(60)
            drained.set()
            final_deadline[0] = time.monotonic() + 10
            for t in threads[1:]:
                t.join(30)
            for c in clients:
                c.close()

        self.assertEqual(errors, [])
        self.assertEqual(closed, [], "clients were disconnected")
        self.assertGreater(replies["sent"], 200, "the load was too light to mean anything")
        self.assertEqual(replies["bad"], [], "push requests not answered ok/delivered=1")
        self.assertEqual(replies["ok"], replies["sent"])
        for i in range(n_clients):
            self.assertEqual(sorted(got_push[i]), sorted(pushed[i]), "client %d pushes" % i)
            self.assertEqual(len(echo_got[i]), echo_sent[i], "client %d: pings sent vs pongs" % i)
        after = la.current_children()
        for (role, idx), pid in before.items():
            if role == "worker":
                self.assertNotEqual(after[(role, idx)], pid, "worker %d was not replaced" % idx)
                self.assertFalse(pid_alive(pid), "old worker %d still runs" % pid)
            else:
                self.assertEqual(after[(role, idx)], pid, "%s %d was restarted" % (role, idx))
        total_echo = sum(echo_sent.values())
        sys.stderr.write("reload under load: %d pushes sent, %d answered ok and delivered; "
                         "%d client pings, all answered; %d clients, 0 dropped\n"
                         % (replies["sent"], replies["ok"], total_echo, n_clients))

    def test_reload_rereads_runtime_keys(self):
        d = tempfile.mkdtemp(prefix="gcr-")
        ini = os.path.join(d, "gatecast.ini")
        with open(ini, "w") as f:
            f.write("[push]\nsecret = first-push-secret-0123456789abcdef\n")
        os.chmod(ini, 0o600)
        la = Launcher(extra_set={})
        la.sets.append(("__config__", ini))
        # -c goes before the --set arguments
        la.sets = [s for s in la.sets if s[0] != "__config__"]
        self.launcher = la
        orig_command = la.command
        la.command = lambda: orig_command()[:2] + ["-c", ini] + orig_command()[2:]
        la.start()
        p = wait_until(lambda: PushClient(la.push_port), "the push port accepting connections", timeout=20,
                       step=0.2, retry_on=(OSError,))
        try:
            p.send({"type": "auth", "secret": "first-push-secret-0123456789abcdef"})
            self.assertTrue(json.loads(p.read_line()).get("ok"))
        finally:
            p.close()
        with open(ini, "w") as f:
            f.write("[push]\nsecret = second-push-secret-0123456789abcdef\n"
                    "[gateway]\nmax_line = 4096\n")
        r = run_cli(["reload", "-c", ini] + self.sets(), env=la.env, timeout=120)
        self.assertEqual(r.returncode, 0, r)
        # The gateways took the new push.secret without a restart.
        p = PushClient(la.push_port)
        try:
            p.send({"type": "auth", "secret": "first-push-secret-0123456789abcdef"})
            self.assertFalse(json.loads(p.read_line()).get("ok"), "the old secret still works")
        finally:
            p.close()
        p = PushClient(la.push_port)
        try:
            p.send({"type": "auth", "secret": "second-push-secret-0123456789abcdef"})
            self.assertTrue(json.loads(p.read_line()).get("ok"), "the new secret is refused")
        finally:
            p.close()
        self.assertRegex(la.log_text(), r"event=config_reloaded changed=gateway\.max_line,push\.secret")
        self.assertNotIn("second-push-secret", la.log_text(), "a secret reached the log")

        # A config that does not load changes nothing. (Without -c, so that
        # the CLI itself does not refuse it first.)
        before = la.current_children()
        with open(ini, "w") as f:
            f.write("[gateway]\nno_such_key = 1\n")
        r = run_cli(["reload"] + self.sets(), env=la.env, timeout=60)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(b"does not load", r.stderr)
        self.assertEqual(la.current_children(), before)


class DaemonTest(unittest.TestCase):

    def setUp(self):
        self.run_dir = tempfile.mkdtemp(prefix="gcd-")
        self.ports = {k: free_port() for k in ("reg", "ws", "push", "http")}
        self.args = ["--set", "cluster.run_dir=" + self.run_dir,
                     "--set", "register.listen=tcp://127.0.0.1:%d" % self.ports["reg"],
                     "--set", "gateway.ws_listen=127.0.0.1:%d" % self.ports["ws"],
                     "--set", "gateway.push_listen=127.0.0.1:%d" % self.ports["push"],
                     "--set", "http.listen=127.0.0.1:%d" % self.ports["http"],
                     "--set", "gateway.count=1", "--set", "worker.count=1",
                     "--set", "auth.mode=none"]
        self.log = os.path.join(self.run_dir, "gatecast.log")

    def tearDown(self):
        for pid in self.pids():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)

    def pids(self):
        out = []
        try:
            with open(os.path.join(self.run_dir, "gatecast.pid")) as f:
                out.append(int(f.read()))
        except (OSError, ValueError):
            pass
        try:
            with open(self.log) as f:
                out += [int(m) for m in re.findall(r"event=child_started child_role=\w+ index=\d+ child_pid=(\d+)", f.read())]
        except OSError:
            pass
        with _live_lock:
            _extra_pids.update(out)
        return out

    def test_daemon_start_status_sighup_stop(self):
        t0 = time.monotonic()
        r = run_cli(["start", "-d"] + self.args)
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout.decode(), r"gatecast started \(pid \d+\), log: " + re.escape(self.log))
        with open(os.path.join(self.run_dir, "gatecast.pid")) as f:
            pid = int(f.read())
        self.assertTrue(pid_alive(pid))
        # It returned once everything was ready: a browser can log in now.
        c = wsclient.WSClient("127.0.0.1", self.ports["ws"], query="uid=d1")
        self.assertEqual(c.recv_json().get("type"), "login")
        self.assertLess(time.monotonic() - t0, 60)
        # A second start with the same run_dir refuses.
        r2 = run_cli(["start", "-d"] + self.args)
        self.assertEqual(r2.returncode, 1, r2)
        self.assertIn(b"already running", r2.stderr)

        r = run_cli(["status"] + self.args)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(b"total: 1 register, 1 gateways, 1 workers", r.stdout)

        # logrotate: move the file away, SIGHUP, every process reopens it.
        os.rename(self.log, self.log + ".1")
        os.kill(pid, signal.SIGHUP)
        def reopened():
            text = ""
            if os.path.exists(self.log):
                with open(self.log) as f:
                    text = f.read()
            return set(re.findall(r"role=(\w+) pid=\d+ event=log_reopened", text))
        wait_until(reopened, "log_reopened lines of every role after SIGHUP", timeout=10, step=0.1,
                   ok=lambda roles: roles >= {"launcher", "register", "gateway", "worker"})

        r = run_cli(["stop"] + self.args)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(b"stopped", r.stdout)
        self.assertFalse(pid_alive(pid))
        for p in self.pids():
            self.assertFalse(pid_alive(p), "pid %d outlived stop" % p)
        # The browser was told the server is going away.
        with self.assertRaises(wsclient.WSClosed) as cm:
            c.recv(timeout=5)
        self.assertEqual(cm.exception.code, 1001)
        c.close()
        self.assertFalse(os.path.exists(os.path.join(self.run_dir, "gatecast.pid")))
        self.assertFalse(os.path.exists(os.path.join(self.run_dir, "gatecast.sock")))

    def test_daemon_reports_a_failed_start(self):
        # The push port is taken: the gateway cannot start, so the cluster
        # never gets ready and start -d says so instead of returning 0.
        import socket
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.ports["push"]))
        s.listen(1)
        try:
            r = run_cli(["start", "-d", "--set", "launcher.start_timeout=3"] + self.args, timeout=120)
        finally:
            s.close()
        self.pids()
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(b"could not start", r.stderr)
        self.assertIn(b"not ready after launcher.start_timeout", r.stderr)
        # ...and it stopped what it had started.
        wait_until(lambda: [p for p in self.pids() if pid_alive(p)], "no process outliving the failed start",
                   timeout=20, step=0.1, ok=lambda alive: alive == [])


if __name__ == "__main__":
    main()
