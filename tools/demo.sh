#!/usr/bin/env bash
# demo.sh: the demo game (services/demo/) on the embedded defaults:
# conf/single.lua, every role in one process, sqlite3 with the rows cached
# in process, the database in a temporary directory. 50 bots (wisp-bots)
# log in, enter rooms, move and chat for 5 s; the node is stopped with
# SIGTERM and started again, and every bot must log in to the state it
# left. It exits 0 only if the bots saw no error and the node stopped
# cleanly both times.
# WISP names the wisp binary (build/wisp), WISP_BOTS wisp-bots (beside it,
# in tools/); WISP_GATE_ADDR is where clients connect (127.0.0.1:7100).
set -euo pipefail
cd "$(dirname "$0")/.."

wisp=${WISP:-build/wisp}
bots=${WISP_BOTS:-$(dirname "$wisp")/tools/wisp-bots}
export WISP_GATE_ADDR=${WISP_GATE_ADDR:-127.0.0.1:7100}
work=$(mktemp -d)
export WISP_DB_FILE=$work/demo.db
pid=

stop_node() {
	[ -n "$pid" ] || return 0
	local code=0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || code=$?
	pid=
	return "$code"
}
trap 'stop_node || true' EXIT

# Starts the node with its log in $work/$1.log; waits until it serves.
start_node() {
	local log=$work/$1.log
	"$wisp" conf/single.lua main > "$log" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		if grep -q "demo: player ready" "$log" \
			&& grep -q "demo: room ready" "$log" \
			&& grep -q "gate listening for clients" "$log"; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "demo: the node did not start; its log:"
	cat "$log"
	return 1
}

status=0
start_node first || status=1
if [ "$status" -eq 0 ]; then
	echo "demo: 50 bots play for 5 s on $WISP_GATE_ADDR (conf/single.lua)"
	"$bots" --bots 50 --rooms 5 --duration 5 --save "$work/players.txt" \
		"$WISP_GATE_ADDR" || status=1
	stop_node || { echo "demo: the node did not stop cleanly"; status=1; }
fi
if [ "$status" -eq 0 ]; then
	echo "demo: the node restarted; each bot logs in again"
	start_node again || status=1
fi
if [ "$status" -eq 0 ]; then
	"$bots" --bots 50 --duration 0 --verify "$work/players.txt" \
		"$WISP_GATE_ADDR" || status=1
	stop_node || { echo "demo: the node did not stop cleanly"; status=1; }
fi
trap - EXIT
stop_node || true
if [ "$status" -eq 0 ]; then
	echo "demo: the game stopped cleanly"
	rm -rf "$work"
else
	echo "demo: something went wrong; the logs are in $work"
fi
exit "$status"
