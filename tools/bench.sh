#!/usr/bin/env bash
# bench.sh: every benchmark, then one table of every BENCH figure with its
# target (tools/bench_targets.txt) and whether it was met. Builds first if
# needed. Usage: tools/bench.sh [BUILD_DIR] (default build).
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
[ -d "$dir" ] || tools/setup.sh "$dir" || exit 1
log="$dir/meson-logs/bench-figures.txt"
meson test -C "$dir" --benchmark --verbose --num-processes 1 2>&1 \
	| tee "$dir/meson-logs/bench-run.txt" | grep -E '^BENCH ' > "$log"
status=${PIPESTATUS[0]}

awk -v targets=tools/bench_targets.txt '
BEGIN {
	while ((getline line < targets) > 0) {
		if (line ~ /^#/ || line ~ /^[ \t]*$/) continue
		split(line, f, /[ \t]+/)
		cmp[f[1]] = f[2]; goal[f[1]] = f[3]
	}
	printf "%-20s %14s %-10s %-14s %s\n", "figure", "value", "unit", "target", "met"
}
{
	name = $2; value = $3; unit = $4
	t = "-"; met = ""
	if (name in cmp) {
		t = cmp[name] " " goal[name]
		ok = cmp[name] == ">=" ? value + 0 >= goal[name] + 0 : value + 0 <= goal[name] + 0
		met = ok ? "yes" : "NO"
	}
	printf "%-20s %14s %-10s %-14s %s\n", name, value, unit, t, met
}' "$log"
exit "$status"
