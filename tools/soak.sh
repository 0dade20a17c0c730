#!/usr/bin/env bash
# soak.sh: the long chaos run, apart from the test suite and the
# benchmarks. tools/chaos/chaos.py runs the demo cluster under 10,000 bots
# (WISP_SOAK_BOTS; ten to a room, each moving and chatting WISP_SOAK_RATE
# times a second, 0.2) for MINUTES (30) with a fault of every kind, one a
# minute on average, and prints the invariants and two figures:
#   BENCH chaos_violations N count      (the target is 0)
#   BENCH soak_rss_growth_pct X.X %     (the worst node's RSS growth from
#                                        minute 5 to the end, among those
#                                        not restarted then; target <= 10)
# It exits non-zero on a violation. WISP_BUILD names the build dir
# (build/); WISP_SOAK_SEED a seed to replay (random otherwise, printed).
# Extra arguments go to chaos.py (--keep DIR, --flood N, --rss-mb MB...).
# Every node's RSS must stay under 1 GB: a game node holds a third of
# the 10,000 players' agents (about 400 MB).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-30}
shift || true
build=${WISP_BUILD:-build}
bots=${WISP_SOAK_BOTS:-10000}
rate=${WISP_SOAK_RATE:-0.2}
seed=()
if [ -n "${WISP_SOAK_SEED:-}" ]; then
	seed=(--seed "$WISP_SOAK_SEED")
fi
# a socket per bot, the proxies' two per harbor connection, and slack
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# the RSS growth is measured from minute 5, or from the start of a run
# too short for that
from=300
if [ "$minutes" -le 5 ]; then
	from=0
fi
exec python3 tools/chaos/chaos.py --build "$build" \
	--duration "$((minutes * 60))" --interval 60 --bots "$bots" \
	--rooms "$(( (bots + 9) / 10 ))" --rate "$rate" --deadline 20 \
	--converge 30 --start-timeout 120 --soak-from "$from" --rss-mb 1024 \
	"${seed[@]}" "$@"
