#!/usr/bin/env bash
# instr.sh — instructions a push costs in the gateway and in the worker,
# counted by valgrind's callgrind: repeatable for the same binaries and
# inputs whatever else the machine is doing (a 2-core box shared with other
# work moves CPU-time figures by tens of percent; instruction counts do not
# move). For comparing two builds of the same scenario, not for wall time.
#
#   bench/instr.sh [BUILD_DIR]        (default build-bench/)
#
# Starts a register, one gateway and one worker by hand (the gateway and
# the worker under callgrind), connects 200 clients with gcload, and runs
# two unicast loads, SHORT and LONG pushes at 100/s. Each process's total
# is read at the end of each run; the difference between the two runs,
# divided by the pushes between them, is the per-push cost with connects,
# start-up and shutdown cancelled out. Only the loop thread is counted
# (--separate-threads): it does all of a push's work, while nng's threads,
# which carry the announces to the register, spin for as long as timing
# makes them and would add noise. Prints one line per process and one JSON
# line. Needs valgrind and a gcload in BUILD_DIR/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-bench}
SHORT=${SHORT:-500}
LONG=${LONG:-2500}
RATE=100
RUN=$(mktemp -d /tmp/gcinstr.XXXXXX)
export GATECAST_CLUSTER_SECRET=instr-bench-secret-0123456789abcdef0123456789
PORT_WS=17372 PORT_PUSH=18906 PORT_HTTP=12221 PORT_REG=11338
SETS=(--set auth.mode=none --set cluster.run_dir=$RUN --set log.level=info
	--set register.listen=tcp://127.0.0.1:$PORT_REG
	--set gateway.max_connections_per_ip=0 --set gateway.max_connections_per_uid=0)
GW_SETS=(--set gateway.ws_listen=127.0.0.1:$PORT_WS --set gateway.push_listen=127.0.0.1:$PORT_PUSH
	--set http.listen=127.0.0.1:$PORT_HTTP)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# One measurement: a fresh cluster, N pushes; sets G W S (gateway and
# worker instructions, pushes sent; S is -1 when any was lost).
measure() {
	local n=$1 cg=(valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=$RUN/cg.%p)
	rm -f "$RUN"/cg.*
	"$B/register/gatecast-register" "${SETS[@]}" >"$RUN/register.log" 2>&1 &
	local reg=$!
	"${cg[@]}" "$B/gateway/gatecast-gateway" "${SETS[@]}" "${GW_SETS[@]}" >"$RUN/gateway.log" 2>&1 &
	local gw=$!
	"${cg[@]}" "$B/worker/gatecast-worker" "${SETS[@]}" >"$RUN/worker.log" 2>&1 &
	local wk=$!
	pids=($reg $gw $wk)
	# Ready when the gateway answers on its push port and sees the worker.
	for _ in $(seq 600); do
		grep -q 'event=cluster_view.*workers=1' "$RUN/gateway.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q 'event=cluster_view.*workers=1' "$RUN/gateway.log" ||
		{ echo "instr: the cluster did not come up" >&2; cat "$RUN"/*.log >&2; exit 1; }
	local out
	out=$("$B/bench/gcload" unicast -n 200 -r $RATE -t $((n / RATE)) --server 127.0.0.1:$PORT_WS \
		--push 127.0.0.1:$PORT_PUSH --label instr 2>/dev/null)
	kill -TERM $gw $wk
	wait $gw $wk 2>/dev/null || true
	kill -TERM $reg
	wait $reg 2>/dev/null || true
	pids=()
	local sent gi wi
	sent=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["sent"] if d["lost"] == 0 else -1)' "$out")
	gi=$(grep -h '^summary:' "$RUN/cg.$gw-01" | awk '{print $2}')
	wi=$(grep -h '^summary:' "$RUN/cg.$wk-01" | awk '{print $2}')
	G=$gi W=$wi S=$sent
}

measure "$SHORT"; g1=$G w1=$W s1=$S
measure "$LONG"; g2=$G w2=$W s2=$S
[ "$s1" -gt 0 ] && [ "$s2" -gt "$s1" ] || { echo "instr: a run lost pushes or sent none" >&2; exit 1; }
python3 - "$g1" "$w1" "$s1" "$g2" "$w2" "$s2" "$B" <<'PY'
import json, sys
g1, w1, s1, g2, w2, s2 = map(int, sys.argv[1:7])
d = s2 - s1
g, w = (g2 - g1) / d, (w2 - w1) / d
print(f"gateway: {g:,.0f} instructions per push ({s1} and {s2} pushes)")
print(f"worker:  {w:,.0f} instructions per push")
print(json.dumps({"build": sys.argv[7], "pushes": [s1, s2], "gateway_ir_per_push": round(g),
                  "worker_ir_per_push": round(w)}))
PY
