#!/bin/sh
# TAP: the demo portal end to end in Debian's headless Chromium (playwright-core,
# never a downloaded browser) against a real cardbridged and SoftHSM2 token.
# Tests: tests/browser/portal.test.mjs (flows shared with the Firefox tier in
# tests/browser/flows.mjs) and card.test.mjs ("My card", with the virtual
# IsoApplet card of tests/vcard).  Installs nothing: it needs
#   apt-get install chromium nodejs npm   and   npm ci --prefix tests/browser
# and reports "1..0 # SKIP" when they are missing.  Screenshots of every
# wizard step go to $CB_BUILDDIR/test-artifacts/browser/.
here=$(cd "$(dirname "$0")" && pwd)
dir=${CB_SRCDIR:-$(dirname "$here")}/tests/browser
chromium=${CB_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	echo "1..0 # SKIP chromium not installed ($chromium)"; exit 0
fi
exec sh "$dir/run-tier.sh" portal.test.mjs card.test.mjs playwright-core ws
