#!/bin/sh
# TAP: unit tests of clients/js/cardbridge.js under Node.js against a real
# cardbridged with a SoftHSM2 token (tests/browser/client.test.mjs; the `ws`
# package stands in for the browser's WebSocket).  Installs nothing: it needs
#   npm ci --prefix tests/browser
# and reports "1..0 # SKIP" when node or node_modules are missing.
here=$(cd "$(dirname "$0")" && pwd)
dir=${CB_SRCDIR:-$(dirname "$here")}/tests/browser
if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP node not installed"; exit 0
fi
if [ ! -d "$dir/node_modules/ws" ]; then
	echo "1..0 # SKIP tests/browser/node_modules missing (npm ci --prefix tests/browser)"; exit 0
fi
exec node --test --test-concurrency=1 --test-reporter=tap "$dir/client.test.mjs"
