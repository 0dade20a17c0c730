#!/usr/bin/env bash
# demo.sh: the demo game (services/demo/) on the demo cluster
# (conf/demo.lua: root, net, lobby, db and game1..game3, seven processes
# run by the master) with the embedded defaults: sqlite3 with the rows
# cached in process, the database and the nodes' logs in a temporary
# directory. 50 bots (wisp-bots) log in, each to an agent on one of the
# three game nodes, enter rooms, move and chat for 5 s; the cluster is
# stopped with SIGTERM to the master and started again, and every bot
# must log in to the state it left. It exits 0 only if the bots saw no
# error and the cluster stopped cleanly both times.
# WISP names the wisp binary (build/wisp), WISP_BOTS wisp-bots (beside it,
# in tools/); WISP_GATE_ADDR is where clients connect (127.0.0.1:7100),
# WISP_DEMO_PORT_BASE where the harbors are (7001..7007 above 7000).
# WISP_SECRET is the cluster secret: a fresh one from `wisp --new-secret`
# each run unless it is set; the master's nodes inherit it.
set -euo pipefail
cd "$(dirname "$0")/.."

wisp=${WISP:-build/wisp}
bots=${WISP_BOTS:-$(dirname "$wisp")/tools/wisp-bots}
export WISP_GATE_ADDR=${WISP_GATE_ADDR:-127.0.0.1:7100}
if [ -z "${WISP_SECRET:-}" ]; then
	WISP_SECRET=$("$wisp" --new-secret)
	export WISP_SECRET
fi
work=$(mktemp -d)
export WISP_DB_FILE=$work/demo.db
pid=

stop_cluster() {
	[ -n "$pid" ] || return 0
	local code=0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || code=$?
	pid=
	return "$code"
}
trap 'stop_cluster || true' EXIT

# Whether node $2's log in run directory $1 has text $3.
logged() {
	grep -q "$3" "$work/run-$1/$2.log" 2>/dev/null
}

# Starts the master (its own log in $work/master-$1.log, the nodes' in
# $work/run-$1/); waits until the game serves.
start_cluster() {
	local log=$work/master-$1.log
	"$wisp" --run-dir "$work/run-$1" conf/demo.lua > "$log" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		if logged "$1" lobby "demo: login ready" \
			&& logged "$1" net "gate listening for clients"; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "demo: the cluster did not start; the master's log:"
	cat "$log"
	return 1
}

# The master logs one line per node as it stops it.
show_stop() {
	grep -o "node [a-z0-9]* stopped (exit [0-9]*)" "$work/master-$1.log" \
		| sed 's/^/demo: /' || true
}

status=0
start_cluster first || status=1
if [ "$status" -eq 0 ]; then
	echo "demo: the cluster is up (root, net, lobby, db, game1..game3);" \
		"50 bots play for 5 s on $WISP_GATE_ADDR"
	"$bots" --bots 50 --rooms 5 --duration 5 --save "$work/players.txt" \
		"$WISP_GATE_ADDR" || status=1
	stop_cluster || { echo "demo: the cluster did not stop cleanly"; status=1; }
	show_stop first
fi
if [ "$status" -eq 0 ]; then
	echo "demo: the cluster restarted; each bot logs in again"
	start_cluster again || status=1
fi
if [ "$status" -eq 0 ]; then
	"$bots" --bots 50 --duration 0 --verify "$work/players.txt" \
		"$WISP_GATE_ADDR" || status=1
	stop_cluster || { echo "demo: the cluster did not stop cleanly"; status=1; }
fi
trap - EXIT
stop_cluster || true
if [ "$status" -eq 0 ]; then
	echo "demo: the game stopped cleanly"
	rm -rf "$work"
else
	echo "demo: something went wrong; the logs are in $work"
fi
exit "$status"
