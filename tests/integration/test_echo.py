#!/usr/bin/env python3
"""
The echo app: whatever a browser sends comes back byte-exact, with the same
opcode, in order — a check of the gateway's framing at every length class.

Run: GATECAST_BUILD=build python3 tests/integration/test_echo.py
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsclient  # noqa: E402
from cluster import ClusterTestCase, main, uniq  # noqa: E402

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000]


def text_of_size(n, seed):
    """Valid UTF-8 of exactly n bytes, mixing 1-, 2-, 3- and 4-byte chars."""
    rnd = random.Random(seed)
    out = []
    size = 0
    alphabet = ["a", "Z", "0", " ", "{", "\"", "é", "ß", "✓", "日", "😀"]
    while size < n:
        ch = rnd.choice(alphabet)
        b = len(ch.encode("utf-8"))
        if size + b > n:
            ch, b = "x", 1
        out.append(ch)
        size += b
    s = "".join(out)
    assert len(s.encode("utf-8")) == n
    return s


class EchoTest(ClusterTestCase):
    CLUSTER = dict(gateways=1, workers=2, app="echo", extra_set={"gateway.max_message": "1M"})

    def echo_client(self):
        """A connected client whose preliminaries (a welcome, if the echo app
        sends one) are consumed: a sync message is sent and read back."""
        c = self.ws(0)
        token = uniq("sync")
        c.send_text(token)
        while True:
            m = c.recv(10)
            if m.is_text and m.text == token:
                return c

    def test_text_sizes(self):
        c = self.echo_client()
        for n in SIZES:
            with self.subTest(size=n):
                s = text_of_size(n, n)
                c.send_text(s)
                m = c.recv(10)
                self.assertTrue(m.is_text, "size %d came back as %r" % (n, m))
                self.assertEqual(len(m.data), n)
                self.assertEqual(m.data, s.encode("utf-8"))

    def test_binary_sizes(self):
        c = self.echo_client()
        for n in SIZES:
            with self.subTest(size=n):
                data = os.urandom(n)
                c.send_binary(data)
                m = c.recv(10)
                self.assertTrue(m.is_binary, "size %d came back as %r" % (n, m))
                self.assertEqual(len(m.data), n)
                self.assertEqual(m.data, data)

    def test_100_messages_in_order(self):
        c = self.echo_client()
        sent = []
        for i in range(100):
            if i % 2:
                payload = ("msg-%d-" % i) + "x" * (i * 37 % 300)
                c.send_text(payload)
                sent.append((wsclient.OP_TEXT, payload.encode()))
            else:
                payload = bytes([i]) * (i * 53 % 400)
                c.send_binary(payload)
                sent.append((wsclient.OP_BINARY, payload))
        got = [c.recv(10) for _ in sent]
        self.assertEqual([(m.opcode, m.data) for m in got], sent)

    def test_fragmented_message_comes_back_whole(self):
        c = self.echo_client()
        s = text_of_size(5000, 7)
        c.send_fragmented(wsclient.OP_TEXT, s, [1, 1000, 0, 2000], interleave_ping=True)
        m = c.recv(10)
        self.assertTrue(m.is_text, m)
        self.assertEqual(m.data, s.encode("utf-8"))
        data = os.urandom(3000)
        c.send_fragmented(wsclient.OP_BINARY, data, [1500])
        self.assertEqual(c.recv_binary(10), data)

    def test_many_clients_do_not_mix(self):
        clients = [self.echo_client() for _ in range(10)]
        for i, c in enumerate(clients):
            c.send_text("client-%d" % i)
        for i, c in enumerate(clients):
            self.assertNextText(c, "client-%d" % i, timeout=10)


if __name__ == "__main__":
    main(timeout=280)
