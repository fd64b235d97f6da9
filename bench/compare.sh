#!/usr/bin/env bash
# compare.sh — gatecast beside nchan (nginx) and Node + ws, measured with
# bench/gcload in one run on this host, and a table of the numbers and the
# ratios gatecast/other (bench/table.py). Run as root from anywhere in a
# checkout; it installs what is missing (idempotent), builds gatecast in
# release mode into build-bench/, and starts and stops every server itself,
# each fresh for every measurement, on its own 127.0.0.1 ports.
#
#   bench/compare.sh                # everything, median of 3 runs
#   bench/compare.sh --runs 1       # one run of each measurement
#   bench/compare.sh --quick        # small and short: checks the script
#   bench/compare.sh --only gatecast
#   bench/compare.sh --retry 0      # keep runs that other work disturbed (default: retry 3 times)
#   GC_GATEWAYS=1 GC_WORKERS=1 bench/compare.sh   # another gatecast layout (default 2 + 2)
#
# Results: one JSON line per gcload run in $OUT/results.jsonl (default
# build-bench/compare-<time>/), the table on stdout, and the load average
# before and after (the load generator shares the cores with the servers:
# numbers from a busy machine are not worth comparing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=3
RETRY=3   # times a measurement disturbed by other work is taken again
QUICK=0
ONLY="gatecast nchan node"
EXTRA=1   # gatecast only: 40k connections, highest rate with p99 < 5 ms
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--quick) QUICK=1; RUNS=1; shift ;;
	--only) ONLY=${2//,/ }; shift 2 ;;
	--no-extra) EXTRA=0; shift ;;
	--retry) RETRY=$2; shift 2 ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

OUT=${OUT:-$ROOT/build-bench/compare-$(date +%Y%m%d-%H%M%S)}
RUN=/tmp/gcbench
GCLOAD=$ROOT/build-bench/bench/gcload
GATECAST=$ROOT/build-bench/launcher/gatecast
say() { echo "compare: $*" >&2; }

# --- what the run needs -------------------------------------------------
install_deps() {
	bash scripts/deps.sh
	local missing=()
	for p in nginx libnginx-mod-nchan; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	# Node 20 is the machine's own (Debian 12's nodejs is 18): only checked below.
	command -v node >/dev/null || { say "node is missing: install Node 20"; exit 1; }
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	# Debian starts the packaged nginx where it can; it is not ours to measure.
	if [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
		say "stopping the system nginx (pid $(cat /run/nginx.pid))"
		nginx -s stop 2>/dev/null || true
	fi
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge 20 ] || { say "Node $major is too old: 20 or newer"; exit 1; }
	if [ ! -f bench/node/node_modules/ws/package.json ] ||
		[ bench/node/package-lock.json -nt bench/node/node_modules/.package-lock.json ]; then
		say "npm ci in bench/node"
		(cd bench/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	fi
}

build() {
	if [ ! -f build-bench/build.ninja ]; then
		meson setup build-bench --buildtype=release -Db_ndebug=true >/dev/null
	fi
	ninja -C build-bench >/dev/null
}

# --- the servers ---------------------------------------------------------
# Each start_* sets SERVER_PID (whose process tree is the server), WS, PUSH,
# and the gcload options that differ between servers.
GC_GATEWAYS=${GC_GATEWAYS:-2}
GC_WORKERS=${GC_WORKERS:-2}
gc_args() {
	echo --set auth.mode=none --set gateway.count=$GC_GATEWAYS --set worker.count=$GC_WORKERS \
		--set cluster.run_dir=$RUN/gatecast \
		--set gateway.ws_listen=127.0.0.1:17272 --set gateway.push_listen=127.0.0.1:18806 \
		--set http.listen=127.0.0.1:12121 --set register.listen=tcp://127.0.0.1:11238 \
		--set gateway.max_connections_per_ip=0 --set gateway.max_connections_per_uid=0 \
		--set log.level=warn
}
start_gatecast() {
	# shellcheck disable=SC2046
	"$GATECAST" start -d $(gc_args) >/dev/null
	SERVER_PID=$(cat $RUN/gatecast/gatecast.pid)
	WS=127.0.0.1:17272 PUSH=127.0.0.1:18806
	SUB=(--login query --path '/?uid=%u') SUBALL=("${SUB[@]}") PUB=(--publish push)
}
stop_gatecast() {
	# shellcheck disable=SC2046
	"$GATECAST" stop $(gc_args) >/dev/null 2>&1 || true
}

start_nchan() {
	mkdir -p $RUN/nchan
	sed -e "s|@DIR@|$RUN/nchan|g" -e "s|@WS@|127.0.0.1:17274|" -e "s|@PUB@|127.0.0.1:18808|" \
		bench/nchan/nginx.conf.in >$RUN/nchan/nginx.conf
	rm -f $RUN/nchan/nginx.pid
	nginx -p $RUN/nchan -c $RUN/nchan/nginx.conf -e $RUN/nchan/error.log
	for _ in $(seq 50); do [ -s $RUN/nchan/nginx.pid ] && break; sleep 0.1; done
	SERVER_PID=$(cat $RUN/nchan/nginx.pid)
	WS=127.0.0.1:17274 PUSH=127.0.0.1:18808
	SUB=(--login none --path '/sub/%u') SUBALL=(--login none --path '/sub/all')
	PUB=(--publish nchan --pub-path '/pub/%u')
}
stop_nchan() {
	if [ -s $RUN/nchan/nginx.pid ]; then
		local pid
		pid=$(cat $RUN/nchan/nginx.pid)
		kill -QUIT "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
}

start_node() {
	node bench/node/server.mjs --ws-port 17273 --push-port 18807 >$RUN/node.log 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 50); do grep -q listening $RUN/node.log 2>/dev/null && break; sleep 0.1; done
	WS=127.0.0.1:17273 PUSH=127.0.0.1:18807
	SUB=(--login query --path '/?uid=%u') SUBALL=("${SUB[@]}") PUB=(--publish push)
}
stop_node() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
}

stop_all() {
	stop_gatecast
	stop_nchan
	[ -n "${NODE_UP:-}" ] && stop_node
	true
}
trap stop_all EXIT

# --- one measurement -----------------------------------------------------
# CPU seconds (user + system) of pid and all its descendants.
tree_cpu() {
	python3 - "$1" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
stats = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            s = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        f = s[s.rfind(")") + 2:].split()
        stats[int(d)] = (int(f[1]), int(f[11]) + int(f[12]))
todo, total = [int(sys.argv[1])], 0
while todo:
    p = todo.pop()
    total += stats.get(p, (0, 0))[1]
    todo += [c for c, (pp, _) in stats.items() if pp == p]
print(total / hz)
PY
}
# CPU seconds the whole machine has spent in processes since boot (user,
# nice, system; interrupts and softirqs, where loopback traffic is handled,
# belong to no process and are left out).
machine_cpu() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2+$3+$4)/hz}' /proc/stat; }

# measure_once SERVER NAME SCENARIO [gcload options]: a fresh server, one
# gcload run, its JSON line (with "server" and "name" added) in $LINE.
# "other_cpu_s" is the CPU the machine spent during the run on anything
# but the server and gcload: other people's work that disturbed it.
measure_once() {
	local server=$1 name=$2 scenario=$3
	shift 3
	"start_$server"
	[ "$server" = node ] && NODE_UP=1
	sleep 1
	local sub=("${SUB[@]}")
	[ "$scenario" = broadcast ] && sub=("${SUBALL[@]}")
	local line rc tm m0 m1 s0 s1 wall0 wall1
	m0=$(machine_cpu) s0=$(tree_cpu "$SERVER_PID") wall0=$(date +%s.%N)
	set +e
	tm=$( { TIMEFORMAT='%U %S'; time "$GCLOAD" "$scenario" --server "$WS" --push "$PUSH" \
		"${sub[@]}" "${PUB[@]}" --pid "$SERVER_PID" --label "$server/$name" "$@" \
		>"$OUT/line" 2>>"$OUT/gcload.log"; } 2>&1)
	rc=$?
	set -e
	m1=$(machine_cpu) s1=$(tree_cpu "$SERVER_PID") wall1=$(date +%s.%N)
	line=$(cat "$OUT/line")
	"stop_$server"
	NODE_UP=
	LINE=
	if [ -z "$line" ]; then
		say "$server $name: gcload failed (rc $rc), see $OUT/gcload.log"
		return 0
	fi
	local other
	other=$(awk -v a="$m0" -v b="$m1" -v s0="$s0" -v s1="$s1" -v t="$tm" \
		'BEGIN { split(t, g, " "); o = (b - a) - (s1 - s0) - g[1] - g[2]; if (o < 0) o = 0; printf "%.2f", o }')
	line="${line%\}},\"server\":\"$server\",\"name\":\"$name\",\"rc\":$rc"
	line="$line,\"wall_s\":$(awk -v a="$wall0" -v b="$wall1" 'BEGIN{printf "%.1f", b - a}')"
	line="$line,\"server_cpu_s\":$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", b - a}')"
	line="$line,\"gcload_cpu_s\":$(awk -v t="$tm" 'BEGIN{split(t, g, " "); printf "%.2f", g[1] + g[2]}')"
	line="$line,\"other_cpu_s\":$other,\"loadavg\":\"$(loadavg)\""
	LINE=$line
	say "$server $name: $(python3 bench/table.py --brief <<<"$line}") (other CPU ${other} s)"
}

# measure: measure_once, again (after a pause) while other work disturbed
# it, up to RETRY more times. Every attempt goes into results.jsonl; the
# ones that were retried say "retried":true and the table leaves them out.
measure() {
	local attempt
	for attempt in $(seq 0 "$RETRY"); do
		measure_once "$@"
		[ -n "$LINE" ] || return 0
		if [ "$attempt" -lt "$RETRY" ] && python3 bench/table.py --disturbed <<<"$LINE}"; then
			echo "$LINE,\"retried\":true}" >>"$OUT/results.jsonl"
			say "$1 $2: disturbed by other work, again in 20 s"
			sleep 20
			continue
		fi
		echo "$LINE}" >>"$OUT/results.jsonl"
		return 0
	done
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

main() {
	install_deps
	build
	mkdir -p "$OUT" "$RUN"
	rm -rf "${RUN:?}/gatecast"
	say "results in $OUT; load average before: $(loadavg)"
	echo "{\"meta\":\"start\",\"loadavg\":\"$(loadavg)\",\"nproc\":$(nproc),\"date\":\"$(date -Is)\",\"commit\":\"$(git rev-parse --short HEAD 2>/dev/null)\",\"dirty\":$(git status --porcelain --untracked-files=no 2>/dev/null | grep -c . || true),\"gatecast\":\"$GC_GATEWAYS gateways, $GC_WORKERS workers\"}" >>"$OUT/results.jsonl"

	local n1=1000 n10=10000 t=10 k=100
	[ "$QUICK" = 1 ] && n1=200 n10=1000 t=2 k=10
	# The machine's floor: what 2 process hops (nchan's and Node's push
	# path) and 4 (gatecast's) cost with no server code at all.
	local hops line
	for hops in 2 4; do
		line=$("$ROOT/build-bench/bench/gchops" -n $hops -r 2000 -t $t)
		echo "${line/\{/{\"meta\":\"floor\",\"loadavg\":\"$(loadavg)\",}" >>"$OUT/results.jsonl"
		say "floor, $hops hops at 2,000/s: $line"
	done
	for run in $(seq "$RUNS"); do
		for s in $ONLY; do
			measure "$s" idle idle -n $n10 --base $n1 --settle 3
			measure "$s" unicast_2k unicast -n $n1 -r 2000 -t $t
			measure "$s" unicast_20k unicast -n $n10 -r 20000 -t $t
			measure "$s" broadcast_1k broadcast -n $n1 -k $k
			measure "$s" broadcast_10k broadcast -n $n10 -k $k
			measure "$s" connect connect -n $n10
		done
		say "run $run of $RUNS done; load average $(loadavg)"
	done

	if [ "$EXTRA" = 1 ] && [[ " $ONLY " == *" gatecast "* ]]; then
		# 40,000 connections: 20,000 fds per process, so 4 gateways and
		# 4 load processes keep each well under it.
		local n40=40000
		[ "$QUICK" = 1 ] && n40=4000
		local gw=$GC_GATEWAYS
		GC_GATEWAYS=4
		measure gatecast idle_40k idle -n $n40 --base $n10 --procs 4 --settle 5
		GC_GATEWAYS=$gw
		# The highest rate at 10,000 clients with p99 < 5 ms and nothing lost.
		for r in 1000 2000 3000 4000 5000 7500 10000 15000 20000 30000 40000 60000 80000 100000; do
			measure gatecast "rate_$r" unicast -n $n10 -r $r -t 5
			python3 bench/table.py --passes-rate "rate_$r" <"$OUT/results.jsonl" || break
		done
	fi
	echo "{\"meta\":\"end\",\"loadavg\":\"$(loadavg)\",\"date\":\"$(date -Is)\"}" >>"$OUT/results.jsonl"
	say "load average after: $(loadavg)"
	python3 bench/table.py <"$OUT/results.jsonl" | tee "$OUT/table.md"
}

main
