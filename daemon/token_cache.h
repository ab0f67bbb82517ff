/*
 * token_cache.h - the daemon's cached tokens.list result, and the one way
 * to wait for a fresh one.
 *
 * Runs on the lws service thread only.  The cache is filled by a refresh
 * through the PKCS#11 helper; card events and token-changing operations
 * invalidate it.  Whoever needs the list while it is stale (a page's
 * tokens.list, the control socket's control.tokens) registers a struct
 * token_waiter; the cache calls its answer function once, when a refresh
 * new enough for it ends, with the list or the error.  Nobody polls.
 */
#ifndef CB_TOKEN_CACHE_H
#define CB_TOKEN_CACHE_H

#include <stdbool.h>

struct daemon;
struct json_object;
struct p11_reply;
struct token_cache;

/* What a waiter is told: the result, or err (and the helper's message). */
struct token_answer {
	struct json_object *result; /* borrowed; NULL when err != 0 */
	int err;
	const char *message; /* safe for a page, or NULL */
	int retries_left;    /* -1 when unknown */
};

struct token_waiter;

/*
 * Called once per token_cache_wait(), after w has left the cache's list:
 * the callee owns w again and may free it, or wait again.
 */
typedef void (*token_answer_fn)(
    struct daemon *d, struct token_waiter *w, const struct token_answer *a);

/* Embed in the waiting party's own record; the cache only links it. */
struct token_waiter {
	struct token_waiter *next; /* token_cache.c's */
	unsigned generation;	   /* token_cache.c's: the oldest refresh that may answer */
	token_answer_fn answer;
};

int token_cache_new(struct token_cache **out);
void token_cache_free(struct token_cache *tc);

/* The cached result (borrowed), or NULL while it is stale. */
struct json_object *token_cache_get(const struct daemon *d);

/*
 * Answer w with the current list: at once (before returning) when the cache
 * is fresh, else when a refresh that started after this call ends (one is
 * started if none runs).  A failed refresh answers every waiter with its
 * error.
 */
void token_cache_wait(struct daemon *d, struct token_waiter *w, token_answer_fn answer);

/* Withdraw w unanswered (its owner is going away); harmless if not waiting. */
void token_cache_unwait(struct daemon *d, struct token_waiter *w);

/* The tokens may have changed (a token-changing call, a new helper). */
void token_cache_invalidate(struct daemon *d);

/* They did change (a card event, the helper's tokensChanged): refresh, then tell subscribers. */
void token_cache_changed(struct daemon *d);

/* The helper's answer to the cache's own tokens.list call. */
void token_cache_refreshed(struct daemon *d, const struct p11_reply *r);

#endif /* CB_TOKEN_CACHE_H */
