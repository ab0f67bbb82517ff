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

# Unit tests of protocol/, one file per unit (doc/TESTING.md); proto-test.h
# holds what they share.
PROTO_TESTS = tests/test-jsonrpc tests/test-jsonrpc-limits tests/test-json-strict \
	tests/test-emit tests/test-ipc tests/test-errors
check_PROGRAMS += $(PROTO_TESTS)
TESTS += $(PROTO_TESTS)
PROTO_TEST_SOURCES = tests/proto-test.h tests/tap.h

# The unit tests of protocol/ alone: they need no token, card, daemon or
# browser, so a package build runs them (debian/rules: make check-protocol).
PROTOCOL_UNIT_TESTS = $(PROTO_TESTS) tests/test-params tests/test-display tests/test-atr \
	tests/test-origin tests/test-url tests/test-claim
check-protocol:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(PROTOCOL_UNIT_TESTS)'
.PHONY: check-protocol
PROTO_TEST_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
PROTO_TEST_LDADD = protocol/libcbproto.a $(JSONC_LIBS)
tests_test_jsonrpc_SOURCES = tests/test-jsonrpc.c $(PROTO_TEST_SOURCES)
tests_test_jsonrpc_CFLAGS = $(PROTO_TEST_CFLAGS)
tests_test_jsonrpc_LDADD = $(PROTO_TEST_LDADD)
tests_test_jsonrpc_limits_SOURCES = tests/test-jsonrpc-limits.c $(PROTO_TEST_SOURCES)
tests_test_jsonrpc_limits_CFLAGS = $(PROTO_TEST_CFLAGS)
tests_test_jsonrpc_limits_LDADD = $(PROTO_TEST_LDADD)
tests_test_json_strict_SOURCES = tests/test-json-strict.c $(PROTO_TEST_SOURCES)
tests_test_json_strict_CFLAGS = $(PROTO_TEST_CFLAGS)
tests_test_json_strict_LDADD = $(PROTO_TEST_LDADD)
tests_test_emit_SOURCES = tests/test-emit.c $(PROTO_TEST_SOURCES)
tests_test_emit_CFLAGS = $(PROTO_TEST_CFLAGS)
tests_test_emit_LDADD = $(PROTO_TEST_LDADD)
tests_test_ipc_SOURCES = tests/test-ipc.c $(PROTO_TEST_SOURCES)
tests_test_ipc_CFLAGS = $(PROTO_TEST_CFLAGS)
tests_test_ipc_LDADD = $(PROTO_TEST_LDADD)
tests_test_errors_SOURCES = tests/test-errors.c $(PROTO_TEST_SOURCES)
tests_test_errors_CFLAGS = $(PROTO_TEST_CFLAGS)
tests_test_errors_LDADD = $(PROTO_TEST_LDADD)
check_PROGRAMS += tests/test-origin
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
check_PROGRAMS += tests/test-display
tests_test_display_SOURCES = tests/test-display.c tests/tap.h
tests_test_display_LDADD = protocol/libcbproto.a
TESTS += tests/test-display
check_PROGRAMS += tests/test-atr
tests_test_atr_SOURCES = tests/test-atr.c tests/tap.h
tests_test_atr_LDADD = protocol/libcbproto.a
TESTS += tests/test-atr
check_PROGRAMS += tests/test-claim
tests_test_claim_SOURCES = tests/test-claim.c tests/tap.h
tests_test_claim_LDADD = protocol/libcbproto.a
TESTS += tests/test-claim

TESTS += tests/test-origin tests/test-daemon.py tests/test-tokens.py \
	tests/test-card.py tests/test-card-faults.py tests/test-consent.py

EXTRA_DIST += tests/tap.py tests/cbtest.py tests/pki.py tests/softhsm.py tests/fake-pinentry \
	tests/pcscenv.py tests/test-daemon.py tests/test-tokens.py tests/test-card.py \
	tests/test-card-faults.py tests/pcsc-stub.h tests/pcsc-stub.c \
	tests/test-consent.py

# PIN dialogs through the daemon (issue 4): SoftHSM2, tests/mock-p11 (PIN pad,
# counted tries) and the real pinentry-tty in tmux; the PIN canary.
TESTS += tests/test-pin.py
EXTRA_DIST += tests/test-pin.py

# Card management (issue 13): PINs changed, unblocked and set, keys and
# certificates deleted, from a page and from `cardbridge card`; SoftHSM2,
# then the virtual OpenPGP and IsoApplet cards.
TESTS += tests/test-manage.py tests/test-card-manage.py
EXTRA_DIST += tests/test-manage.py tests/test-card-manage.py

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
	tests/browser/portal.test.mjs tests/browser/firefox.test.mjs tests/browser/flows.mjs \
	tests/browser/card.test.mjs tests/browser/vcard.mjs tests/browser/vcard-env.py \
	clients/js/cardbridge.js clients/js/browser.js clients/js/cardbridge.d.ts \
	clients/js/README.md clients/js/package.json examples/demo-ca.py examples/run-demo.sh \
	examples/portal/index.html examples/portal/portal.css examples/portal/portal.js \
	examples/portal/dom.js examples/portal/words.js examples/portal/flow.js doc/BROWSERS.md \
	examples/portal/card.html examples/portal/card.css examples/portal/card.js

# Desktop integration (issue 6): the cardbridge:// URL validator; then make
# install into a temporary prefix, the units, xdg-open, the control socket.
check_PROGRAMS += tests/test-url
tests_test_url_SOURCES = tests/test-url.c tests/tap.h
tests_test_url_LDADD = protocol/libcbproto.a
TESTS += tests/test-url tests/test-desktop.py
EXTRA_DIST += tests/test-desktop.py

# Trust (issue 14, 14a): other local users, the port, user state, consent
# spam and budgets, hello before consent, HTTP/1.1 only, notifications,
# keys a page never received, raw sockets, the idle close.
TESTS += tests/test-trust.py
EXTRA_DIST += tests/test-trust.py

# Trust (issue 14, 14b): dialogs that tell the truth, certificates only where
# they belong (test-dialogs.py); no page starving another, locking, searches
# past 256 objects (test-fairness.py).
TESTS += tests/test-dialogs.py tests/test-fairness.py
EXTRA_DIST += tests/test-dialogs.py tests/test-fairness.py

# Hardening (issue 8): the bad-input catalogue, fault survival, load (1,000
# connections, 100,000 requests, slowloris, churn, memory) and valgrind
# memcheck over the black-box suites.
TESTS += tests/test-badinput.py tests/test-faults.py tests/test-load.py tests/test-leaks.py
EXTRA_DIST += tests/test-badinput.py tests/test-faults.py tests/test-load.py \
	tests/test-leaks.py

# Unit tests of pkcs11/ and cli/ (issue 11): each links the files of its
# unit one by one, as fuzz/local.mk does, and tests/p11-fake.c stands in for
# a PKCS#11 module where a unit talks to a token.
test_pkcs11_cflags = $(AM_CFLAGS) $(JSONC_CFLAGS) $(OPENSSL_CFLAGS) $(P11KIT_CFLAGS)
test_pkcs11_ldadd = common/libcbcommon.a protocol/libcbproto.a $(JSONC_LIBS) $(OPENSSL_LIBS) \
	$(P11KIT_LIBS) $(PTHREAD_LIBS)
test_pkcs11_request = tests/tap.h pkcs11/request.h pkcs11/request_object.c pkcs11/log.h \
	pkcs11/log.c pkcs11/field.h pkcs11/field.c pkcs11/progress.h pkcs11/progress.c
test_pkcs11_token = $(test_pkcs11_request) pkcs11/module.h pkcs11/token.h \
	pkcs11/token.c pkcs11/card.h pkcs11/card.c pkcs11/claim.h pkcs11/claim.c pkcs11/pcsc.h \
	tests/pcsc-stub.h tests/pcsc-stub.c \
	pkcs11/token_capabilities.h pkcs11/token_capabilities.c \
	pkcs11/p11_error.h pkcs11/p11_error.c pkcs11/token_session.h pkcs11/token_session.c \
	pkcs11/token_lock.h pkcs11/token_lock.c tests/p11-fake.h tests/p11-fake.c
test_pkcs11_login = pkcs11/login.h pkcs11/login.c pkcs11/pin.h pkcs11/secret.h pkcs11/secret.c \
	tests/pin-stub.h tests/pin-stub.c pkcs11/cleanup.h pkcs11/cleanup.c \
	pkcs11/cleanup_journal.h pkcs11/cleanup_journal.c

check_PROGRAMS += tests/test-login
tests_test_login_SOURCES = tests/test-login.c $(test_pkcs11_token) $(test_pkcs11_login) \
	pkcs11/pubkey.h pkcs11/pubkey.c pkcs11/pem.h pkcs11/pem.c
tests_test_login_CFLAGS = $(test_pkcs11_cflags)
tests_test_login_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-login

check_PROGRAMS += tests/test-certs
tests_test_certs_SOURCES = tests/test-certs.c $(test_pkcs11_token) $(test_pkcs11_login) \
	pkcs11/certs.c pkcs11/cert_check.h pkcs11/cert_check.c pkcs11/cert_object.h pkcs11/cert_object.c pkcs11/chain.h pkcs11/chain.c \
	pkcs11/cert_words.h pkcs11/cert_words.c \
	pkcs11/dialog_words.h pkcs11/dialog_words.c pkcs11/x509.h pkcs11/x509.c \
	pkcs11/pubkey.h pkcs11/pubkey.c pkcs11/pem.h \
	pkcs11/pem.c
tests_test_certs_CFLAGS = $(test_pkcs11_cflags)
tests_test_certs_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-certs

check_PROGRAMS += tests/test-keygen
tests_test_keygen_SOURCES = tests/test-keygen.c $(test_pkcs11_token) $(test_pkcs11_login) \
	pkcs11/keygen.c pkcs11/dialog_words.h pkcs11/dialog_words.c pkcs11/keyattrs.h pkcs11/keyattrs.c pkcs11/abandon.h pkcs11/abandon.c \
	pkcs11/csr.h pkcs11/csr.c pkcs11/pubkey.h pkcs11/pubkey.c pkcs11/pem.h \
	pkcs11/pem.c
tests_test_keygen_CFLAGS = $(test_pkcs11_cflags)
tests_test_keygen_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-keygen

check_PROGRAMS += tests/test-cleanup
tests_test_cleanup_SOURCES = tests/test-cleanup.c $(test_pkcs11_token) $(test_pkcs11_login) \
	pkcs11/pubkey.h pkcs11/pubkey.c pkcs11/pem.h pkcs11/pem.c
tests_test_cleanup_CFLAGS = $(test_pkcs11_cflags)
tests_test_cleanup_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-cleanup

check_PROGRAMS += tests/test-progress
tests_test_progress_SOURCES = tests/test-progress.c $(test_pkcs11_request)
tests_test_progress_CFLAGS = $(test_pkcs11_cflags)
tests_test_progress_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-progress

check_PROGRAMS += tests/test-token
tests_test_token_SOURCES = tests/test-token.c $(test_pkcs11_token)
tests_test_token_CFLAGS = $(test_pkcs11_cflags)
tests_test_token_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-token

test_cli_cflags = $(AM_CFLAGS) $(JSONC_CFLAGS)
test_cli_ldadd = common/libcbcommon.a protocol/libcbproto.a $(JSONC_LIBS)

check_PROGRAMS += tests/test-cli-client
tests_test_cli_client_SOURCES = tests/test-cli-client.c tests/tap.h cli/cli.h cli/client.c \
	cli/output.c
tests_test_cli_client_CFLAGS = $(test_cli_cflags)
tests_test_cli_client_LDADD = $(test_cli_ldadd)
TESTS += tests/test-cli-client

check_PROGRAMS += tests/test-cli-output
tests_test_cli_output_SOURCES = tests/test-cli-output.c tests/tap.h cli/cli.h cli/output.c
tests_test_cli_output_CFLAGS = $(test_cli_cflags)
tests_test_cli_output_LDADD = $(test_cli_ldadd)
TESTS += tests/test-cli-output

check_PROGRAMS += tests/test-cli-policy
tests_test_cli_policy_SOURCES = tests/test-cli-policy.c tests/tap.h cli/cli.h cli/policy.c \
	cli/output.c
tests_test_cli_policy_CFLAGS = $(test_cli_cflags)
tests_test_cli_policy_LDADD = $(test_cli_ldadd)
TESTS += tests/test-cli-policy

check_PROGRAMS += tests/test-cli-launch
tests_test_cli_launch_SOURCES = tests/test-cli-launch.c tests/tap.h cli/cli.h cli/launch.c \
	cli/client.c cli/output.c
tests_test_cli_launch_CPPFLAGS = $(AM_CPPFLAGS) -DBINDIR=\"$(bindir)\"
tests_test_cli_launch_CFLAGS = $(test_cli_cflags)
tests_test_cli_launch_LDADD = $(test_cli_ldadd)
TESTS += tests/test-cli-launch

check_PROGRAMS += tests/test-field
tests_test_field_SOURCES = tests/test-field.c $(test_pkcs11_request)
tests_test_field_CFLAGS = $(test_pkcs11_cflags)
tests_test_field_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-field

check_PROGRAMS += tests/test-x509
tests_test_x509_SOURCES = tests/test-x509.c $(test_pkcs11_request) pkcs11/x509.h pkcs11/x509.c \
	tests/p11-fake.h tests/p11-fake.c
tests_test_x509_CFLAGS = $(test_pkcs11_cflags)
tests_test_x509_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-x509

check_PROGRAMS += tests/test-csr
tests_test_csr_SOURCES = tests/test-csr.c $(test_pkcs11_token) pkcs11/csr.h pkcs11/csr.c \
	pkcs11/pem.h pkcs11/pem.c
tests_test_csr_CFLAGS = $(test_pkcs11_cflags)
tests_test_csr_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-csr

check_PROGRAMS += tests/test-pubkey
tests_test_pubkey_SOURCES = tests/test-pubkey.c $(test_pkcs11_token) pkcs11/pubkey.h \
	pkcs11/pubkey.c pkcs11/pem.h pkcs11/pem.c
tests_test_pubkey_CFLAGS = $(test_pkcs11_cflags)
tests_test_pubkey_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-pubkey

check_PROGRAMS += tests/test-tokenlist
tests_test_tokenlist_SOURCES = tests/test-tokenlist.c $(test_pkcs11_token) pkcs11/tokenlist.c \
	pkcs11/pubkey.h pkcs11/pubkey.c pkcs11/pem.h pkcs11/pem.c pkcs11/token_manage.h \
	pkcs11/token_manage.c pkcs11/opensc_conf.h pkcs11/opensc_conf.c
tests_test_tokenlist_CFLAGS = $(test_pkcs11_cflags)
tests_test_tokenlist_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-tokenlist

check_PROGRAMS += tests/test-token-manage
tests_test_token_manage_SOURCES = tests/test-token-manage.c $(test_pkcs11_token) \
	pkcs11/token_manage.h pkcs11/token_manage.c pkcs11/opensc_conf.h pkcs11/opensc_conf.c
tests_test_token_manage_CFLAGS = $(test_pkcs11_cflags)
tests_test_token_manage_LDADD = $(test_pkcs11_ldadd)
TESTS += tests/test-token-manage
# Unit tests of daemon/'s pure parts (issue 11): each links the daemon files
# it tests, in a temporary HOME and XDG_CONFIG_HOME (tests/daemon-unit.h).
check_PROGRAMS += tests/test-conf
tests_test_conf_SOURCES = tests/test-conf.c tests/tap.h tests/daemon-unit.h daemon/conf.c \
	daemon/log.c
tests_test_conf_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_test_conf_LDADD = protocol/libcbproto.a $(JSONC_LIBS)
TESTS += tests/test-conf
check_PROGRAMS += tests/test-origins-store
tests_test_origins_store_SOURCES = tests/test-origins-store.c tests/tap.h tests/daemon-unit.h \
	daemon/origins_store.c daemon/log.c
tests_test_origins_store_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_test_origins_store_LDADD = common/libcbcommon.a protocol/libcbproto.a $(JSONC_LIBS)
TESTS += tests/test-origins-store
check_PROGRAMS += tests/test-token-cache
tests_test_token_cache_SOURCES = tests/test-token-cache.c tests/tap.h tests/daemon-unit.h \
	daemon/token_cache.c daemon/conf.c daemon/log.c
tests_test_token_cache_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_test_token_cache_LDADD = protocol/libcbproto.a $(JSONC_LIBS)
TESTS += tests/test-token-cache
check_PROGRAMS += tests/test-admission
tests_test_admission_SOURCES = tests/test-admission.c tests/tap.h tests/daemon-unit.h \
	daemon/admission.c daemon/origins_store.c daemon/denied_store.c daemon/peer.c \
	daemon/site.c daemon/conf.c daemon/log.c
tests_test_admission_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(PSL_CFLAGS)
tests_test_admission_LDADD = common/libcbcommon.a protocol/libcbproto.a $(JSONC_LIBS) $(PSL_LIBS)
TESTS += tests/test-admission
check_PROGRAMS += tests/test-site
tests_test_site_SOURCES = tests/test-site.c tests/tap.h tests/daemon-unit.h daemon/site.c \
	daemon/log.c
tests_test_site_CFLAGS = $(AM_CFLAGS) $(PSL_CFLAGS)
tests_test_site_LDADD = protocol/libcbproto.a $(PSL_LIBS)
TESTS += tests/test-site

# Real cards, real minutes (issue 12): keyAttributes against a module that
# misreports or hands out private keys (tests/mock-p11 over SoftHSM2), and
# progress notifications through the WebSocket, and the e2e card tier
# (tests/cardtier.py) on the IsoApplet card too.
TESTS += tests/test-key-attributes.py tests/test-progress-notifications.py \
	tests/test-card-isoapplet.py
EXTRA_DIST += tests/test-key-attributes.py tests/test-progress-notifications.py \
	tests/test-card-isoapplet.py tests/cardtier.py

# Last, after test-load.py (tests/browser/run-tier.sh waits for it): the
# portal side's tiers (above).
TESTS += tests/test-js-client.sh tests/test-browser.sh tests/test-firefox.sh
