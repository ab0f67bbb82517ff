/*
 * control_private.h - what control.c (the socket) and control_methods.c
 * (the methods) share.  Nothing else includes this file.
 *
 * Service thread only, like everything in struct daemon.
 */
#ifndef CB_CONTROL_PRIVATE_H
#define CB_CONTROL_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <libwebsockets.h>

#include "daemon/daemon.h"
#include "daemon/token_cache.h"
#include "protocol/jsonrpc.h"

#define CONTROL_IDLE_TIMEOUT 60 /* seconds a client may wait between requests */

/* One connection of the cardbridge tool; the lws per-session data. */
struct control_client {
	struct control_client *next;
	struct lws *wsi;
	bool admitted;	 /* SO_PEERCRED said: our uid */
	bool closing;	 /* close once the answers are written */
	struct rxbuf rx; /* bytes of the line being received */
	struct msgqueue out;
	bool waiting_tokens; /* control.tokens waits for a cache refresh */
	int tokens_retries;
	struct proto_id tokens_id;
	struct token_waiter tokens_wait;	/* while waiting_tokens */
	lws_sorted_usec_list_t tokens_deadline; /* control.tokens' own budget */
};

struct control {
	char *path; /* lws keeps this pointer while the vhost lives */
	struct control_client *clients;
	int nclients;
};

/* control.c: queue one answer line (a newline is added); takes text. */
void control_send(struct control_client *c, char *text);

/* control_methods.c: run one request; takes req. */
void control_dispatch(struct daemon *d, struct control_client *c, struct proto_request *req);

/* control_methods.c: the client goes away; stop its control.tokens wait. */
void control_tokens_abandon(struct daemon *d, struct control_client *c);

#endif /* CB_CONTROL_PRIVATE_H */
