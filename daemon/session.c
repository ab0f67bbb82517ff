/*
 * session.c - one browser connection: receive, parse, queue answers.
 *
 * Runs on the lws service thread only.  A session never blocks: answers
 * are queued and written from LWS_CALLBACK_SERVER_WRITEABLE, one message
 * per callback as lws asks.  Whatever a page sends, the worst outcome is
 * an error answer or the close of this one connection.
 */
#include "config.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "daemon/activation.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "protocol/cberr.h"

/* A page that stops reading its answers is dropped past this much backlog. */
#define SESSION_MAX_BACKLOG (4u * 1024 * 1024)

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
	struct outmsg *m, *next;

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
	for (m = s->out_head; m; m = next) {
		next = m->next;
		free(m);
	}
	s->out_head = s->out_tail = NULL;
	free(s->rx);
	s->rx = NULL;
	/* After a burst of connections, give glibc's freed heap back to the system. */
	if (d->nsessions == 0) {
		malloc_trim(0);
		activation_idle_check(d);
	}
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
 * Idle timeout: only while nothing is in flight and no events are wanted.
 * Re-arming costs a sorted insert in lws, so a busy connection re-arms at
 * most once a second (the timeout is in seconds anyway).
 */
void
session_touch(struct daemon *d, struct session *s)
{
	time_t now;

	if (s->in_flight > 0 || s->subscribed) {
		if (s->idle_armed) {
			lws_set_timeout(s->wsi, NO_PENDING_TIMEOUT, 0);
			s->idle_armed = 0;
		}
		return;
	}
	now = time(NULL);
	if (s->idle_armed == now)
		return;
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, d->cfg->idle_timeout);
	s->idle_armed = now;
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
	struct outmsg *m;
	size_t len;

	if (text == NULL)
		return CB_ERR_ALLOC;
	len = strlen(text);
	if (s->out_bytes + len > SESSION_MAX_BACKLOG) {
		log_warn("session %llu (%s): answers not read, closing", (unsigned long long)s->id,
		    s->origin);
		free(text);
		session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "answers not read");
		return CB_ERR_TOO_LARGE;
	}
	if ((m = malloc(sizeof(*m) + LWS_PRE + len)) == NULL) {
		free(text);
		return CB_ERR_ALLOC;
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->buf + LWS_PRE, text, len);
	free(text);
	if (s->out_tail)
		s->out_tail->next = m;
	else
		s->out_head = m;
	s->out_tail = m;
	s->out_bytes += len;
	lws_callback_on_writable(s->wsi);
	(void)d;
	return 0;
}

int
session_writeable(struct daemon *d, struct session *s)
{
	struct outmsg *m = s->out_head;

	if (m != NULL) {
		if (lws_write(s->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
			return -1;
		s->out_head = m->next;
		if (s->out_head == NULL)
			s->out_tail = NULL;
		s->out_bytes -= m->len;
		free(m);
		if (s->out_head) {
			lws_callback_on_writable(s->wsi);
			return 0;
		}
	}
	if (s->close_code) {
		lws_close_reason(s->wsi, (enum lws_close_status)s->close_code,
		    (unsigned char *)s->close_reason, strlen(s->close_reason));
		return -1;
	}
	(void)d;
	return 0;
}

static void
handle_message(struct daemon *d, struct session *s, const char *text, size_t len)
{
	struct proto_limits lim = {d->cfg->max_message, d->cfg->max_depth};
	struct proto_request *req = NULL;
	struct proto_failure fail;

	if (proto_parse_request(text, len, &lim, &req, &fail) != 0) {
		log_debug("session %llu: refused a message: %s: %s", (unsigned long long)s->id,
		    cb_err_reason(fail.err), fail.detail);
		/* Notifications get no answer, even a broken one: JSON-RPC 2.0 4.1. */
		session_send_text(d, s, proto_emit_error(&fail.id, fail.err, fail.detail, -1));
		proto_failure_clear(&fail);
		return;
	}
	dispatch_request(d, s, req); /* transferred */
}

/* Collect fragments; parse once the message is complete. */
int
session_receive(struct daemon *d, struct session *s, const void *in, size_t len, bool first,
    bool final, bool binary)
{
	size_t cap;
	char *n;

	if (binary) {
		session_close(
		    s, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary frames are not accepted");
		return 0;
	}
	if (first) {
		s->rxlen = 0;
		s->rx_too_large = false;
	}
	if (!s->rx_too_large && s->rxlen + len > d->cfg->max_message)
		s->rx_too_large = true;
	if (!s->rx_too_large && len > 0) {
		if (s->rxlen + len > s->rxcap) {
			cap = s->rxcap ? s->rxcap : 4096;
			while (cap < s->rxlen + len)
				cap *= 2;
			if ((n = realloc(s->rx, cap)) == NULL)
				return -1;
			s->rx = n;
			s->rxcap = cap;
		}
		memcpy(s->rx + s->rxlen, in, len);
		s->rxlen += len;
	}
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
	handle_message(d, s, s->rx ? s->rx : "", s->rxlen);
	/* Keep small buffers for the next message; give big ones back. */
	if (s->rxcap > 65536) {
		free(s->rx);
		s->rx = NULL;
		s->rxcap = 0;
	}
	s->rxlen = 0;
	return 0;
}
