#!/usr/bin/env bash
# Installs what is missing, builds, and runs the tests in three passes:
#   1. every test on the normal build (build/);
#   2. the tests that run our C (suites 'unit' and 'daemons': the unit
#      tests, the integration tests and the browser demo, which start the
#      daemons) on a build with AddressSanitizer + UBSan, no recovery, and
#      -Dwerror=true (build-sanitize/): a compiler warning fails the build,
#      a memory error, leak or undefined behaviour in any daemon fails the
#      test that started it. Tests that run no C of ours (systemd units,
#      docs checks, the JS-only client test) are not run twice;
#   3. the unit tests under valgrind memcheck (errors or leaks fail).
# Ends with one summary line: "tests: N passed, N failed, N skipped" (a
# build that fails counts as a failed test). GATECAST_SANITIZE=0 runs only
# pass 1. Arguments go to `meson test` in passes 1 and 2 (e.g. --suite
# unit); in pass 2 they replace the default suite selection.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh || exit 1

logs=()
rc=0
# Stale logs of an earlier run must not count.
rm -f build/meson-logs/testlog*.json build-sanitize/meson-logs/testlog*.json
echo "== tests: build/"
meson test -C build --print-errorlogs --num-processes 2 "$@" || rc=1
logs+=(build/meson-logs/testlog.json)

werror_on() {
	meson introspect build-sanitize --buildoptions 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if any(o["name"] == "werror" and o["value"] is True for o in json.load(sys.stdin)) else 1)'
}

if [ "${GATECAST_SANITIZE:-1}" != 0 ]; then
	if [ ! -f build-sanitize/build.ninja ]; then
		meson setup build-sanitize -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true \
			-Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all \
			>/dev/null || exit 1
	elif ! werror_on; then
		# A build-sanitize/ configured before it had -Dwerror=true.
		meson configure build-sanitize -Dwerror=true >/dev/null || exit 1
	fi
	echo "== build: build-sanitize/ (ASan + UBSan, -Dwerror=true)"
	if ninja -C build-sanitize >build-sanitize/ninja.log 2>&1; then
		echo "== tests: build-sanitize/ (ASan + UBSan): suites unit, daemons"
		if [ $# -gt 0 ]; then
			sanitize_args=("$@")
		else
			sanitize_args=(--suite unit --suite daemons)
		fi
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
			LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
			meson test -C build-sanitize --print-errorlogs --num-processes 2 "${sanitize_args[@]}" || rc=1
	else
		# Shown, and counted below as a failure (its test log is missing).
		grep -B2 -A8 -E 'error|warning' build-sanitize/ninja.log | head -80
		echo "build-sanitize/ did not build (ASan + UBSan, -Dwerror=true): see build-sanitize/ninja.log"
		rc=1
	fi
	logs+=(build-sanitize/meson-logs/testlog.json)

	echo "== tests: build/ unit suite under valgrind memcheck"
	meson test -C build --setup valgrind --suite unit --print-errorlogs --num-processes 2 || rc=1
	logs+=(build/meson-logs/testlog-valgrind.json)
fi

python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        f = open(path)
    except OSError:
        print(f"missing test log {path}: counted as a failure")
        failed += 1
        continue
    for line in f:
        try:
            r = json.loads(line).get("result")
        except ValueError:
            print(f"unreadable line in {path}: counted as a failure")
            r = None
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $rc
