/*
 * session.c - one browser connection: receive, parse, queue answers.
 * The parsed request goes back to server.c, which hands it to dispatch.c:
 * this file is below dispatch.c (dispatch answers through it), so it never
 * calls dispatch itself.
 *
 * Runs on the lws service thread only.  A session never blocks: answers
 * are queued and written from LWS_CALLBACK_SERVER_WRITEABLE, one message
 * per callback as lws asks.  Whatever a page sends, the worst outcome is
 * an error answer or the close of this one connection.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <libwebsockets.h>

#include "common/clock.h"
#include "daemon/daemon.h"
#include "daemon/heap.h"
#include "daemon/log.h"
#include "protocol/cberr.h"

/* A page that stops reading its answers is dropped past this much backlog. */
#define SESSION_MAX_BACKLOG (4u * 1024 * 1024)
/* Seconds a page closed as idle has to read its close frame. */
#define SESSION_CLOSE_GRACE_S 5

/*
 * A close with a code starts from a timer, not from the WRITEABLE callback
 * returning -1: lws closes politely (close frame, wait for the answer) a
 * connection it is not serving at the moment (LWS_TO_KILL_SYNC).  Debian's
 * lws 4.1.6 is built with _DEBUG, and on libuv (evloop.c) a -1 from a
 * callback then closes the connection a second time at once ("uv repeat
 * test" in lws_service_fd_tsi): the close frame would never be sent.
 * Service thread only.
 */
static struct {
	struct daemon *d;
	lws_sorted_usec_list_t sul;
} closer;

static void
closer_run(lws_sorted_usec_list_t *sul)
{
	struct session *s;

	(void)sul;
	for (;;) { /* a close may end a session: look again from the start each time */
		for (s = closer.d->sessions; s && !s->close_ready; s = s->next)
			;
		if (s == NULL)
			return;
		s->close_ready = false;
		lws_close_reason(s->wsi, (enum lws_close_status)s->close_code,
		    (unsigned char *)s->close_reason, strlen(s->close_reason));
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
	}
}

void
session_register(struct daemon *d, struct session *s)
{
	s->id = ++d->next_session_id;
	s->next = d->sessions;
	s->prev = NULL;
	if (d->sessions)
		d->sessions->prev = s;
	d->sessions = s;
	s->registered = true;
	d->nsessions++;
}

void
session_unregister(struct daemon *d, struct session *s)
{
	if (!s->registered)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->registered = false;
	d->nsessions--;
	msgqueue_clear(&s->out);
	rxbuf_free(&s->rx);
	/* After a burst of connections, give glibc's freed heap back to the system. */
	if (d->nsessions == 0)
		heap_trim_soon(lws_get_context(s->wsi));
}

struct session *
session_find(struct daemon *d, uint64_t id)
{
	struct session *s;

	for (s = d->sessions; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/*
 * Idle timeout: a session with nothing in flight and no events wanted is
 * closed after idle_timeout seconds without a request, with a close frame
 * saying why (session_idle; an lws timeout would only drop the TCP
 * connection).  Arming an lws timer is a sorted insert among every
 * connection's timers, O(connections): done per request it was most of the
 * daemon's CPU with 1,000 pages connected.  So the timer is armed once, and
 * when it is due session_idle() looks at last_active and arms it again for
 * what is left.  (lws 4.1.6 cannot cancel one: LWS_SET_TIMER_USEC_CANCEL
 * makes it fire at once.)
 */
static void
idle_timer_arm(struct session *s, time_t seconds)
{
	lws_set_timer_usecs(s->wsi, (lws_usec_t)seconds * LWS_US_PER_SEC);
	s->idle_timer = true;
}

void
session_touch(struct daemon *d, struct session *s)
{
	s->last_active = time(NULL);
	if (!s->idle_timer)
		idle_timer_arm(s, d->cfg->idle_timeout);
}

void
session_idle(struct daemon *d, struct session *s)
{
	time_t idle = time(NULL) - s->last_active;

	s->idle_timer = false;
	if (s->close_code)
		return;
	if (s->in_flight > 0 || s->subscribed) {
		idle_timer_arm(s, d->cfg->idle_timeout); /* busy: look again later */
		return;
	}
	if (idle < d->cfg->idle_timeout) {
		idle_timer_arm(s, d->cfg->idle_timeout - idle);
		return;
	}
	log_info("session %llu: idle for %d s, closing", (unsigned long long)s->id,
	    d->cfg->idle_timeout);
	session_close(s, LWS_CLOSE_STATUS_GOINGAWAY, "idle");
	/* A page that reads nothing more is cut after a while, as before. */
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, SESSION_CLOSE_GRACE_S);
}

void
session_close(struct session *s, int code, const char *reason)
{
	if (s->close_code)
		return;
	s->close_code = code;
	snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
	lws_callback_on_writable(s->wsi);
}

int
session_send_text(struct daemon *d, struct session *s, char *text)
{
	int r;

	r = msgqueue_push(&s->out, s->wsi, MSGQUEUE_WS_TEXT, text, SESSION_MAX_BACKLOG);
	if (r == CB_ERR_TOO_LARGE) {
		log_warn("session %llu (%s): answers not read, closing", (unsigned long long)s->id,
		    s->origin);
		session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "answers not read");
	}
	(void)d;
	return r;
}

int
session_writeable(struct daemon *d, struct session *s)
{
	int r = msgqueue_write(&s->out, s->wsi, MSGQUEUE_WS_TEXT);

	if (r != 0)
		return r < 0 ? -1 : 0;
	if (s->close_code && !s->close_ready) {
		s->close_ready = true;
		closer.d = d;
		lws_sul_schedule(lws_get_context(s->wsi), 0, &closer.sul, closer_run, 1);
	}
	return 0;
}

void
session_broadcast_event(struct daemon *d, struct json_object *params)
{
	struct session *s;

	for (s = d->sessions; s; s = s->next)
		if (s->subscribed && !s->close_code)
			session_send_text(d, s, proto_emit_event(json_object_get(params)));
	json_object_put(params);
}

/* Parse a complete message: *req, or an error answer (and *req NULL). */
static void
parse_message(
    struct daemon *d, struct session *s, const char *text, size_t len, struct proto_request **req)
{
	struct proto_limits lim = {d->cfg->max_message, d->cfg->max_depth};
	struct proto_failure fail;

	if (proto_parse_request(text, len, &lim, req, &fail) != 0) {
		log_debug("session %llu: refused a message: %s: %s", (unsigned long long)s->id,
		    cb_err_reason(fail.err), fail.detail);
		/* Notifications get no answer, even a broken one: JSON-RPC 2.0 4.1. */
		session_send_text(d, s, proto_emit_error(&fail.id, fail.err, fail.detail, -1));
		proto_failure_clear(&fail);
		*req = NULL;
		return;
	}
	/* Progress says how long ago this was, consent dialog included (p11client.h). */
	(*req)->received_ms = (int64_t)cb_now_ms();
}

/* Collect fragments; parse once the message is complete. */
int
session_receive(struct daemon *d, struct session *s, const void *in, size_t len, bool first,
    bool final, bool binary, struct proto_request **req)
{
	*req = NULL;
	if (binary) {
		session_close(
		    s, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary frames are not accepted");
		return 0;
	}
	if (first) {
		s->rx.len = 0;
		s->rx_too_large = false;
	}
	if (!s->rx_too_large && s->rx.len + len > d->cfg->max_message)
		s->rx_too_large = true;
	if (!s->rx_too_large && rxbuf_append(&s->rx, in, len) != 0)
		return -1;
	if (!final)
		return 0;
	session_touch(d, s);
	if (s->rx_too_large) {
		struct proto_id null_id = {.kind = PROTO_ID_NULL};
		char detail[96];

		snprintf(detail, sizeof(detail), "message exceeds the limit of %zu bytes",
		    d->cfg->max_message);
		session_send_text(d, s, proto_emit_error(&null_id, CB_ERR_TOO_LARGE, detail, -1));
		session_close(s, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
		return 0;
	}
	parse_message(d, s, s->rx.data ? s->rx.data : "", s->rx.len, req);
	/* Keep small buffers for the next message; give big ones back. */
	rxbuf_reset(&s->rx, 65536);
	return 0;
}
