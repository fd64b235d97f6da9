#!/usr/bin/env python3
"""
`gatecast start`: one command runs the whole cluster on shared ports
(SO_REUSEPORT), restarts a child that dies, and shuts down cleanly on SIGTERM.

Run: GATECAST_BUILD=build python3 tests/integration/test_launcher.py
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import LauncherTestCase, PushClient, binary, children_of, main, pid_alive, uniq, wait_until  # noqa: E402


class LauncherTest(LauncherTestCase):

    def wait_children(self, timeout=10):
        """Waits until the launcher has logged both gateways and workers."""
        def enough(cur):
            roles = [r for r, _ in cur]
            return roles.count("gateway") >= 2 and roles.count("worker") >= 2
        return wait_until(self.launcher.current_children, "the launcher logging 2 gateways and 2 workers",
                          timeout=timeout, step=0.1, ok=enough)

    # ------------------------------------------------------------------

    def test_help(self):
        for role in ("launcher", "register", "gateway", "worker"):
            with self.subTest(role):
                r = subprocess.run([binary(role), "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=10)
                self.assertEqual(r.returncode, 0, "%s --help: rc %d, stderr %r" % (role, r.returncode,
                                                                                   r.stderr[-500:]))
                self.assertIn(b"usage", r.stdout.lower(), "%s --help printed %r / %r"
                              % (role, r.stdout[:500], r.stderr[:500]))

    def test_start_serves_on_shared_ports(self):
        la = self.start()
        self.wait_children()
        # Several connections land on both gateways (SO_REUSEPORT); every one
        # is counted and can be reached by uid through the shared push port.
        uid = uniq("shared")
        clients = []
        try:
            for _ in range(12):
                c = wsclient.WSClient("127.0.0.1", la.ws_port, query="uid=" + uid)
                clients.append(c)
                m = c.recv_json()
                self.assertEqual((m.get("type"), m.get("ok")), ("login", True), m)
            with PushClient(la.push_port) as p:
                r = p.request({"type": "send_to_uid", "uid": uid, "data": "to-all-tabs"})
                self.assertEqual((r.get("ok"), r.get("delivered")), (True, len(clients)), r)
                for c in clients:
                    self.assertEqual(c.recv_text(), "to-all-tabs")
                r = p.request({"type": "get_client_id_by_uid", "uid": uid})
                ids = r.get("client_ids") or []
                self.assertEqual(len(ids), len(clients), r)
                prefixes = {i[:16] for i in ids}
            sys.stderr.write("(%d clients spread over %d gateways) " % (len(clients), len(prefixes)))
        finally:
            for c in clients:
                c.close()

    def test_killed_worker_is_restarted(self):
        la = self.start()
        cur = self.wait_children()
        workers = sorted(i for r, i in cur if r == "worker")
        index = workers[0]
        old = cur[("worker", index)]
        self.assertTrue(pid_alive(old), "worker pid %d from the log is not running" % old)
        os.kill(old, signal.SIGKILL)
        new = wait_until(lambda: la.current_children().get(("worker", index)),
                         "a new child_started for worker %d after killing pid %d" % (index, old),
                         timeout=15, step=0.1, ok=lambda pid: pid is not None and pid != old)
        self.assertTrue(pid_alive(new), "restarted worker %d is not running" % new)
        self.assertFalse(pid_alive(old))
        la.wait_serving(timeout=15)
        # Killing a gateway is survived the same way (its clients reconnect).
        gws = sorted(i for r, i in la.current_children() if r == "gateway")
        old_gw = la.current_children()[("gateway", gws[0])]
        os.kill(old_gw, signal.SIGKILL)
        wait_until(lambda: la.current_children().get(("gateway", gws[0])),
                   "gateway %d restarted (a new child_started)" % gws[0], timeout=15, step=0.1,
                   ok=lambda pid: pid != old_gw)
        la.wait_serving(timeout=15)

    def test_sigterm_closes_browsers_1001_and_exits_0(self):
        la = self.start()
        cur = self.wait_children()
        pids = set(cur.values()) | set(children_of(la.pid))
        clients = []
        for i in range(4):
            c = wsclient.WSClient("127.0.0.1", la.ws_port, query="uid=" + uniq("bye"), timeout=12)
            self.assertEqual(c.recv_json().get("type"), "login")
            clients.append(c)
        t0 = time.monotonic()
        la.popen.send_signal(signal.SIGTERM)
        for c in clients:
            code, reason = c.expect_close(timeout=10)
            self.assertEqual(code, 1001, "browser closed with %r %r" % (code, reason))
        try:
            rc = la.popen.wait(timeout=max(0.1, 10 - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            self.fail("launcher still running 10 s after SIGTERM")
        self.assertEqual(rc, 0, "launcher exit status")
        pids |= {pid for _, _, pid in la.children_started()}
        wait_until(lambda: [p for p in pids if pid_alive(p)], "no child left running", timeout=2,
                   ok=lambda alive: alive == [])


if __name__ == "__main__":
    main(timeout=280)
