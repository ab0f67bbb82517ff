#!/bin/sh
# TAP: the shipped Chromium policy (examples/policies/chromium/) in Debian's
# headless Chromium: a public https portal connects and launches cardbridge
# with no prompt (tests/browser/policy.test.mjs).  It installs the policy in
# /etc/chromium/policies/managed/ for one test only, so it needs root and
# skips without; it needs what tests/test-browser.sh needs and skips the same way.
here=$(cd "$(dirname "$0")" && pwd)
dir=${CB_SRCDIR:-$(dirname "$here")}/tests/browser
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to install a managed Chromium policy"; exit 0
fi
if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP node not installed"; exit 0
fi
exec node --test --test-concurrency=1 --test-reporter=tap "$dir/policy.test.mjs"
