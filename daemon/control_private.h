/*
 * control_private.h - what control.c (the socket) and control_methods.c
 * (the requests and answers) share.  Nothing else includes this file.
 * control.c calls control_methods.c, never the other way round; both call
 * control_forward.c (answer lines, requests for the PKCS#11 helper).
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
	uint64_t session; /* its requests' session at the helper; 0 until the first */
	int forwarded;	  /* requests the helper has not answered yet */
};

struct control {
	char *path; /* lws keeps this pointer while the vhost lives */
	struct control_client *clients;
};

/* control_forward.c: queue one answer line (a newline is added); takes text. */
void control_send(struct control_client *c, char *text);

/* control_forward.c: send a request of a helper row to the helper; it answers later. */
void control_forward(struct daemon *d, struct control_client *c, struct proto_request *req);

/* control_forward.c: the client goes away; cancel its requests' dialogs. */
void control_forward_abandon(struct daemon *d, struct control_client *c);

/* One request line (without its newline) from c: parse, run, answer. */
void control_handle_line(struct daemon *d, struct control_client *c, const char *text, size_t len);

/* control_methods.c: the client goes away; stop its control.tokens wait. */
void control_tokens_abandon(struct daemon *d, struct control_client *c);

#endif /* CB_CONTROL_PRIVATE_H */
