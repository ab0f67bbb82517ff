/*
 * ipc.c - length-prefixed framing for the daemon <-> helper socketpair.
 *
 * Must never trust the length field: it is checked against max_frame
 * before anything is allocated for it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/ipc.h"

void
ipc_reader_init(struct ipc_reader *r, size_t max_frame)
{
	memset(r, 0, sizeof(*r));
	r->max_frame = max_frame ? max_frame : CB_IPC_MAX_FRAME;
}

void
ipc_reader_clear(struct ipc_reader *r)
{
	free(r->buf);
	ipc_reader_init(r, r->max_frame);
}

static uint32_t
frame_length(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int
ipc_reader_feed(struct ipc_reader *r, const void *data, size_t n)
{
	size_t need, cap;
	uint8_t *nbuf;

	if (n == 0)
		return 0;
	if (r->len + n < r->len)
		return CB_ERR_IPC;
	/* Refuse an oversize frame as soon as its header is known. */
	if (r->len >= CB_IPC_HEADER && frame_length(r->buf) > r->max_frame)
		return CB_ERR_IPC;
	need = r->len + n;
	if (need > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while (cap < need)
			cap *= 2;
		if ((nbuf = realloc(r->buf, cap)) == NULL)
			return CB_ERR_ALLOC;
		r->buf = nbuf;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return 0;
}

int
ipc_reader_next(struct ipc_reader *r, char **msg, size_t *len)
{
	uint32_t flen;
	char *text;

	*msg = NULL;
	*len = 0;
	if (r->len < CB_IPC_HEADER)
		return CB_ERR_AGAIN;
	flen = frame_length(r->buf);
	if (flen == 0 || flen > r->max_frame)
		return CB_ERR_IPC;
	if (r->len - CB_IPC_HEADER < flen)
		return CB_ERR_AGAIN;
	if (memchr(r->buf + CB_IPC_HEADER, '\0', flen) != NULL)
		return CB_ERR_IPC;
	if ((text = malloc((size_t)flen + 1)) == NULL)
		return CB_ERR_ALLOC;
	memcpy(text, r->buf + CB_IPC_HEADER, flen);
	text[flen] = '\0';
	memmove(r->buf, r->buf + CB_IPC_HEADER + flen, r->len - CB_IPC_HEADER - flen);
	r->len -= CB_IPC_HEADER + flen;
	*msg = text;
	*len = flen;
	return 0;
}

int
ipc_frame_encode(const char *text, size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *frame;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || len > CB_IPC_MAX_FRAME)
		return CB_ERR_TOO_LARGE;
	if ((frame = malloc(len + CB_IPC_HEADER)) == NULL)
		return CB_ERR_ALLOC;
	frame[0] = (uint8_t)(len >> 24);
	frame[1] = (uint8_t)(len >> 16);
	frame[2] = (uint8_t)(len >> 8);
	frame[3] = (uint8_t)len;
	memcpy(frame + CB_IPC_HEADER, text, len);
	*out = frame;
	*outlen = len + CB_IPC_HEADER;
	return 0;
}
