#!/usr/bin/env bash
# stage.sh: builds the site of the browser demo in WORK_DIR and prints its
# path: the SDK (tools/client-js) compiled there with its locked
# dependencies (npm ci, again only when package-lock.json changed), and
# the page beside it, importing the SDK's ES modules from wisp-client/.
# The source tree gets no node_modules or compiled output.
# Usage: stage.sh WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkg=$here/../client-js
mkdir -p "$1"
work=$(cd "$1" && pwd)

sdk=$work/sdk
mkdir -p "$sdk"
rm -rf "$sdk/src" "$sdk/test" "$sdk/dist"
cp -r "$pkg/src" "$pkg/test" "$pkg/package.json" "$pkg/package-lock.json" \
	"$pkg/tsconfig.json" "$sdk/"
stamp=$sdk/node_modules/.wisp-installed-lock
if ! cmp -s "$sdk/package-lock.json" "$stamp"; then
	(cd "$sdk" && npm ci --no-audit --no-fund >&2)
	cp "$sdk/package-lock.json" "$stamp"
fi
(cd "$sdk" && npm run --silent build >&2)

site=$work/site
rm -rf "$site"
mkdir -p "$site"
cp "$here/index.html" "$here/demo.js" "$site/"
cp -r "$sdk/dist/src" "$site/wisp-client"
echo "$site"
