#!/usr/bin/env python3
"""
The HTTP port (http.listen): POST /api/<command> and /api/batch, the
web-msg-sender compatible publish on /, /healthz, /readyz, /metrics, Bearer
auth with push.secret, status codes, keep-alive and the limits on heads and
bodies. The client is Python's http.client or a raw socket.

Run: GATECAST_BUILD=build python3 tests/integration/test_http.py [-k pattern]
"""

import http.client
import json
import os
import re
import secrets
import socket
import sys
import time
import unittest
from urllib.parse import quote, urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster import Cluster, ClusterTestCase, main, uniq, wait_until  # noqa: E402

MAX_LINE = 4096
PUSH_SECRET = "push-secret-%s" % secrets.token_hex(16)
FAKE_CID = "0" * 28


class HttpCase(ClusterTestCase):
    def conn(self, gateway=0):
        h = http.client.HTTPConnection("127.0.0.1", self.cluster.http_port(gateway), timeout=5)
        self.addCleanup(h.close)
        return h

    def call(self, method, path, body=None, headers=None, h=None):
        """One request; returns (status, headers, body bytes)."""
        h = h or self.conn()
        h.request(method, path, body=body, headers=headers or {})
        r = h.getresponse()
        return r.status, r, r.read()

    def api(self, command, obj=None, raw=None, headers=None, h=None):
        body = raw if raw is not None else ("" if obj is None else json.dumps(obj))
        st, r, b = self.call("POST", "/api/" + command, body, headers, h)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        return st, json.loads(b)

    def raw(self, data, gateway=0, read_until_close=True, timeout=5):
        """Sends raw bytes on a fresh socket; returns everything read until
        the server closes (or the timeout)."""
        s = socket.create_connection(("127.0.0.1", self.cluster.http_port(gateway)), timeout=timeout)
        self.addCleanup(s.close)
        s.sendall(data)
        out = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
                if not read_until_close:
                    break
        except socket.timeout:
            pass
        return out

    def metrics(self, gateway=0):
        st, r, b = self.call("GET", "/metrics", h=self.conn(gateway))
        self.assertEqual(st, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        vals = {}
        for line in b.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                vals[k] = float(v)
        return b.decode(), vals

    def histogram(self, text, name):
        """Checks that `name` is a well-formed Prometheus histogram in text;
        returns ([(le, cumulative count)...], sum, count)."""
        self.assertIn("# TYPE %s histogram\n" % name, text)
        self.assertIn("# HELP %s " % name, text)
        buckets, total, count = [], None, None
        for line in text.splitlines():
            m = re.match(r'^%s_bucket\{le="([^"]+)"\} (\d+)$' % re.escape(name), line)
            if m:
                buckets.append((float(m.group(1)), int(m.group(2))))
                continue
            m = re.match(r"^%s_(sum|count) (\S+)$" % re.escape(name), line)
            if m and m.group(1) == "sum":
                total = float(m.group(2))
            elif m:
                count = int(m.group(2))
            else:
                self.assertFalse(line.startswith(name + "_") or line.startswith(name + "{"),
                                 "stray histogram line: %r" % line)
        self.assertIsNotNone(total, "no %s_sum" % name)
        self.assertIsNotNone(count, "no %s_count" % name)
        self.assertGreaterEqual(len(buckets), 2)
        les = [le for le, _ in buckets]
        self.assertEqual(les[-1], float("inf"), "the last bucket is +Inf")
        self.assertEqual(les, sorted(set(les)), "bucket bounds strictly increase")
        counts = [n for _, n in buckets]
        self.assertEqual(counts, sorted(counts), "buckets are cumulative: %r" % buckets)
        self.assertEqual(counts[-1], count, "the +Inf bucket equals _count")
        self.assertGreaterEqual(total, 0)
        return buckets, total, count

    def push_writes(self, gateways):
        """gatecast_push_write_seconds_count per gateway (checked well-formed)."""
        out = []
        for g in range(gateways):
            text, _ = self.metrics(g)
            out.append(self.histogram(text, "gatecast_push_write_seconds")[2])
        return out


class HttpTest(HttpCase):
    CLUSTER = dict(gateways=2, workers=1, extra_set={
        "gateway.max_line": MAX_LINE,
        "gateway.max_groups": 1,
        "gateway.handshake_timeout": 1,
    })

    # ----------------------------------------------------------- /api

    def test_send_to_uid_reaches_the_browser(self):
        uid = uniq("u")
        c, _ = self.connect(1, uid=uid)
        st, rep = self.api("send_to_uid", {"uid": uid, "data": {"title": "hi", "n": 0.1}})
        self.assertEqual((st, rep), (200, {"ok": True, "delivered": 1, "offline": []}))
        self.assertEqual(c.recv().text, '{"title":"hi","n":0.1}', "the payload arrives as written")

    def test_empty_body_is_an_empty_object(self):
        st, rep = self.api("get_all_client_count")
        self.assertEqual(st, 200)
        self.assertIs(rep["ok"], True)
        self.assertIn("count", rep)
        st, rep = self.api("get_all_uid_count", raw=" {} ")
        self.assertEqual(st, 200, rep)

    def test_id_is_echoed_and_type_may_repeat_the_command(self):
        st, rep = self.api("get_all_client_count", {"id": 7, "type": "get_all_client_count"})
        self.assertEqual(st, 200)
        self.assertEqual(rep["id"], 7)

    def test_status_mapping(self):
        cases = [
            ("send_to_uid", None, "{bad", 400, "bad_json"),
            ("send_to_uid", None, "[1]", 400, "bad_request"),
            ("send_to_uid", {"uid": "x"}, None, 400, "bad_request"),
            ("send_to_uid", {"type": "send_to_all", "data": "x"}, None, 400, "bad_request"),
            ("no_such_command", {}, None, 400, "unknown_type"),
            ("Bad-Name", {}, None, 400, "unknown_type"),
            ("get_uid_by_client_id", {"client_id": FAKE_CID}, None, 404, "not_found"),
            ("send_to_uid", {"uid": ["u"] * 10001, "data": "x"}, None, 413, None),
        ]
        for command, obj, raw, status, code in cases:
            if status == 413:
                continue  # the body limit is tested in test_limits
            st, rep = self.api(command, obj, raw=raw)
            self.assertEqual(st, status, "%s %r -> %r" % (command, obj or raw, rep))
            self.assertIs(rep["ok"], False)
            self.assertEqual(rep["error"], code, rep)

    def test_too_many_groups_is_409(self):
        _, cid = self.connect(0)
        st, rep = self.api("join_group", {"client_id": cid, "group": uniq("g")})
        self.assertEqual(st, 200, rep)
        st, rep = self.api("join_group", {"client_id": cid, "group": uniq("g")})
        self.assertEqual((st, rep["error"]), (409, "too_many_groups"))

    def test_keep_alive_many_requests_on_one_connection(self):
        h = self.conn()
        socks = set()
        for i in range(10):
            st, rep = self.api("get_all_client_count", {"id": i}, h=h)
            self.assertEqual((st, rep["id"]), (200, i))
            socks.add(id(h.sock))
        self.assertEqual(len(socks), 1, "one TCP connection served every request")

    def test_pipelined_requests_are_answered_in_order(self):
        reqs = b""
        for i in range(5):
            body = json.dumps({"id": i}).encode()
            reqs += (b"POST /api/get_all_uid_count HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                     % len(body)) + body
        reqs += b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"
        out = self.raw(reqs)
        ids = [int(m) for m in re.findall(rb'"id":(\d+)', out)]
        self.assertEqual(ids, list(range(5)))
        self.assertTrue(out.endswith(b"ok\n"), out[-200:])

    # ----------------------------------------------------------- batch

    def test_batch_answers_in_order(self):
        uid = uniq("b")
        c, _ = self.connect(0, uid=uid)
        cmds = []
        for i in range(30):
            if i % 3 == 0:
                cmds.append({"type": "send_to_uid", "uid": uid, "data": "m%d" % i, "id": i})
            elif i % 3 == 1:
                cmds.append({"type": "get_all_uid_count", "id": i})
            else:
                cmds.append({"type": "nope", "id": i})
        st, r, b = self.call("POST", "/api/batch", json.dumps(cmds))
        self.assertEqual(st, 200)
        reps = json.loads(b)
        self.assertEqual([x["id"] for x in reps], list(range(30)))
        for i, x in enumerate(reps):
            self.assertIs(x["ok"], i % 3 != 2, x)
        for i in range(0, 30, 3):
            self.assertEqual(c.recv().text, "m%d" % i)

    def test_batch_bad_bodies(self):
        st, r, b = self.call("POST", "/api/batch", "[]")
        self.assertEqual((st, b), (200, b"[]"))
        st, r, b = self.call("POST", "/api/batch", '{"type":"get_all_uid_count"}')
        self.assertEqual(st, 400)
        st, r, b = self.call("POST", "/api/batch", "[1,")
        self.assertEqual(st, 400)
        st, r, b = self.call("POST", "/api/batch", "[" + ",".join(["{}"] * 1001) + "]")
        self.assertEqual((st, json.loads(b)["error"]), (413, "too_large"))

    # ----------------------------------------------------------- web-msg-sender

    def test_web_msg_sender_ok_offline_fail(self):
        uid = uniq("w")
        c, _ = self.connect(1, uid=uid)
        st, r, b = self.call("GET", "/?" + urlencode({"type": "publish", "to": uid, "content": "héllo & co"}))
        self.assertEqual((st, b), (200, b"ok"))
        self.assertEqual(r.getheader("Content-Type"), "text/plain; charset=utf-8")
        self.assertEqual(c.recv_json(), {"type": "new_msg", "content": "héllo & co"})
        st, r, b = self.call("POST", "/", urlencode({"type": "publish", "to": uid, "content": "x y"}),
                             {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((st, b), (200, b"ok"))
        self.assertEqual(c.recv_json(), {"type": "new_msg", "content": "x y"})
        st, r, b = self.call("GET", "/?type=publish&to=%s&content=x" % quote(uniq("nobody")))
        self.assertEqual(b, b"offline")
        for q in ("/", "/?to=1&content=x", "/?type=other&content=x", "/?type=publish&content=%zz"):
            st, r, b = self.call("GET", q)
            self.assertEqual(b, b"fail", q)

    def test_web_msg_sender_broadcast(self):
        a, _ = self.connect(0, uid=uniq("a"))
        b_, _ = self.connect(1)
        for to in ("", None):
            params = {"type": "publish", "content": "all"}
            if to is not None:
                params["to"] = to
            st, r, b = self.call("POST", "/", urlencode(params))
            self.assertEqual((st, b), (200, b"ok"))
            for cl in (a, b_):
                self.assertEqual(cl.recv_json(), {"type": "new_msg", "content": "all"})

    # ----------------------------------------------------------- health, metrics

    def test_healthz_and_readyz(self):
        self.assertEqual(self.call("GET", "/healthz")[::2], (200, b"ok\n"))
        self.assertEqual(self.call("GET", "/readyz")[::2], (200, b"ready\n"))

    def test_metrics_names_and_counters(self):
        text, before = self.metrics()
        for name in ("gatecast_connections", "gatecast_connections_accepted_total",
                     "gatecast_messages_in_total", "gatecast_frames_out_total",
                     "gatecast_bytes_out_total", "gatecast_push_requests_total",
                     "gatecast_push_errors_total", "gatecast_push_timeouts_total",
                     "gatecast_uids", "gatecast_groups", "gatecast_workers_live",
                     "gatecast_pending_requests", "gatecast_closes_total",
                     "gatecast_refused_total"):
            self.assertIn("# TYPE %s " % name, text)
            self.assertIn("# HELP %s " % name, text)
        for reason in ("idle", "slow_consumer", "protocol", "too_big"):
            self.assertIn('gatecast_closes_total{reason="%s"}' % reason, before)
        for reason in ("origin", "token", "ip", "rate_limited"):
            self.assertIn('gatecast_refused_total{reason="%s"}' % reason, before)
        self.assertEqual(before["gatecast_workers_live"], 1)
        uid = uniq("m")
        c, _ = self.connect(0, uid=uid)
        c.send_json({"type": "ping"})
        c.recv_json()
        self.api("send_to_uid", {"uid": uid, "data": "x"})
        self.api("nope", {})
        c.recv()
        _, after = self.metrics()
        self.assertGreaterEqual(after["gatecast_connections"], 1)
        self.assertGreaterEqual(after["gatecast_uids"], 1)
        for k in ("gatecast_connections_accepted_total", "gatecast_messages_in_total",
                  "gatecast_frames_out_total", "gatecast_bytes_out_total"):
            self.assertGreater(after[k], before[k], k)
        self.assertGreaterEqual(after["gatecast_push_requests_total"],
                                before["gatecast_push_requests_total"] + 2)
        self.assertGreater(after["gatecast_push_errors_total"], before["gatecast_push_errors_total"])

    def test_metrics_push_write_histogram_counts_each_pushed_frame_write(self):
        text, _ = self.metrics(0)
        buckets, _, _ = self.histogram(text, "gatecast_push_write_seconds")
        self.assertEqual(buckets[0][0], 0.00005, "the first bucket is 50 µs")
        self.assertEqual(buckets[-2][0], 5.0, "the last finite bucket is 5 s")
        before = self.push_writes(2)
        # Clients on both gateways: the pushes arrive at gateway 0 (HTTP) and
        # gateway 1 (push port), so each gateway writes frames of pushes
        # that came in at the other one.
        group = uniq("hist")
        clients = [self.connect(0, uid=uniq("h")) for _ in range(2)]
        clients += [self.connect(1) for _ in range(3)]
        for _, cid in clients:
            st, rep = self.api("join_group", {"client_id": cid, "group": group})
            self.assertEqual(st, 200, rep)
        # Welcome/login frames and the app's replies to client messages are
        # not pushes: they are not observed.
        for c, _ in clients:
            c.send_json({"type": "ping"})
            self.assertEqual(c.recv_json(), {"type": "pong"})
        self.assertEqual(self.push_writes(2), before, "frames that are not pushes are not timed")
        pushes = 4
        for i in range(pushes):
            if i % 2 == 0:
                st, rep = self.api("send_to_group", {"group": group, "data": "p%d" % i})
                self.assertEqual((st, rep.get("delivered")), (200, 5), rep)
            else:
                rep = self.request({"type": "send_to_group", "group": group, "data": "p%d" % i},
                                   gateway=1)
                self.assertEqual(rep.get("delivered"), 5, rep)
        for c, _ in clients:
            for i in range(pushes):
                self.assertEqual(c.recv().text, "p%d" % i)
        after = self.push_writes(2)
        self.assertEqual([a - b for a, b in zip(after, before)], [pushes * 2, pushes * 3],
                         "one observation per frame written per connection, on the gateway "
                         "that wrote it")
        _, vals = self.metrics(0)
        self.assertGreaterEqual(vals["gatecast_push_write_seconds_sum"], 0)

    def test_metrics_queues_members_and_the_rest_of_the_list(self):
        for g in range(2):
            text, vals = self.metrics(g)
            for name, kind in (("gatecast_worker_queued_messages", "gauge"),
                               ("gatecast_gateways_live", "gauge"),
                               ("gatecast_workers_live", "gauge"),
                               ("gatecast_pending_requests", "gauge"),
                               ("gatecast_logins_total", "counter"),
                               ("gatecast_bytes_in_total", "counter"),
                               ("gatecast_push_commands_total", "counter")):
                self.assertIn("# TYPE %s %s\n" % (name, kind), text)
                self.assertIn("# HELP %s " % name, text)
            self.assertEqual(vals["gatecast_gateways_live"], 1, "the other gateway")
            self.assertEqual(vals["gatecast_workers_live"], 1)
            # At rest nothing waits for a worker.
            for q in ("link", "no_worker", "joining"):
                self.assertEqual(vals['gatecast_worker_queued_messages{queue="%s"}' % q], 0, q)
            self.assertEqual(vals["gatecast_pending_requests"], 0)
            for reason in ("rate_limit", "too_many_tabs", "unauthorized"):
                self.assertIn('gatecast_closes_total{reason="%s"}' % reason, vals)
        _, before = self.metrics(1)
        c, _ = self.connect(1, uid=uniq("l"))
        c.send_json({"type": "login", "uid": uniq("l2")})
        self.assertEqual(c.recv_json().get("type"), "login")
        self.request({"type": "get_all_uid_count"}, gateway=1)
        self.request({"type": "get_all_uid_count"}, gateway=1)
        _, after = self.metrics(1)
        self.assertEqual(after["gatecast_logins_total"] - before["gatecast_logins_total"], 2,
                         "a login by query, then one by message to another uid")
        self.assertGreater(after["gatecast_bytes_in_total"], before["gatecast_bytes_in_total"])
        key = 'gatecast_push_commands_total{command="get_all_uid_count"}'
        self.assertEqual(after[key] - before[key], 2)
        key = 'gatecast_push_commands_total{command="send_to_all"}'
        self.assertEqual(after[key], before[key])

    def test_metrics_push_results_by_command_and_result(self):
        _, before = self.metrics(1)
        uid = uniq("pr")
        c, cid = self.connect(1, uid=uid)
        for _ in range(3):
            self.request({"type": "send_to_uid", "uid": uid, "data": "x"}, gateway=1)
        gone = cid[:-12] + "ffffffffffff"  # that gateway, no such client
        rep = self.request({"type": "get_session", "client_id": gone}, gateway=1, ok=False)
        self.assertEqual(rep.get("error"), "not_found", rep)
        _, after = self.metrics(1)

        def delta(command, result):
            key = 'gatecast_push_results_total{command="%s",result="%s"}' % (command, result)
            return after.get(key, 0) - before.get(key, 0)
        self.assertEqual(delta("send_to_uid", "ok"), 3)
        self.assertEqual(delta("send_to_uid", "error"), 0)
        self.assertEqual(delta("get_session", "error"), 1)
        self.assertEqual(delta("get_session", "ok"), 0)
        c.close()

    # ----------------------------------------------------------- errors, limits

    def test_unknown_route_and_wrong_method(self):
        self.assertEqual(self.call("GET", "/nope")[0], 404)
        self.assertEqual(self.call("POST", "/api")[0], 404)
        st, r, b = self.call("GET", "/api/send_to_uid")
        self.assertEqual(st, 405)
        self.assertEqual(r.getheader("Allow"), "POST")
        self.assertEqual(self.call("POST", "/healthz", "")[0], 405)
        self.assertEqual(self.call("DELETE", "/metrics")[0], 405)
        self.assertEqual(self.call("PUT", "/")[0], 405)

    def test_limits(self):
        out = self.raw(b"POST /api/get_all_uid_count HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"2\r\n{}\r\n0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 411 "), out)
        out = self.raw(b"POST /api/get_all_uid_count HTTP/1.1\r\nContent-Length: %d\r\n\r\n"
                       % (MAX_LINE + 1))
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out)
        out = self.raw(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431 "), out)
        out = self.raw(b"POST /api/x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out)
        st, rep = self.api("send_to_all", {"data": "x" * MAX_LINE})
        self.assertEqual((st, rep["error"]), (413, "too_large"))

    def test_malformed_head_does_not_disturb_others(self):
        h = self.conn()
        self.assertEqual(self.call("GET", "/healthz", h=h)[0], 200)
        out = self.raw(b"\x00\x01garbage\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out)
        self.assertIn(b"Connection: close", out)
        st, rep = self.api("get_all_client_count", h=h)
        self.assertEqual(st, 200)

    def test_incomplete_request_times_out(self):
        t0 = time.monotonic()
        out = self.raw(b"POST /api/get_all_uid_count HTTP/1.1\r\nContent-Length: 10\r\n\r\n{", timeout=10)
        self.assertTrue(out.startswith(b"HTTP/1.1 408 "), out)
        self.assertLess(time.monotonic() - t0, 5)

    def test_expect_100_continue(self):
        s = socket.create_connection(("127.0.0.1", self.cluster.http_port()), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"POST /api/get_all_uid_count HTTP/1.1\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 2\r\n\r\n")
        self.assertEqual(s.recv(100), b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"{}")
        self.assertTrue(s.recv(1000).startswith(b"HTTP/1.1 200 "))


class HttpAuthTest(HttpCase):
    CLUSTER = dict(gateways=1, workers=1)

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()
        c = Cluster(**cls.CLUSTER)
        c.env["GATECAST_PUSH_SECRET"] = PUSH_SECRET
        cls.cluster = c
        c.start()

    def test_bearer_is_required(self):
        for hdr in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": "Basic " + PUSH_SECRET},
                    {"Authorization": "Bearer " + PUSH_SECRET + "x"}):
            st, rep = self.api("get_all_client_count", headers=hdr)
            self.assertEqual((st, rep["ok"], rep["error"]), (401, False, "unauthorized"), hdr)
            st, r, b = self.call("GET", "/?type=publish&content=x", headers=hdr)
            self.assertEqual((st, b), (401, b"fail"))
        good = {"Authorization": "Bearer " + PUSH_SECRET}
        st, rep = self.api("get_all_client_count", headers=good)
        self.assertEqual(st, 200, rep)
        st, r, b = self.call("POST", "/api/batch", '[{"type":"get_all_uid_count"}]', good)
        self.assertEqual(st, 200)
        st, r, b = self.call("GET", "/?type=publish&to=nobody&content=x", headers=good)
        self.assertEqual((st, b), (200, b"offline"))

    def test_health_and_metrics_need_no_auth_and_show_no_secret(self):
        self.assertEqual(self.call("GET", "/healthz")[0], 200)
        self.assertEqual(self.call("GET", "/readyz")[0], 200)
        text, _ = self.metrics()
        self.assertNotIn(PUSH_SECRET, text)
        self.assertNotIn(PUSH_SECRET[-16:], text)


class HttpNoWorkerTest(HttpCase):
    CLUSTER = dict(gateways=1, workers=0, extra_set={"gateway.worker_wait": 0.3})

    def test_not_ready_without_workers(self):
        self.assertEqual(self.call("GET", "/readyz")[::2], (503, b"not ready\n"))
        self.assertEqual(self.call("GET", "/healthz")[::2], (200, b"ok\n"))
        st, rep = self.api("get_all_client_count")
        self.assertEqual((st, rep["error"]), (503, "no_worker"))
        st, r, b = self.call("GET", "/?type=publish&content=x")
        self.assertEqual((st, b), (503, b"fail"))


class HttpWaitingForWorkerTest(HttpCase):
    CLUSTER = dict(gateways=1, workers=0, extra_set={"gateway.worker_wait": 60,
                                                     "gateway.request_timeout": 60})

    def test_queue_gauges_show_a_request_waiting_for_a_worker(self):
        _, vals = self.metrics()
        self.assertEqual((vals["gatecast_workers_live"], vals["gatecast_gateways_live"]), (0, 0))
        self.assertEqual(vals['gatecast_worker_queued_messages{queue="no_worker"}'], 0)
        p = self.push()
        p.send({"type": "get_all_client_count", "id": 1})
        vals = wait_until(lambda: self.metrics()[1], "the request counted in gatecast_pending_requests",
                          ok=lambda v: v["gatecast_pending_requests"] != 0)
        self.assertEqual(vals["gatecast_pending_requests"], 1)
        self.assertEqual(vals['gatecast_worker_queued_messages{queue="no_worker"}'], 1,
                         "the request waits in the gateway for a worker")
        self.assertEqual(vals['gatecast_worker_queued_messages{queue="link"}'], 0)


class HttpDisabledTest(HttpCase):
    CLUSTER = dict(gateways=1, workers=1, extra_set={"http.listen": ""})

    def test_empty_listen_disables_the_port(self):
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.cluster.http_port()), timeout=2).close()
        self.assertIn("http=off", self.cluster.gateways[0].log_text())


if __name__ == "__main__":
    main()
