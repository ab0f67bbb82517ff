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
 * One dialog at a time: origins wait in a queue, and the next is asked
 * when the current answer has come (consent_next).  A site (site.h) whose
 * dialogs went unanswered CONSENT_UNANSWERED_MAX times within
 * CONSENT_QUIET_S is not asked again until that time has passed: its
 * requests fail at once.  So a page cannot fill the screen with dialogs,
 * from one origin or from many subdomains.
 *
 * Answers: "Always allow" is saved in the user's allow-list (origins.json,
 * revocable with `cardbridge origins revoke`); "Allow once" lets the
 * connections open right now go on; "Deny" refuses the origin's whole site
 * for a day (admission.c, kept in denied.json), handshakes included, until
 * the user allows one of its origins with `cardbridge origins allow`.
 * The decisions are kept by admission.c; this file asks, and parks
 * requests meanwhile.  It never runs a request: dispatch.c, which runs
 * every request, releases the parked ones when the answer comes
 * (consent_take_parked), so requests flow one way, server.c -> dispatch.c
 * -> consent.c.  Refusing them needs no dispatch: that is done here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "daemon/admission.h"
#include "daemon/consent.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "daemon/site.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "protocol/origin.h"

#define CONSENT_UNANSWERED_MAX 2
#define CONSENT_QUIET_S 600

#define NOT_ALLOWED_TEXT "the user did not allow this site to use smart cards"
#define QUIET_TEXT "this site asked the user too often; try again in a few minutes"

/* An origin waiting for its dialog (or, at the head while asking, in it). */
struct waiting {
	struct waiting *next;
	char origin[ORIGIN_MAX];
	char site[SITE_MAX];
};

/* A site's dialogs that ended with no answer, counted from since. */
struct unanswered {
	struct unanswered *next;
	char site[SITE_MAX];
	time_t since;
	int n;
};

struct consent {
	struct waiting *queue; /* oldest first */
	bool asking;	       /* an origin.confirm for queue's head is with the helper */
	struct unanswered *sites;
};

static struct consent *
state(struct daemon *d)
{
	if (d->consents == NULL)
		d->consents = calloc(1, sizeof(*d->consents));
	return d->consents;
}

static struct unanswered *
unanswered_of(struct consent *c, const char *site, bool create)
{
	struct unanswered *u;
	time_t now = time(NULL);

	for (u = c->sites; u; u = u->next)
		if (strcmp(u->site, site) == 0)
			break;
	if (u == NULL && create && (u = calloc(1, sizeof(*u))) != NULL) {
		snprintf(u->site, sizeof(u->site), "%s", site);
		u->next = c->sites;
		c->sites = u;
	}
	if (u != NULL && now - u->since > CONSENT_QUIET_S) {
		u->since = now; /* a new window */
		u->n = 0;
	}
	return u;
}

static bool
site_quiet(struct consent *c, const char *site)
{
	struct unanswered *u = unanswered_of(c, site, false);

	return u != NULL && u->n >= CONSENT_UNANSWERED_MAX;
}

/* Answer one request of s with an error (none for a notification) and free it. */
static void
refuse(struct daemon *d, struct session *s, struct proto_request *req, int err, const char *text)
{
	if (req->id.kind != PROTO_ID_NONE)
		session_send_text(d, s, proto_emit_error(&req->id, err, text, -1));
	proto_request_free(req);
}

void
consent_refuse_parked(struct daemon *d, const char *origin, int err, const char *message)
{
	struct parked *p, *next;
	struct session *s;

	for (s = d->sessions; s; s = s->next) {
		if (!s->consent_pending || strcmp(s->origin, origin) != 0 || s->parked == NULL)
			continue;
		for (p = consent_take_parked(s); p; p = next) {
			next = p->next;
			s->in_flight--;
			refuse(d, s, p->req, err, message);
			free(p);
		}
		session_touch(d, s);
	}
}

static bool
has_parked(struct daemon *d, const char *origin)
{
	struct session *s;

	for (s = d->sessions; s; s = s->next)
		if (s->consent_pending && s->parked != NULL && strcmp(s->origin, origin) == 0)
			return true;
	return false;
}

static int
ask_user(struct daemon *d, const struct waiting *w)
{
	struct proto_id id = {.kind = PROTO_ID_STRING, .str = (char *)w->origin};
	const struct proto_method *m = proto_method_find("origin.confirm", PROTO_M_HELPER);

	log_info("asking the user about %s", w->origin);
	/* Session 0: the dialog belongs to the origin, not to one connection. */
	return p11client_submit(
	    d->p11, P11_SESSION_DAEMON, &id, m->name, w->origin, NULL, config_budget_s(d->cfg, m));
}

static void
pop(struct consent *c)
{
	struct waiting *w = c->queue;

	c->queue = w->next;
	free(w);
}

void
consent_next(struct daemon *d)
{
	struct consent *c = d->consents;
	struct waiting *w;

	while (c != NULL && !c->asking && (w = c->queue) != NULL) {
		if (!has_parked(d, w->origin))
			; /* its pages left meanwhile */
		else if (admission_denied(d, w->origin))
			consent_refuse_parked(
			    d, w->origin, CB_ERR_ORIGIN_NOT_ALLOWED, NOT_ALLOWED_TEXT);
		else if (site_quiet(c, w->site))
			consent_refuse_parked(d, w->origin, CB_ERR_ORIGIN_NOT_ALLOWED, QUIET_TEXT);
		else if (ask_user(d, w) == 0) {
			c->asking = true;
			return;
		} else
			consent_refuse_parked(d, w->origin, CB_ERR_INTERNAL, NULL);
		pop(c);
	}
}

/* Queue origin for a dialog, once. */
static int
enqueue(struct consent *c, const struct session *s)
{
	struct waiting *w, **tail;

	for (tail = &c->queue; *tail; tail = &(*tail)->next)
		if (strcmp((*tail)->origin, s->origin) == 0)
			return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CB_ERR_ALLOC;
	snprintf(w->origin, sizeof(w->origin), "%s", s->origin);
	snprintf(w->site, sizeof(w->site), "%s", s->site);
	*tail = w;
	return 0;
}

static int
park(struct daemon *d, struct session *s, struct proto_request *req)
{
	struct parked *p, **tail;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CB_ERR_ALLOC;
	p->req = req; /* transferred */
	for (tail = &s->parked; *tail; tail = &(*tail)->next)
		;
	*tail = p;
	s->in_flight++;
	session_touch(d, s);
	return 0;
}

bool
consent_hold(struct daemon *d, struct session *s, struct proto_request *req)
{
	struct consent *c;

	if (!s->consent_pending)
		return false;
	if ((c = state(d)) == NULL)
		refuse(d, s, req, CB_ERR_ALLOC, NULL);
	else if (admission_denied(d, s->origin))
		refuse(d, s, req, CB_ERR_ORIGIN_NOT_ALLOWED, NOT_ALLOWED_TEXT);
	else if (site_quiet(c, s->site))
		refuse(d, s, req, CB_ERR_ORIGIN_NOT_ALLOWED, QUIET_TEXT);
	else if (s->in_flight >= d->cfg->max_in_flight)
		refuse(d, s, req, CB_ERR_BUSY, "too many requests in flight on this connection");
	else if (enqueue(c, s) != 0 || park(d, s, req) != 0)
		refuse(d, s, req, CB_ERR_ALLOC, NULL);
	else {
		log_info("session %llu: %s waits for the user's answer", (unsigned long long)s->id,
		    s->origin);
		consent_next(d);
	}
	return true;
}

/* The user's answer (r->err 0) to the dialog for w: record it. */
static void
record_answer(struct daemon *d, const struct waiting *w, const struct p11_reply *r, int *err,
    const char **message)
{
	struct json_object *v;
	const char *decision = "";

	if (json_object_object_get_ex(r->result, "decision", &v) &&
	    json_object_is_type(v, json_type_string))
		decision = json_object_get_string(v);
	log_info("consent for %s: %s", w->origin, decision);
	if (strcmp(decision, "always") == 0) {
		if (admission_user_allow(d, w->origin) != 0)
			log_warn("could not save %s in the user's allow-list; allowed for now",
			    w->origin);
	} else if (strcmp(decision, "once") != 0) {
		admission_deny(d, w->origin);
		*err = CB_ERR_ORIGIN_NOT_ALLOWED;
		*message = NOT_ALLOWED_TEXT;
	}
}

bool
consent_reply(struct daemon *d, const struct p11_reply *r, char *origin, size_t size, int *err,
    const char **message)
{
	struct consent *c = d->consents;
	struct unanswered *u;
	struct waiting *w;

	if (r->rpc_id.kind != PROTO_ID_STRING || c == NULL || !c->asking ||
	    (w = c->queue) == NULL || strcmp(w->origin, r->rpc_id.str) != 0)
		return false;
	c->asking = false;
	snprintf(origin, size, "%s", w->origin);
	*err = r->err;
	*message = r->message;
	if (r->err == 0)
		record_answer(d, w, r, err, message);
	else {
		log_info("consent for %s: no answer (%s)", w->origin, cb_err_reason(r->err));
		if ((u = unanswered_of(c, w->site, true)) != NULL)
			u->n++;
	}
	pop(c);
	return true;
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
	struct consent *c = d->consents;
	struct unanswered *u, *next;

	if (c == NULL)
		return;
	while (c->queue != NULL)
		pop(c);
	for (u = c->sites; u; u = next) {
		next = u->next;
		free(u);
	}
	free(c);
	d->consents = NULL;
}
