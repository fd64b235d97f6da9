#!/usr/bin/env python3
"""
Core behaviour of a running cluster: the browser protocol, every push-port
command, exact payload delivery, every error code, limits and heartbeats.

Run: GATECAST_BUILD=build python3 tests/integration/test_core.py [-k pattern]
"""

import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import ClusterTestCase, PushClosed, main, uniq, wait_until  # noqa: E402

MAX_LINE = 4096
MAX_MESSAGE = 4096


def compact(obj, ensure_ascii=False):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ensure_ascii)


def line_of(obj):
    return compact(obj).encode("utf-8") + b"\n"


class CoreTest(ClusterTestCase):
    CLUSTER = dict(gateways=2, workers=2, extra_set={
        "gateway.max_line": MAX_LINE,
        "gateway.max_message": MAX_MESSAGE,
    })

    # ------------------------------------------------------------ helpers

    def wait_no_clients(self, timeout=5.0):
        """Waits until earlier tests' clients are gone, so global counts are
        exact."""
        wait_until(lambda: self.request({"type": "get_all_client_count"}),
                   "the clients of earlier tests to be gone (count 0)", timeout=timeout, step=0.1,
                   ok=lambda r: r.get("count") == 0)

    def browser(self, client, msg, expected, timeout=None):
        """Sends msg (a dict, or raw text) and checks the exact reply."""
        if isinstance(msg, str):
            client.send_text(msg)
        else:
            client.send_json(msg)
        got = client.recv_json(timeout)
        self.assertEqual(got, expected, "browser sent %r" % (msg,))
        return got

    def browser_error(self, client, msg, code):
        if isinstance(msg, (str, bytes)):
            client.send_text(msg)
        else:
            client.send_json(msg)
        got = client.recv_json()
        self.assertEqual((got.get("type"), got.get("error")), ("error", code),
                         "browser sent %r, got %r" % (msg, got))
        self.assertIsInstance(got.get("message"), str, "error without a message: %r" % got)
        return got

    def assertError(self, reply, code, req=None):
        self.assertIs(reply.get("ok"), False, "expected error %s for %r, got %r" % (code, req, reply))
        self.assertEqual(reply.get("error"), code, "request %r -> %r" % (req, reply))
        self.assertIsInstance(reply.get("message"), str, "error reply without message: %r" % reply)

    def assertComplete(self, reply):
        self.assertFalse(reply.get("partial"), "query answered only partially: %r" % reply)

    def marker(self, client, cid):
        """Proves that nothing was queued for client before now: a marker sent
        after the previous request's reply must be the next message."""
        text = uniq("marker")
        self.request({"type": "send_to_client", "client_id": cid, "data": text})
        self.assertNextText(client, text)

    # ------------------------------------------------------------ login

    def test_login_by_query(self):
        uid = uniq("uq")
        c0, id0 = self.connect(0, uid=uid)
        c1, id1 = self.connect(1, uid=uid)
        self.assertNotEqual(id0, id1)
        r = self.request({"type": "is_uid_online", "uid": uid})
        self.assertIs(r.get("online"), True, r)
        r = self.request({"type": "get_uid_by_client_id", "client_id": id1})
        self.assertEqual(r.get("uid"), uid, r)

    def test_login_by_message(self):
        uid = uniq("um")
        c, cid = self.connect(1)
        c.send_json({"type": "login", "uid": uid})
        got = c.recv_json()
        self.assertEqual({k: got.get(k) for k in ("type", "ok", "uid", "client_id")},
                         {"type": "login", "ok": True, "uid": uid, "client_id": cid}, got)
        r = self.request({"type": "get_uid_by_client_id", "client_id": cid})
        self.assertEqual(r.get("uid"), uid, r)
        self.assertBrowserAlive(c)

    def test_login_with_numeric_uid_becomes_string(self):
        n = int(time.time() * 1000) % 1000000000 + 1000000
        c, cid = self.connect(0)
        c.send_json({"type": "login", "uid": n})
        got = c.recv_json()
        self.assertEqual((got.get("type"), got.get("ok"), got.get("uid")), ("login", True, str(n)), got)
        r = self.request({"type": "send_to_uid", "uid": n, "data": "num"}, gateway=1)
        self.assertEqual((r.get("delivered"), r.get("offline")), (1, []), r)
        self.assertNextText(c, "num")
        r = self.request({"type": "send_to_uid", "uid": [n, str(n + 1)], "data": "num2"})
        self.assertEqual((r.get("delivered"), r.get("offline")), (1, [str(n + 1)]), r)
        self.assertNextText(c, "num2")

    def test_client_ids_are_unique_and_name_their_gateway(self):
        a, ida = self.connect(0)
        b, idb = self.connect(0)
        c, idc = self.connect(1)
        self.assertEqual(len({ida, idb, idc}), 3)
        self.assertEqual(ida[:16], idb[:16], "clients of one gateway should share the gateway part")
        self.assertNotEqual(ida[:16], idc[:16], "clients of different gateways share the gateway part")

    def test_relogin_replaces_uid(self):
        u1, u2 = uniq("r1"), uniq("r2")
        c, cid = self.connect(0, uid=u1)
        c.send_json({"type": "login", "uid": u2})
        got = c.recv_json()
        self.assertEqual((got.get("ok"), got.get("uid")), (True, u2), got)
        r = self.request({"type": "is_uid_online", "uid": u1})
        self.assertIs(r.get("online"), False, "old uid still bound after a new login: %r" % r)
        r = self.request({"type": "get_uid_by_client_id", "client_id": cid})
        self.assertEqual(r.get("uid"), u2, r)

    # ------------------------------------------------------------ send_to_uid

    def test_two_tabs_on_two_gateways_both_receive(self):
        uid = uniq("tabs")
        t0, _ = self.connect(0, uid=uid)
        t1, _ = self.connect(1, uid=uid)
        for gw in (0, 1):
            text = "hello via %d" % gw
            r = self.request({"type": "send_to_uid", "uid": uid, "data": text}, gateway=gw)
            self.assertEqual(r.get("delivered"), 2, r)
            self.assertEqual(r.get("offline"), [], r)
            self.assertNextText(t0, text)
            self.assertNextText(t1, text)

    def test_send_to_uid_list_reports_offline(self):
        u1, u2, off = uniq("l1"), uniq("l2"), uniq("off")
        c1, _ = self.connect(0, uid=u1)
        c2, _ = self.connect(1, uid=u2)
        r = self.request({"type": "send_to_uid", "uid": [u1, off, u2], "data": "list"})
        self.assertEqual(r.get("delivered"), 2, r)
        self.assertEqual(r.get("offline"), [off], r)
        self.assertNextText(c1, "list")
        self.assertNextText(c2, "list")
        r = self.request({"type": "send_to_uid", "uid": off, "data": "nobody"})
        self.assertEqual((r.get("delivered"), r.get("offline")), (0, [off]), r)
        self.assertNothing(c1, 0.2)

    def test_send_to_uid_longest_allowed_uid(self):
        uid = "u" * 128
        c, _ = self.connect(1, uid=uid)
        r = self.request({"type": "send_to_uid", "uid": uid, "data": "long"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(c, "long")

    # ------------------------------------------------------------ groups

    def test_join_by_browser_message(self):
        g = uniq("g")
        c, cid = self.connect(1)
        self.browser(c, {"type": "join", "group": g}, {"type": "join", "ok": True, "group": g})
        r = self.request({"type": "send_to_group", "group": g, "data": "to-group"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(c, "to-group")
        r = self.request({"type": "get_client_count_by_group", "group": g})
        self.assertEqual(r.get("count"), 1, r)

    def test_join_group_by_push_and_send(self):
        g = uniq("g")
        a, ida = self.connect(0)
        b, idb = self.connect(1)
        for cid in (ida, idb):
            self.request({"type": "join_group", "client_id": cid, "group": g})
        r = self.request({"type": "send_to_group", "group": g, "data": "both"}, gateway=1)
        self.assertEqual(r.get("delivered"), 2, r)
        self.assertNextText(a, "both")
        self.assertNextText(b, "both")
        r = self.request({"type": "get_client_count_by_group", "group": g})
        self.assertEqual(r.get("count"), 2, r)
        self.assertComplete(r)

    def test_send_to_group_exclude(self):
        g = uniq("g")
        a, ida = self.connect(0)
        b, idb = self.connect(1)
        c, idc = self.connect(1)
        for cid in (ida, idb, idc):
            self.request({"type": "join_group", "client_id": cid, "group": g})
        r = self.request({"type": "send_to_group", "group": g, "exclude": ida, "data": "ex1"})
        self.assertEqual(r.get("delivered"), 2, r)
        self.assertNextText(b, "ex1")
        self.assertNextText(c, "ex1")
        self.marker(a, ida)
        r = self.request({"type": "send_to_group", "group": g, "exclude": [ida, idc], "data": "ex2"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(b, "ex2")
        self.marker(a, ida)
        self.marker(c, idc)

    def test_send_to_group_list_of_groups(self):
        g1, g2, g3 = uniq("g1"), uniq("g2"), uniq("empty")
        a, ida = self.connect(0)
        b, idb = self.connect(1)
        self.request({"type": "join_group", "client_id": ida, "group": g1})
        self.request({"type": "join_group", "client_id": idb, "group": g2})
        r = self.request({"type": "send_to_group", "group": [g1, g2, g3], "data": "multi"})
        self.assertEqual(r.get("delivered"), 2, r)
        self.assertNextText(a, "multi")
        self.assertNextText(b, "multi")

    def test_leave_by_browser_and_by_push(self):
        g = uniq("g")
        a, ida = self.connect(0)
        b, idb = self.connect(1)
        self.browser(a, {"type": "join", "group": g}, {"type": "join", "ok": True, "group": g})
        self.browser(b, {"type": "join", "group": g}, {"type": "join", "ok": True, "group": g})
        self.browser(a, {"type": "leave", "group": g}, {"type": "leave", "ok": True, "group": g})
        r = self.request({"type": "send_to_group", "group": g, "data": "after-leave-a"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(b, "after-leave-a")
        self.request({"type": "leave_group", "client_id": idb, "group": g})
        r = self.request({"type": "send_to_group", "group": g, "data": "nobody"})
        self.assertEqual(r.get("delivered"), 0, r)
        r = self.request({"type": "get_client_count_by_group", "group": g})
        self.assertEqual(r.get("count"), 0, r)
        self.marker(a, ida)
        self.marker(b, idb)

    def test_ungroup(self):
        g = uniq("g")
        a, ida = self.connect(0)
        b, idb = self.connect(1)
        for cid in (ida, idb):
            self.request({"type": "join_group", "client_id": cid, "group": g})
        self.request({"type": "ungroup", "group": g})
        r = self.request({"type": "send_to_group", "group": g, "data": "gone"})
        self.assertEqual(r.get("delivered"), 0, r)
        r = self.request({"type": "get_client_count_by_group", "group": g})
        self.assertEqual(r.get("count"), 0, r)
        r = self.request({"type": "get_all_group_id_list"})
        self.assertNotIn(g, r.get("groups"), r)
        self.marker(a, ida)
        self.marker(b, idb)

    def test_group_membership_ends_with_the_connection(self):
        g = uniq("g")
        a, ida = self.connect(0)
        b, idb = self.connect(1)
        for cid in (ida, idb):
            self.request({"type": "join_group", "client_id": cid, "group": g})
        a.close()
        wait_until(lambda: self.request({"type": "get_client_count_by_group", "group": g}),
                   "the closed client to leave the group (count 1)", timeout=5,
                   ok=lambda r: r.get("count") == 1)

    # ------------------------------------------------------------ send_to_all / client

    def test_send_to_all(self):
        self.wait_no_clients()
        clients = [self.connect(0), self.connect(0, uid=uniq("all")), self.connect(1), self.connect(1)]
        r = self.request({"type": "send_to_all", "data": "everyone"}, gateway=1)
        self.assertEqual(r.get("delivered"), 4, r)
        for c, _ in clients:
            self.assertNextText(c, "everyone")
        r = self.request({"type": "send_to_all", "exclude": clients[2][1], "data": "most"})
        self.assertEqual(r.get("delivered"), 3, r)
        for i, (c, _) in enumerate(clients):
            if i != 2:
                self.assertNextText(c, "most")
        r = self.request({"type": "send_to_all", "exclude": [clients[0][1], clients[3][1]], "data": "some"})
        self.assertEqual(r.get("delivered"), 2, r)
        self.assertNextText(clients[1][0], "some")
        self.assertNextText(clients[2][0], "some")
        for c, cid in clients:
            self.marker(c, cid)

    def test_send_to_client(self):
        a, ida = self.connect(0)
        b, idb = self.connect(1)
        c, idc = self.connect(1)
        r = self.request({"type": "send_to_client", "client_id": idb, "data": "just-b"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(b, "just-b")
        r = self.request({"type": "send_to_client", "client_id": [ida, idc], "data": "a-and-c"}, gateway=1)
        self.assertEqual(r.get("delivered"), 2, r)
        self.assertNextText(a, "a-and-c")
        self.assertNextText(c, "a-and-c")
        self.marker(b, idb)

    def test_close_client_with_final_data(self):
        a, ida = self.connect(1, uid=uniq("cc"))
        r = self.request({"type": "close_client", "client_id": ida, "data": {"bye": True}})
        self.assertIs(r.get("ok"), True, r)
        m = a.recv()
        self.assertTrue(m.is_text, m)
        self.assertEqual(m.text, '{"bye":true}')
        code, reason = a.expect_close()
        self.assertEqual(code, 1000, "close reason %r" % reason)
        self.assertEqual(a.skipped, [], "more messages before the close: %r" % a.skipped)

    def test_close_client_without_data(self):
        a, ida = self.connect(0)
        self.request({"type": "close_client", "client_id": ida}, gateway=1)
        code, _ = a.expect_close()
        self.assertEqual(code, 1000)
        self.assertEqual(a.skipped, [], "messages before the close: %r" % a.skipped)

    # ------------------------------------------------------------ bind / unbind

    def test_bind_and_unbind_uid_from_push(self):
        uid = uniq("b")
        c, cid = self.connect(1)
        self.request({"type": "bind_uid", "client_id": cid, "uid": uid})
        r = self.request({"type": "get_uid_by_client_id", "client_id": cid})
        self.assertEqual(r.get("uid"), uid, r)
        r = self.request({"type": "is_uid_online", "uid": uid})
        self.assertIs(r.get("online"), True, r)
        r = self.request({"type": "send_to_uid", "uid": uid, "data": "bound"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(c, "bound")
        self.request({"type": "unbind_uid", "client_id": cid})
        r = self.request({"type": "get_uid_by_client_id", "client_id": cid})
        self.assertIn("uid", r, r)
        self.assertIsNone(r.get("uid"), r)
        r = self.request({"type": "is_uid_online", "uid": uid})
        self.assertIs(r.get("online"), False, r)
        r = self.request({"type": "send_to_uid", "uid": uid, "data": "unbound"})
        self.assertEqual((r.get("delivered"), r.get("offline")), (0, [uid]), r)
        self.marker(c, cid)

    def test_unbind_uid_naming_the_uid(self):
        uid = uniq("b")
        c, cid = self.connect(0, uid=uid)
        self.request({"type": "unbind_uid", "client_id": cid, "uid": uid}, gateway=1)
        r = self.request({"type": "is_uid_online", "uid": uid})
        self.assertIs(r.get("online"), False, r)

    def test_bind_uid_replaces_old_uid(self):
        u1, u2 = uniq("b1"), uniq("b2")
        c, cid = self.connect(0, uid=u1)
        self.request({"type": "bind_uid", "client_id": cid, "uid": u2})
        r = self.request({"type": "get_uid_by_client_id", "client_id": cid})
        self.assertEqual(r.get("uid"), u2, r)
        r = self.request({"type": "is_uid_online", "uid": u1})
        self.assertIs(r.get("online"), False, r)

    # ------------------------------------------------------------ queries

    def test_is_uid_online(self):
        uid = uniq("on")
        r = self.request({"type": "is_uid_online", "uid": uid})
        self.assertIs(r.get("online"), False, r)
        c, _ = self.connect(1, uid=uid)
        r = self.request({"type": "is_uid_online", "uid": uid})
        self.assertIs(r.get("online"), True, r)
        self.assertComplete(r)
        c.close()
        wait_until(lambda: self.request({"type": "is_uid_online", "uid": uid}),
                   "the uid to go offline after its client closed", timeout=5,
                   ok=lambda r: r.get("online") is False)

    def test_get_client_id_by_uid(self):
        uid = uniq("cid")
        _, id0 = self.connect(0, uid=uid)
        _, id1 = self.connect(1, uid=uid)
        r = self.request({"type": "get_client_id_by_uid", "uid": uid})
        self.assertEqual(sorted(r.get("client_ids") or []), sorted([id0, id1]), r)
        self.assertComplete(r)
        r = self.request({"type": "get_client_id_by_uid", "uid": uniq("nobody")})
        self.assertEqual(r.get("client_ids"), [], r)

    def test_get_uid_by_client_id(self):
        uid = uniq("ubc")
        _, a = self.connect(1, uid=uid)
        _, b = self.connect(1)
        r = self.request({"type": "get_uid_by_client_id", "client_id": a})
        self.assertEqual(r.get("uid"), uid, r)
        r = self.request({"type": "get_uid_by_client_id", "client_id": b})
        self.assertIn("uid", r, r)
        self.assertIsNone(r["uid"], r)

    def test_group_queries_count_a_uid_once(self):
        g = uniq("gq")
        u, v = uniq("u"), uniq("v")
        members = [self.connect(0, uid=u), self.connect(1, uid=u), self.connect(0, uid=v), self.connect(1)]
        for _, cid in members:
            self.request({"type": "join_group", "client_id": cid, "group": g})
        r = self.request({"type": "get_client_count_by_group", "group": g})
        self.assertEqual(r.get("count"), 4, r)
        r = self.request({"type": "get_uid_count_by_group", "group": g})
        self.assertEqual(r.get("count"), 2, "one uid on two tabs must count once: %r" % r)
        self.assertComplete(r)
        r = self.request({"type": "get_uid_list_by_group", "group": g}, gateway=1)
        self.assertEqual(sorted(r.get("uids") or []), sorted([u, v]), r)
        self.assertComplete(r)
        empty = uniq("none")
        r = self.request({"type": "get_uid_list_by_group", "group": empty})
        self.assertEqual(r.get("uids"), [], r)
        r = self.request({"type": "get_uid_count_by_group", "group": empty})
        self.assertEqual(r.get("count"), 0, r)
        r = self.request({"type": "get_client_count_by_group", "group": empty})
        self.assertEqual(r.get("count"), 0, r)

    def test_global_counts_and_group_list(self):
        self.wait_no_clients()
        r = self.request({"type": "get_all_uid_count"})
        self.assertEqual(r.get("count"), 0, r)
        r = self.request({"type": "get_all_group_id_list"})
        self.assertEqual(r.get("groups"), [], r)
        a, b = uniq("A"), uniq("B")
        g1, g2 = uniq("G1"), uniq("G2")
        clients = [self.connect(0, uid=a), self.connect(1, uid=a), self.connect(1, uid=b), self.connect(0)]
        self.request({"type": "join_group", "client_id": clients[0][1], "group": g1})
        self.request({"type": "join_group", "client_id": clients[2][1], "group": g1})
        self.request({"type": "join_group", "client_id": clients[3][1], "group": g2})
        r = self.request({"type": "get_all_client_count"}, gateway=1)
        self.assertEqual(r.get("count"), 4, r)
        self.assertComplete(r)
        r = self.request({"type": "get_all_uid_count"})
        self.assertEqual(r.get("count"), 2, "uid with two tabs on two gateways must count once: %r" % r)
        self.assertComplete(r)
        r = self.request({"type": "get_all_group_id_list"})
        self.assertEqual(sorted(r.get("groups") or []), sorted([g1, g2]), r)
        self.assertComplete(r)

    # ------------------------------------------------------------ sessions

    def test_sessions(self):
        c, cid = self.connect(1)
        r = self.request({"type": "get_session", "client_id": cid})
        self.assertIn("session", r, r)
        self.assertIsNone(r["session"], r)
        self.request({"type": "set_session", "client_id": cid, "session": {"a": 1, "name": "x"}})
        r = self.request({"type": "get_session", "client_id": cid}, gateway=1)
        self.assertEqual(r.get("session"), {"a": 1, "name": "x"}, r)
        self.request({"type": "update_session", "client_id": cid, "session": {"b": [1, 2], "a": 3}})
        r = self.request({"type": "get_session", "client_id": cid})
        self.assertEqual(r.get("session"), {"a": 3, "name": "x", "b": [1, 2]}, r)
        self.request({"type": "set_session", "client_id": cid, "session": {"c": None}})
        r = self.request({"type": "get_session", "client_id": cid})
        self.assertEqual(r.get("session"), {"c": None}, r)
        r = self.request({"type": "set_session", "client_id": cid, "session": [1]}, ok=False)
        self.assertError(r, "bad_request")
        r = self.request({"type": "set_session", "client_id": cid, "session": "str"}, ok=False)
        self.assertError(r, "bad_request")

    # ------------------------------------------------------------ exact data

    def test_data_string_arrives_as_its_text(self):
        c, cid = self.connect(0)
        for text in ("plain", "with \"quotes\" and \\ and \n newline", "héllo ✓ 日本 😀", "{\"looks\":\"json\"}"):
            r = self.request({"type": "send_to_client", "client_id": cid, "data": text})
            self.assertEqual(r.get("delivered"), 1, r)
            m = c.recv()
            self.assertTrue(m.is_text, m)
            self.assertEqual(m.text, text)

    def test_data_object_arrives_compact_in_key_order(self):
        c, cid = self.connect(1)
        p = self.push(0)
        line = ('{"type":"send_to_client","client_id":"%s","data":{"title": "hi", "n": [1, 2]}}' % cid)
        p.send_line(line.encode())
        r = p.read_reply()
        self.assertEqual((r.get("ok"), r.get("delivered")), (True, 1), r)
        self.assertNextText(c, '{"title":"hi","n":[1,2]}')
        line = ('{"type":"send_to_client","client_id":"%s","data":{ "z" : 1 , "a" : {"y": null, "b": true} ,'
                ' "m": "x"}}' % cid)
        p.send_line(line.encode())
        self.assertIs(p.read_reply().get("ok"), True)
        self.assertNextText(c, '{"z":1,"a":{"y":null,"b":true},"m":"x"}')
        # Non-ASCII and escapes: the same JSON value, keys in order, no blanks.
        obj = {"msg": "é \"q\" ✓", "list": [], "o": {}}
        self.request({"type": "send_to_client", "client_id": cid, "data": obj})
        m = c.recv()
        self.assertTrue(m.is_text, m)
        self.assertIn(m.text, (compact(obj), compact(obj, ensure_ascii=True)))

    def test_data_base64_arrives_as_binary(self):
        c, cid = self.connect(0)
        for raw in (b"\x00\x01\x02\xff", bytes(range(256)) * 3, b"x"):
            r = self.request({"type": "send_to_client", "client_id": cid,
                              "data_base64": base64.b64encode(raw).decode()})
            self.assertEqual(r.get("delivered"), 1, r)
            m = c.recv()
            self.assertTrue(m.is_binary, "expected a binary frame: %r" % m)
            self.assertEqual(m.data, raw)
        uid = uniq("bin")
        u, _ = self.connect(1, uid=uid)
        r = self.request({"type": "send_to_uid", "uid": uid, "data_base64": "3q2+7w=="})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertEqual(u.recv_binary(), b"\xde\xad\xbe\xef")

    def test_bad_base64_is_bad_request(self):
        c, cid = self.connect(0)
        r = self.request({"type": "send_to_client", "client_id": cid, "data_base64": "***"}, ok=False)
        self.assertError(r, "bad_request")

    # ------------------------------------------------------------ push errors

    def test_bad_json_names_the_column(self):
        p = self.push(0)
        p.send_line(b'{"type": "send_to_all", "data": }')
        r = p.read_reply()
        self.assertError(r, "bad_json")
        self.assertRegex(r["message"].lower(), r"column", r)
        for raw in (b"{", b"not json", b'{"type":"send_to_all","data":"x"', b'{"a":1}}'):
            with self.subTest(raw=raw):
                p.send_line(raw)
                self.assertError(p.read_reply(), "bad_json", raw)

    def test_bad_request(self):
        c, cid = self.connect(0)
        long_uid = "u" * 129
        cases = [
            ("missing uid", {"type": "send_to_uid", "data": "x"}),
            ("missing data", {"type": "send_to_uid", "uid": "1"}),
            ("uid of wrong type", {"type": "send_to_uid", "uid": True, "data": "x"}),
            ("uid object", {"type": "send_to_uid", "uid": {"a": 1}, "data": "x"}),
            ("uid list with wrong type", {"type": "send_to_uid", "uid": ["1", None], "data": "x"}),
            ("empty uid", {"type": "send_to_uid", "uid": "", "data": "x"}),
            ("uid too long", {"type": "send_to_uid", "uid": long_uid, "data": "x"}),
            ("uid too long in list", {"type": "send_to_uid", "uid": ["1", long_uid], "data": "x"}),
            ("bind empty uid", {"type": "bind_uid", "client_id": cid, "uid": ""}),
            ("bind long uid", {"type": "bind_uid", "client_id": cid, "uid": long_uid}),
            ("missing group", {"type": "send_to_group", "data": "x"}),
            ("group of wrong type", {"type": "join_group", "client_id": cid, "group": {"a": 1}}),
            ("group too long", {"type": "join_group", "client_id": cid, "group": "g" * 129}),
            ("missing client_id", {"type": "send_to_client", "data": "x"}),
            ("client_id short", {"type": "send_to_client", "client_id": cid[:-1], "data": "x"}),
            ("client_id long", {"type": "send_to_client", "client_id": cid + "0", "data": "x"}),
            ("client_id not hex", {"type": "send_to_client", "client_id": "z" * 28, "data": "x"}),
            ("client_id number", {"type": "close_client", "client_id": 12}),
            ("exclude not a client id", {"type": "send_to_all", "exclude": "nope", "data": "x"}),
            ("missing session", {"type": "set_session", "client_id": cid}),
        ]
        p = self.push(1)
        for i, (what, req) in enumerate(cases):
            with self.subTest(what):
                req = dict(req, id="br-%d" % i)
                r = p.request(req)
                self.assertError(r, "bad_request", req)
                self.assertEqual(r.get("id"), "br-%d" % i, "id not echoed: %r" % r)
        # the connection survived all of it
        r = p.request({"type": "get_all_client_count", "id": "after"})
        self.assertEqual((r.get("ok"), r.get("id")), (True, "after"), r)
        self.marker(c, cid)

    def test_missing_type_or_not_an_object(self):
        p = self.push(0)
        for req in ({"id": 1, "uid": "x"}, {"id": 1, "type": 5}, {"id": 1, "type": None}):
            r = p.request(req)
            self.assertIs(r.get("ok"), False, (req, r))
            self.assertIn(r.get("error"), ("bad_request", "unknown_type"), (req, r))
            self.assertEqual(r.get("id"), 1, r)
        for raw in (b"[1,2]", b"42", b'"str"', b"null"):
            p.send_line(raw)
            r = p.read_reply()
            self.assertIs(r.get("ok"), False, (raw, r))
            self.assertIn(r.get("error"), ("bad_request", "bad_json"), (raw, r))

    def test_unknown_type(self):
        r = self.request({"type": "frobnicate", "id": 7}, ok=False)
        self.assertError(r, "unknown_type")
        self.assertEqual(r.get("id"), 7, r)
        r = self.request({"type": "SEND_TO_ALL", "data": "x"}, ok=False)
        self.assertError(r, "unknown_type")

    def test_not_found_for_single_client_commands(self):
        _, real = self.connect(1)
        gone = real[:16] + "fffffffffff0"          # right gateway, never issued
        ghost = "0123456789abcdef" + "000000000001"  # no such gateway
        for cid in (gone, ghost):
            for req in ({"type": "close_client", "client_id": cid},
                        {"type": "bind_uid", "client_id": cid, "uid": "x"},
                        {"type": "unbind_uid", "client_id": cid},
                        {"type": "join_group", "client_id": cid, "group": "g"},
                        {"type": "leave_group", "client_id": cid, "group": "g"},
                        {"type": "set_session", "client_id": cid, "session": {}},
                        {"type": "update_session", "client_id": cid, "session": {}}):
                with self.subTest(cid=cid, type=req["type"]):
                    r = self.request(req, ok=False)
                    self.assertError(r, "not_found", req)

    def test_send_to_client_that_left(self):
        c, cid = self.connect(0)
        c.close()
        wait_until(lambda: self.request({"type": "get_session", "client_id": cid}, ok=None),
                   "the gateway to forget the client that left (get_session: not_found)", timeout=5,
                   ok=lambda r: r.get("error") == "not_found")
        r = self.request({"type": "send_to_client", "client_id": [cid], "data": "late"}, ok=None)
        if r.get("ok"):
            self.assertEqual(r.get("delivered"), 0, r)
        else:
            self.assertError(r, "not_found")

    def test_too_large_line_is_answered_then_closed(self):
        p = self.push(0)
        r = p.request({"type": "get_all_client_count", "id": 1})
        self.assertIs(r.get("ok"), True, r)
        big = line_of({"type": "send_to_all", "data": "x" * (MAX_LINE + 500)})
        p.send_raw(big)
        r = p.read_reply()
        self.assertError(r, "too_large")
        self.assertTrue(p.wait_closed(5), "connection still open after too_large")

    def test_too_large_line_without_newline(self):
        p = self.push(1)
        p.send_raw(b'{"type":"send_to_all","data":"' + b"y" * (MAX_LINE + 500))
        r = p.read_reply()
        self.assertError(r, "too_large")
        self.assertTrue(p.wait_closed(5), "connection still open after too_large")

    def test_line_below_limit_is_fine(self):
        c, cid = self.connect(0)
        data = "z" * (MAX_LINE - 200)
        r = self.request({"type": "send_to_client", "client_id": cid, "data": data})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertNextText(c, data)

    def test_bad_lines_never_close_and_replies_stay_in_order(self):
        p = self.push(1)
        lines = [
            b'{"type":"get_all_client_count","id":0}',
            b'{"type": oops',
            b'{"type":"nope","id":2}',
            b'{"type":"send_to_uid","id":3}',
            b'{"type":"get_all_client_count","id":5}\r',
            b'{"type":"is_uid_online","uid":"nobody-xyz","id":6}',
        ]
        p.send_raw(b"\n".join(lines) + b"\n")
        replies = []
        try:
            while len(replies) < len(lines):
                replies.append(p.read_reply())
        except (TimeoutError, PushClosed) as e:
            self.fail("only %d replies: %r (%s)" % (len(replies), replies, e))
        ids = [r.get("id") for r in replies]
        self.assertEqual(replies[0].get("ok"), True, replies)
        self.assertEqual(replies[1].get("error"), "bad_json", replies)
        self.assertEqual((replies[2].get("error"), replies[2].get("id")), ("unknown_type", 2), replies)
        self.assertEqual((replies[3].get("error"), replies[3].get("id")), ("bad_request", 3), replies)
        self.assertEqual(ids[-2:], [5, 6], replies)
        self.assertEqual(replies[-2].get("ok"), True, replies)
        self.assertEqual(replies[-1].get("online"), False, replies)

    def test_id_is_echoed(self):
        p = self.push(0)
        for ident in (0, 42, -1, 1.5, "abc", "", True, False, None, [1, "x"], {"k": [1, {"a": None}]},
                      "ünï ✓", 12345678901234):
            with self.subTest(id=ident):
                r = p.request({"type": "get_all_client_count", "id": ident})
                self.assertIn("id", r, r)
                self.assertEqual(r["id"], ident, r)
                self.assertIs(type(r["id"]), type(ident), r)
        r = p.request({"id": {"nested": True}, "type": "unknown-thing"})
        self.assertEqual(r.get("id"), {"nested": True}, r)

    def test_1000_pipelined_requests_in_order(self):
        p = self.push(1, timeout=30)
        reqs = []
        for i in range(1000):
            if i % 3 == 0:
                reqs.append({"type": "get_all_client_count", "id": i})
            elif i % 3 == 1:
                reqs.append({"type": "is_uid_online", "uid": "p%d" % i, "id": i})
            else:
                reqs.append({"type": "send_to_uid", "uid": "p%d" % i, "data": "x", "id": i})
        replies = p.pipeline(reqs, timeout=30)
        self.assertEqual([r.get("id") for r in replies], list(range(1000)))
        bad = [r for r in replies if r.get("ok") is not True]
        self.assertEqual(bad, [], "failed replies (first 5): %r" % bad[:5])

    # ------------------------------------------------------------ browser protocol

    def test_browser_ping(self):
        c, _ = self.connect(0)
        for _ in range(3):
            self.browser(c, {"type": "ping"}, {"type": "pong"})

    def test_browser_bad_json_keeps_connection(self):
        c, _ = self.connect(1)
        self.browser_error(c, "{not json", "bad_json")
        self.browser_error(c, "", "bad_json")
        self.browser(c, {"type": "ping"}, {"type": "pong"})

    def test_browser_unknown_type_keeps_connection(self):
        c, _ = self.connect(0)
        self.browser_error(c, {"type": "dance"}, "unknown_type")
        self.browser(c, {"type": "ping"}, {"type": "pong"})

    def test_browser_bad_request(self):
        c, _ = self.connect(0)
        self.browser_error(c, {"type": "join"}, "bad_request")
        self.browser_error(c, {"type": "join", "group": {"x": 1}}, "bad_request")
        self.browser_error(c, {"type": "login", "uid": ""}, "bad_request")
        self.browser_error(c, {"type": "login"}, "bad_request")
        self.browser_error(c, {"type": "login", "uid": "u" * 129}, "bad_request")
        c.send_json([1, 2])
        got = c.recv_json()
        self.assertEqual(got.get("type"), "error", got)
        self.assertIn(got.get("error"), ("bad_request", "bad_json"), got)
        self.browser(c, {"type": "ping"}, {"type": "pong"})

    def test_browser_logout(self):
        uid = uniq("lo")
        c, cid = self.connect(1, uid=uid)
        self.browser(c, {"type": "logout"}, {"type": "logout", "ok": True})
        r = self.request({"type": "is_uid_online", "uid": uid})
        self.assertIs(r.get("online"), False, r)
        r = self.request({"type": "get_uid_by_client_id", "client_id": cid})
        self.assertIsNone(r.get("uid"), r)
        self.browser(c, {"type": "ping"}, {"type": "pong"})

    def test_browser_leave(self):
        g = uniq("bl")
        c, cid = self.connect(0)
        self.browser(c, {"type": "join", "group": g}, {"type": "join", "ok": True, "group": g})
        self.browser(c, {"type": "leave", "group": g}, {"type": "leave", "ok": True, "group": g})
        r = self.request({"type": "get_client_count_by_group", "group": g})
        self.assertEqual(r.get("count"), 0, r)

    def test_browser_message_at_max_message_is_accepted(self):
        c, _ = self.connect(0)
        msg = '{"type":"ping"}'
        c.send_text(msg + " " * (MAX_MESSAGE - len(msg)))
        self.assertEqual(c.recv_json(), {"type": "pong"})

    def test_browser_message_over_max_message_closes_1009(self):
        for kind in ("text", "binary", "fragmented"):
            with self.subTest(kind):
                c, _ = self.connect(1)
                if kind == "text":
                    c.send_text('{"type":"ping","pad":"' + "p" * MAX_MESSAGE + '"}')
                elif kind == "binary":
                    c.send_binary(b"\x00" * (MAX_MESSAGE + 1))
                else:
                    c.send_fragmented(wsclient.OP_TEXT, "q" * (MAX_MESSAGE + 100), [2000, 2000])
                code, reason = c.expect_close()
                self.assertEqual(code, 1009, "close reason %r" % reason)


class PushListLimitTest(ClusterTestCase):
    """A list over the per-request bound gets an error, not a closed
    connection. Needs the default (1M) max_line to carry the long list."""

    CLUSTER = dict(gateways=1, workers=1)
    # PROTO_MAX_LIST in proto/msg.h; the push port's own bound is at most that.
    TOO_MANY = int(os.environ.get("GATECAST_TOO_MANY", "100001"))

    def test_list_too_long_does_not_close(self):
        p = self.push(0, timeout=20)
        r = p.request({"type": "send_to_uid", "id": "big", "uid": list(range(self.TOO_MANY)), "data": "x"},
                      timeout=20)
        self.assertIs(r.get("ok"), False, "list of %d uids accepted: %r" % (self.TOO_MANY, {
            k: (v if k != "offline" else "[%d uids]" % len(v)) for k, v in r.items()}))
        self.assertIn(r.get("error"), ("too_large", "bad_request"), r)
        self.assertEqual(r.get("id"), "big", r)
        r = p.request({"type": "get_all_client_count", "id": "next"})
        self.assertEqual((r.get("ok"), r.get("id")), (True, "next"), r)

    def test_list_of_1000_uids(self):
        c, _ = self.connect(0, uid="k500")
        uids = ["k%d" % i for i in range(1000)]
        r = self.request({"type": "send_to_uid", "uid": uids, "data": "many"})
        self.assertEqual(r.get("delivered"), 1, r)
        self.assertEqual(sorted(r.get("offline") or []), sorted(u for u in uids if u != "k500"))
        self.assertNextText(c, "many")


class HeartbeatTest(ClusterTestCase):
    """Server pings and the idle timeout (small values so the test is fast)."""

    PING = 1
    IDLE = 3
    CLUSTER = dict(gateways=1, workers=1, extra_set={
        "gateway.ping_interval": PING,
        "gateway.idle_timeout": IDLE,
    })

    def test_server_pings_arrive(self):
        c, _ = self.connect(0)
        c.pump(3.5 * self.PING)
        self.assertGreaterEqual(c.pings_seen, 2, "server pings seen in %.1fs" % (3.5 * self.PING))

    def test_client_answering_pings_is_kept(self):
        c, _ = self.connect(0)
        c.pump(self.IDLE + 2.5)
        self.assertFalse(c.closed)
        self.assertBrowserAlive(c)

    def test_silent_client_is_closed_after_idle_timeout(self):
        c, _ = self.connect(0, auto_pong=False)
        t0 = time.monotonic()
        code, reason = c.expect_close(timeout=self.IDLE + 5)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(c.pings_seen, 1, "closed without ever being pinged")
        self.assertGreaterEqual(elapsed, self.IDLE - 1.0, "closed too early (%.1fs, code %r %r)"
                                % (elapsed, code, reason))
        sys.stderr.write("(idle close after %.1fs, code %r %r) " % (elapsed, code, reason))


if __name__ == "__main__":
    main(timeout=280)
