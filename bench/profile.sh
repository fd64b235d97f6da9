#!/usr/bin/env bash
# profile.sh — where gatecast spends its time under one gcload scenario:
# starts a cluster from build-bench/ (as compare.sh does: 2 gateways,
# 2 workers), records `perf record -g` on all of its processes while gcload
# runs, and prints the top of `perf report` by process and library, by
# symbol for the gateways and the workers, and the gateway's self time
# in user space.
#
#   bench/profile.sh broadcast -n 10000 -k 100
#   bench/profile.sh unicast -n 1000 -r 2000 -t 5
#   bench/profile.sh connect -n 10000
#
# Needs perf (Debian: linux-perf) and a built build-bench/ (compare.sh
# builds it). The data stays in build-bench/profile-<scenario>.data.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,14p' "$0"; exit 2; }
scenario=$1
shift
GATECAST=build-bench/launcher/gatecast
RUN=/tmp/gcbench-profile
ARGS=(--set auth.mode=none --set gateway.count=${GC_GATEWAYS:-2} --set worker.count=${GC_WORKERS:-2}
	--set cluster.run_dir=$RUN --set gateway.ws_listen=127.0.0.1:17272
	--set gateway.push_listen=127.0.0.1:18806 --set http.listen=127.0.0.1:12121
	--set register.listen=tcp://127.0.0.1:11238 --set gateway.max_connections_per_ip=0
	--set gateway.max_connections_per_uid=0 --set log.level=warn)
DATA=build-bench/profile-$scenario.data

"$GATECAST" start -d "${ARGS[@]}" >/dev/null
trap '"$GATECAST" stop "${ARGS[@]}" >/dev/null 2>&1 || true' EXIT
launcher=$(cat $RUN/gatecast.pid)
pids=$(pgrep -d, -P "$launcher")
sleep 1
perf record -q -F 1999 -g -o "$DATA" -p "$pids" &
perf_pid=$!
sleep 0.5
build-bench/bench/gcload "$scenario" --server 127.0.0.1:17272 --push 127.0.0.1:18806 \
	--label "profile/$scenario" "$@" || true
kill -INT $perf_pid
wait $perf_pid 2>/dev/null || true

set +o pipefail # head closes the pipe early; perf report then fails on SIGPIPE
report() { perf report -i "$DATA" --no-children -g none "$@" 2>/dev/null | grep -v '^#' | grep '%'; }
echo "== by process and library (CPU time over the whole run: connecting, then the scenario)"
report --sort comm,dso | head -15
for comm in gatecast-gatewa gatecast-worker nng:task; do
	echo "== $comm, by symbol"
	report --comm "$comm" --sort sym | head -20
done
echo "== gatecast-gateway's own code (user space, self time)"
report --comm gatecast-gatewa --dso gatecast-gateway --sort sym | head -15
