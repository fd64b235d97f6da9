#!/usr/bin/env python3
"""
idle_memory — RSS per idle, logged-in WebSocket connection.

Starts a real cluster (1 register, 1 gateway, 1 worker; auth.mode = none,
per-IP limit off) from $GATECAST_BUILD (default: build/), opens N WebSocket
connections that log in with ?uid=, waits, and prints each process's RSS
before and after and the bytes per connection. The client is this process
(one socket per connection, so N must stay under the fd limit, 20000 here).

Run: GATECAST_BUILD=build python3 bench/idle_memory.py [N]
This is a measurement, not a test: it prints numbers and asserts only that
every connection was counted by the gateway.
"""
import base64
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from cluster import Cluster  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    with Cluster(gateways=1, workers=1, extra_set={"gateway.max_connections_per_ip": 0}) as c:
        pids = {role: c.proc(role, 0).pid for role in ("register", "gateway", "worker")}
        time.sleep(1)
        before = {r: rss_kb(p) for r, p in pids.items()}
        key = base64.b64encode(os.urandom(16)).decode()
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", c.ws_port(0)))
            s.sendall(("GET /?uid=u%d HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n" % (i, key)).encode())
            socks.append(s)
        for s in socks:
            s.settimeout(10)
            s.recv(4096)
        time.sleep(2)
        count = c.push(0).request({"type": "get_all_client_count"}).get("count")
        after = {r: rss_kb(p) for r, p in pids.items()}
        assert count == n, "gateway counts %r connections, expected %d" % (count, n)
        total = 0
        for r in ("register", "gateway", "worker"):
            d = (after[r] - before[r]) * 1024
            total += d
            print("%-8s RSS %6d KB -> %6d KB  (%+.0f bytes per connection)" % (r, before[r], after[r], d / n))
        print("connections %d, all processes: %.0f bytes per idle logged-in connection" % (n, total / n))
        for s in socks:
            s.close()


if __name__ == "__main__":
    main()
