# protocol/: pure JSON-RPC and IPC code, no I/O (unit-tested and fuzzed).
noinst_LIBRARIES += protocol/libcbproto.a
protocol_libcbproto_a_SOURCES = \
	protocol/cberr.h protocol/errors.c protocol/hex.h \
	protocol/ipc.h protocol/ipc.c \
	protocol/jsonrpc.h protocol/jsonrpc.c \
	protocol/json_strict.c \
	protocol/params.h protocol/params.c \
	protocol/schemas.h protocol/schemas.c \
	protocol/origin.h protocol/origin.c \
	protocol/url.h protocol/url.c \
	protocol/atr.h protocol/atr.c
protocol_libcbproto_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
