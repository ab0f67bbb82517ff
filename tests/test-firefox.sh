#!/bin/sh
# TAP: the demo portal and the JS client end to end in Debian's Firefox ESR
# (headless, WebDriver BiDi through puppeteer-core, never a downloaded
# browser) against a real cardbridged and SoftHSM2 token.
# Tests: tests/browser/firefox.test.mjs (flows shared with Chromium in
# tests/browser/flows.mjs).  Installs nothing: it needs
#   apt-get install firefox-esr nodejs npm   and   npm ci --prefix tests/browser
# and reports "1..0 # SKIP" when they are missing.  Screenshots go to
# $CB_BUILDDIR/test-artifacts/browser/firefox-*.png.
here=$(cd "$(dirname "$0")" && pwd)
dir=${CB_SRCDIR:-$(dirname "$here")}/tests/browser
firefox=${CB_FIREFOX:-/usr/bin/firefox-esr}
if [ ! -x "$firefox" ]; then
	echo "1..0 # SKIP firefox-esr not installed ($firefox)"; exit 0
fi
exec sh "$dir/run-tier.sh" firefox.test.mjs puppeteer-core ws
