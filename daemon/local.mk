# daemon/: cardbridged, the loopback WebSocket server (no PKCS#11, no PIN).
bin_PROGRAMS += daemon/cardbridged
daemon_cardbridged_SOURCES = \
	daemon/main.c daemon/daemon.h \
	daemon/conf.c daemon/conf.h \
	daemon/log.c daemon/log.h \
	daemon/server.c daemon/session.c daemon/dispatch.c \
	daemon/evloop.c daemon/evloop.h daemon/heap.c daemon/heap.h \
	daemon/msgqueue.c daemon/msgqueue.h \
	daemon/token_cache.c daemon/token_cache.h \
	daemon/p11client.c daemon/p11client.h daemon/p11client_private.h \
	daemon/p11client_calls.c daemon/p11client_process.c daemon/p11client_link.c \
	daemon/cardwatch.c daemon/cardwatch.h \
	daemon/admission.c daemon/admission.h \
	daemon/consent.c daemon/consent.h \
	daemon/sdnotify.c daemon/sdnotify.h \
	daemon/signals.c daemon/signals.h \
	daemon/activation.c daemon/activation.h \
	daemon/control.c daemon/control.h daemon/control_private.h daemon/control_methods.c \
	daemon/control_forward.c \
	daemon/origins_store.c daemon/origins_store.h \
	daemon/denied_store.c daemon/denied_store.h \
	daemon/peer.c daemon/peer.h \
	daemon/site.c daemon/site.h
daemon_cardbridged_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(UV_CFLAGS) $(JSONC_CFLAGS) \
	$(PCSC_CFLAGS) $(PSL_CFLAGS)
daemon_cardbridged_LDADD = protocol/libcbproto.a common/libcbcommon.a $(LWS_LIBS) $(UV_LIBS) \
	$(JSONC_LIBS) $(PCSC_LIBS) $(PSL_LIBS) $(PTHREAD_LIBS)
