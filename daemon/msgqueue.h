/*
 * msgqueue.h - the send queue and the receive buffer of one connection on
 * the lws service thread: a browser session (session.c) or a client of the
 * control socket (control.c).
 *
 * Service thread only.  Nothing here parses what it carries: it moves
 * bytes, keeps LWS_PRE bytes of headroom in front of each queued message
 * for lws_write(), and counts the backlog so a peer that stops reading can
 * be dropped instead of growing memory without end.
 */
#ifndef CB_MSGQUEUE_H
#define CB_MSGQUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct lws;
struct outmsg;

/* How queued messages go out. */
enum msgqueue_kind {
	MSGQUEUE_WS_TEXT, /* one WebSocket text message each */
	MSGQUEUE_RAW_LINE /* raw bytes, each message followed by '\n' */
};

struct msgqueue {
	struct outmsg *head, *tail;
	size_t bytes; /* queued and not yet written */
};

struct rxbuf {
	char *data; /* bytes received and not yet consumed */
	size_t len, cap;
};

/*
 * Queue text (taken; NULL is CB_ERR_ALLOC) and ask lws for a WRITEABLE
 * callback on wsi.  CB_ERR_TOO_LARGE, with nothing queued, when the backlog
 * would pass max_backlog bytes: the caller closes the connection.
 */
int msgqueue_push(
    struct msgqueue *q, struct lws *wsi, enum msgqueue_kind kind, char *text, size_t max_backlog);

/*
 * From LWS_CALLBACK_*_WRITEABLE: write the oldest message.  -1: the write
 * failed (close the connection); 1: more are queued and another WRITEABLE
 * is asked for; 0: the queue is empty.
 */
int msgqueue_write(struct msgqueue *q, struct lws *wsi, enum msgqueue_kind kind);

/* Free every queued message. */
void msgqueue_clear(struct msgqueue *q);

/* Append len bytes; CB_ERR_ALLOC leaves the buffer as it was. */
int rxbuf_append(struct rxbuf *b, const void *in, size_t len);

/* Drop the first n bytes (n <= len). */
void rxbuf_consume(struct rxbuf *b, size_t n);

/* Empty the buffer; keep its memory for the next message unless it grew past keep. */
void rxbuf_reset(struct rxbuf *b, size_t keep);

void rxbuf_free(struct rxbuf *b);

#endif /* CB_MSGQUEUE_H */
