# tests/: unit tests (C, TAP) and black-box tiers (Python, TAP).
#
# Every test speaks TAP, so the summary counts individual checks, not files.
# A tier whose dependency is missing reports "1..0 # SKIP"; CI installs all.

LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TEST_EXTENSIONS = .py .sh
PY_LOG_DRIVER = $(LOG_DRIVER)
PY_LOG_COMPILER = /usr/bin/python3
SH_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	CB_SRCDIR='$(abs_top_srcdir)'; CB_BUILDDIR='$(abs_top_builddir)'; \
	CB_DAEMON='$(abs_top_builddir)/daemon/cardbridged'; \
	CB_HELPER='$(abs_top_builddir)/pkcs11/cardbridge-pkcs11-helper'; \
	CB_VCARD='$(abs_top_builddir)/tests/vcard/cardbridge-vcard'; \
	PYTHONDONTWRITEBYTECODE=1; \
	export CB_SRCDIR CB_BUILDDIR CB_DAEMON CB_HELPER CB_VCARD PYTHONDONTWRITEBYTECODE;

check_PROGRAMS += tests/test-protocol tests/test-origin
tests_test_protocol_SOURCES = tests/test-protocol.c tests/tap.h
tests_test_protocol_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_test_protocol_LDADD = protocol/libcbproto.a $(JSONC_LIBS)
tests_test_origin_SOURCES = tests/test-origin.c tests/tap.h
tests_test_origin_CFLAGS = $(AM_CFLAGS)
tests_test_origin_LDADD = protocol/libcbproto.a
check_PROGRAMS += tests/test-params
tests_test_params_SOURCES = tests/test-params.c tests/tap.h
tests_test_params_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_test_params_LDADD = protocol/libcbproto.a $(JSONC_LIBS)
TESTS += tests/test-params

# The docs and the JS client follow protocol/methods.c (issue 11).
TESTS += tests/test-contract.py tests/test-layering.py
EXTRA_DIST += tests/test-contract.py tests/test-layering.py
check_PROGRAMS += tests/test-atr
tests_test_atr_SOURCES = tests/test-atr.c tests/tap.h
tests_test_atr_LDADD = protocol/libcbproto.a
TESTS += tests/test-atr

TESTS += tests/test-protocol tests/test-origin tests/test-daemon.py tests/test-tokens.py \
	tests/test-card.py tests/test-consent.py

EXTRA_DIST += tests/tap.py tests/cbtest.py tests/pki.py tests/softhsm.py tests/fake-pinentry \
	tests/pcscenv.py tests/test-daemon.py tests/test-tokens.py tests/test-card.py \
	tests/test-consent.py

# PIN dialogs through the daemon (issue 4): SoftHSM2, tests/mock-p11 (PIN pad,
# counted tries) and the real pinentry-tty in tmux; the PIN canary.
TESTS += tests/test-pin.py
EXTRA_DIST += tests/test-pin.py

# The dialogs in the user's language, and po/ (msgfmt --check, every marked
# text translated); po/local.mk passes the gettext tools and catalogs.
TESTS += tests/test-i18n.py
EXTRA_DIST += tests/test-i18n.py

# Portal side (issue 7): JS client unit tests (Node.js) and the demo portal end
# to end in Chromium and in Firefox ESR (issue 15; flows shared in flows.mjs);
# all skip without `npm ci --prefix tests/browser`.  Their TESTS line is the
# last one below: a browser tier must not run beside test-load.py.
EXTRA_DIST += tests/test-js-client.sh tests/test-browser.sh tests/test-firefox.sh tests/browser/package.json \
	tests/browser/run-tier.sh \
	tests/browser/package-lock.json tests/browser/harness.mjs tests/browser/client.test.mjs \
	tests/browser/portal.test.mjs tests/browser/firefox.test.mjs tests/browser/flows.mjs clients/js/cardbridge.js clients/js/browser.js clients/js/cardbridge.d.ts \
	clients/js/README.md clients/js/package.json examples/demo-ca.py examples/run-demo.sh \
	examples/portal/index.html examples/portal/portal.css examples/portal/portal.js \
	examples/portal/dom.js examples/portal/words.js examples/portal/flow.js doc/BROWSERS.md

# Desktop integration (issue 6): the cardbridge:// URL validator; then make
# install into a temporary prefix, the units, xdg-open, the control socket.
check_PROGRAMS += tests/test-url
tests_test_url_SOURCES = tests/test-url.c tests/tap.h
tests_test_url_LDADD = protocol/libcbproto.a
TESTS += tests/test-url tests/test-desktop.py
EXTRA_DIST += tests/test-desktop.py

# Hardening (issue 8): the bad-input catalogue, fault survival, load (1,000
# connections, 100,000 requests, slowloris, churn, memory) and valgrind
# memcheck over the black-box suites.
TESTS += tests/test-badinput.py tests/test-faults.py tests/test-load.py tests/test-leaks.py
EXTRA_DIST += tests/test-badinput.py tests/test-faults.py tests/test-load.py \
	tests/test-leaks.py

# Last, after test-load.py (tests/browser/run-tier.sh waits for it): the
# portal side's tiers (above).
TESTS += tests/test-js-client.sh tests/test-browser.sh tests/test-firefox.sh
