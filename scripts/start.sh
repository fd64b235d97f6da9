#!/usr/bin/env bash
# Quick start: install what is missing, build, and run a local cluster in the
# foreground (Ctrl-C stops it). Arguments go to `gatecast start`, e.g.
#   scripts/start.sh --set gateway.count=2 -c gatecast.ini
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/launcher/gatecast start "$@"
