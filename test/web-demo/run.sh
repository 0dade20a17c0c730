#!/usr/bin/env bash
# run.sh: the browser demo's test (demo.test.mjs), from meson: copies it
# and its package.json and package-lock.json into the build dir, installs
# playwright-core there (npm ci, again only when package-lock.json
# changed; it downloads no browser: the test uses CHROMIUM) and runs it
# with node's test runner, with certificates made fresh for its wss case.
# Usage: run.sh TEST_DIR WORK_DIR WISP_EXE SOURCE_ROOT CHROMIUM
set -euo pipefail
src=$1 work=$2
export WISP_EXE=$3 WISP_SOURCE=$4 CHROMIUM=$5 WISP_WEB_WORK=$2

mkdir -p "$work"
cp "$src/demo.test.mjs" "$src/package.json" "$src/package-lock.json" "$work/"
rm -rf "$work/certs"
"$src/../tls/make_certs.sh" "$work/certs" localhost
export WISP_WEB_TLS_DIR=$work/certs
cd "$work"
stamp=node_modules/.wisp-installed-lock
if ! cmp -s package-lock.json "$stamp"; then
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	cp package-lock.json "$stamp"
fi
node --test demo.test.mjs
