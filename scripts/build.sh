#!/usr/bin/env bash
# Builds gatecast into build/ (configuring it the first time). Extra
# arguments go to `meson setup` on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build "$@" >/dev/null
fi
ninja -C build >/dev/null
