/*
 * token_cache.c - the cached tokens.list result: invalidation by
 * generation, refresh through the helper, the module-by-ATR filter, and the
 * waiters that a refresh answers.
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

#include "daemon/cardwatch.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "daemon/token_cache.h"
#include "protocol/atr.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"

/* The card in each reader, from the card watcher. */
struct reader_state {
	struct reader_state *next;
	char reader[128];
	char atr[2 * 33 + 1]; /* empty: no card */
};

struct token_cache {
	struct json_object *tokens;  /* cached tokens.list result, NULL when stale */
	bool refreshing;	     /* a tokens.list call of ours is with the helper */
	bool announce;		     /* send tokensChanged after the next fresh result */
	unsigned generation;	     /* bumped by every invalidation */
	unsigned refresh_generation; /* generation the running refresh started at */
	struct token_waiter *waiters, **waiters_tail; /* in the order they came */
	struct reader_state *readers;
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
	struct reader_state *r, *next;

	if (tc == NULL)
		return;
	/* Waiters belong to their sessions and clients, which are gone by now. */
	json_object_put(tc->tokens);
	for (r = tc->readers; r; r = next) {
		next = r->next;
		free(r);
	}
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
	session_broadcast_event(d, p);
}

void
token_cache_track_reader(struct daemon *d, const struct cardwatch_event *e)
{
	struct token_cache *tc = d->token_cache;
	struct reader_state **pr, *r;

	for (pr = &tc->readers; (r = *pr) != NULL; pr = &r->next)
		if (strcmp(r->reader, e->reader) == 0)
			break;
	if (e->type == CW_READER_REMOVED) {
		if (r) {
			*pr = r->next;
			free(r);
		}
		return;
	}
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return;
		snprintf(r->reader, sizeof(r->reader), "%s", e->reader);
		r->next = tc->readers;
		tc->readers = r;
	}
	if (e->type == CW_CARD_INSERTED)
		snprintf(r->atr, sizeof(r->atr), "%s", e->atr);
	else if (e->type == CW_CARD_REMOVED)
		r->atr[0] = '\0';
}

/* The configured module whose ATR patterns claim the card in this reader, or NULL. */
static const char *
claiming_module(const struct daemon *d, const char *reader)
{
	const struct reader_state *r;
	size_t i, j, n;

	for (r = d->token_cache->readers; r; r = r->next) {
		n = strlen(r->reader);
		/* Modules name slots after the reader, sometimes with a suffix. */
		if (r->atr[0] && strncmp(r->reader, reader, n) == 0)
			break;
	}
	if (r == NULL)
		return NULL;
	for (i = 0; i < d->cfg->nmodules; i++)
		for (j = 0; j < d->cfg->modules[i].natrs; j++)
			if (atr_matches(d->cfg->modules[i].atrs[j], r->atr))
				return d->cfg->modules[i].path;
	return NULL;
}

/*
 * Module by ATR: when a configured module claims the card in a reader (e.g.
 * a vendor module for cards OpenSC cannot drive), other modules' tokens in
 * that reader are hidden.  The helper's "module" field is internal.
 */
static void
filter_tokens(const struct daemon *d, struct json_object *result)
{
	struct json_object *list, *kept, *t, *v;
	const char *module, *reader, *claim;
	size_t i;

	if (!json_object_object_get_ex(result, "tokens", &list) ||
	    !json_object_is_type(list, json_type_array) || (kept = json_object_new_array()) == NULL)
		return;
	for (i = 0; i < json_object_array_length(list); i++) {
		t = json_object_array_get_idx(list, i);
		module =
		    json_object_object_get_ex(t, "module", &v) ? json_object_get_string(v) : "";
		reader =
		    json_object_object_get_ex(t, "reader", &v) ? json_object_get_string(v) : "";
		claim = claiming_module(d, reader);
		if (claim != NULL && strcmp(claim, module) != 0) {
			log_debug("token in %s hidden: its card belongs to %s", reader, claim);
			continue;
		}
		json_object_object_del(t, "module");
		json_object_array_add(kept, json_object_get(t));
	}
	json_object_object_add(result, "tokens", kept); /* replaces list */
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
		filter_tokens(d, r->result);
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
