/*
 * dispatch.c - the method table (after GnuPG scdaemon's register_commands)
 * and the answers that come back from the PKCS#11 helper.
 *
 * Runs on the lws service thread.  Every row names its params schema; a
 * request is checked against it before anything else happens.  Token work
 * is handed to the helper and the thread returns to the event loop at once.
 * tokens.list is served from a cache that card events and token-changing
 * operations invalidate, so a page never makes the helper re-probe a card.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/cardwatch.h"
#include "daemon/consent.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "protocol/atr.h"
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
    {"events.subscribe", handle_events_subscribe},
    {"events.unsubscribe", handle_events_subscribe},
};

const char *
dispatch_check_bindings(void)
{
	const char *names[sizeof(bindings) / sizeof(bindings[0])];
	size_t i;

	for (i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
		names[i] = bindings[i].method;
	return proto_bindings_check(names, sizeof(bindings) / sizeof(bindings[0]), PROTO_M_PAGE);
}

static page_handler
binding_of(const struct proto_method *m)
{
	size_t i;

	for (i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
		if (strcmp(bindings[i].method, m->name) == 0)
			return bindings[i].handler;
	return NULL;
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

static void
handle_system_hello(
    struct daemon *d, struct session *s, struct proto_request *req, const struct proto_method *row)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "name", json_object_new_string("cardbridge"));
	json_object_object_add(r, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(r, "protocol", json_object_new_int(1));
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
	if ((r = p11client_submit(d->p11, s->id, &req->id, req->method, s->origin, req->params,
		 config_budget_s(d->cfg, row))) != 0) {
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

/* Send an event to every subscribed session; takes params. */
static void
broadcast_event(struct daemon *d, struct json_object *params)
{
	struct session *s;

	for (s = d->sessions; s; s = s->next)
		if (s->subscribed && !s->close_code)
			session_send_text(d, s, proto_emit_event(json_object_get(params)));
	json_object_put(params);
}

static void
refresh_tokens(struct daemon *d)
{
	if (d->tokens_refreshing)
		return;
	const struct proto_method *m = proto_method_find("tokens.list", PROTO_M_HELPER);

	if (p11client_submit(d->p11, P11_SESSION_DAEMON, NULL, m->name, "", NULL,
		config_budget_s(d->cfg, m)) == 0) {
		d->tokens_refreshing = true;
		d->refresh_generation = d->tokens_generation;
	}
}

/* The control socket's control.tokens starts the same refresh (control_methods.c). */
void
dispatch_refresh_tokens(struct daemon *d)
{
	refresh_tokens(d);
}

static void
handle_tokens_list(
    struct daemon *d, struct session *s, struct proto_request *req, const struct proto_method *row)
{
	struct waiter *w;

	if (d->tokens != NULL) {
		reply_result(d, s, &req->id, json_object_get(d->tokens));
		return;
	}
	if (begin_helper_call(d, s, &req->id) != 0)
		return;
	if ((w = calloc(1, sizeof(*w))) == NULL || proto_id_copy(&w->id, &req->id) != 0) {
		free(w);
		s->in_flight--;
		reply_error(d, s, &req->id, CB_ERR_ALLOC, NULL, -1);
		return;
	}
	w->session = s->id;
	w->next = d->token_waiters;
	d->token_waiters = w;
	refresh_tokens(d);
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
	log_debug("session %llu (%s): %s", (unsigned long long)s->id, s->origin, m->name);
	/* An origin nobody allow-listed may only say hello until the user answers. */
	if ((m->flags & PROTO_M_CONSENT) && consent_hold(d, s, req))
		return; /* transferred */
	binding_of(m)(d, s, req, m);
out:
	proto_request_free(req);
}

/* Answer every page waiting for the token list, from the cache or with err. */
static void
answer_token_waiters(struct daemon *d, const struct p11_reply *r)
{
	struct waiter *w, *next;
	struct session *s;

	for (w = d->token_waiters; w; w = next) {
		next = w->next;
		if ((s = session_find(d, w->session)) != NULL) {
			s->in_flight--;
			session_touch(d, s);
			if (r->err == 0)
				reply_result(d, s, &w->id, json_object_get(d->tokens));
			else
				reply_error(d, s, &w->id, r->err, r->message, r->retries_left);
		}
		proto_id_clear(&w->id);
		free(w);
	}
	d->token_waiters = NULL;
}

static void
invalidate_tokens(struct daemon *d)
{
	json_object_put(d->tokens);
	d->tokens = NULL;
	d->tokens_generation++;
}

/* The token view changed under us: refresh it, then tell subscribers. */
static void
tokens_changed(struct daemon *d)
{
	invalidate_tokens(d);
	d->announce_tokens = true;
	refresh_tokens(d);
}

static void
announce_tokens(struct daemon *d)
{
	struct json_object *p, *list;

	d->announce_tokens = false;
	p = json_object_new_object();
	json_object_object_add(p, "type", json_object_new_string("tokensChanged"));
	if (json_object_object_get_ex(d->tokens, "tokens", &list))
		json_object_object_add(p, "tokens", json_object_get(list));
	broadcast_event(d, p);
}

/* Keep d->readers in step with the card watcher's events. */
static void
track_reader(struct daemon *d, const struct cardwatch_event *e)
{
	struct reader_state **pr, *r;

	for (pr = &d->readers; (r = *pr) != NULL; pr = &r->next)
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
		r->next = d->readers;
		d->readers = r;
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

	for (r = d->readers; r; r = r->next) {
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
filter_tokens(struct daemon *d, struct json_object *result)
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
dispatch_card_events(struct daemon *d)
{
	struct cardwatch_event *list, *e;
	struct json_object *p;

	if ((list = cardwatch_take(d->watch)) == NULL)
		return;
	for (e = list; e; e = e->next) {
		track_reader(d, e);
		p = json_object_new_object();
		json_object_object_add(
		    p, "type", json_object_new_string(cardwatch_type_name(e->type)));
		json_object_object_add(p, "reader", json_object_new_string(e->reader));
		if (e->atr[0])
			json_object_object_add(p, "atr", json_object_new_string(e->atr));
		broadcast_event(d, p);
	}
	cardwatch_event_free(list);
	tokens_changed(d);
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
		invalidate_tokens(d);
		return;
	}
	if (strcmp(r->method, "tokens.list") == 0) {
		d->tokens_refreshing = false;
		if (r->err == 0)
			filter_tokens(d, r->result);
		if (r->err != 0)
			log_warn("token list refresh failed: %s", cb_err_reason(r->err));
		else if (d->refresh_generation == d->tokens_generation) {
			json_object_put(d->tokens);
			d->tokens = json_object_get(r->result);
		}
		/* Waiters asked before the change: this answer is as new as they need. */
		if (r->err == 0 && d->tokens == NULL) {
			d->tokens = json_object_get(r->result);
			answer_token_waiters(d, r);
			json_object_put(d->tokens);
			d->tokens = NULL;
		} else
			answer_token_waiters(d, r);
		if (d->tokens == NULL && d->announce_tokens)
			refresh_tokens(d); /* changed again meanwhile */
		else if (d->announce_tokens && d->tokens)
			announce_tokens(d);
		return;
	}
	if (strcmp(r->method, "tokensChanged") == 0)
		tokens_changed(d);
	if (strcmp(r->method, "origin.confirm") == 0)
		consent_reply(d, r);
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
		if (r->session == P11_SESSION_DAEMON) {
			daemon_reply(d, r);
			continue;
		}
		row = proto_method_find(r->method, PROTO_M_HELPER);
		if (row && (row->flags & PROTO_M_CHANGES_TOKEN))
			invalidate_tokens(d);
		if (r->err == CB_ERR_MODULE_ERROR || r->err == CB_ERR_CARD_REMOVED ||
		    r->err == CB_ERR_TOKEN_NOT_PRESENT || r->err == CB_ERR_PIN_INCORRECT ||
		    r->err == CB_ERR_PIN_LOCKED)
			invalidate_tokens(d);
		if ((s = session_find(d, r->session)) == NULL)
			continue; /* the page left; drop the answer */
		s->in_flight--;
		session_touch(d, s);
		log_info("session %llu: %s -> %s", (unsigned long long)s->id, r->method,
		    cb_err_reason(r->err));
		if (r->err == 0) {
			reply_result(d, s, &r->rpc_id, r->result);
			r->result = NULL; /* transferred */
		} else
			reply_error(d, s, &r->rpc_id, r->err, r->message, r->retries_left);
	}
	p11_reply_free(list);
}

void
dispatch_session_gone(struct daemon *d, struct session *s)
{
	struct waiter **pw, *w;

	for (pw = &d->token_waiters; (w = *pw) != NULL;) {
		if (w->session == s->id) {
			*pw = w->next;
			proto_id_clear(&w->id);
			free(w);
		} else
			pw = &w->next;
	}
	consent_session_gone(d, s);
	if (s->in_flight > 0)
		p11client_cancel_session(d->p11, s->id);
}

void
dispatch_free(struct daemon *d)
{
	struct waiter *w, *next;

	for (w = d->token_waiters; w; w = next) {
		next = w->next;
		proto_id_clear(&w->id);
		free(w);
	}
	d->token_waiters = NULL;
	json_object_put(d->tokens);
	json_object_put(d->modules);
	d->tokens = d->modules = NULL;
	consent_free(d);
	while (d->readers) {
		struct reader_state *gone = d->readers;

		d->readers = gone->next;
		free(gone);
	}
}
