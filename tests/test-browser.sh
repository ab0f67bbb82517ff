#!/bin/sh
# TAP: the demo portal end to end in Debian's headless Chromium (playwright-core,
# never a downloaded browser) against a real cardbridged and SoftHSM2 token.
# Tests: tests/browser/portal.test.mjs.  Installs nothing: it needs
#   apt-get install chromium nodejs npm   and   npm ci --prefix tests/browser
# and reports "1..0 # SKIP" when they are missing.  Screenshots of every
# wizard step go to $CB_BUILDDIR/test-artifacts/browser/.
here=$(cd "$(dirname "$0")" && pwd)
dir=${CB_SRCDIR:-$(dirname "$here")}/tests/browser
chromium=${CB_CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP node not installed"; exit 0
fi
if [ ! -x "$chromium" ]; then
	echo "1..0 # SKIP chromium not installed ($chromium)"; exit 0
fi
if [ ! -d "$dir/node_modules/playwright-core" ] || [ ! -d "$dir/node_modules/ws" ]; then
	echo "1..0 # SKIP tests/browser/node_modules missing (npm ci --prefix tests/browser)"; exit 0
fi
# One browser tier at a time: each takes both CPUs of a small machine for a
# while, and tests/test-load.py, which may run beside it, measures latency.
lock=${CB_BUILDDIR:-$(dirname "$here")}/test-artifacts/.browser-tier.lock
if command -v flock >/dev/null 2>&1 && mkdir -p "$(dirname "$lock")"; then
	exec flock "$lock" node --test --test-concurrency=1 --test-reporter=tap "$dir/portal.test.mjs"
fi
exec node --test --test-concurrency=1 --test-reporter=tap "$dir/portal.test.mjs"
