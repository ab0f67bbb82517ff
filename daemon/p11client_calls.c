/*
 * p11client_calls.c - what cardbridged owes to whom: the calls queued for
 * the PKCS#11 helper and those it is working on, their deadlines, the
 * sessions whose calls are cancelled, and the answers waiting for the
 * service thread.
 *
 * Threads: p11client_submit/take/cancel_session run on the lws service
 * thread; the rest on the client thread.  Everything shared is in struct
 * p11client under `lock` (p11client_private.h).  This file must never parse
 * a page's message or see a PIN: it moves already-validated params to the
 * helper and typed answers back.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon/log.h"
#include "daemon/p11client_private.h"
#include "daemon/site.h"
#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "protocol/methods.h"

/* Nesting of the helper's answers: results are a few levels deep. */
#define HELPER_JSON_DEPTH 32

void
p11_clock(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

int64_t
p11_now_ms(void)
{
	struct timespec n;

	p11_clock(&n);
	return (int64_t)n.tv_sec * 1000 + n.tv_nsec / 1000000;
}

long
p11_ms_until(const struct timespec *t)
{
	struct timespec n;

	p11_clock(&n);
	return (t->tv_sec - n.tv_sec) * 1000 + (t->tv_nsec - n.tv_nsec) / 1000000;
}

static void
call_free(struct call *c)
{
	if (c == NULL)
		return;
	proto_id_clear(&c->rpc_id);
	free(c->method);
	free(c->frame_json);
	free(c);
}

void
p11_reply_free(struct p11_reply *r)
{
	struct p11_reply *next;

	for (; r != NULL; r = next) {
		next = r->next;
		proto_id_clear(&r->rpc_id);
		free(r->method);
		free(r->message);
		json_object_put(r->result);
		free(r);
	}
}

/* {lock} held.  Queue an answer for the service thread. */
static void
push_reply(struct p11client *c, struct p11_reply *r)
{
	r->next = NULL;
	*c->replies_tail = r;
	c->replies_tail = &r->next;
}

/* {lock} held.  Answer a call with an error (no-op for orphaned calls). */
static void
fail_call(struct p11client *c, struct call *call, int err, const char *message)
{
	struct p11_reply *r;

	if (call->orphaned || (r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->session = call->session;
	r->rpc_id = call->rpc_id;
	call->rpc_id.str = NULL;
	r->method = call->method;
	call->method = NULL;
	r->err = err;
	r->retries_left = -1;
	r->message = message ? strdup(message) : NULL;
	push_reply(c, r);
}

static char *
build_request(uint32_t id, const char *method, const char *origin, struct json_object *params)
{
	struct json_object *msg;
	char site[SITE_MAX];
	char *text;

	if ((msg = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(msg, "id", json_object_new_int64(id));
	json_object_object_add(msg, "method", json_object_new_string(method));
	json_object_object_add(msg, "origin", json_object_new_string(origin ? origin : ""));
	if (origin == NULL) /* the cardbridge tool on the control socket */
		json_object_object_add(msg, "local", json_object_new_boolean(true));
	/* What dialogs show prominently: the registrable domain (site.h). */
	site_of(origin ? origin : "", site, sizeof(site));
	json_object_object_add(msg, "site", json_object_new_string(site));
	json_object_object_add(
	    msg, "params", params ? json_object_get(params) : json_object_new_object());
	text = strdup(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
	json_object_put(msg);
	return text;
}

/* A call for method; NULL when out of memory. */
static struct call *
call_new(struct p11client *c, uint64_t session, const struct proto_id *id, const char *method,
    const char *origin, struct json_object *params, int timeout_s, int64_t received_ms)
{
	struct call *call;

	if ((call = calloc(1, sizeof(*call))) == NULL)
		return NULL;
	call->session = session;
	call->timeout_s = timeout_s;
	call->received_ms = received_ms;
	pthread_mutex_lock(&c->lock);
	call->helper_id = ++c->next_id;
	pthread_mutex_unlock(&c->lock);
	if ((id && proto_id_copy(&call->rpc_id, id) != 0) ||
	    (call->method = strdup(method)) == NULL ||
	    (call->frame_json = build_request(call->helper_id, method, origin, params)) == NULL) {
		call_free(call);
		return NULL;
	}
	return call;
}

/* Queue call (taken) last, or first, and wake the client thread. */
static void
enqueue(struct p11client *c, struct call *call, bool first)
{
	struct call **tail;
	uint64_t one = 1;

	pthread_mutex_lock(&c->lock);
	for (tail = &c->queued; *tail && !first; tail = &(*tail)->next)
		;
	call->next = *tail;
	*tail = call; /* transferred */
	pthread_mutex_unlock(&c->lock);
	if (write(c->wake_fd, &one, sizeof(one)) < 0)
		log_warn("p11client: wake-up failed: %s", strerror(errno));
}

int
p11client_submit_at(struct p11client *c, uint64_t session, const struct proto_id *id,
    const char *method, const char *origin, struct json_object *params, int timeout_s,
    int64_t received_ms)
{
	struct call *call;

	call = call_new(c, session, id, method, origin, params, timeout_s, received_ms);
	if (call == NULL)
		return CB_ERR_ALLOC;
	enqueue(c, call, false);
	return 0;
}

int
p11client_submit(struct p11client *c, uint64_t session, const struct proto_id *id,
    const char *method, const char *origin, struct json_object *params, int timeout_s)
{
	return p11client_submit_at(c, session, id, method, origin, params, timeout_s, p11_now_ms());
}

/*
 * A new helper's hello goes before the calls queued while there was none
 * (a page's tokens.list can come before the first helper is spawned): the
 * helper answers it first, so the service thread knows the modules before
 * it can answer anything that helper did.
 */
int
p11calls_submit_hello(struct p11client *c)
{
	struct call *call;

	call = call_new(
	    c, P11_SESSION_DAEMON, NULL, "hello", "", NULL, c->hello_budget_s, p11_now_ms());
	if (call == NULL)
		return CB_ERR_ALLOC;
	enqueue(c, call, true);
	return 0;
}

struct p11_reply *
p11client_take(struct p11client *c)
{
	struct p11_reply *r;

	pthread_mutex_lock(&c->lock);
	r = c->replies;
	c->replies = NULL;
	c->replies_tail = &c->replies;
	pthread_mutex_unlock(&c->lock);
	return r;
}

void
p11client_cancel_session(struct p11client *c, uint64_t session)
{
	struct call *call;
	uint64_t one = 1, *n;
	bool any = false;

	pthread_mutex_lock(&c->lock);
	for (call = c->queued; call; call = call->next)
		if (call->session == session)
			call->orphaned = any = true;
	for (call = c->sent; call; call = call->next)
		if (call->session == session)
			call->orphaned = any = true;
	if (any && (n = realloc(c->cancelled, (c->ncancelled + 1) * sizeof(*n))) != NULL) {
		c->cancelled = n;
		c->cancelled[c->ncancelled++] = session;
	}
	pthread_mutex_unlock(&c->lock);
	if (any && write(c->wake_fd, &one, sizeof(one)) < 0)
		log_warn("p11client: wake-up failed: %s", strerror(errno));
}

/* ---- client thread from here on ---- */

static void
queue_cancel(struct p11client *c, struct call *call)
{
	struct json_object *p;
	char *json;

	p = json_object_new_object();
	json_object_object_add(p, "id", json_object_new_int64(call->helper_id));
	/* The helper answers the cancel itself too; nobody waits for it. */
	if ((json = build_request(0, "cancel", "", p)) != NULL && p11link_append(c, json) != 0)
		log_warn("p11client: cannot queue a cancel");
	free(json);
	json_object_put(p);
}

/* {lock} held.  Ask the helper to abandon cancelled sessions' calls and expired ones. */
static void
queue_cancels(struct p11client *c)
{
	struct call *call;
	size_t i;

	for (i = 0; i < c->ncancelled; i++)
		for (call = c->sent; call; call = call->next)
			if (call->session == c->cancelled[i] && strcmp(call->method, "cancel") != 0)
				queue_cancel(c, call);
	c->ncancelled = 0;
	for (call = c->sent; call; call = call->next)
		if (call->cancel_due) {
			queue_cancel(c, call);
			call->cancel_due = false;
		}
}

/* Move queued calls to the helper's output buffer. */
void
p11calls_flush(struct p11client *c)
{
	const struct proto_method *m;
	struct call *call, **tail;

	pthread_mutex_lock(&c->lock);
	queue_cancels(c);
	while ((call = c->queued) != NULL) {
		c->queued = call->next;
		call->next = NULL;
		if (call->orphaned || p11link_append(c, call->frame_json) != 0) {
			fail_call(c, call, CB_ERR_INTERNAL, NULL);
			call_free(call);
			continue;
		}
		free(call->frame_json);
		call->frame_json = NULL;
		/* The helper answers these on its reading thread: they run at once. */
		m = proto_method_find(call->method, PROTO_M_HELPER);
		call->running = m == NULL || (m->flags & PROTO_M_INLINE) != 0;
		p11_clock(&call->deadline);
		call->deadline.tv_sec += call->timeout_s;
		for (tail = &c->sent; *tail; tail = &(*tail)->next)
			;
		*tail = call;
	}
	pthread_mutex_unlock(&c->lock);
}

static int
reply_from_json(struct p11_reply *r, struct json_object *msg)
{
	struct json_object *v, *e;

	r->retries_left = -1;
	if (json_object_object_get_ex(msg, "result", &v) &&
	    json_object_is_type(v, json_type_object)) {
		r->result = json_object_get(v);
		return 0;
	}
	if (!json_object_object_get_ex(msg, "error", &e) ||
	    !json_object_is_type(e, json_type_object))
		return CB_ERR_IPC;
	r->err = CB_ERR_INTERNAL;
	if (json_object_object_get_ex(e, "reason", &v) && json_object_is_type(v, json_type_string))
		r->err = cb_err_from_reason(json_object_get_string(v));
	if (json_object_object_get_ex(e, "message", &v) && json_object_is_type(v, json_type_string))
		r->message = strndup(json_object_get_string(v), 300);
	if (json_object_object_get_ex(e, "retriesLeft", &v) &&
	    json_object_is_type(v, json_type_int))
		r->retries_left = json_object_get_int(v);
	if (json_object_object_get_ex(e, "maybeStored", &v) &&
	    json_object_is_type(v, json_type_boolean))
		r->maybe_stored = json_object_get_boolean(v);
	return 0;
}

/*
 * {"id": N, "progress": {...}}: call N reached a stage.  Passed up for its
 * page with the time since the daemon received the request, unless the page
 * left or sent the request without an id; the call stays in flight, and its
 * answer, which the helper sends later, is queued after this.
 */
static int
progress_from_helper(struct p11client *c, int64_t id, struct json_object *report)
{
	char why[PROTO_PARAMS_WHY_MAX];
	struct p11_reply *r = NULL;
	struct call *call;
	int ret = 0;

	if (proto_check_params(report, proto_progress_link_fields, why, sizeof(why)) != 0) {
		log_error("PKCS#11 helper: progress of request %lld: %s", (long long)id, why);
		return CB_ERR_IPC;
	}
	pthread_mutex_lock(&c->lock);
	for (call = c->sent; call && call->helper_id != id; call = call->next)
		;
	if (call == NULL)
		ret = CB_ERR_IPC;
	else if (call->orphaned ||
		 (call->rpc_id.kind != PROTO_ID_INT && call->rpc_id.kind != PROTO_ID_STRING))
		; /* nobody to tell */
	else if ((r = calloc(1, sizeof(*r))) != NULL &&
		 proto_id_copy(&r->rpc_id, &call->rpc_id) == 0 &&
		 (r->method = strdup(call->method)) != NULL) {
		r->session = call->session;
		r->progress = true;
		r->retries_left = -1;
		r->elapsed_ms = p11_now_ms() - call->received_ms;
		r->result = json_object_get(report);
		push_reply(c, r);
		r = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	p11_reply_free(r); /* out of memory: the page misses one stage */
	if (ret != 0)
		log_error("PKCS#11 helper: progress for request %lld, which it does not have",
		    (long long)id);
	return ret;
}

/*
 * {"id": N, "state": "running" | "waiting"}: the helper started call N, or
 * it waits for a token or the screen.  Only a running call that passes its
 * deadline means a hung helper (p11client.c).
 */
static int
state_from_helper(struct p11client *c, int64_t id, struct json_object *report)
{
	const char *s =
	    json_object_is_type(report, json_type_string) ? json_object_get_string(report) : "";
	struct call *call;
	int ret = 0;

	if (strcmp(s, "running") != 0 && strcmp(s, "waiting") != 0) {
		log_error("PKCS#11 helper: request %lld: unknown state", (long long)id);
		return CB_ERR_IPC;
	}
	pthread_mutex_lock(&c->lock);
	for (call = c->sent; call && call->helper_id != id; call = call->next)
		;
	if (call == NULL)
		ret = CB_ERR_IPC;
	else
		call->running = strcmp(s, "running") == 0;
	pthread_mutex_unlock(&c->lock);
	if (ret != 0)
		log_error(
		    "PKCS#11 helper: state of request %lld, which it does not have", (long long)id);
	return ret;
}

/* One frame from the helper: an answer to a call, a stage reached, or a notification. */
int
p11calls_answer(struct p11client *c, const char *text, size_t len)
{
	struct proto_failure fail;
	struct json_object *msg, *v;
	struct p11_reply *r = NULL;
	struct call **pp, *call = NULL;
	int64_t id;
	int ret = CB_ERR_IPC;

	if ((msg = proto_parse_object(text, len, HELPER_JSON_DEPTH, &fail)) == NULL) {
		log_error("PKCS#11 helper: %s", fail.detail);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		ret = CB_ERR_ALLOC;
		goto out;
	}
	if (json_object_object_get_ex(msg, "event", &v) &&
	    json_object_is_type(v, json_type_string)) {
		r->session = P11_SESSION_DAEMON;
		r->method = strdup(json_object_get_string(v));
		pthread_mutex_lock(&c->lock);
		push_reply(c, r);
		pthread_mutex_unlock(&c->lock);
		r = NULL;
		ret = 0;
		goto out;
	}
	if (!json_object_object_get_ex(msg, "id", &v) || !json_object_is_type(v, json_type_int))
		goto out;
	id = json_object_get_int64(v);
	if (json_object_object_get_ex(msg, "progress", &v)) {
		ret = progress_from_helper(c, id, v);
		goto out;
	}
	if (json_object_object_get_ex(msg, "state", &v)) {
		ret = state_from_helper(c, id, v);
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	for (pp = &c->sent; *pp; pp = &(*pp)->next)
		if ((*pp)->helper_id == id) {
			call = *pp;
			*pp = call->next;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (call == NULL) {
		/* Answers to cancels (id 0) are expected and dropped. */
		ret = id == 0 ? 0 : CB_ERR_IPC;
		goto out;
	}
	if ((ret = reply_from_json(r, msg)) != 0)
		goto out;
	r->session = call->session;
	r->rpc_id = call->rpc_id;
	call->rpc_id.str = NULL;
	r->method = call->method;
	call->method = NULL;
	pthread_mutex_lock(&c->lock);
	/* Its page was told TIMEOUT already: no second answer, but the clean-up. */
	if (call->expired)
		r->session = P11_SESSION_GONE;
	/* A key pair made for a page that left must be removed (dispatch.c). */
	if (!call->orphaned || (r->err == 0 && strcmp(r->method, "keys.generate") == 0)) {
		push_reply(c, r);
		r = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	c->backoff_ms = 0;
	ret = 0;
out:
	call_free(call);
	p11_reply_free(r);
	json_object_put(msg);
	return ret;
}

/* Answer every call the helper had with err (TIMEOUT for the one that hung). */
void
p11calls_fail_sent(struct p11client *c, int err, const char *message, uint32_t timed_out)
{
	struct call *call, *next;

	pthread_mutex_lock(&c->lock);
	for (call = c->sent; call; call = next) {
		next = call->next;
		if (call->helper_id == timed_out)
			fail_call(c, call, CB_ERR_TIMEOUT, "the token did not answer in time");
		else
			fail_call(c, call, err, message);
		call_free(call);
	}
	c->sent = NULL;
	pthread_mutex_unlock(&c->lock);
}

/* The earliest deadline among sent calls: ms to wait and which call. */
int
p11calls_next_deadline(struct p11client *c, uint32_t *which)
{
	struct call *call;
	long best = -1, ms;

	*which = 0;
	pthread_mutex_lock(&c->lock);
	for (call = c->sent; call; call = call->next) {
		if (call->expired)
			continue;
		ms = p11_ms_until(&call->deadline);
		if (best < 0 || ms < best) {
			best = ms < 0 ? 0 : ms;
			*which = call->helper_id;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return best > 86400000 ? 86400000 : (int)best;
}

/*
 * {lock} held.  Answer call TIMEOUT now, keeping what its late answer is
 * matched with; that answer goes nowhere (a key pair to the clean-up).
 */
static void
expire_call(struct p11client *c, struct call *call)
{
	struct p11_reply *r;

	call->expired = call->cancel_due = true;
	if (call->orphaned || (r = calloc(1, sizeof(*r))) == NULL) {
		call->orphaned = true;
		return;
	}
	call->orphaned = true;
	r->session = call->session;
	r->method = strdup(call->method);
	r->err = CB_ERR_TIMEOUT;
	r->retries_left = -1;
	r->message = strdup("the request waited too long for its turn at the token");
	if (r->method == NULL || proto_id_copy(&r->rpc_id, &call->rpc_id) != 0) {
		p11_reply_free(r);
		return;
	}
	push_reply(c, r);
}

/*
 * Call which passed its deadline.  If the helper never started it, or it
 * waits for a token or the screen, it is no hang: answer it TIMEOUT, ask
 * the helper to drop it, and drop its late answer; true.  False when it
 * was running (the caller restarts the helper) or is gone.
 */
bool
p11calls_expire_waiting(struct p11client *c, uint32_t which)
{
	struct call *call;
	bool done = false;

	pthread_mutex_lock(&c->lock);
	for (call = c->sent; call && call->helper_id != which; call = call->next)
		;
	if (call != NULL && !call->running) {
		expire_call(c, call);
		done = true;
	}
	pthread_mutex_unlock(&c->lock);
	if (done)
		log_warn(
		    "p11client: request %u to the helper timed out before it ran", (unsigned)which);
	return done;
}

bool
p11calls_have_work(struct p11client *c)
{
	bool work;

	pthread_mutex_lock(&c->lock);
	work = c->queued != NULL;
	pthread_mutex_unlock(&c->lock);
	return work;
}

void
p11calls_free(struct p11client *c)
{
	struct call *call, *next;

	for (call = c->queued; call; call = next) {
		next = call->next;
		call_free(call);
	}
	c->queued = NULL;
	p11_reply_free(c->replies);
	c->replies = NULL;
	free(c->cancelled);
	c->cancelled = NULL;
}
