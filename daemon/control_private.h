/*
 * control_private.h - what control.c (the socket) and control_methods.c
 * (the requests and answers) share.  Nothing else includes this file.
 * control.c calls control_methods.c, never the other way round.
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

#define CONTROL_IDLE_TIMEOUT 60		       /* seconds a client may wait between requests */
#define CONTROL_MAX_BACKLOG (4u * 1024 * 1024) /* answers a client leaves unread */

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
};

/* Queue one answer line (a newline is added); takes text. */
void control_send(struct control_client *c, char *text);

/* One request line (without its newline) from c: parse, run, answer. */
void control_handle_line(struct daemon *d, struct control_client *c, const char *text, size_t len);

/* control_methods.c: the client goes away; stop its control.tokens wait. */
void control_tokens_abandon(struct daemon *d, struct control_client *c);

#endif /* CB_CONTROL_PRIVATE_H */
