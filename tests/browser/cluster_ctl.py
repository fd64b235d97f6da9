#!/usr/bin/env python3
"""cluster_ctl — a real gatecast cluster for the browser test, driven over
stdin/stdout by demo.test.mjs (Node has the browser; Python has the fixture).

Starts tests/integration/cluster.py's Cluster with the settings given as
KEY=VALUE arguments, prints one JSON line {"ws_ports":[…],"push_ports":[…],
"http_ports":[…]}, then answers one JSON line per request line:

    {"cmd":"push","gateway":1,"req":{…push-port command…}} → the push reply
    {"cmd":"kill","gateway":0}    SIGKILL that gateway       → {"ok":true}
    {"cmd":"start","gateway":0}   start it again, same ports → {"ok":true}
    {"cmd":"stop"}                stop the cluster and exit  → {"ok":true}

EOF on stdin stops the cluster too. Process logs go to stderr on failure.
"""

import json
import os
import signal
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import cluster  # noqa: E402


def main():
    sets = dict(a.split("=", 1) for a in sys.argv[1:])
    gateways = int(sets.pop("gateways", "2"))
    workers = int(sets.pop("workers", "2"))
    c = cluster.Cluster(gateways=gateways, workers=workers, extra_set=sets)
    try:
        c.start()
    except Exception as e:
        print(json.dumps({"ok": False, "error": str(e)}), flush=True)
        return 1
    print(json.dumps({"ok": True, "ws_ports": c.ws_ports, "push_ports": c.push_ports,
                      "http_ports": c.http_ports, "run_dir": c.run_dir}), flush=True)
    failed = False
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                cmd = r["cmd"]
                if cmd == "push":
                    p = c.push(r.get("gateway", 0))
                    try:
                        out = p.request(r["req"])
                    finally:
                        p.close()
                elif cmd == "kill":
                    c.kill("gateway", r["gateway"], sig=signal.SIGKILL)
                    out = {"ok": True}
                elif cmd == "start":
                    c.start_process("gateway", r["gateway"])
                    if not cluster.wait_port(c.ws_ports[r["gateway"]], 10):
                        raise cluster.FixtureError("gateway %d does not listen" % r["gateway"])
                    out = {"ok": True}
                elif cmd == "logs":
                    c.dump_logs()
                    out = {"ok": True}
                elif cmd == "stop":
                    print(json.dumps({"ok": True}), flush=True)
                    break
                else:
                    out = {"ok": False, "error": "unknown cmd %r" % cmd}
            except Exception as e:  # report, keep serving
                traceback.print_exc()
                failed = True
                out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(out), flush=True)
        c.check_alive()
    except Exception:
        failed = True
        traceback.print_exc()
    finally:
        if failed:
            c.dump_logs()
        c.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
