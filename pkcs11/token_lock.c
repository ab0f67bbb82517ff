/*
 * token_lock.c - the gates of each token (token_lock.h): who may log in
 * and write on it, and who may call the module about it, one at a time
 * and in the order they came.
 *
 * A gate is a flag and a queue of waiters under one mutex for all tokens;
 * a waiter looks again every 200 ms, so that a cancelled request stops
 * waiting at once and none waits past the limit.  Waits are first come,
 * first served: a stream of listings cannot keep a key generation from
 * its token, nor the other way round.
 * Must never: let a request wait without a limit, or hold the mutex while
 * calling anything outside this file.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/clock.h"
#include "protocol/cberr.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_lock.h"

/* How often a waiting request looks whether it was cancelled, ms. */
#define WAIT_SLICE_MS 200

struct waiter {
	struct waiter *next;
};

struct gate {
	bool held;
	struct waiter *head, *tail; /* in the order they came */
};

struct slot_gates {
	CK_FUNCTION_LIST *funcs;
	CK_SLOT_ID slot;
	struct gate gates[TOKEN_GATES];
	struct slot_gates *next;
};

int (*token_lock_interrupted)(struct request *req);
void (*token_lock_waiting)(struct request *req, bool waiting);

static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gates_changed; /* {gates_lock}, CLOCK_MONOTONIC */
static pthread_once_t gates_once = PTHREAD_ONCE_INIT;
static struct slot_gates *slots; /* {gates_lock}; entries live for ever */

static void
gates_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&gates_changed, &attr);
	pthread_condattr_destroy(&attr);
}

/* {gates_lock} held.  The gate of t, made on first use. */
static struct gate *
gate_of(const struct token *t, enum token_gate which)
{
	struct slot_gates *s;

	for (s = slots; s != NULL; s = s->next)
		if (s->funcs == t->module->funcs && s->slot == t->slot)
			return &s->gates[which];
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		helper_log(CB_LOG_ERROR, "out of memory for a token's lock");
		abort();
	}
	s->funcs = t->module->funcs;
	s->slot = t->slot;
	s->next = slots;
	slots = s;
	return &s->gates[which];
}

/* {gates_lock} held.  Take w out of g's queue. */
static void
gate_dequeue(struct gate *g, struct waiter *w)
{
	struct waiter **p;

	for (p = &g->head; *p != NULL; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	g->tail = NULL;
	for (w = g->head; w != NULL; w = w->next)
		g->tail = w;
}

/* {gates_lock} held.  Wait one slice; true once w is first and the gate free. */
static bool
gate_turn(struct gate *g, struct waiter *w)
{
	uint64_t until = cb_now_ms() + WAIT_SLICE_MS;
	struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};

	if (g->head == w && !g->held)
		return true;
	pthread_cond_timedwait(&gates_changed, &gates_lock, &ts);
	return g->head == w && !g->held;
}

/* Queue up behind the others; 0 once the gate is ours. */
static int
gate_wait(struct request *req, struct gate *g)
{
	uint64_t deadline = cb_now_ms() + helper_wait_limit_ms();
	struct waiter w = {NULL};
	bool ours = false;
	int why = 0;

	if (g->tail != NULL)
		g->tail->next = &w;
	else
		g->head = &w;
	g->tail = &w;
	for (;;) {
		if ((ours = gate_turn(g, &w)) || cb_now_ms() >= deadline)
			break;
		pthread_mutex_unlock(&gates_lock);
		/* The registry's lock is never taken under ours. */
		why = token_lock_interrupted != NULL ? token_lock_interrupted(req) : 0;
		pthread_mutex_lock(&gates_lock);
		if (why != 0)
			break;
	}
	gate_dequeue(g, &w);
	if (ours)
		g->held = true;
	/* The next in the queue may be first now. */
	pthread_cond_broadcast(&gates_changed);
	if (ours)
		return 0;
	if (why == CB_ERR_CARD_REMOVED)
		return request_fail(
		    req, why, "the card was removed while the request waited for it");
	if (why == CB_ERR_SERVICE_STOPPED)
		return request_fail(req, why,
		    "the smart-card service (pcscd) stopped while the request waited for the card");
	if (why != 0)
		return request_fail(req, why, "the request was cancelled");
	return request_fail(
	    req, CB_ERR_BUSY, "another request is using this token; try again when it is done");
}

int
token_gate_enter(struct request *req, const struct token *t, enum token_gate which, bool *waited)
{
	struct gate *g;
	int r = 0;

	pthread_once(&gates_once, gates_init);
	pthread_mutex_lock(&gates_lock);
	g = gate_of(t, which);
	if (waited != NULL)
		*waited = g->held || g->head != NULL;
	if (!g->held && g->head == NULL) {
		g->held = true;
		pthread_mutex_unlock(&gates_lock);
		return 0;
	}
	pthread_mutex_unlock(&gates_lock);
	helper_log(CB_LOG_DEBUG, "request %llu: waiting for the token \"%s\"",
	    (unsigned long long)req->id, t->label);
	if (token_lock_waiting != NULL)
		token_lock_waiting(req, true);
	pthread_mutex_lock(&gates_lock);
	r = gate_wait(req, g);
	pthread_mutex_unlock(&gates_lock);
	if (token_lock_waiting != NULL)
		token_lock_waiting(req, false);
	return r;
}

void
token_gate_leave(const struct token *t, enum token_gate which)
{
	pthread_once(&gates_once, gates_init);
	pthread_mutex_lock(&gates_lock);
	gate_of(t, which)->held = false;
	pthread_cond_broadcast(&gates_changed);
	pthread_mutex_unlock(&gates_lock);
}
