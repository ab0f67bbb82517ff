/*
 * control_methods.c - the requests of the control socket and their
 * answers: one table row per method (like dispatch.c for the browser
 * port), and the queueing of each answer line.
 *
 * Runs on the lws service thread and reads struct daemon directly.
 * control.origins.allow / revoke edit only the user's list
 * (admission.c, origins_store.c): the administrator's origins, from configuration files
 * and --allow-origin, can neither be revoked nor shadowed from here.
 * Nothing here may ask for a PIN, change a token, or be reachable from the
 * browser port: the card management rows go to the helper, which asks the
 * user (control_forward.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libwebsockets.h>

#include "daemon/activation.h"
#include "daemon/admission.h"
#include "daemon/control.h"
#include "daemon/control_private.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/origins_store.h"
#include "daemon/p11client.h"
#include "daemon/token_cache.h"
#include "protocol/cberr.h"
#include "protocol/origin.h"
#include "protocol/methods.h"

typedef void (*control_fn)(struct daemon *d, struct control_client *c, struct proto_request *req);

struct control_binding {
	const char *method;
	control_fn handler;
};

static void
reply_result(struct control_client *c, const struct proto_id *id, struct json_object *result)
{
	if (id->kind == PROTO_ID_NONE) {
		json_object_put(result);
		return;
	}
	control_send(c, proto_emit_result(id, result));
}

static void
reply_error(struct control_client *c, const struct proto_id *id, int err, const char *detail)
{
	if (id->kind != PROTO_ID_NONE)
		control_send(c, proto_emit_error(id, err, detail, -1));
}

static struct json_object *
admin_origins(const struct daemon *d)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < d->cfg->norigins; i++)
		json_object_array_add(a, json_object_new_string(d->cfg->origins[i]));
	return a;
}

static struct json_object *
origins_object(const struct daemon *d)
{
	struct json_object *o = json_object_new_object();
	const struct origins_store *user = admission_user_origins(d);
	const char *file = origins_store_path(user);

	json_object_object_add(o, "administrator", admin_origins(d));
	json_object_object_add(o, "user", origins_store_list(user));
	json_object_object_add(o, "userFile", file ? json_object_new_string(file) : NULL);
	return o;
}

/* The readers named by the cached tokens (no reader list is kept yet). */
static struct json_object *
readers_of(struct json_object *tokens)
{
	struct json_object *a = json_object_new_array(), *t, *r;
	size_t i, j;

	for (i = 0; tokens && i < json_object_array_length(tokens); i++) {
		t = json_object_array_get_idx(tokens, i);
		if (!json_object_object_get_ex(t, "reader", &r) ||
		    !json_object_is_type(r, json_type_string))
			continue;
		for (j = 0; j < json_object_array_length(a); j++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(a, j)),
				json_object_get_string(r)) == 0)
				break;
		if (j == json_object_array_length(a))
			json_object_array_add(a, json_object_get(r));
	}
	return a;
}

static void
handle_status(struct daemon *d, struct control_client *c, struct proto_request *req)
{
	struct json_object *r = json_object_new_object(), *tokens = NULL, *waiting = NULL;

	if (token_cache_get(d) != NULL) {
		json_object_object_get_ex(token_cache_get(d), "tokens", &tokens);
		json_object_object_get_ex(token_cache_get(d), "waitingCards", &waiting);
	}
	json_object_object_add(r, "name", json_object_new_string("cardbridge"));
	json_object_object_add(r, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(r, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(
	    r, "socketActivated", json_object_new_boolean(activation_is_active()));
	json_object_object_add(r, "listen", activation_listening(d));
	json_object_object_add(r, "controlSocket", json_object_new_string(d->control->path));
	json_object_object_add(r, "sessions", json_object_new_int(d->nsessions));
	json_object_object_add(
	    r, "helperPid", json_object_new_int(d->p11 ? p11client_helper_pid(d->p11) : 0));
	json_object_object_add(
	    r, "modules", d->modules ? json_object_get(d->modules) : json_object_new_array());
	/* null: not read since the last card event; control.tokens reads it. */
	json_object_object_add(r, "tokens", tokens ? json_object_get(tokens) : NULL);
	/* Cards whose module (by ATR) does not serve them, with why (pkcs11/claim.c). */
	json_object_object_add(r, "waitingCards",
	    waiting  ? json_object_get(waiting)
	    : tokens ? json_object_new_array()
		     : NULL);
	json_object_object_add(r, "readers", readers_of(tokens));
	json_object_object_add(r, "origins", origins_object(d));
	reply_result(c, &req->id, r);
}

static void
tokens_finish(struct control_client *c, struct json_object *result, int err, const char *detail)
{
	if (err == 0)
		reply_result(c, &c->tokens_id, json_object_get(result));
	else
		reply_error(c, &c->tokens_id, err, detail);
	proto_id_clear(&c->tokens_id);
	c->waiting_tokens = false;
	lws_sul_cancel(&c->tokens_deadline);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CONTROL_IDLE_TIMEOUT);
}

/* The token cache's answer to control.tokens. */
static void
tokens_answer(struct daemon *d, struct token_waiter *w, const struct token_answer *a)
{
	struct control_client *c = lws_container_of(w, struct control_client, tokens_wait);

	/* A failed refresh (the helper restarting, say) gets one more try. */
	if (a->err != 0 && c->tokens_retries++ < 1) {
		token_cache_wait(d, w, tokens_answer);
		return;
	}
	if (a->err == 0)
		tokens_finish(c, a->result, 0, NULL);
	else
		tokens_finish(c, NULL, CB_ERR_MODULE_ERROR,
		    "the token list could not be read; see the cardbridged log");
}

/* control.tokens' own budget (its row in protocol/methods.c) ran out. */
static void
tokens_deadline_passed(lws_sorted_usec_list_t *sul)
{
	struct control_client *c = lws_container_of(sul, struct control_client, tokens_deadline);
	struct daemon *d = lws_context_user(lws_get_context(c->wsi));

	token_cache_unwait(d, &c->tokens_wait);
	tokens_finish(c, NULL, CB_ERR_TIMEOUT, "the PKCS#11 helper did not answer");
}

void
control_tokens_abandon(struct daemon *d, struct control_client *c)
{
	if (!c->waiting_tokens)
		return;
	token_cache_unwait(d, &c->tokens_wait);
	lws_sul_cancel(&c->tokens_deadline);
	c->waiting_tokens = false;
}

static void
handle_tokens(struct daemon *d, struct control_client *c, struct proto_request *req)
{
	int budget = config_budget_s(d->cfg, proto_method_find(req->method, PROTO_M_CONTROL));

	if (token_cache_get(d) != NULL) {
		reply_result(c, &req->id, json_object_get(token_cache_get(d)));
		return;
	}
	if (c->waiting_tokens) {
		reply_error(c, &req->id, CB_ERR_BUSY, "control.tokens is already waiting");
		return;
	}
	if (proto_id_copy(&c->tokens_id, &req->id) != 0) {
		reply_error(c, &req->id, CB_ERR_ALLOC, NULL);
		return;
	}
	c->waiting_tokens = true;
	c->tokens_retries = 0;
	lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	lws_sul_schedule(lws_get_context(c->wsi), 0, &c->tokens_deadline, tokens_deadline_passed,
	    (lws_usec_t)budget * LWS_US_PER_SEC);
	/* The same refresh tokens.list waits for; may answer at once. */
	token_cache_wait(d, &c->tokens_wait, tokens_answer);
}

static void
handle_origins_list(struct daemon *d, struct control_client *c, struct proto_request *req)
{
	reply_result(c, &req->id, origins_object(d));
}

/* The "origin" param: checked like the allow-list in the configuration (methods.c). */
static const char *
origin_param(struct control_client *c, struct proto_request *req)
{
	(void)c;
	return proto_param_string(req->params, "origin");
}

static struct json_object *
change_result(const char *origin, bool allowed, bool changed, const char *source)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "origin", json_object_new_string(origin));
	json_object_object_add(r, "allowed", json_object_new_boolean(allowed));
	json_object_object_add(r, "changed", json_object_new_boolean(changed));
	json_object_object_add(r, "source", json_object_new_string(source));
	return r;
}

static void
handle_origins_allow(struct daemon *d, struct control_client *c, struct proto_request *req)
{
	const char *origin, *path;
	enum admission_source source;
	char detail[160];
	int r;

	if ((origin = origin_param(c, req)) == NULL)
		return;
	if ((source = admission_source(d, origin)) != ADMISSION_NOT_ALLOWED) {
		reply_result(c, &req->id,
		    change_result(origin, true, false,
			source == ADMISSION_ADMINISTRATOR ? "administrator" : "user"));
		return;
	}
	if ((r = admission_user_allow(d, origin)) != 0) {
		path = origins_store_path(admission_user_origins(d));
		snprintf(detail, sizeof(detail), "could not save %s: %s",
		    path ? path : "(no XDG_CONFIG_HOME or HOME)",
		    r == CB_ERR_SYSTEM ? strerror(errno) : cb_err_str(r));
		log_warn("control: allowing %s failed: %s", origin, detail);
		reply_error(c, &req->id, r == CB_ERR_SYSTEM ? CB_ERR_INTERNAL : r, detail);
		return;
	}
	log_info("control: the user allowed origin %s", origin);
	reply_result(c, &req->id, change_result(origin, true, true, "user"));
}

/* A revoked origin loses its open connections too, not only future ones. */
static int
close_sessions_of(struct daemon *d, const char *origin)
{
	struct session *s;
	int n = 0;

	for (s = d->sessions; s; s = s->next)
		if (strcmp(s->origin, origin) == 0) {
			session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "origin revoked");
			n++;
		}
	return n;
}

static void
handle_origins_revoke(struct daemon *d, struct control_client *c, struct proto_request *req)
{
	struct json_object *result;
	const char *origin, *path;
	enum admission_source source;
	char detail[200];
	int r, closed;

	if ((origin = origin_param(c, req)) == NULL)
		return;
	if ((source = admission_source(d, origin)) == ADMISSION_ADMINISTRATOR) {
		reply_error(c, &req->id, CB_ERR_INVALID_PARAMS,
		    "this origin is allowed by the "
		    "administrator (a configuration file or --allow-origin); the cardbridge "
		    "tool cannot revoke it");
		return;
	}
	if (source != ADMISSION_USER) {
		reply_error(c, &req->id, CB_ERR_INVALID_PARAMS,
		    "this origin is not in your "
		    "allow-list");
		return;
	}
	r = admission_user_revoke(d, origin); /* gone from memory even if not saved */
	closed = close_sessions_of(d, origin);
	log_info("control: the user revoked origin %s (%d connection(s) closed)", origin, closed);
	if (r != 0) {
		path = origins_store_path(admission_user_origins(d));
		snprintf(detail, sizeof(detail),
		    "revoked until cardbridged stops, but could not "
		    "save %s: %s",
		    path ? path : "(no file)", strerror(errno));
		reply_error(c, &req->id, CB_ERR_INTERNAL, detail);
		return;
	}
	result = change_result(origin, false, true, "user");
	json_object_object_add(result, "closedConnections", json_object_new_int(closed));
	reply_result(c, &req->id, result);
}

/* The control socket's handlers, bound to the rows of protocol/methods.c. */
static const struct control_binding bindings[] = {
    {"control.status", handle_status},
    {"control.tokens", handle_tokens},
    {"control.origins.list", handle_origins_list},
    {"control.origins.allow", handle_origins_allow},
    {"control.origins.revoke", handle_origins_revoke},
    /* Card management: the helper serves these, as for a page (control_forward.c). */
    {"certificates.list", control_forward},
    {"keys.list", control_forward},
    {"pins.change", control_forward},
    {"pins.unblock", control_forward},
    {"pins.initialize", control_forward},
    {"keys.delete", control_forward},
    {"certificates.delete", control_forward},
};

const char *
control_check_bindings(void)
{
	return PROTO_BINDINGS_CHECK(bindings, PROTO_M_CONTROL);
}

static void
run_request(struct daemon *d, struct control_client *c, struct proto_request *req)
{
	const struct proto_method *m;
	char why[PROTO_PARAMS_WHY_MAX];
	int r;

	if ((m = proto_method_find(req->method, PROTO_M_CONTROL)) == NULL) {
		reply_error(c, &req->id, CB_ERR_METHOD_NOT_FOUND, "method not found");
		goto out;
	}
	if ((r = proto_method_check(m, req->params, why, sizeof(why))) != 0) {
		reply_error(c, &req->id, r, why);
		goto out;
	}
	log_debug("control: %s", m->name);
	bindings[PROTO_BINDING_INDEX(bindings, m->name)].handler(d, c, req);
out:
	proto_request_free(req);
}

void
control_handle_line(struct daemon *d, struct control_client *c, const char *text, size_t len)
{
	struct proto_limits lim = {CONTROL_MAX_LINE, PROTO_DEFAULT_MAX_DEPTH};
	struct proto_request *req = NULL;
	struct proto_failure fail;

	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	if (proto_parse_request(text, len, &lim, &req, &fail) != 0) {
		control_send(c, proto_emit_error(&fail.id, fail.err, fail.detail, -1));
		proto_failure_clear(&fail);
		return;
	}
	run_request(d, c, req); /* transferred */
}
