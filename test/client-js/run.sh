#!/usr/bin/env bash
# run.sh: the TypeScript SDK's tests (tools/client-js), from meson: copies
# the package's sources into the build dir, installs its locked
# dependencies there (npm ci, again only when package-lock.json changed),
# compiles and runs `npm test` against a real node of this build, so the
# source tree gets no node_modules or compiled output. Certificates made
# fresh (test/tls/make_certs.sh) give the wss:// tests a server that Node
# trusts (NODE_EXTRA_CA_CERTS).
# Usage: run.sh PACKAGE_DIR WORK_DIR WISP_EXE TEST_DIR
set -euo pipefail
pkg=$1 work=$2
export WISP_EXE=$3 WISP_SDK_TEST_DIR=$4

mkdir -p "$work"
rm -rf "$work/src" "$work/test" "$work/dist"
cp -r "$pkg/src" "$pkg/test" "$pkg/package.json" "$pkg/package-lock.json" \
	"$pkg/tsconfig.json" "$work/"
rm -rf "$work/certs"
"$WISP_SDK_TEST_DIR/../tls/make_certs.sh" "$work/certs" localhost
export WISP_SDK_TLS_DIR=$work/certs NODE_EXTRA_CA_CERTS=$work/certs/ca.pem
cd "$work"
stamp=node_modules/.wisp-installed-lock
if ! cmp -s package-lock.json "$stamp"; then
	npm ci --no-audit --no-fund
	cp package-lock.json "$stamp"
fi
npm test
