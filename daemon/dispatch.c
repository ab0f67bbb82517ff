/*
 * dispatch.c - the method table (after GnuPG scdaemon's register_commands)
 * and the answers that come back from the PKCS#11 helper.
 *
 * Runs on the lws service thread.  Every row names its params schema; a
 * request is checked against it before anything else happens.  Token work
 * is handed to the helper and the thread returns to the event loop at once.
 * tokens.list is served from the token cache (token_cache.c), which card
 * events and token-changing operations invalidate.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/cardwatch.h"
#include "daemon/consent.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "daemon/token_cache.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"

typedef void (*page_handler)(
    struct daemon *d, struct session *s, struct proto_request *req, const struct proto_method *m);

static void handle_system_hello(
    struct daemon *, struct session *, struct proto_request *, const struct proto_method *);
static void handle_tokens_list(
    struct daemon *, struct session *, struct proto_request *, const struct proto_method *);
static void handle_forward(
    struct daemon *, struct session *, struct proto_request *, const struct proto_method *);
static void handle_events_subscribe(
    struct daemon *, struct session *, struct proto_request *, const struct proto_method *);

/* The page port's handlers, bound to the rows of protocol/methods.c. */
static const struct page_binding {
	const char *method;
	page_handler handler;
} bindings[] = {
    {"system.hello", handle_system_hello},
    {"tokens.list", handle_tokens_list},
    {"keys.generate", handle_forward},
    {"certificates.install", handle_forward},
    {"certificates.list", handle_forward},
    {"keys.list", handle_forward},
    {"pins.change", handle_forward},
    {"pins.unblock", handle_forward},
    {"pins.initialize", handle_forward},
    {"keys.delete", handle_forward},
    {"certificates.delete", handle_forward},
    {"events.subscribe", handle_events_subscribe},
    {"events.unsubscribe", handle_events_subscribe},
};

const char *
dispatch_check_bindings(void)
{
	return PROTO_BINDINGS_CHECK(bindings, PROTO_M_PAGE);
}

struct json_object *
dispatch_method_names(void)
{
	struct json_object *a = json_object_new_array();
	const struct proto_method *m;

	for (m = proto_methods; m->name; m++)
		if (m->flags & PROTO_M_PAGE)
			json_object_array_add(a, json_object_new_string(m->name));
	return a;
}

static void
reply_error(struct daemon *d, struct session *s, const struct proto_id *id, int err,
    const char *detail, int retries_left)
{
	if (id->kind == PROTO_ID_NONE)
		return; /* a notification: no answer */
	session_send_text(d, s, proto_emit_error(id, err, detail, retries_left));
}

/* The helper's error, with what it tells beyond the reason in error.data. */
static void
reply_helper_error(struct daemon *d, struct session *s, const struct p11_reply *r)
{
	struct json_object *data;

	if (r->rpc_id.kind == PROTO_ID_NONE || (data = json_object_new_object()) == NULL)
		return;
	if (r->retries_left >= 0)
		json_object_object_add(data, "retriesLeft", json_object_new_int(r->retries_left));
	if (r->maybe_stored)
		json_object_object_add(data, "maybeStored", json_object_new_boolean(1));
	session_send_text(d, s, proto_emit_error_data(&r->rpc_id, r->err, r->message, data));
}

static void
reply_result(
    struct daemon *d, struct session *s, const struct proto_id *id, struct json_object *result)
{
	if (id->kind == PROTO_ID_NONE) {
		json_object_put(result);
		return;
	}
	session_send_text(d, s, proto_emit_result(id, result));
}

/*
 * Before the user allowed a page, hello says only that cardbridge is here:
 * the version and the module paths (which may name the user) are for
 * pages the user or the administrator allowed.
 */
static void
handle_system_hello(
    struct daemon *d, struct session *s, struct proto_request *req, const struct proto_method *row)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "name", json_object_new_string("cardbridge"));
	json_object_object_add(r, "protocol", json_object_new_int(1));
	if (s->consent_pending) {
		reply_result(d, s, &req->id, r);
		return;
	}
	json_object_object_add(r, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(r, "methods", dispatch_method_names());
	json_object_object_add(
	    r, "modules", d->modules ? json_object_get(d->modules) : json_object_new_array());
	reply_result(d, s, &req->id, r);
	(void)row;
}

static int
begin_helper_call(struct daemon *d, struct session *s, const struct proto_id *id)
{
	if (s->in_flight >= d->cfg->max_in_flight) {
		reply_error(
		    d, s, id, CB_ERR_BUSY, "too many requests in flight on this connection", -1);
		return CB_ERR_BUSY;
	}
	s->in_flight++;
	session_touch(d, s);
	return 0;
}

static void
handle_forward(
    struct daemon *d, struct session *s, struct proto_request *req, const struct proto_method *row)
{
	int r;

	if (begin_helper_call(d, s, &req->id) != 0)
		return;
	if ((r = p11client_submit_at(d->p11, s->id, &req->id, req->method, s->origin, req->params,
		 config_budget_s(d->cfg, row), req->received_ms)) != 0) {
		s->in_flight--;
		reply_error(d, s, &req->id, r, NULL, -1);
	}
}

static void
handle_events_subscribe(
    struct daemon *d, struct session *s, struct proto_request *req, const struct proto_method *row)
{
	struct json_object *r = json_object_new_object();

	s->subscribed = strcmp(row->name, "events.subscribe") == 0;
	session_touch(d, s);
	json_object_object_add(r, "subscribed", json_object_new_boolean(s->subscribed));
	reply_result(d, s, &req->id, r);
}

/* A page's tokens.list waiting for the token cache; on the session's list. */
struct page_waiter {
	struct token_waiter w; /* first: the cache hands back &w */
	struct page_waiter *next;
	uint64_t session;
	struct proto_id id;
};

static void
answer_page_waiter(struct daemon *d, struct token_waiter *w, const struct token_answer *a)
{
	struct page_waiter *pw = (struct page_waiter *)w, **pp;
	struct session *s = session_find(d, pw->session);

	if (s != NULL) {
		for (pp = &s->token_waits; *pp; pp = &(*pp)->next)
			if (*pp == pw) {
				*pp = pw->next;
				break;
			}
		s->in_flight--;
		session_touch(d, s);
		if (a->err == 0)
			reply_result(d, s, &pw->id, json_object_get(a->result));
		else
			reply_error(d, s, &pw->id, a->err, a->message, a->retries_left);
	}
	proto_id_clear(&pw->id);
	free(pw);
}

static void
handle_tokens_list(
    struct daemon *d, struct session *s, struct proto_request *req, const struct proto_method *row)
{
	struct page_waiter *pw;

	if (token_cache_get(d) != NULL) {
		reply_result(d, s, &req->id, json_object_get(token_cache_get(d)));
		return;
	}
	if (begin_helper_call(d, s, &req->id) != 0)
		return;
	if ((pw = calloc(1, sizeof(*pw))) == NULL || proto_id_copy(&pw->id, &req->id) != 0) {
		free(pw);
		s->in_flight--;
		reply_error(d, s, &req->id, CB_ERR_ALLOC, NULL, -1);
		return;
	}
	pw->session = s->id;
	pw->next = s->token_waits;
	s->token_waits = pw;
	token_cache_wait(d, &pw->w, answer_page_waiter); /* may answer at once */
	(void)row;
}

void
dispatch_request(struct daemon *d, struct session *s, struct proto_request *req)
{
	const struct proto_method *m;
	char why[PROTO_PARAMS_WHY_MAX];
	int r;

	if ((m = proto_method_find(req->method, PROTO_M_PAGE)) == NULL) {
		log_debug("session %llu: unknown method", (unsigned long long)s->id);
		reply_error(d, s, &req->id, CB_ERR_METHOD_NOT_FOUND, "method not found", -1);
		goto out;
	}
	if ((r = proto_method_check(m, req->params, why, sizeof(why))) != 0) {
		reply_error(d, s, &req->id, r, why, -1);
		goto out;
	}
	/*
	 * A notification gets no answer, so nobody could receive what a
	 * token-changing method made (a CSR), nor learn what a dialog decided.
	 */
	if (req->id.kind == PROTO_ID_NONE &&
	    (m->flags & (PROTO_M_CHANGES_TOKEN | PROTO_M_DIALOG))) {
		log_warn("session %llu (%s): %s sent as a notification (no id): refused",
		    (unsigned long long)s->id, s->origin, m->name);
		goto out;
	}
	log_debug("session %llu (%s): %s", (unsigned long long)s->id, s->origin, m->name);
	/* An origin nobody allow-listed may only say hello until the user answers. */
	if ((m->flags & PROTO_M_CONSENT) && consent_hold(d, s, req))
		return; /* transferred */
	bindings[PROTO_BINDING_INDEX(bindings, m->name)].handler(d, s, req, m);
out:
	proto_request_free(req);
}

/*
 * A card left a reader: the helper closes the PIN dialogs of requests on
 * that card at once (doc/HELPER-IPC.md, card.removed), rather than leave
 * them up until the user answers.
 */
static void
tell_helper_card_removed(struct daemon *d, const struct cardwatch_event *e)
{
	const struct proto_method *m = proto_method_find("card.removed", PROTO_M_HELPER);
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "reader", json_object_new_string(e->reader));
	if (e->events > 0)
		json_object_object_add(p, "events", json_object_new_int((int)e->events));
	if (e->service_lost)
		json_object_object_add(p, "serviceStopped", json_object_new_boolean(1));
	if (d->p11 != NULL && p11client_submit(d->p11, P11_SESSION_DAEMON, NULL, m->name, "", p,
				  config_budget_s(d->cfg, m)) != 0)
		log_warn("cannot tell the helper that the card left %s", e->reader);
	json_object_put(p);
}

void
dispatch_card_events(struct daemon *d)
{
	struct cardwatch_event *list, *e;
	struct json_object *p;

	if ((list = cardwatch_take(d->watch)) == NULL)
		return;
	for (e = list; e; e = e->next) {
		if (e->type == CW_CARD_REMOVED)
			tell_helper_card_removed(d, e);
		p = json_object_new_object();
		json_object_object_add(
		    p, "type", json_object_new_string(cardwatch_type_name(e->type)));
		json_object_object_add(p, "reader", json_object_new_string(e->reader));
		if (e->atr[0])
			json_object_object_add(p, "atr", json_object_new_string(e->atr));
		session_broadcast_event(d, p);
	}
	cardwatch_event_free(list);
	token_cache_changed(d);
}

/*
 * The user answered the consent dialog for an origin: the parked requests
 * of its pending sessions go on, or get the error.  This is here, not in
 * consent.c, because dispatch.c runs every request: consent.c only parks
 * them and records the answer, so it never calls back into dispatch.
 */
static void
release_parked(struct daemon *d, const struct p11_reply *r)
{
	struct session *s, *next_s;
	struct parked *p, *next;
	char origin[ORIGIN_MAX];
	const char *message = NULL;
	int err = 0;

	if (!consent_reply(d, r, origin, sizeof(origin), &err, &message))
		return;
	for (s = d->sessions; s && err == 0; s = next_s) {
		next_s = s->next;
		if (!s->consent_pending || strcmp(s->origin, origin) != 0)
			continue;
		s->consent_pending = false;
		for (p = consent_take_parked(s); p; p = next) {
			next = p->next;
			s->in_flight--;
			dispatch_request(d, s, p->req); /* transferred */
			free(p);
		}
		session_touch(d, s);
	}
	if (err != 0)
		consent_refuse_parked(d, origin, err, message);
	consent_next(d);
}

/*
 * A key pair whose CSR the page never received (it left after the PIN was
 * typed, and the helper's answer crossed our cancel): nobody can have it
 * certified, so the helper removes it like a failed keygen.  The helper
 * removes only a pair it made itself, and says what it did.
 */
static void
abandon_key(struct daemon *d, const struct p11_reply *r)
{
	const struct proto_method *m = proto_method_find("keys.abandon", PROTO_M_HELPER);
	struct json_object *p = json_object_new_object(), *v;
	const char *names[] = {"keyId", "publicKey"}, *key_id;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (json_object_object_get_ex(r->result, names[i], &v))
			json_object_object_add(p, names[i], json_object_get(v));
	key_id = proto_param_string(p, "keyId");
	log_warn("session %llu left before receiving its new key pair (keyId %s): removing it",
	    (unsigned long long)r->session, key_id ? key_id : "?");
	if (p11client_submit(
		d->p11, P11_SESSION_DAEMON, NULL, m->name, "", p, config_budget_s(d->cfg, m)) != 0)
		log_error("could not ask the helper to remove the key pair");
	json_object_put(p);
}

/* Answers meant for the daemon itself. */
static void
daemon_reply(struct daemon *d, struct p11_reply *r)
{
	if (strcmp(r->method, "hello") == 0) {
		struct json_object *mods;

		if (r->err == 0 && json_object_object_get_ex(r->result, "modules", &mods)) {
			json_object_put(d->modules);
			d->modules = json_object_get(mods);
		}
		token_cache_invalidate(d);
		return;
	}
	if (strcmp(r->method, "tokens.list") == 0) {
		token_cache_refreshed(d, r);
		return;
	}
	if (strcmp(r->method, "tokensChanged") == 0)
		token_cache_changed(d);
	if (strcmp(r->method, "origin.confirm") == 0)
		release_parked(d, r);
	if (strcmp(r->method, "keys.abandon") == 0)
		log_info("the unused key pair: %s%s%s", r->err ? cb_err_reason(r->err) : "removed",
		    r->message ? ": " : "", r->message ? r->message : "");
}

/*
 * A stage the helper reached for a page's request: to that page only (the
 * client thread dropped those of requests without an id), before the
 * answer, which comes later in the same list or a later one.
 */
static void
forward_progress(struct daemon *d, struct p11_reply *r)
{
	struct session *s;
	char *text;

	if ((s = session_find(d, r->session)) == NULL)
		return; /* the page left */
	if ((text = proto_emit_progress(&r->rpc_id, r->result, r->elapsed_ms)) != NULL)
		session_send_text(d, s, text);
}

void
dispatch_replies(struct daemon *d)
{
	struct p11_reply *list, *r;
	const struct proto_method *row;
	struct session *s;

	list = p11client_take(d->p11);
	for (r = list; r; r = r->next) {
		if (r->method == NULL)
			continue;
		if (r->progress) {
			forward_progress(d, r);
			continue;
		}
		if (r->session == P11_SESSION_DAEMON) {
			daemon_reply(d, r);
			continue;
		}
		row = proto_method_find(r->method, PROTO_M_HELPER);
		if (row && (row->flags & PROTO_M_CHANGES_TOKEN))
			token_cache_invalidate(d);
		if (r->err == CB_ERR_MODULE_ERROR || r->err == CB_ERR_CARD_REMOVED ||
		    r->err == CB_ERR_TOKEN_NOT_PRESENT || r->err == CB_ERR_PIN_INCORRECT ||
		    r->err == CB_ERR_PIN_LOCKED)
			token_cache_invalidate(d);
		if (control_forward_reply(d, r))
			continue; /* the cardbridge tool's */
		if ((s = session_find(d, r->session)) == NULL) {
			/* The page left; drop the answer, and what nobody can use now. */
			if (r->err == 0 && strcmp(r->method, "keys.generate") == 0)
				abandon_key(d, r);
			continue;
		}
		s->in_flight--;
		session_touch(d, s);
		log_info("session %llu: %s -> %s", (unsigned long long)s->id, r->method,
		    cb_err_reason(r->err));
		if (r->err == 0) {
			reply_result(d, s, &r->rpc_id, r->result);
			r->result = NULL; /* transferred */
		} else
			reply_helper_error(d, s, r);
	}
	p11_reply_free(list);
}

void
dispatch_session_gone(struct daemon *d, struct session *s)
{
	struct page_waiter *pw, *next;

	for (pw = s->token_waits, s->token_waits = NULL; pw; pw = next) {
		next = pw->next;
		token_cache_unwait(d, &pw->w);
		proto_id_clear(&pw->id);
		free(pw);
	}
	consent_session_gone(d, s);
	/* While stopping, lws closes what is left after the helper link is gone. */
	if (s->in_flight > 0 && d->p11 != NULL)
		p11client_cancel_session(d->p11, s->id);
}

void
dispatch_free(struct daemon *d)
{
	json_object_put(d->modules);
	d->modules = NULL;
	consent_free(d);
}
