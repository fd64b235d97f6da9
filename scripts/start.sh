#!/usr/bin/env bash
# Quick start: install what is missing, build, and run a local cluster in the
# foreground (Ctrl-C stops it). Arguments go to `gatecast start`, e.g.
#   scripts/start.sh --set gateway.count=2 -c gatecast.ini
#
# With no arguments and no GATECAST_AUTH_SECRET in the environment this is
# the demo: auth.mode = none, so browsers may declare any uid. Anything you
# expose to real users needs auth.secret (see README, "Tokens").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if [ $# -eq 0 ] && [ -z "${GATECAST_AUTH_SECRET:-}" ]; then
	echo "gatecast: demo mode (auth.mode = none): clients may claim any uid." >&2
	echo "gatecast: set GATECAST_AUTH_SECRET (32+ bytes) for token authentication." >&2
	exec build/launcher/gatecast start --set auth.mode=none
fi
exec build/launcher/gatecast start "$@"
