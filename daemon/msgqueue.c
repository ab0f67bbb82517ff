/*
 * msgqueue.c - one send queue and one receive buffer, shared by the browser
 * sessions (session.c) and the control socket's clients (control.c).
 *
 * Runs on the lws service thread only.  A connection never blocks: answers
 * are queued here and written one per WRITEABLE callback, as lws asks.
 * This file must never look inside what it carries, nor call lws_write()
 * outside a WRITEABLE callback.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "daemon/msgqueue.h"
#include "protocol/cberr.h"

struct outmsg {
	struct outmsg *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then len bytes */
};

int
msgqueue_push(
    struct msgqueue *q, struct lws *wsi, enum msgqueue_kind kind, char *text, size_t max_backlog)
{
	size_t len, extra = kind == MSGQUEUE_RAW_LINE ? 1 : 0;
	struct outmsg *m;

	if (text == NULL)
		return CB_ERR_ALLOC;
	len = strlen(text);
	if (q->bytes + len > max_backlog) {
		free(text);
		return CB_ERR_TOO_LARGE;
	}
	if ((m = malloc(sizeof(*m) + LWS_PRE + len + extra)) == NULL) {
		free(text);
		return CB_ERR_ALLOC;
	}
	m->next = NULL;
	m->len = len + extra;
	memcpy(m->buf + LWS_PRE, text, len);
	if (extra)
		m->buf[LWS_PRE + len] = '\n';
	free(text);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += m->len;
	lws_callback_on_writable(wsi);
	return 0;
}

int
msgqueue_write(struct msgqueue *q, struct lws *wsi, enum msgqueue_kind kind)
{
	enum lws_write_protocol how = kind == MSGQUEUE_RAW_LINE ? LWS_WRITE_RAW : LWS_WRITE_TEXT;
	struct outmsg *m = q->head;

	if (m == NULL)
		return 0;
	if (lws_write(wsi, m->buf + LWS_PRE, m->len, how) < (int)m->len)
		return -1;
	q->head = m->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->bytes -= m->len;
	free(m);
	if (q->head == NULL)
		return 0;
	lws_callback_on_writable(wsi);
	return 1;
}

void
msgqueue_clear(struct msgqueue *q)
{
	struct outmsg *m, *next;

	for (m = q->head; m; m = next) {
		next = m->next;
		free(m);
	}
	q->head = q->tail = NULL;
	q->bytes = 0;
}

int
rxbuf_append(struct rxbuf *b, const void *in, size_t len)
{
	size_t cap;
	char *n;

	if (len == 0)
		return 0;
	if (b->len + len > b->cap) {
		for (cap = b->cap ? b->cap : 4096; cap < b->len + len; cap *= 2)
			;
		if ((n = realloc(b->data, cap)) == NULL)
			return CB_ERR_ALLOC;
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, in, len);
	b->len += len;
	return 0;
}

void
rxbuf_consume(struct rxbuf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void
rxbuf_reset(struct rxbuf *b, size_t keep)
{
	b->len = 0;
	if (b->cap > keep)
		rxbuf_free(b);
}

void
rxbuf_free(struct rxbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
