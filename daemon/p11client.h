/*
 * p11client.h - cardbridged's side of the PKCS#11 helper.
 *
 * A thread of its own owns the helper process and its socketpair: it
 * writes requests, reads answers, enforces per-request deadlines, and
 * kills and respawns a helper that dies, hangs or breaks the framing.
 * The lws service thread only calls p11client_submit(), _take() and
 * _cancel_session(); answers come back through a queue and a wake-up
 * callback (lws_cancel_service), never by blocking the event loop.
 */
#ifndef CB_P11CLIENT_H
#define CB_P11CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/jsonrpc.h"

struct json_object;
struct cb_config;
struct p11client;

/* Session 0 is the daemon itself (hello, token-cache refreshes). */
#define P11_SESSION_DAEMON 0
/* No session: a result nobody may receive (a call answered TIMEOUT already). */
#define P11_SESSION_GONE UINT64_MAX

struct p11_reply {
	struct p11_reply *next;
	uint64_t session;
	struct proto_id rpc_id;
	char *method;		    /* "tokensChanged" for helper notifications */
	int err;		    /* 0: result is valid */
	struct json_object *result; /* owned */
	char *message;		    /* error text safe for a page, or NULL */
	int retries_left;	    /* -1 when unknown */
	bool maybe_stored;	    /* error.data.maybeStored: a write may have completed */
	bool progress;		    /* not the answer: a stage reached, result is its report */
	int64_t elapsed_ms;	    /* progress: since the daemon received the request */
};

/* Runs on the service thread: start the thread and the helper. */
int p11client_start(
    struct p11client **out, const struct cb_config *cfg, void (*wake)(void *), void *wake_arg);

/*
 * Queue a request; params are copied.  origin: the page's, "" for the
 * daemon's own, NULL for the cardbridge tool's (the helper's dialogs then
 * name cardbridge).  Runs on the service thread.
 */
int p11client_submit(struct p11client *c, uint64_t session, const struct proto_id *id,
    const char *method, const char *origin, struct json_object *params, int timeout_s);
/*
 * The same for a page's request that arrived at received_ms (the monotonic
 * clock, in ms: proto_request's received_ms): its progress notifications
 * say how long ago that was.
 */
int p11client_submit_at(struct p11client *c, uint64_t session, const struct proto_id *id,
    const char *method, const char *origin, struct json_object *params, int timeout_s,
    int64_t received_ms);

/* Take all answers that arrived (a list in arrival order). */
struct p11_reply *p11client_take(struct p11client *c);
void p11_reply_free(struct p11_reply *r);

/* The session went away: drop its answers and cancel its dialogs. */
void p11client_cancel_session(struct p11client *c, uint64_t session);

/* Helper pid for tests and status (0 when none). */
int p11client_helper_pid(struct p11client *c);

void p11client_stop(struct p11client *c);

#endif /* CB_P11CLIENT_H */
