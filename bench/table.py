#!/usr/bin/env python3
"""
table — the comparison table from bench/compare.sh's results.jsonl (stdin).

  table.py < results.jsonl           a Markdown table: the median of the runs
                                     of each measurement per server, and the
                                     ratio gatecast/other
  table.py --brief < one-line        one line of text for one gcload result
  table.py --passes-rate NAME < ...  exit 0 when the last unicast run NAME had
                                     p99 < 5 ms, nothing lost and the rate met
  table.py --disturbed < one-line    exit 0 when other work took a share of the
                                     CPU during that run (see DISTURBED)

Standard library only.
"""
import json
import statistics
import sys

SERVERS = ["gatecast", "nchan", "node"]

# (label, measurement, value(json) -> number, unit, lower is better)
ROWS = [
    ("memory per idle connection, 1k→10k (Pss)", "idle", lambda j: j["bytes_per_conn"], "B", True),
    ("unicast 2,000/s to 1,000 clients: p50", "unicast_2k", lambda j: j["latency"]["p50_us"], "µs", True),
    ("unicast 2,000/s to 1,000 clients: p99", "unicast_2k", lambda j: j["latency"]["p99_us"], "µs", True),
    ("unicast 20,000/s to 10,000 clients: p99", "unicast_20k", lambda j: j["latency"]["p99_us"], "µs", True),
    ("100 broadcasts to 1,000 clients", "broadcast_1k", lambda j: j["deliveries_per_second"], "deliveries/s", False),
    ("1,000,000 deliveries to 10,000 clients", "broadcast_10k", lambda j: j["seconds"], "s", True),
    ("connects (handshake + login) per second, 10k", "connect", lambda j: j["per_second"], "/s", False),
]

# Counts that must be zero for a run to be clean.
def problems(j):
    out = []
    for key in ("failed", "lost", "misrouted", "duplicated", "missing", "errors", "closed"):
        if j.get(key):
            out.append("%s %s" % (key, j[key]))
    return out


def disturbed(j):
    """Other work took over 0.5 s of CPU and over 5 % of the run's wall time."""
    return j.get("other_cpu_s", 0) > max(0.5, 0.05 * j.get("wall_s", 0))


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "B":
        return "%.0f B" % v
    if unit == "µs":
        if v >= 1e6:
            return "%.1f s" % (v / 1e6)
        if v >= 1e4:
            return "%.1f ms" % (v / 1e3)
        return "%.0f µs" % v
    if unit == "s":
        return "%.3f s" % v
    if v >= 1e6:
        return "%.2f M%s" % (v / 1e6, unit)
    if v >= 1e3:
        return "%.1f k%s" % (v / 1e3, unit)
    return "%.0f %s" % (v, unit)


def brief(j):
    s = j["scenario"]
    if s == "idle":
        text = "%d B per connection (Pss), %d → %d clients" % (j["bytes_per_conn"], j["base"], j["ready"])
    elif s == "unicast":
        l = j["latency"]
        text = "%d/s sent %d: p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, max %.0f µs" % (
            j["sent_per_second"], j["sent"], l["p50_us"], l["p99_us"], l["p999_us"], l["max_us"])
    elif s == "broadcast":
        text = "%d deliveries in %.3f s: %.0f/s" % (j["received"], j["seconds"], j["deliveries_per_second"])
    else:
        text = "%d ready in %.3f s: %.0f/s" % (j["ready"], j["seconds"], j["per_second"])
    p = problems(j)
    return text + ("  [%s]" % ", ".join(p) if p else "")


def main():
    args = sys.argv[1:]
    lines = [json.loads(l) for l in sys.stdin if l.strip()]
    if args[:1] == ["--brief"]:
        print(brief(lines[-1]))
        return 0
    if args[:1] == ["--disturbed"]:
        return 0 if disturbed(lines[-1]) else 1
    if args[:1] == ["--passes-rate"]:
        runs = [j for j in lines if j.get("name") == args[1] and not j.get("retried")]
        if not runs:
            return 1
        j = runs[-1]
        ok = (j["latency"]["p99_us"] < 5000 and not problems(j)
              and j["sent_per_second"] >= 0.97 * j["rate"])
        return 0 if ok else 1

    meta = [j for j in lines if "meta" in j]
    retried = [j for j in lines if j.get("retried")]
    res = [j for j in lines if "meta" not in j and not j.get("retried")]
    by = {}
    for j in res:
        by.setdefault((j["server"], j["name"]), []).append(j)

    def median(server, name, get):
        runs = by.get((server, name), [])
        vals = [get(j) for j in runs]
        return (statistics.median(vals), len(vals)) if vals else (None, 0)

    servers = [s for s in SERVERS if any(k[0] == s for k in by)]
    others = [s for s in servers if s != "gatecast"]
    head = "| measurement | " + " | ".join(servers) + "".join(
        " | gatecast/%s" % o for o in others) + " |"
    print(head)
    print("|" + "---|" * (1 + len(servers) + len(others)))
    for label, name, get, unit, lower in ROWS:
        cells, vals = [], {}
        for s in servers:
            v, n = median(s, name, get)
            vals[s] = v
            cells.append(fmt(v, unit) + (" (%d)" % n if n > 1 else ""))
        for o in others:
            g, x = vals.get("gatecast"), vals.get(o)
            if g is None or x is None or x == 0:
                cells.append("—")
            else:
                r = g / x
                better = r < 1 if lower else r > 1
                cells.append("%.2f× %s" % (r, "better" if better else "worse"))
        print("| %s | %s |" % (label, " | ".join(cells)))
    print()
    print("(n) = median of n runs. Ratio = gatecast's value / the other's; \"better\" accounts for")
    print("whether lower or higher is better in that row.")

    extra = [j for j in res if j["server"] == "gatecast" and (
        j["name"] == "idle_40k" or j["name"].startswith("rate_"))]
    if extra:
        print()
        for j in extra:
            print("* gatecast %s: %s" % (j["name"], brief(j)))
        rates = [j for j in extra if j["name"].startswith("rate_")]
        passing = [j["rate"] for j in rates if j["latency"]["p99_us"] < 5000 and not problems(j)
                   and j["sent_per_second"] >= 0.97 * j["rate"]]
        if rates:
            print("* highest unicast rate at 10,000 clients with p99 < 5 ms and nothing lost: %s" % (
                "%.0f/s" % max(passing) if passing else "none of those tried"))
    bad = [j for j in res if problems(j)]
    if bad:
        print()
        for j in bad:
            print("* not clean: %s %s: %s" % (j["server"], j["name"], ", ".join(problems(j))))
    if retried:
        print()
        print("* %d runs disturbed by other work were taken again and are left out" % len(retried))
    still = [j for j in res if disturbed(j)]
    if still:
        print()
        for j in still:
            print("* disturbed: %s %s: other work took %.1f s of CPU during its %.0f s" % (
                j["server"], j["name"], j["other_cpu_s"], j["wall_s"]))
    for m in meta:
        if m["meta"] == "floor":
            lat = m["latency"]
            print("* floor: %d process hops alone (bench/gchops), %d/s: p50 %.0f µs, p99 %.0f µs" % (
                m["hops"], m["rate"], lat["p50_us"], lat["p99_us"]))
            continue
        extra = ""
        if "gatecast" in m:
            extra = ", gatecast %s, commit %s%s" % (
                m["gatecast"], m.get("commit", "?"),
                " with %d files changed" % m["dirty"] if m.get("dirty") else "")
        print("* %s %s: load average %s%s" % (m["meta"], m.get("date", ""), m["loadavg"], extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
