#!/usr/bin/env bash
# test.sh: the whole test suite, twice: a normal build (jemalloc) and a
# sanitizer build (address + undefined, system allocator). Ends with one
# line "N passed, N failed" and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# intercept_tls_get_addr=0: LeakSanitizer's tracer can crash at a
# process's exit ("Tracer caught signal 11") while it walks the dynamic
# TLS of libraries loaded with dlopen, as the db module's libpq and
# OpenSSL are (google/sanitizers#1322); it then fails a test that
# passed, with no leak found
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

passed=0
failed=0

# Runs the suite in build dir $1; adds its counts to the totals.
run_suite() {
	local dir=$1
	local log="$dir/meson-logs/suite-summary.txt"
	meson test -C "$dir" --print-errorlogs --num-processes 2 | tee "$log"
	local ok fail
	ok=$(awk '/^Ok:/ {print $2}' "$log")
	fail=$(awk '/^(Fail|Unexpected Pass|Timeout):/ {s += $2} END {print s + 0}' "$log")
	passed=$((passed + ${ok:-0}))
	failed=$((failed + fail))
	[ -n "$ok" ] || failed=$((failed + 1)) # the suite did not even run
}

# --tests: node, npm, chromium, tmux and prometheus too, so the
# TypeScript SDK's tests (client_js), the browser demo's (web_demo),
# wisp-ctl top's (console) and Prometheus' (prometheus) run
tools/setup.sh --tests build || { echo "0 passed, 1 failed"; exit 1; }
run_suite build
tools/setup.sh --tests build-asan -Db_sanitize=address,undefined \
	-Djemalloc=disabled -Db_lundef=false || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
run_suite build-asan

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
