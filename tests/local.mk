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

TESTS += tests/test-protocol tests/test-origin tests/test-daemon.py

EXTRA_DIST += tests/tap.py tests/cbtest.py tests/test-daemon.py
