# bench/: `make bench` (issue 8, section 5) - figures, not tests.
#
# Nothing here is built by `make`, `make check` or `make distcheck`: the
# programs are EXTRA_PROGRAMS, built only when `make bench` asks for them.
#   make bench                         # about 6 minutes
#   make bench BENCH_ARGS=--quick      # rough figures in under a minute
#   make bench BENCH_ARGS='--json /tmp/bench.json'   # also keep the raw figures
EXTRA_PROGRAMS = bench/cb-load bench/p11-baseline bench/peer-cost
bench_cb_load_SOURCES = bench/cb-load.c
bench_cb_load_LDADD = -lm
bench_p11_baseline_SOURCES = bench/p11-baseline.c
bench_p11_baseline_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) $(OPENSSL_CFLAGS)
bench_p11_baseline_LDADD = $(OPENSSL_LIBS)
# The peer-uid check of the handshake (issue 14, item 1), with daemon/peer.c itself.
bench_peer_cost_SOURCES = bench/peer-cost.c daemon/peer.c daemon/peer.h
bench_peer_cost_LDADD = $(PTHREAD_LIBS)

EXTRA_DIST += bench/bench.py bench/apdus.py bench/min-pinentry bench/README.md bench/RESULTS.md
CLEANFILES += bench/cb-load$(EXEEXT) bench/p11-baseline$(EXEEXT) bench/peer-cost$(EXEEXT)

BENCH_ARGS =
bench: bench/cb-load$(EXEEXT) bench/p11-baseline$(EXEEXT) bench/peer-cost$(EXEEXT) \
	daemon/cardbridged$(EXEEXT) pkcs11/cardbridge-pkcs11-helper$(EXEEXT) \
	tests/vcard/cardbridge-vcard$(EXEEXT) tests/vcard/cardbridge-pcscd-launch$(EXEEXT)
	CB_SRCDIR='$(abs_top_srcdir)' CB_BUILDDIR='$(abs_top_builddir)' \
	PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 $(srcdir)/bench/bench.py $(BENCH_ARGS)
.PHONY: bench
