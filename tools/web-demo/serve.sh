#!/usr/bin/env bash
# serve.sh: the browser demo: starts the demo cluster (conf/demo.lua, run
# by the master, its database and logs in a temporary directory) with its
# gate's WebSocket listener, builds the page and the SDK (stage.sh) and
# serves them over HTTP (python3 -m http.server), prints the URL to open
# and runs until Ctrl-C or SIGTERM, which stop both.
# WISP names the wisp binary (build/wisp); WISP_GATE_ADDR (127.0.0.1:7100)
# and WISP_WS_ADDR (127.0.0.1:7180) are the gate's TCP and WebSocket
# addresses, WISP_WEB_ADDR (127.0.0.1:8080) the page's; WISP_DEMO_PORT_BASE
# places the harbors (conf/demo.lua); WISP_WEB_WORK is where the site is
# built (web-demo beside WISP). WISP_SECRET: a fresh one unless set.
# With WISP_GATE_CERT and WISP_GATE_KEY (gate.tls in conf/demo.lua) the
# page connects over wss://, which the browser must trust.
set -euo pipefail
cd "$(dirname "$0")/../.."

wisp=${WISP:-build/wisp}
export WISP_GATE_ADDR=${WISP_GATE_ADDR:-127.0.0.1:7100}
export WISP_WS_ADDR=${WISP_WS_ADDR:-127.0.0.1:7180}
web=${WISP_WEB_ADDR:-127.0.0.1:8080}
if [ -z "${WISP_SECRET:-}" ]; then
	WISP_SECRET=$("$wisp" --new-secret)
	export WISP_SECRET
fi
site=$(tools/web-demo/stage.sh "${WISP_WEB_WORK:-$(dirname "$wisp")/web-demo}")
work=$(mktemp -d)
export WISP_DB_FILE=$work/demo.db
cluster='' server=''

# Stops both; a cluster that does not stop cleanly (the master's exit
# code: a node that failed, or a sanitizer's report) fails the script and
# keeps its logs.
stop() {
	local status=$? code=0
	trap - EXIT INT TERM
	[ -z "$server" ] || kill -TERM "$server" 2>/dev/null || true
	if [ -n "$cluster" ]; then
		kill -TERM "$cluster" 2>/dev/null || true
		wait "$cluster" || code=$?
	fi
	wait
	if [ "$code" -ne 0 ]; then
		echo "web-demo: the cluster did not stop cleanly (exit $code); its" \
			"logs are in $work"
		exit 1
	fi
	rm -rf "$work"
	exit "$status"
}
trap stop EXIT
trap 'exit 0' INT TERM

"$wisp" --run-dir "$work/run" conf/demo.lua > "$work/master.log" 2>&1 &
cluster=$!
for _ in $(seq 600); do
	grep -q "demo: login ready" "$work/run/lobby.log" 2>/dev/null \
		&& grep -q "gate listening for WebSocket" "$work/run/net.log" \
		&& break
	kill -0 "$cluster" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "gate listening for WebSocket" "$work/run/net.log" 2>/dev/null \
	|| ! grep -q "demo: login ready" "$work/run/lobby.log"; then
	echo "web-demo: the cluster did not start; the master's log:"
	cat "$work/master.log"
	exit 1
fi

python3 -m http.server --bind "${web%:*}" --directory "$site" "${web##*:}" \
	> "$work/http.log" 2>&1 &
server=$!
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/${web%:*}/${web##*:}") 2>/dev/null && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.1
done
scheme=ws
[ -z "${WISP_GATE_CERT:-}" ] || scheme=wss
echo "web-demo: open http://$web/?ws=$scheme://$WISP_WS_ADDR in a browser" \
	"(Ctrl-C stops)"
wait "$server"
echo "web-demo: the web server stopped; its log:"
cat "$work/http.log"
exit 1
