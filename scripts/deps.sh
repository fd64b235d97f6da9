#!/usr/bin/env bash
# Installs the Debian 12 packages gatecast needs to build and test, only
# those missing, so running it again is cheap. Needs root (or sudo).
set -euo pipefail

packages=(
	gcc pkg-config cmake meson ninja-build
	libevent-dev libnng-dev libmsgpack-dev libjansson-dev libmbedtls-dev
	python3 netcat-openbsd valgrind iproute2 php-cli chromium
	openssl  # the TLS tests make their certificates with it
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The browser library's tests and the browser test run on Node; a machine
# without any gets Debian's (the browser test needs Node 20 and says so).
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
