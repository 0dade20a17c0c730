#!/usr/bin/env bash
# demo.sh: the main job on the embedded defaults: a small cluster of three
# processes from conf/demo.lua (root, game1, game2). game1's visitor calls
# game2's greeter across the harbor; the script shows what they logged and
# stops the cluster with SIGTERM. WISP names the wisp binary (default
# build/wisp); WISP_DEMO_PORT_BASE moves the harbor ports (default 7000).
set -euo pipefail
cd "$(dirname "$0")/.."

wisp=${WISP:-build/wisp}
logs=$(mktemp -d)
pids=()
stop_all() {
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
}
trap stop_all EXIT

for node in root game2 game1; do
	"$wisp" conf/demo.lua "$node" > "$logs/$node.log" 2>&1 &
	pids+=($!)
done

for _ in $(seq 300); do
	grep -q "demo: done\|demo: failed" "$logs/game1.log" && break
	sleep 0.1
done
grep -h "demo:" "$logs/game1.log" | sed 's/.*demo:/demo:/'

status=0
grep -q "demo: done" "$logs/game1.log" || status=1
stop_all
for pid in "${pids[@]}"; do
	wait "$pid" || status=1
done
trap - EXIT
if [ "$status" -eq 0 ]; then
	echo "demo: the cluster stopped cleanly"
	rm -rf "$logs"
else
	echo "demo: something went wrong; the nodes' logs are in $logs"
fi
exit "$status"
