#!/usr/bin/env bash
# fuzz.sh SECONDS [TARGET...]: coverage-guided fuzzing of every decoder and
# parser (test/fuzz/): builds build-fuzz/ with clang, libFuzzer and
# ASan+UBSan (installing clang when missing), then runs each target (all
# by default; a TARGET is fuzz_client or client) for SECONDS on a scratch
# copy of its corpus, test/fuzz/corpus/NAME/: what it finds goes to the
# work dir (WISP_FUZZ_WORK, a temporary one by default), never into the
# repository. Prints a line per target and "N targets, N crashes"; exits
# 1 on a crash, naming each crashing input and how to reproduce it.
#
# A crash becomes a regression input: fix the bug, copy the input into
# test/fuzz/corpus/NAME/ under a name that says what it was, and list it
# with the others of NAME in test/meson.build; the normal suite replays
# it in every build (test/fuzz/replay.c). WISP_FUZZ_BUILD names another
# build dir.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
	echo "usage: tools/fuzz.sh SECONDS [TARGET...]" >&2
	exit 2
fi
seconds=$1
shift
build=${WISP_FUZZ_BUILD:-build-fuzz}

if ! command -v clang >/dev/null; then
	echo "fuzz: installing clang"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang
fi
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Djemalloc=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
meson compile -C "$build" >/dev/null

# The largest input worth trying, per target: past the bounds each parser
# enforces, so that the limits themselves are fuzzed.
max_len() {
	case "$1" in
	cluster) echo 1024 ;;
	harbor | harbor_tls | ws_upgrade | console) echo 8192 ;;
	http) echo 16384 ;;
	*) echo 4096 ;;
	esac
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for corpus in test/fuzz/corpus/*/; do
		targets+=("$(basename "$corpus")")
	done
fi

work=${WISP_FUZZ_WORK:-$(mktemp -d /tmp/wisp-fuzz.XXXXXX)}
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
total=0
crashes=0
found=()
for t in "${targets[@]}"; do
	name=${t#fuzz_}
	exe=$build/test/fuzz_$name
	if [ ! -x "$exe" ] || [ ! -d "test/fuzz/corpus/$name" ]; then
		echo "fuzz: no target fuzz_$name (or no test/fuzz/corpus/$name/)" >&2
		exit 2
	fi
	dir=$work/$name
	mkdir -p "$dir/corpus" "$dir/crashes"
	cp "test/fuzz/corpus/$name"/* "$dir/corpus/"
	"$exe" -max_total_time="$seconds" -max_len="$(max_len "$name")" \
		-timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/crashes/" "$dir/corpus" \
		>"$dir/log" 2>&1 || true
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" \
		| grep -o '[0-9]*$' || echo 0)
	last=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -1 || true)
	cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo 0)
	ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo 0)
	corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo 0)
	n=0
	# slow-unit-* (an input past 10 s) is not a failure: the bounds on a
	# config's run end in an error, and may take that long under ASan
	for c in "$dir/crashes"/{crash,leak,timeout,oom}-*; do
		[ -e "$c" ] || continue
		n=$((n + 1))
		found+=("$c|$exe")
	done
	echo "fuzz_$name: $seconds s, ${runs:-0} runs, cov ${cov:-0}," \
		"ft ${ft:-0}, corpus ${corp:-0}, crashes $n"
	total=$((total + 1))
	crashes=$((crashes + n))
done
echo "$total targets, $crashes crashes"
for f in ${found[@]+"${found[@]}"}; do
	echo "crash: ${f%%|*} (its log: $(dirname "$(dirname "${f%%|*}")")/log)"
	echo "  reproduce: ${f##*|} ${f%%|*}"
done
[ "$crashes" -eq 0 ]
