#!/usr/bin/env python3
"""
What the cluster answers when workers are missing or stuck: no_worker,
events that wait for a worker, and timeout.

Run: GATECAST_BUILD=build python3 tests/integration/test_errors.py
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClusterTestCase, main, uniq, wait_until  # noqa: E402


class NoWorkerTest(ClusterTestCase):
    """No worker at all, and events wait only 0.5 s for one."""

    CLUSTER = dict(gateways=1, workers=0, extra_set={"gateway.worker_wait": 0.5})

    def test_push_request_gets_no_worker(self):
        p = self.push(0)
        for req in ({"type": "get_all_client_count", "id": 1},
                    {"type": "send_to_uid", "uid": "42", "data": "x", "id": "two"}):
            with self.subTest(req["type"]):
                t0 = time.monotonic()
                r = p.request(req, timeout=10)
                elapsed = time.monotonic() - t0
                self.assertEqual((r.get("ok"), r.get("error"), r.get("id")), (False, "no_worker", req["id"]), r)
                self.assertIsInstance(r.get("message"), str, r)
                self.assertLess(elapsed, 5.0, "no_worker took %.1fs with worker_wait=0.5" % elapsed)
        # Parse errors need no worker: still answered precisely.
        p.send_line(b"{bad")
        self.assertEqual(p.read_reply().get("error"), "bad_json")

    def test_browser_message_gets_no_worker_and_stays_connected(self):
        c = self.ws(0)
        c.send_json({"type": "login", "uid": uniq("nw")})
        err, skipped = c.recv_json_until(lambda o: o.get("type") == "error", timeout=10)
        self.assertEqual(err.get("error"), "no_worker", "got %r (after %r)" % (err, skipped))
        self.assertFalse(any(s.is_text and b'"welcome"' in s.data for s in skipped),
                         "welcome without a worker? %r" % skipped)
        # Longer than worker_wait: the connection must stay open.
        c.pump(1.5)
        self.assertFalse(c.closed, "client disconnected: %r" % (c.close_received,))
        c.ping_roundtrip()
        c.send_json({"type": "join", "group": "g"})
        err, skipped = c.recv_json_until(lambda o: o.get("type") == "error", timeout=10)
        self.assertEqual(err.get("error"), "no_worker", err)
        c.pump(1.0)
        self.assertFalse(c.closed, "client disconnected: %r" % (c.close_received,))
        c.ping_roundtrip()


class WorkerWaitTest(ClusterTestCase):
    """Events and requests wait (up to worker_wait) for a worker to appear."""

    CLUSTER = dict(gateways=1, workers=0, extra_set={
        "gateway.worker_wait": 10,
        # Assumption: the request deadline may count from arrival; keep it
        # longer than the wait so the test checks worker_wait alone.
        "gateway.request_timeout": 20,
    })

    def test_events_wait_in_the_queue_until_a_worker_starts(self):
        uid = uniq("ww")
        c = self.ws(0)
        c.send_json({"type": "login", "uid": uid})
        p = self.push(0, timeout=20)
        p.send({"type": "get_all_client_count", "id": "waiting"})
        try:
            early = p.read_line(timeout=1.5)
        except TimeoutError:
            early = None
        self.assertIsNone(early, "request answered before any worker existed: %r" % early)
        self.assertEqual(c.pump(0.5), 0, "browser got messages without a worker: %r" % c.pending())
        self.assertFalse(c.closed)

        self.cluster.add_worker(wait=False)
        r = p.read_reply(timeout=15)
        self.assertEqual((r.get("ok"), r.get("id")), (True, "waiting"), r)
        self.assertEqual(r.get("count"), 1, r)
        welcome = c.recv_json(timeout=10)
        self.assertEqual(welcome.get("type"), "welcome", welcome)
        login = c.recv_json(timeout=10)
        self.assertEqual((login.get("type"), login.get("ok"), login.get("uid"), login.get("client_id")),
                         ("login", True, uid, welcome.get("client_id")), login)
        self.cluster.wait_ready()
        r = p.request({"type": "is_uid_online", "uid": uid})
        self.assertIs(r.get("online"), True, r)


class TimeoutTest(ClusterTestCase):
    """A worker that does not answer: the request gets timeout, not silence."""

    CLUSTER = dict(gateways=1, workers=1, extra_set={"gateway.request_timeout": 1})

    def test_stopped_worker_gives_timeout(self):
        p = self.push(0, timeout=10)
        r = p.request({"type": "get_all_client_count", "id": "before"})
        self.assertIs(r.get("ok"), True, r)
        self.cluster.kill("worker", 0, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = p.request({"type": "get_all_client_count", "id": "stuck"}, timeout=8)
            elapsed = time.monotonic() - t0
        finally:
            self.cluster.kill("worker", 0, signal.SIGCONT)
        self.assertEqual((r.get("ok"), r.get("error"), r.get("id")), (False, "timeout", "stuck"), r)
        self.assertIsInstance(r.get("message"), str, r)
        self.assertGreaterEqual(elapsed, 0.8, "timeout after only %.2fs" % elapsed)
        self.assertLess(elapsed, 4.0, "timeout took %.2fs with request_timeout=1" % elapsed)
        # The worker is back: requests succeed again (it may have to rejoin).
        wait_until(lambda: p.request({"type": "get_all_client_count", "id": "after"}, timeout=8),
                   "requests answered ok again after SIGCONT", timeout=15, step=0.2,
                   ok=lambda r: (r.get("ok"), r.get("id")) == (True, "after"))
        c = self.ws(0, query="uid=" + uniq("t"))
        self.assertEqual(c.recv_json().get("type"), "login")


if __name__ == "__main__":
    main(timeout=280)
