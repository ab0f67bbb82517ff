# protocol/: pure JSON-RPC and IPC code, no I/O (unit-tested and fuzzed).
noinst_LIBRARIES += protocol/libcbproto.a
protocol_libcbproto_a_SOURCES = \
	protocol/cberr.h protocol/errors.c protocol/hex.h \
	protocol/ipc.h protocol/ipc.c \
	protocol/jsonrpc.h protocol/jsonrpc.c \
	protocol/json_strict.c \
	protocol/params.h protocol/params.c \
	protocol/methods.h protocol/methods.c \
	protocol/utf8.h protocol/utf8.c \
	protocol/origin.h protocol/origin.c \
	protocol/url.h protocol/url.c \
	protocol/atr.h protocol/atr.c
protocol_libcbproto_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)

# cb-contract: the table above in the forms the rest of the tree needs
# (protocol/cb-contract.c).  clients/js/contract.js is written from it at
# build time, into the source tree like any distributed generated file.
noinst_PROGRAMS += protocol/cb-contract
protocol_cb_contract_SOURCES = protocol/cb-contract.c
protocol_cb_contract_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
protocol_cb_contract_LDADD = protocol/libcbproto.a $(JSONC_LIBS)

BUILT_SOURCES += $(srcdir)/clients/js/contract.js
EXTRA_DIST += clients/js/contract.js
$(srcdir)/clients/js/contract.js: $(srcdir)/protocol/methods.c $(srcdir)/protocol/methods.h \
		$(srcdir)/protocol/errors.c $(srcdir)/protocol/cb-contract.c
	$(AM_V_GEN)$(MAKE) $(AM_MAKEFLAGS) protocol/cb-contract && \
	./protocol/cb-contract js > $@.tmp && mv -f $@.tmp $@

# Rewrite doc/PROTOCOL.md's "Error reasons" table from protocol/errors.c;
# tests/test-contract.py fails while it differs.
contract-docs: protocol/cb-contract
	$(AM_V_GEN)$(PY_LOG_COMPILER) $(srcdir)/tests/test-contract.py --rewrite-reasons \
		$(srcdir)/doc/PROTOCOL.md ./protocol/cb-contract
.PHONY: contract-docs
