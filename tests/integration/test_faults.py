#!/usr/bin/env python3
"""
Killing a worker under load: every push request is answered exactly once, no
browser is disconnected, the surviving worker takes over, and a restarted
worker rejoins.

Run: GATECAST_BUILD=build python3 tests/integration/test_faults.py
"""

import collections
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import ClusterTestCase, PushClient, main, uniq  # noqa: E402

N_CLIENTS = 200
N_PUSH = 2000          # over both gateways' push ports
STREAM_SECONDS = 4.0
KILL_AFTER = 1.0
LEASE = 3.0


class Stream:
    """Pipelined send_to_uid requests on one push connection: a writer thread
    paces them over STREAM_SECONDS, a reader thread collects the replies."""

    def __init__(self, port, ks, uid_of):
        self.p = PushClient(port, timeout=30)
        self.ks = ks
        self.uid_of = uid_of
        self.replies = []
        self.sent = 0
        self.error = None
        self.writer = threading.Thread(target=self._write, daemon=True)
        self.reader = threading.Thread(target=self._read, daemon=True)

    def start(self):
        self.writer.start()
        self.reader.start()

    def _write(self):
        try:
            batch = 20
            pause = STREAM_SECONDS / max(1, len(self.ks) / batch)
            for i in range(0, len(self.ks), batch):
                lines = b"".join(PushClient.encode({"type": "send_to_uid", "id": k, "uid": self.uid_of(k),
                                                    "data": "m-%d" % k}) for k in self.ks[i:i + batch])
                self.p.send_raw(lines)
                self.sent += len(self.ks[i:i + batch])
                time.sleep(pause)
        except Exception as e:  # reported by the test
            self.error = self.error or ("writer: %r" % e)

    def _read(self):
        deadline = time.monotonic() + STREAM_SECONDS + 40
        try:
            for _ in self.ks:
                self.replies.append(self.p.read_reply(timeout=max(0.1, deadline - time.monotonic())))
        except Exception as e:
            self.error = self.error or ("reader after %d replies: %r" % (len(self.replies), e))

    def join(self):
        self.writer.join(STREAM_SECONDS + 30)
        self.reader.join(STREAM_SECONDS + 60)
        self.p.close()


class FaultTest(ClusterTestCase):
    CLUSTER = dict(gateways=2, workers=2, extra_set={"register.lease": LEASE})

    def test_worker_killed_under_load(self):
        uids = ["f%d" % i for i in range(N_CLIENTS)]
        clients = {}
        for i, uid in enumerate(uids):
            c, _ = self.connect(i % 2, uid=uid)
            clients[uid] = c

        def uid_of(k):
            return uids[k % N_CLIENTS]

        streams = [Stream(self.cluster.push_port(g), list(range(g, N_PUSH, 2)), uid_of) for g in (0, 1)]
        for s in streams:
            s.start()
        time.sleep(KILL_AFTER)
        self.cluster.kill("worker", 0, signal.SIGKILL)
        t_kill = time.monotonic()
        sent_at_kill = sum(s.sent for s in streams)
        sys.stderr.write("(worker killed after %d of %d requests) " % (sent_at_kill, N_PUSH))
        self.assertTrue(0 < sent_at_kill < N_PUSH, "the kill did not happen under load")
        for s in streams:
            s.join()

        # 1. every request got exactly one reply, in order, ok or a clear error
        tally = collections.Counter()
        delivered_ok = set()
        problems = []
        for s in streams:
            if s.error:
                problems.append(s.error)
            got_ids = [r.get("id") for r in s.replies]
            if got_ids != s.ks[:len(got_ids)]:
                problems.append("replies out of order or with wrong ids: first differing at %r" %
                                next((i, a, b) for i, (a, b) in enumerate(zip(got_ids, s.ks)) if a != b))
            if len(s.replies) != len(s.ks):
                problems.append("%d requests but %d replies" % (len(s.ks), len(s.replies)))
            for r in s.replies:
                if r.get("ok") is True:
                    if r.get("delivered") != 1 or r.get("offline") != []:
                        problems.append("ok reply with wrong counts: %r" % r)
                    tally["ok"] += 1
                    delivered_ok.add(r.get("id"))
                elif r.get("error") in ("timeout", "no_worker"):
                    tally[r["error"]] += 1
                else:
                    problems.append("unexpected reply: %r" % r)
                    tally["other"] += 1
        sys.stderr.write("(replies: %s) " % dict(tally))
        self.assertEqual(problems[:10], [], "tally %r" % dict(tally))
        self.assertEqual(sum(tally.values()), N_PUSH)

        # 2. the survivors notice the dead worker within the lease
        self.cluster.wait_ready(timeout=LEASE + 10)
        sys.stderr.write("(view settled %.1fs after the kill) " % (time.monotonic() - t_kill))

        # 3. no browser was disconnected; each got what was acknowledged
        for uid, c in clients.items():
            c.send_json({"type": "ping"})
        missing, foreign, dups = [], [], []
        for uid, c in clients.items():
            try:
                _, skipped = c.recv_json_until(lambda o: o.get("type") == "pong", timeout=10)
            except Exception as e:
                self.fail("client %s lost: %r (close %r)" % (uid, e, c.close_received))
            got = [m.text for m in skipped]
            ks = [int(t[2:]) for t in got if t.startswith("m-")]
            if len(ks) != len(got):
                foreign.append((uid, got))
            if len(set(ks)) != len(ks):
                dups.append((uid, [k for k, n in collections.Counter(ks).items() if n > 1]))
            for k in ks:
                if uid_of(k) != uid:
                    foreign.append((uid, k))
            want = {k for k in delivered_ok if uid_of(k) == uid}
            lost = want - set(ks)
            if lost:
                missing.append((uid, sorted(lost)))
        self.assertEqual(missing[:5], [], "acknowledged pushes that never arrived (%d clients)" % len(missing))
        self.assertEqual(foreign[:5], [], "messages for someone else")
        if dups:
            sys.stderr.write("(note: duplicate deliveries to %d clients, e.g. %r) " % (len(dups), dups[:3]))

        # 4. the surviving worker serves every uid
        self.push_everyone(clients, "after")

        # 5. a restarted worker rejoins; the cluster still serves
        self.cluster.start_process("worker", 0)
        self.push_everyone(clients, "again")
        for gw in (0, 1):
            c, _ = self.connect(gw, uid="late-%d" % gw)
            self.assertBrowserAlive(c)

        # 6. a graceful restart of the other worker loses nothing either
        self.cluster.restart("worker", 1)
        self.push_everyone(clients, "third")

    def push_everyone(self, clients, tag):
        p = self.push(1, timeout=20)
        reqs = [{"type": "send_to_uid", "id": i, "uid": uid, "data": "%s-%s" % (tag, uid)}
                for i, uid in enumerate(clients)]
        replies = p.pipeline(reqs, timeout=20)
        bad = [r for r in replies if r.get("ok") is not True or r.get("delivered") != 1]
        self.assertEqual(bad[:5], [], "%s: %d of %d pushes failed" % (tag, len(bad), len(reqs)))
        for uid, c in clients.items():
            self.assertNextText(c, "%s-%s" % (tag, uid), timeout=10)


class PartialTest(ClusterTestCase):
    """A gateway that does not answer a query: the reply says partial,
    with how many gateways answered, instead of hanging."""

    CLUSTER = dict(gateways=2, workers=1, extra_set={"worker.query_timeout": 1})

    def test_query_with_a_stopped_gateway_is_partial(self):
        a = self.ws(0, query="uid=" + uniq("p"))
        self.assertEqual(a.recv_json().get("type"), "login")
        b = self.ws(1, query="uid=" + uniq("p"))
        self.assertEqual(b.recv_json().get("type"), "login")
        p = self.push(0, timeout=10)
        r = p.request({"type": "get_all_client_count", "id": "full"})
        self.assertEqual((r.get("ok"), r.get("count"), r.get("partial")), (True, 2, None), r)
        self.cluster.kill("gateway", 1, signal.SIGSTOP)
        try:
            r = p.request({"type": "get_all_client_count", "id": "half"}, timeout=8)
        finally:
            self.cluster.kill("gateway", 1, signal.SIGCONT)
        self.assertEqual((r.get("ok"), r.get("id"), r.get("partial"), r.get("answered"),
                          r.get("expected"), r.get("count")),
                         (True, "half", True, 1, 2, 1), r)
        # The gateway is back: full answers again.
        r = p.request({"type": "get_all_client_count", "id": "again"}, timeout=8)
        self.assertEqual((r.get("ok"), r.get("count"), r.get("partial")), (True, 2, None), r)


class GatewayKilledTest(ClusterTestCase):
    """SIGKILL a gateway: only its clients lose their connection; the other
    gateway goes on serving, and the dead one is skipped at once (its link
    broke), not waited for."""

    CLUSTER = dict(gateways=2, workers=2, extra_set={"register.lease": LEASE})

    def test_only_its_clients_disconnect(self):
        uid = uniq("k")
        a = self.ws(0, query="uid=" + uid)
        self.assertEqual(a.recv_json().get("type"), "login")
        b = self.ws(1, query="uid=" + uid)
        self.assertEqual(b.recv_json().get("type"), "login")
        self.cluster.kill("gateway", 1, signal.SIGKILL)
        code, _ = b.expect_close(timeout=5)
        self.assertEqual(code, 1006, "a killed gateway's client sees the TCP connection end")
        p = self.push(0, timeout=10)
        r = p.request({"type": "send_to_uid", "uid": uid, "data": "after"})
        self.assertEqual((r.get("ok"), r.get("delivered"), r.get("offline")), (True, 1, []), r)
        self.assertEqual(a.recv_text(), "after")
        r = p.request({"type": "get_all_client_count"})
        self.assertEqual((r.get("ok"), r.get("count"), r.get("partial")), (True, 1, None), r)
        a.ping_roundtrip()  # raises unless the surviving client is still connected


class RegisterKilledTest(ClusterTestCase):
    """SIGKILL the register: pushes and client traffic go on (members keep
    their view), and when it comes back members re-announce."""

    CLUSTER = dict(gateways=2, workers=2, extra_set={"register.lease": LEASE})

    def test_traffic_continues_without_the_register(self):
        uid = uniq("r")
        a = self.ws(0, query="uid=" + uid)
        self.assertEqual(a.recv_json().get("type"), "login")
        b = self.ws(1, query="uid=" + uid)
        self.assertEqual(b.recv_json().get("type"), "login")
        self.cluster.kill("register", 0, signal.SIGKILL)
        p = self.push(0, timeout=10)
        # Longer than a lease: nobody may forget anybody meanwhile.
        for i in range(int(2 * LEASE / 0.5)):
            r = p.request({"type": "send_to_uid", "uid": uid, "data": "r%d" % i})
            self.assertEqual((r.get("ok"), r.get("delivered")), (True, 2), r)
            self.assertEqual(a.recv_text(), "r%d" % i)
            self.assertEqual(b.recv_text(), "r%d" % i)
            time.sleep(0.5)
        c = self.ws(1, query="uid=" + uid)
        self.assertEqual(c.recv_json().get("type"), "login", "logins work without the register")
        self.cluster.start_process("register", 0)  # waits for the full view
        r = p.request({"type": "send_to_uid", "uid": uid, "data": "back"})
        self.assertEqual((r.get("ok"), r.get("delivered")), (True, 3), r)
        r = p.request({"type": "get_all_client_count"})
        self.assertEqual((r.get("ok"), r.get("count"), r.get("partial")), (True, 3, None), r)


if __name__ == "__main__":
    main(timeout=280)
