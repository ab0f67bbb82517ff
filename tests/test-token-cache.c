/*
 * test-token-cache.c - unit tests of daemon/token_cache.c, the cached
 * tokens.list result and its waiters (TAP).
 *
 * Linked with token_cache.c alone and stubs for the two things it reaches
 * outside itself: p11client_submit() (the refresh goes to the helper) and
 * session_broadcast_event() (tokensChanged goes to the pages).  No lws, no
 * helper: a test plays the helper by calling token_cache_refreshed().
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/daemon.h"
#include "daemon/p11client.h"
#include "daemon/token_cache.h"
#include "protocol/cberr.h"
#include "tests/daemon-unit.h"
#include "tests/tap.h"

/* ---- stubs ---- */

static int submits, submit_result;
static struct json_object *last_event;
static int broadcasts;

int
p11client_submit(struct p11client *c, uint64_t session, const struct proto_id *id,
    const char *method, const char *origin, struct json_object *params, int timeout_s)
{
	TAP_CHECK(session == P11_SESSION_DAEMON && strcmp(method, "tokens.list") == 0);
	TAP_CHECK(timeout_s > 0);
	(void)c, (void)id, (void)origin, (void)params;
	submits++;
	return submit_result;
}

void
session_broadcast_event(struct daemon *d, struct json_object *params)
{
	(void)d;
	broadcasts++;
	json_object_put(last_event);
	last_event = params;
}

/* ---- fixtures ---- */

static struct cb_config cfg;
static struct daemon D;

static void
fresh_daemon(void)
{
	token_cache_free(D.token_cache);
	config_free(&cfg);
	config_init(&cfg);
	memset(&D, 0, sizeof(D));
	D.cfg = &cfg;
	TAP_CHECK(token_cache_new(&D.token_cache) == 0);
	submits = submit_result = broadcasts = 0;
	json_object_put(last_event);
	last_event = NULL;
}

/* A waiting party that writes down what it was told. */
struct record {
	struct token_waiter w; /* first */
	int answers, order, err;
	char result[512];
	bool wait_again;
};

static int answer_count;

static void
write_down(struct daemon *d, struct token_waiter *w, const struct token_answer *a)
{
	struct record *r = (struct record *)w;

	r->answers++;
	r->order = ++answer_count;
	r->err = a->err;
	snprintf(r->result, sizeof(r->result), "%s",
	    a->result ? json_object_to_json_string_ext(a->result, JSON_C_TO_STRING_PLAIN) : "");
	TAP_CHECK((a->err == 0) == (a->result != NULL));
	if (r->wait_again) {
		r->wait_again = false;
		token_cache_wait(d, w, write_down);
	}
}

/* The helper answers the running refresh with json, or with err. */
static void
helper_answers(const char *json, int err)
{
	struct p11_reply r;

	memset(&r, 0, sizeof(r));
	r.method = (char *)"tokens.list";
	r.err = err;
	r.retries_left = -1;
	r.message = err ? (char *)"the helper's words" : NULL;
	r.result = json ? json_tokener_parse(json) : NULL;
	token_cache_refreshed(&D, &r);
	json_object_put(r.result);
}

#define LIST_A "{\"tokens\":[{\"label\":\"A\"}]}"
#define LIST_B "{\"tokens\":[{\"label\":\"B\"}]}"

static const char *
cached(void)
{
	struct json_object *t = token_cache_get(&D);

	return t ? json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN) : "";
}

/* ---- tests ---- */

static void
test_a_stale_cache_starts_one_refresh_for_all_waiters(void)
{
	struct record a = {0}, b = {0};

	fresh_daemon();
	TAP_CHECK(token_cache_get(&D) == NULL);
	token_cache_wait(&D, &a.w, write_down);
	token_cache_wait(&D, &b.w, write_down);
	TAP_CHECK(submits == 1 && a.answers == 0 && b.answers == 0);
	helper_answers(LIST_A, 0);
	TAP_CHECK(a.answers == 1 && b.answers == 1);
	TAP_CHECK(strcmp(a.result, LIST_A) == 0 && strcmp(b.result, LIST_A) == 0);
	TAP_CHECK(strcmp(cached(), LIST_A) == 0);
	TAP_CHECK(submits == 1 && broadcasts == 0);
}

static void
test_waiters_are_answered_in_the_order_they_came(void)
{
	struct record r[4];
	int i;

	memset(r, 0, sizeof(r));
	fresh_daemon();
	for (i = 0; i < 4; i++)
		token_cache_wait(&D, &r[i].w, write_down);
	helper_answers(LIST_A, 0);
	for (i = 1; i < 4; i++)
		TAP_CHECK(r[i].order == r[i - 1].order + 1);
}

static void
test_a_fresh_cache_answers_at_once_without_the_helper(void)
{
	struct record a = {0}, b = {0};

	fresh_daemon();
	token_cache_wait(&D, &a.w, write_down);
	helper_answers(LIST_A, 0);
	token_cache_wait(&D, &b.w, write_down);
	TAP_CHECK(b.answers == 1 && strcmp(b.result, LIST_A) == 0);
	TAP_CHECK(submits == 1);
}

static void
test_a_failed_refresh_answers_every_waiter_with_its_error(void)
{
	struct record a = {0}, b = {0}, c = {0};

	fresh_daemon();
	token_cache_wait(&D, &a.w, write_down);
	token_cache_wait(&D, &b.w, write_down);
	helper_answers(NULL, CB_ERR_MODULE_ERROR);
	TAP_CHECK(a.answers == 1 && a.err == CB_ERR_MODULE_ERROR && a.result[0] == '\0');
	TAP_CHECK(b.answers == 1 && b.err == CB_ERR_MODULE_ERROR);
	TAP_CHECK(token_cache_get(&D) == NULL);
	TAP_CHECK(submits == 1); /* nobody waits any more: no new refresh */
	token_cache_wait(&D, &c.w, write_down);
	TAP_CHECK(submits == 2 && c.answers == 0); /* the next waiter tries again */
}

static void
test_a_refresh_older_than_a_waiter_does_not_answer_it(void)
{
	struct record early = {0}, late = {0};

	fresh_daemon();
	token_cache_wait(&D, &early.w, write_down);
	token_cache_invalidate(&D); /* e.g. keys.generate ended while the refresh ran */
	token_cache_wait(&D, &late.w, write_down);
	TAP_CHECK(submits == 1);
	helper_answers(LIST_A, 0);
	/* As new as the early waiter asked for; too old for the late one and the cache. */
	TAP_CHECK(early.answers == 1 && strcmp(early.result, LIST_A) == 0);
	TAP_CHECK(late.answers == 0 && token_cache_get(&D) == NULL);
	TAP_CHECK(submits == 2); /* the late waiter's refresh started by itself */
	helper_answers(LIST_B, 0);
	TAP_CHECK(late.answers == 1 && strcmp(late.result, LIST_B) == 0);
	TAP_CHECK(strcmp(cached(), LIST_B) == 0 && early.answers == 1);
}

static void
test_a_withdrawn_waiter_is_never_answered(void)
{
	struct record a = {0}, b = {0}, c = {0}, d = {0};

	fresh_daemon();
	token_cache_wait(&D, &a.w, write_down);
	token_cache_wait(&D, &b.w, write_down);
	token_cache_wait(&D, &c.w, write_down);
	token_cache_unwait(&D, &c.w);		/* the last one: the list's tail moves back */
	token_cache_unwait(&D, &a.w);		/* the first one */
	token_cache_unwait(&D, &a.w);		/* twice is harmless */
	token_cache_wait(&D, &d.w, write_down); /* goes where c was */
	helper_answers(LIST_A, 0);
	TAP_CHECK(a.answers == 0 && c.answers == 0 && b.answers == 1 && d.answers == 1);
	TAP_CHECK(strcmp(cached(), LIST_A) == 0);
	token_cache_invalidate(&D);
	token_cache_wait(&D, &c.w, write_down); /* a waiter that left may come back */
	helper_answers(LIST_B, 0);
	TAP_CHECK(c.answers == 1 && strcmp(c.result, LIST_B) == 0);
}

static void
test_an_answer_may_wait_again(void)
{
	struct record a = {0};

	fresh_daemon();
	a.wait_again = true; /* like control.tokens' one retry after a failure */
	token_cache_wait(&D, &a.w, write_down);
	helper_answers(NULL, CB_ERR_TIMEOUT);
	TAP_CHECK(a.answers == 1 && submits == 2);
	helper_answers(LIST_A, 0);
	TAP_CHECK(a.answers == 2 && a.err == 0 && strcmp(a.result, LIST_A) == 0);
}

static void
test_a_refresh_that_cannot_start_answers_at_once(void)
{
	struct record a = {0};

	fresh_daemon();
	submit_result = CB_ERR_ALLOC;
	token_cache_wait(&D, &a.w, write_down);
	TAP_CHECK(a.answers == 1 && a.err == CB_ERR_ALLOC);
	submit_result = 0;
	token_cache_wait(&D, &a.w, write_down);
	TAP_CHECK(a.answers == 1 && submits == 2);
	helper_answers(LIST_A, 0);
	TAP_CHECK(a.answers == 2 && a.err == 0);
}

static void
test_a_change_is_announced_with_the_fresh_list_only(void)
{
	struct json_object *tokens, *type;

	fresh_daemon();
	token_cache_changed(&D); /* a card event: refresh at once */
	TAP_CHECK(submits == 1 && broadcasts == 0);
	token_cache_changed(&D); /* another one while that refresh runs */
	TAP_CHECK(submits == 1);
	helper_answers(LIST_A, 0);
	TAP_CHECK(broadcasts == 0 && submits == 2); /* stale: not announced, asked again */
	helper_answers(LIST_B, 0);
	TAP_CHECK(broadcasts == 1 && last_event != NULL);
	TAP_CHECK(json_object_object_get_ex(last_event, "type", &type) &&
		  strcmp(json_object_get_string(type), "tokensChanged") == 0);
	TAP_CHECK(json_object_object_get_ex(last_event, "tokens", &tokens) &&
		  strcmp(json_object_to_json_string_ext(tokens, JSON_C_TO_STRING_PLAIN),
		      "[{\"label\":\"B\"}]") == 0);
	TAP_CHECK(submits == 2);
}

static void
test_a_failed_refresh_after_a_change_is_tried_again(void)
{
	fresh_daemon();
	token_cache_changed(&D);
	helper_answers(NULL, CB_ERR_MODULE_ERROR);
	TAP_CHECK(broadcasts == 0 && submits == 2);
	helper_answers(LIST_A, 0);
	TAP_CHECK(broadcasts == 1 && submits == 2);
}

/*
 * The helper decides module by ATR (pkcs11/claim.c) and says which cards
 * wait for a module: the list goes to pages as it came, and so does the
 * tokensChanged event.
 */
static void
test_the_cards_waiting_for_a_module_reach_the_pages(void)
{
	static const char list[] =
	    "{\"tokens\":[{\"label\":\"o\"}],\"waitingCards\":[{\"reader\":\"Reader 0\","
	    "\"atr\":\"3b8f80\",\"module\":\"vendor.so\",\"error\":\"cannot load\"}]}";
	struct json_object *waiting;
	struct record a = {0};

	fresh_daemon();
	token_cache_changed(&D);
	token_cache_wait(&D, &a.w, write_down);
	helper_answers(list, 0);
	TAP_CHECK(strcmp(a.result, list) == 0);
	TAP_CHECK(
	    broadcasts == 1 && json_object_object_get_ex(last_event, "waitingCards", &waiting));
	TAP_CHECK(strstr(json_object_to_json_string(waiting), "cannot load") != NULL);
}

int
main(void)
{
	static const struct unit_test tests[] = {
	    UNIT_TEST(test_a_stale_cache_starts_one_refresh_for_all_waiters),
	    UNIT_TEST(test_waiters_are_answered_in_the_order_they_came),
	    UNIT_TEST(test_a_fresh_cache_answers_at_once_without_the_helper),
	    UNIT_TEST(test_a_failed_refresh_answers_every_waiter_with_its_error),
	    UNIT_TEST(test_a_refresh_older_than_a_waiter_does_not_answer_it),
	    UNIT_TEST(test_a_withdrawn_waiter_is_never_answered),
	    UNIT_TEST(test_an_answer_may_wait_again),
	    UNIT_TEST(test_a_refresh_that_cannot_start_answers_at_once),
	    UNIT_TEST(test_a_change_is_announced_with_the_fresh_list_only),
	    UNIT_TEST(test_a_failed_refresh_after_a_change_is_tried_again),
	    UNIT_TEST(test_the_cards_waiting_for_a_module_reach_the_pages),
	};
	int r;

	r = unit_run("test-token-cache", tests, sizeof(tests) / sizeof(tests[0]));
	token_cache_free(D.token_cache);
	config_free(&cfg);
	json_object_put(last_event);
	return r;
}
