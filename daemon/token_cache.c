/*
 * token_cache.c - the cached tokens.list result: invalidation by
 * generation, refresh through the helper, and the waiters that a refresh
 * answers.  Which module serves which card (module by ATR) is decided in
 * the helper, for its lookups and this list alike (pkcs11/claim.c).
 *
 * Runs on the lws service thread only.  A page never makes the helper
 * re-probe a card: tokens.list is answered from here while the cache is
 * fresh, and every page and control client that asks while it is stale
 * waits for the same one refresh.  Each invalidation bumps the generation;
 * a refresh that started before the last invalidation still answers the
 * waiters that were already waiting when it started (it is as new as they
 * asked for), but it is not kept, and later waiters wait for the next one.
 * This file must never block, poll, or talk to a session except through
 * the answer functions its waiters registered and the tokensChanged event.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "daemon/token_cache.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"

struct token_cache {
	struct json_object *tokens;  /* cached tokens.list result, NULL when stale */
	bool refreshing;	     /* a tokens.list call of ours is with the helper */
	bool announce;		     /* send tokensChanged after the next fresh result */
	unsigned generation;	     /* bumped by every invalidation */
	unsigned refresh_generation; /* generation the running refresh started at */
	struct token_waiter *waiters, **waiters_tail; /* in the order they came */
};

int
token_cache_new(struct token_cache **out)
{
	struct token_cache *tc;

	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return CB_ERR_ALLOC;
	tc->waiters_tail = &tc->waiters;
	*out = tc;
	return 0;
}

void
token_cache_free(struct token_cache *tc)
{
	if (tc == NULL)
		return;
	/* Waiters belong to their sessions and clients, which are gone by now. */
	json_object_put(tc->tokens);
	free(tc);
}

struct json_object *
token_cache_get(const struct daemon *d)
{
	return d->token_cache->tokens;
}

/* Is a refresh that started at generation `started` new enough for w? */
static bool
satisfies(const struct token_waiter *w, unsigned started)
{
	return (int)(started - w->generation) >= 0; /* modulo wrap-around */
}

/*
 * Answer the waiters a refresh started at generation `started` satisfies
 * (every waiter when a->err).  They leave the list first, so an answer
 * function may wait again.
 */
static void
answer_waiters(struct daemon *d, const struct token_answer *a, unsigned started)
{
	struct token_cache *tc = d->token_cache;
	struct token_waiter **pw, *w, *ready = NULL, **ready_tail = &ready, *next;

	for (pw = &tc->waiters; (w = *pw) != NULL;) {
		if (a->err == 0 && !satisfies(w, started)) {
			pw = &w->next;
			continue;
		}
		*pw = w->next;
		w->next = NULL;
		*ready_tail = w;
		ready_tail = &w->next;
	}
	tc->waiters_tail = pw;
	for (w = ready; w; w = next) {
		next = w->next;
		w->next = NULL;
		w->answer(d, w, a);
	}
}

static void
refresh(struct daemon *d)
{
	struct token_cache *tc = d->token_cache;
	const struct proto_method *m = proto_method_find("tokens.list", PROTO_M_HELPER);
	struct token_answer failed = {.retries_left = -1};

	if (tc->refreshing)
		return;
	failed.err = p11client_submit(
	    d->p11, P11_SESSION_DAEMON, NULL, m->name, "", NULL, config_budget_s(d->cfg, m));
	if (failed.err == 0) {
		tc->refreshing = true;
		tc->refresh_generation = tc->generation;
		return;
	}
	log_warn("token list refresh not started: %s", cb_err_str(failed.err));
	answer_waiters(d, &failed, tc->generation);
}

void
token_cache_wait(struct daemon *d, struct token_waiter *w, token_answer_fn answer)
{
	struct token_cache *tc = d->token_cache;
	struct token_answer now = {.result = tc->tokens, .retries_left = -1};

	w->answer = answer;
	w->next = NULL;
	if (tc->tokens != NULL) {
		answer(d, w, &now);
		return;
	}
	w->generation = tc->generation;
	*tc->waiters_tail = w;
	tc->waiters_tail = &w->next;
	refresh(d);
}

void
token_cache_unwait(struct daemon *d, struct token_waiter *w)
{
	struct token_cache *tc = d->token_cache;
	struct token_waiter **pw;

	for (pw = &tc->waiters; *pw; pw = &(*pw)->next)
		if (*pw == w) {
			*pw = w->next;
			if (tc->waiters_tail == &w->next)
				tc->waiters_tail = pw;
			w->next = NULL;
			return;
		}
}

void
token_cache_invalidate(struct daemon *d)
{
	struct token_cache *tc = d->token_cache;

	json_object_put(tc->tokens);
	tc->tokens = NULL;
	tc->generation++;
}

void
token_cache_changed(struct daemon *d)
{
	token_cache_invalidate(d);
	d->token_cache->announce = true;
	refresh(d);
}

static void
announce(struct daemon *d)
{
	struct token_cache *tc = d->token_cache;
	struct json_object *p, *list;

	tc->announce = false;
	p = json_object_new_object();
	json_object_object_add(p, "type", json_object_new_string("tokensChanged"));
	if (json_object_object_get_ex(tc->tokens, "tokens", &list))
		json_object_object_add(p, "tokens", json_object_get(list));
	if (json_object_object_get_ex(tc->tokens, "waitingCards", &list))
		json_object_object_add(p, "waitingCards", json_object_get(list));
	session_broadcast_event(d, p);
}

void
token_cache_refreshed(struct daemon *d, const struct p11_reply *r)
{
	struct token_cache *tc = d->token_cache;
	struct token_answer a = {r->result, r->err, r->message, r->retries_left};

	tc->refreshing = false;
	if (r->err != 0) {
		log_warn("token list refresh failed: %s", cb_err_reason(r->err));
		a.result = NULL;
	} else {
		if (tc->refresh_generation == tc->generation) {
			json_object_put(tc->tokens);
			tc->tokens = json_object_get(r->result);
		}
	}
	answer_waiters(d, &a, tc->refresh_generation);
	/* Changed again meanwhile, or waiters that came after this refresh started. */
	if (tc->tokens == NULL && (tc->announce || tc->waiters != NULL))
		refresh(d);
	else if (tc->announce && tc->tokens != NULL)
		announce(d);
}
