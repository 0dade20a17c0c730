#!/usr/bin/env bash
# setup.sh: installs the Debian packages wisp needs (only the missing ones)
# and builds it into build/ (or the directory given as $1). With --web
# first (tools/setup.sh --web [DIR]) also node and npm, for the TypeScript
# SDK's tests (tools/client-js); with --browser, those and chromium, for
# the browser demo's test (test/web-demo); with --tests, all of that and
# what the operations tests drive (tmux for `wisp-ctl top`, a Prometheus
# server): left out by default, so the first build stays quick.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc pkg-config meson ninja-build python3 libjemalloc-dev
	liblua5.4-dev libzstd-dev libsqlite3-dev libmemcached-dev memcached
	sqlite3 curl libssl-dev openssl libwslay-dev postgresql libpq-dev)
case "${1:-}" in --web | --browser | --tests)
	[ "$1" = "--web" ] || packages+=(chromium)
	[ "$1" != "--tests" ] || packages+=(tmux prometheus)
	shift
	# a node of another origin (nodesource's brings its own npm) will do
	command -v node >/dev/null && command -v npm >/dev/null \
		|| packages+=(nodejs npm) ;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
		|| missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$@"
fi
meson compile -C "$build"
