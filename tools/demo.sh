#!/usr/bin/env bash
# demo.sh: the main job on the embedded defaults: starts a node running
# the echo service, talks to it over TCP, and stops it with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${WISP_DEMO_PORT:-9000}
export WISP_ECHO_ADDR="127.0.0.1:$port"
build/wisp conf/echo.lua main &
node=$!
trap 'kill $node 2>/dev/null || true' EXIT

for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.05
done

exec 3<>"/dev/tcp/127.0.0.1/$port"
for line in "hello, wisp" "one thread, many services" "bye"; do
	printf '%s\n' "$line" >&3
	read -r -t 5 reply <&3
	echo "demo: sent '$line', echoed '$reply'"
done
exec 3<&-

kill -TERM "$node"
wait "$node" && echo "demo: node stopped cleanly"
