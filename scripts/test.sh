#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and
# integration) twice: in the normal build (build/) and in a build with
# AddressSanitizer and UBSan (build-sanitize/), where a memory error or leak
# in any daemon fails the test that started it. Ends with one summary line:
# "tests: N passed, N failed, N skipped".
# GATECAST_SANITIZE=0 skips the sanitizer pass; arguments go to `meson test`
# (e.g. --suite unit).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh || exit 1

logs=()
rc=0
echo "== tests: build/"
meson test -C build --print-errorlogs --num-processes 2 "$@" || rc=1
logs+=(build/meson-logs/testlog.json)

if [ "${GATECAST_SANITIZE:-1}" != 0 ]; then
	if [ ! -f build-sanitize/build.ninja ]; then
		meson setup build-sanitize -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
	fi
	ninja -C build-sanitize >/dev/null || exit 1
	echo "== tests: build-sanitize/ (ASan + UBSan)"
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
		meson test -C build-sanitize --print-errorlogs --num-processes 2 "$@" || rc=1
	logs+=(build-sanitize/meson-logs/testlog.json)
fi

python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $rc
