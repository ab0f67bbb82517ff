/*
 * daemon.h - state shared by cardbridged's service-thread modules.
 *
 * Everything in struct daemon and struct session is touched only by the lws
 * service thread, except where a field names its lock.
 *
 * The files of daemon/ call each other in one direction only
 * (tests/test-layering.py), from the event loop down:
 *   main.c -> server.c (lws callbacks, start and stop)
 *   server.c -> dispatch.c -> consent.c -> admission.c -> origins_store.c,
 *     denied_store.c, peer.c, site.c
 *   control.c -> control_methods.c -> token_cache.c, admission.c, activation.c
 *   dispatch.c, token_cache.c, consent.c -> session.c -> msgqueue.c
 *   ... -> p11client*.c, cardwatch.c, conf.c, log.c
 * The ways back up are function pointers: lws callbacks, the answer
 * functions of token waiters, and the wake-up callbacks of the threads.
 */
#ifndef CB_DAEMON_H
#define CB_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon/conf.h"
#include "daemon/msgqueue.h"
#include "protocol/jsonrpc.h"
#include "protocol/origin.h"

struct lws;
struct lws_context;
struct json_object;
struct p11client;
struct control;
struct cardwatch;

struct parked {
	struct parked *next;
	struct proto_request *req;
};

struct consent;
struct admission;
struct page_waiter;
struct token_cache;

struct session {
	struct session *next, *prev; /* daemon's list of established sessions */
	struct lws *wsi;
	uint64_t id;
	char origin[ORIGIN_MAX];
	char site[ORIGIN_MAX]; /* the origin's registrable domain (site.h) */
	int in_flight;
	bool subscribed;
	bool registered;
	time_t last_active;		 /* last request or answer (session_touch()) */
	bool idle_timer;		 /* its idle timer (LWS_CALLBACK_TIMER) is armed */
	bool consent_pending;		 /* origin not allow-listed: ask first (consent.c) */
	struct parked *parked;		 /* requests waiting for the user's answer */
	struct page_waiter *token_waits; /* tokens.list calls waiting for the cache */
	struct msgqueue out;
	struct rxbuf rx; /* fragments of the message being received */
	bool rx_too_large;
	int close_code; /* nonzero: close after the queue drains */
	char close_reason[64];
	bool close_ready; /* the queue has drained: session.c's closer closes it */
};

struct daemon {
	struct cb_config *cfg;
	struct lws_context *context;
	struct p11client *p11;
	struct cardwatch *watch;
	struct session *sessions;
	int nsessions;
	int control_clients; /* open control connections (control.c); activity for activation.c */
	uint64_t next_session_id;
	struct json_object *modules;	 /* from the helper's hello */
	struct token_cache *token_cache; /* tokens.list result and its waiters (token_cache.c) */
	struct admission *admission;	 /* allow-lists and denied origins (admission.c) */
	struct control *control;	 /* control socket (control.c) */
	struct consent *consents;	 /* the consent dialogs' queue (consent.c) */
	bool stopping; /* end the event loop (signals.c, activation.c's idle exit) */
};

/* session.c */
int session_send_text(struct daemon *d, struct session *s, char *text); /* takes text */
void session_close(struct session *s, int code, const char *reason);
struct session *session_find(struct daemon *d, uint64_t id);
void session_register(struct daemon *d, struct session *s);
void session_unregister(struct daemon *d, struct session *s);
void session_touch(struct daemon *d, struct session *s);
/* The idle timer of s is due (LWS_CALLBACK_TIMER): close 1001 "idle", or look again later. */
void session_idle(struct daemon *d, struct session *s);
/* A complete, well-formed message sets *req (the caller takes it); errors are answered here. */
int session_receive(struct daemon *d, struct session *s, const void *in, size_t len, bool first,
    bool final, bool binary, struct proto_request **req);
int session_writeable(struct daemon *d, struct session *s);
/* Send an event to every subscribed session; takes params. */
void session_broadcast_event(struct daemon *d, struct json_object *params);

/* dispatch.c */
void dispatch_request(struct daemon *d, struct session *s, struct proto_request *req);
void dispatch_replies(struct daemon *d);
void dispatch_session_gone(struct daemon *d, struct session *s);
void dispatch_free(struct daemon *d);
void dispatch_card_events(struct daemon *d);
struct json_object *dispatch_method_names(void);
/* NULL, or a method whose page binding is missing or has no row. */
const char *dispatch_check_bindings(void);

/* server.c */
int server_run(struct daemon *d);
void server_wake(void *daemon);

#endif /* CB_DAEMON_H */
