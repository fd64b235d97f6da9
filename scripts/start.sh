#!/usr/bin/env bash
# Quick start: install what is missing, build, and run a local cluster in the
# foreground (Ctrl-C stops it). Arguments go to `gatecast start`, e.g.
#   scripts/start.sh --set gateway.count=2 -c gatecast.ini
#
# With no arguments this is the demo: the gateway serves the demo page at
# http://127.0.0.1:7272/demo/ (demo.enabled = on) and counts who is online in
# the company:* groups. Clients log in with real tokens (auth.mode = token):
# the secret is GATECAST_AUTH_SECRET when set, else one made on the first
# run and kept in build/demo-auth-secret. The demo page gets its tokens from
# /demo/token, which signs one for ANY uid: never expose the demo to users
# you don't trust (see SECURITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if [ $# -eq 0 ]; then
	if [ -z "${GATECAST_AUTH_SECRET:-}" ]; then
		secret_file=build/demo-auth-secret
		if [ ! -s "$secret_file" ]; then
			(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret_file")
		fi
		GATECAST_AUTH_SECRET=$(cat "$secret_file")
		export GATECAST_AUTH_SECRET
		echo "gatecast: auth.secret is in $secret_file; to sign tokens from a shell or a backend:" >&2
		echo "gatecast:   export GATECAST_AUTH_SECRET=\$(cat $PWD/$secret_file)" >&2
	fi
	echo "gatecast: demo mode: /demo/token hands out a token for any uid. Never in production." >&2
	echo "gatecast: open http://127.0.0.1:7272/demo/ in a browser (from another machine, use this" \
		"server's address)." >&2
	exec build/launcher/gatecast start --set demo.enabled=on --set 'gateway.presence_groups=company:*'
fi
exec build/launcher/gatecast start "$@"
