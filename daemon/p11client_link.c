/*
 * p11client_link.c - frame I/O on the socketpair to the PKCS#11 helper:
 * length-prefixed frames (protocol/ipc.h) out of an output buffer, and
 * frames assembled from whatever the helper sends.
 *
 * Client thread only: it alone touches the link's descriptor and buffers.
 * This file must never interpret a frame's JSON (p11client_calls.c does)
 * nor accept a frame over CB_IPC_MAX_FRAME: a broken frame breaks the link,
 * and the helper is killed and respawned.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/p11client_private.h"
#include "protocol/cberr.h"
#include "protocol/ipc.h"

/* Queue one frame around json for the helper. */
int
p11link_append(struct p11client *c, const char *json)
{
	uint8_t *frame, *n;
	size_t flen;
	int r;

	if ((r = ipc_frame_encode(json, strlen(json), &frame, &flen)) != 0)
		return r;
	if ((n = realloc(c->out, c->outlen + flen)) == NULL) {
		free(frame);
		return CB_ERR_ALLOC;
	}
	memcpy(n + c->outlen, frame, flen);
	c->out = n;
	c->outlen += flen;
	free(frame);
	return 0;
}

/*
 * One read from the helper into the frame reader: 1 when bytes came (look
 * for frames, then read again), 0 when nothing more is there for now,
 * CB_ERR_SYSTEM when the helper closed the link, CB_ERR_IPC on a bad frame.
 */
int
p11link_read(struct p11client *c)
{
	uint8_t buf[16384];
	ssize_t n;
	int r;

	n = read(c->fd, buf, sizeof(buf));
	if (n == 0)
		return CB_ERR_SYSTEM;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : CB_ERR_SYSTEM;
	if ((r = ipc_reader_feed(&c->reader, buf, (size_t)n)) != 0)
		return r;
	return 1;
}

/* The next complete frame (caller frees *msg), CB_ERR_AGAIN, or CB_ERR_IPC. */
int
p11link_next(struct p11client *c, char **msg, size_t *len)
{
	return ipc_reader_next(&c->reader, msg, len);
}

/* Write what the socket takes now; 0 also when some is left for POLLOUT. */
int
p11link_write(struct p11client *c)
{
	ssize_t n;

	while (c->outlen > 0) {
		n = write(c->fd, c->out, c->outlen);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : CB_ERR_SYSTEM;
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	return 0;
}

/* Close the link; frames not yet written are dropped (their calls are answered). */
void
p11link_close(struct p11client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->outlen = 0;
}
