/*
 * consent.c - the user's yes or no for origins nobody allow-listed.
 *
 * Threads: service thread only.  The question is asked at the first card
 * operation, not in the handshake (admission.c only admits the page as
 * pending): a page can open sockets without any user
 * intent (and a handshake held for two minutes looks like a dead helper),
 * while a card operation follows a click.  Until the answer, requests of
 * that origin are parked here and never reach the helper.
 *
 * Answers: "Always allow" is saved in the user's allow-list (origins.json,
 * revocable with `cardbridge origins revoke`); "Allow once" lets the
 * connections open right now go on; "Deny" refuses the origin until
 * cardbridged stops (or the user allows it with `cardbridge origins allow`),
 * handshakes included, so a page cannot pester the user.  The decisions
 * are kept by admission.c; this file asks, and parks requests meanwhile.
 * It never runs a request: dispatch.c, which runs every request, releases
 * the parked ones when the answer comes (consent_take_parked), so requests
 * flow one way, server.c -> dispatch.c -> consent.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/admission.h"
#include "daemon/consent.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "protocol/origin.h"

struct consent {
	struct consent *next;
	char origin[ORIGIN_MAX];
	bool asking; /* an origin.confirm is with the helper */
};

static struct consent *
consent_find(struct daemon *d, const char *origin, bool create)
{
	struct consent *c;

	for (c = d->consents; c; c = c->next)
		if (strcmp(c->origin, origin) == 0)
			return c;
	if (!create || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	snprintf(c->origin, sizeof(c->origin), "%s", origin);
	c->next = d->consents;
	d->consents = c;
	return c;
}

static void
ask_user(struct daemon *d, struct consent *c)
{
	struct proto_id id = {.kind = PROTO_ID_STRING, .str = c->origin};

	if (c->asking)
		return;
	/* Session 0: the dialog belongs to the origin, not to one connection. */
	const struct proto_method *m = proto_method_find("origin.confirm", PROTO_M_HELPER);

	if (p11client_submit(d->p11, P11_SESSION_DAEMON, &id, m->name, c->origin, NULL,
		config_budget_s(d->cfg, m)) == 0)
		c->asking = true;
}

bool
consent_hold(struct daemon *d, struct session *s, struct proto_request *req)
{
	struct parked *p, **tail;
	struct consent *c;

	if (!s->consent_pending)
		return false;
	if (admission_denied(d, s->origin) || (c = consent_find(d, s->origin, true)) == NULL) {
		if (req->id.kind != PROTO_ID_NONE)
			session_send_text(d, s,
			    proto_emit_error(&req->id, CB_ERR_ORIGIN_NOT_ALLOWED,
				"the user did not allow this site to use smart cards", -1));
		proto_request_free(req);
		return true;
	}
	if (s->in_flight >= d->cfg->max_in_flight || (p = calloc(1, sizeof(*p))) == NULL) {
		if (req->id.kind != PROTO_ID_NONE)
			session_send_text(d, s,
			    proto_emit_error(&req->id, CB_ERR_BUSY,
				"too many requests in flight on this connection", -1));
		proto_request_free(req);
		return true;
	}
	p->req = req; /* transferred */
	for (tail = &s->parked; *tail; tail = &(*tail)->next)
		;
	*tail = p;
	s->in_flight++;
	session_touch(d, s);
	log_info("session %llu: asking the user about %s", (unsigned long long)s->id, s->origin);
	ask_user(d, c);
	return true;
}

const char *
consent_reply(struct daemon *d, const struct p11_reply *r, int *err, const char **message)
{
	struct json_object *v;
	const char *decision = "";
	struct consent *c;

	if (r->rpc_id.kind != PROTO_ID_STRING ||
	    (c = consent_find(d, r->rpc_id.str, false)) == NULL)
		return NULL;
	c->asking = false;
	*err = r->err;
	*message = r->message;
	if (r->err != 0) {
		log_info("consent for %s: no answer (%s)", c->origin, cb_err_reason(r->err));
		return c->origin;
	}
	if (json_object_object_get_ex(r->result, "decision", &v) &&
	    json_object_is_type(v, json_type_string))
		decision = json_object_get_string(v);
	log_info("consent for %s: %s", c->origin, decision);
	if (strcmp(decision, "always") == 0) {
		if (admission_user_allow(d, c->origin) != 0)
			log_warn("could not save %s in the user's allow-list; allowed for now",
			    c->origin);
	} else if (strcmp(decision, "once") != 0) {
		admission_deny(d, c->origin);
		*err = CB_ERR_ORIGIN_NOT_ALLOWED;
		*message = "the user did not allow this site to use smart cards";
	}
	return c->origin;
}

struct parked *
consent_take_parked(struct session *s)
{
	struct parked *p = s->parked;

	s->parked = NULL;
	return p;
}

void
consent_session_gone(struct daemon *d, struct session *s)
{
	struct parked *p, *next;

	for (p = s->parked, s->parked = NULL; p; p = next) {
		next = p->next;
		proto_request_free(p->req);
		free(p);
	}
	(void)d;
}

void
consent_free(struct daemon *d)
{
	struct consent *c, *next;

	for (c = d->consents; c; c = next) {
		next = c->next;
		free(c);
	}
	d->consents = NULL;
}
