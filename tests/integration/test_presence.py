#!/usr/bin/env python3
"""Online counts (issue 6): members of a group named in
gateway.presence_groups get

    {"type":"online_count","group":G,"count":<distinct uids>,"connections":<connections>}

when the group's membership changes, across gateways:

  * joins, leaves, disconnects, push-port join_group/leave_group, and a
    member's uid being bound or unbound all update the count, which is the
    cluster-wide one (several tabs of one uid count once in "count", each in
    "connections");
  * a burst of 20 joins within a second gives every member at most two
    counts, the last one final (the first change counts at once, the rest
    are coalesced to one a second);
  * groups that do not match presence_groups, and every group when it is
    empty (the default), get nothing;
  * SIGKILL of either worker does not stop the counts (the other takes the
    groups over), and a gateway's SIGKILL brings the count down for the
    members elsewhere once the register drops it.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import ClusterTestCase, main, uniq, wait_until  # noqa: E402

PATTERNS = "company:*,lobby"


def drain(c, duration):
    """Every JSON message c receives within duration seconds."""
    out = []
    deadline = time.monotonic() + duration
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return out
        try:
            out.append(c.recv_json(remaining))
        except wsclient.WSTimeout:
            return out


def until_count(c, group, count, connections, timeout=10.0):
    """Every JSON message c receives up to and including the online_count
    of group that says (count, connections); AssertionError naming what came
    instead when it does not come within timeout."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise wsclient.WSTimeout("deadline")
            m = c.recv_json(remaining)
        except wsclient.WSTimeout:
            raise AssertionError("timed out after %.1fs waiting for online_count %s (%d, %d); got %r"
                                 % (timeout, group, count, connections, out)) from None
        out.append(m)
        if (m.get("type"), m.get("group"), m.get("count"), m.get("connections")) == \
                ("online_count", group, count, connections):
            return out


def counts_in(msgs, group):
    return [(m["count"], m["connections"]) for m in msgs
            if m.get("type") == "online_count" and m.get("group") == group]


class PresenceCase(ClusterTestCase):
    def wait_count(self, c, group, count, connections, timeout=5.0):
        """Reads c's messages until the online_count of group says (count,
        connections); fails with what came instead."""
        want = {"type": "online_count", "group": group, "count": count, "connections": connections}
        try:
            obj, _ = c.recv_json_until(lambda o: o == want, timeout)
        except wsclient.WSTimeout as e:
            self.fail("no %r within %.1fs: %s" % (want, timeout, e))
        self.assertEqual(list(obj), ["type", "group", "count", "connections"], "key order")
        return obj

    def join(self, c, group):
        c.send_json({"type": "join", "group": group})

    def settle(self, clients, seconds=1.2):
        """Lets the coalescing interval pass and throws away what came."""
        time.sleep(seconds)
        for c in clients:
            drain(c, 0.01)


class PresenceTest(PresenceCase):
    CLUSTER = dict(gateways=2, workers=2, extra_set={"gateway.presence_groups": PATTERNS})

    def test_counts_follow_members_across_gateways(self):
        g = "company:" + uniq()
        a1, _ = self.connect(0, uid="a")
        b, _ = self.connect(1, uid="b")
        a2, _ = self.connect(1, uid="a")     # a second tab of a, on the other gateway
        self.join(a1, g)
        self.wait_count(a1, g, 1, 1)
        self.join(b, g)
        for c in (a1, b):
            self.wait_count(c, g, 2, 2)
        self.join(a2, g)
        for c in (a1, b, a2):
            self.wait_count(c, g, 2, 3)      # a counts once, its tabs each
        a2.send_json({"type": "leave", "group": g})
        for c in (a1, b):
            self.wait_count(c, g, 2, 2)
        b.abort()                            # a disconnect, without a close frame
        self.wait_count(a1, g, 1, 1)

        # The backend's join_group and leave_group count too.
        c, cid = self.connect(1, uid="c")
        self.request({"type": "join_group", "client_id": cid, "group": g})
        for x in (a1, c):
            self.wait_count(x, g, 2, 2)
        self.request({"type": "leave_group", "client_id": cid, "group": g}, gateway=1)
        self.wait_count(a1, g, 1, 1)
        self.settle([a1, c])
        self.assertEqual(counts_in(drain(c, 1.0), g), [], "a member that left hears no more")

    def test_uid_changes_count(self):
        """Distinct uids, not connections: a member without a uid counts
        only as a connection until it logs in."""
        g = "lobby"
        x, _ = self.connect(0)               # no uid yet
        self.join(x, g)
        self.wait_count(x, g, 0, 1)
        x.send_json({"type": "login", "uid": "xavier"})
        self.wait_count(x, g, 1, 1)
        x.send_json({"type": "logout"})
        self.wait_count(x, g, 0, 1)
        y, ycid = self.connect(1, uid="yolanda")
        self.join(y, g)
        for c in (x, y):
            self.wait_count(c, g, 1, 2)
        self.request({"type": "bind_uid", "client_id": ycid, "uid": "zora"}, gateway=1)
        for c in (x, y):
            self.wait_count(c, g, 1, 2)      # still one uid: zora replaces yolanda
        self.request({"type": "ungroup", "group": g})
        self.settle([x, y])

    def test_other_groups_get_nothing(self):
        g = "company:" + uniq()
        c, _ = self.connect(0, uid="o1")
        d, _ = self.connect(1, uid="o2")
        for group in ("other:1", "company", "lobby2", "xcompany:1"):
            self.join(c, group)
            self.join(d, group)
        msgs = drain(c, 1.5) + drain(d, 0.5)
        self.assertEqual([m for m in msgs if m.get("type") == "online_count"], [],
                         "only groups in gateway.presence_groups get online counts")
        self.join(c, g)
        self.wait_count(c, g, 1, 1)
        self.join(d, g)
        got = self.wait_count(d, g, 2, 2)
        self.assertEqual(got["group"], g)
        self.wait_count(c, g, 2, 2)
        d.abort()
        t_abort = time.monotonic()
        # The count comes; anything else for c within the same 2.5 s window
        # as ever (at least 0.5 s after the count) is looked for too.
        msgs = until_count(c, g, 1, 1)
        msgs += drain(c, max(0.5, t_abort + 2.5 - time.monotonic()))
        self.assertEqual(counts_in(msgs, g), [(1, 1)], msgs)
        self.assertEqual([m for m in msgs if m.get("type") == "online_count" and m["group"] != g], [],
                         "the other groups of the closed member get nothing")

    def test_burst_of_joins_is_coalesced(self):
        g = "company:" + uniq("burst")
        n = 20
        clients = [self.connect(i % 2, uid="u%d" % i)[0] for i in range(n)]
        t0 = time.monotonic()
        for c in clients:
            self.join(c, g)
        sent = time.monotonic() - t0
        if sent > 0.5:
            self.skipTest("sending 20 joins took %.2fs: too slow a machine for this test" % sent)
        # Every member gets the final count...
        upto_final = [until_count(c, g, n, n) for c in clients]
        # ...and any count a broken coalescing would add after it is looked
        # for over the same window as ever: 2.5 s after the burst, + 0.2 s.
        time.sleep(max(0.0, t0 + 2.5 - time.monotonic()))
        for i, c in enumerate(clients):
            got = counts_in(upto_final[i] + drain(c, 0.2), g)
            self.assertGreaterEqual(len(got), 1, "client %d got no count" % i)
            self.assertLessEqual(len(got), 2, "client %d: %r — more than 2 counts for one burst" % (i, got))
            self.assertEqual(got[-1], (n, n), "client %d: the last count must be final: %r" % (i, got))


class NoPresenceTest(PresenceCase):
    """gateway.presence_groups empty (the default): nobody gets counts."""
    CLUSTER = dict(gateways=1, workers=1)

    def test_default_is_off(self):
        a, _ = self.connect(0, uid="a")
        b, _ = self.connect(0, uid="b")
        for c in (a, b):
            self.join(c, "company:1")
        b.abort()
        msgs = drain(a, 1.5)
        self.assertEqual([m for m in msgs if m.get("type") == "online_count"], [])


class PresenceFaultTest(PresenceCase):
    """Kills processes: a cluster of its own."""
    CLUSTER = dict(gateways=2, workers=2, extra_set={"gateway.presence_groups": PATTERNS})

    def test_worker_sigkill_another_takes_over(self):
        g = "company:" + uniq("kill")
        a, _ = self.connect(0, uid="a")
        b, _ = self.connect(1, uid="b")
        self.join(a, g)
        self.wait_count(a, g, 1, 1)
        self.join(b, g)
        self.wait_count(a, g, 2, 2)
        self.wait_count(b, g, 2, 2)
        # Whichever worker owns the group, killing each in turn must not
        # stop its counts.
        for victim in (0, 1):
            with self.subTest(worker=victim):
                gw1 = self.cluster.proc("gateway", 1)
                downs = gw1.log_text().count("event=peer_down")
                self.cluster.kill("worker", victim)
                # A client event already on its way to a SIGKILLed worker is
                # lost (docs/limits.md); connect once gateway 1 has
                # seen the link break, as any later client would.
                wait_until(lambda: gw1.log_text().count("event=peer_down"), "gateway 1 seeing the worker go "
                           "(a new event=peer_down)", timeout=10, step=0.02, ok=lambda n: n > downs)
                c, _ = self.connect(1, uid="c%d" % victim)
                self.join(c, g)
                for x in (a, b, c):
                    self.wait_count(x, g, 3, 3, timeout=8)
                c.abort()
                for x in (a, b):
                    self.wait_count(x, g, 2, 2, timeout=8)
                self.cluster.start_process("worker", victim)
                self.settle([a, b])

    def test_gateway_sigkill_counts_heal(self):
        g = "company:" + uniq("gwkill")
        a, _ = self.connect(0, uid="a")
        self.join(a, g)
        self.wait_count(a, g, 1, 1)
        others = [self.connect(1, uid="g%d" % i)[0] for i in range(3)]
        for c in others:
            self.join(c, g)
        self.wait_count(a, g, 4, 4)
        self.cluster.kill("gateway", 1, signal.SIGKILL)
        # Nobody on gateway 1 can say goodbye: gateway 0 reports its groups
        # again once the register drops gateway 1 (register.lease, 3 s).
        self.wait_count(a, g, 1, 1, timeout=10)
        for c in others:
            c.abort()
        self.cluster.start_process("gateway", 1)


if __name__ == "__main__":
    main(timeout=300)
