#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and
# integration) in three passes:
#   1. the normal build (build/);
#   2. a build with AddressSanitizer + UBSan, no recovery (build-sanitize/),
#      where a memory error, leak or undefined behaviour in any daemon fails
#      the test that started it;
#   3. the unit tests under valgrind memcheck (errors or leaks fail).
# Ends with one summary line: "tests: N passed, N failed, N skipped".
# GATECAST_SANITIZE=0 runs only pass 1; arguments go to `meson test`
# (e.g. --suite unit).
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

if [ "${GATECAST_SANITIZE:-1}" != 0 ]; then
	if [ ! -f build-sanitize/build.ninja ]; then
		meson setup build-sanitize -Db_sanitize=address,undefined -Db_lundef=false \
			-Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all \
			>/dev/null || exit 1
	fi
	ninja -C build-sanitize >/dev/null || exit 1
	echo "== tests: build-sanitize/ (ASan + UBSan)"
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
		LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
		meson test -C build-sanitize --print-errorlogs --num-processes 2 "$@" || rc=1
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
