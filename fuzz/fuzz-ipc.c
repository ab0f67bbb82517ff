/*
 * fuzz-ipc.c - the daemon <-> helper frame codec (protocol/ipc.c) on a
 * byte stream that arrives in arbitrary pieces.
 *
 * Input: byte 0 says how many chunk sizes follow (low 3 bits, plus one)
 * and whether the reader gets a small max_frame (bit 3; the next byte is
 * then max_frame - 1), so that the oversize paths are reachable with short
 * inputs; then the chunk sizes (each byte + 1, used in turn); the rest is
 * the stream, fed chunk by chunk and drained after every chunk exactly as
 * daemon/p11client.c and pkcs11/helper.c do, stopping at the first error
 * (where they kill the helper or exit).
 *
 * Properties: the frames read are exactly those a plain reference decoder
 * finds in the stream, byte for byte and NUL-terminated; the reader fails
 * if and only if the reference finds a bad frame (empty, oversize or with
 * a NUL); re-encoding a frame gives back its bytes, and an encoded text
 * decodes to itself.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "protocol/cberr.h"
#include "protocol/ipc.h"

struct input {
	const uint8_t *sizes;
	size_t nsizes;
	size_t max_frame;
	const uint8_t *stream;
	size_t len;
};

static bool
split_input(const uint8_t *data, size_t size, struct input *in)
{
	size_t at = 1;

	if (size < 1)
		return false;
	in->nsizes = (data[0] & 7) + 1;
	in->max_frame = 0;
	if (data[0] & 8) {
		if (size < 2)
			return false;
		in->max_frame = (size_t)data[1] + 1;
		at = 2;
	}
	if (size < at + in->nsizes)
		return false;
	in->sizes = data + at;
	in->stream = data + at + in->nsizes;
	in->len = size - at - in->nsizes;
	return true;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Reference decoder: the frame at *pos.  1 and *pos advanced for a good
 * frame, 0 when the stream ends inside it, -1 for a bad one.
 */
static int
ref_frame(const uint8_t *s, size_t len, size_t max, size_t *pos, size_t *body, size_t *blen)
{
	uint32_t flen;

	if (len - *pos < 4)
		return 0;
	flen = be32(s + *pos);
	if (flen == 0 || flen > max)
		return -1;
	if (len - *pos - 4 < flen)
		return 0;
	if (memchr(s + *pos + 4, '\0', flen) != NULL)
		return -1;
	*body = *pos + 4;
	*blen = flen;
	*pos += 4 + flen;
	return 1;
}

/* A frame the reader returned against the reference, and its re-encoding. */
static void
check_frame(const struct input *in, size_t max, size_t *pos, const char *msg, size_t len)
{
	size_t body, blen, before = *pos, elen;
	uint8_t *enc;

	FUZZ_CHECK(ref_frame(in->stream, in->len, max, pos, &body, &blen) == 1);
	FUZZ_CHECK(len == blen && memcmp(msg, in->stream + body, len) == 0);
	FUZZ_CHECK(msg[len] == '\0' && strlen(msg) == len);
	FUZZ_CHECK(ipc_frame_encode(msg, len, &enc, &elen) == 0);
	FUZZ_CHECK(elen == *pos - before && memcmp(enc, in->stream + before, elen) == 0);
	free(enc);
}

/* Feed and drain chunk by chunk; 0 when the stream ran out, else the error. */
static int
replay(const struct input *in, struct ipc_reader *r, size_t max)
{
	size_t off = 0, n, k = 0, pos = 0, len;
	char *msg;
	int err;

	while (off < in->len) {
		n = (size_t)in->sizes[k++ % in->nsizes] + 1;
		if (n > in->len - off)
			n = in->len - off;
		if ((err = ipc_reader_feed(r, in->stream + off, n)) != 0)
			return err;
		off += n;
		while ((err = ipc_reader_next(r, &msg, &len)) == 0) {
			check_frame(in, max, &pos, msg, len);
			free(msg);
		}
		if (err != CB_ERR_AGAIN)
			return err;
		FUZZ_CHECK(msg == NULL && len == 0);
	}
	return 0;
}

/* Does the reference decoder find a bad frame before the stream ends? */
static bool
ref_has_bad_frame(const struct input *in, size_t max)
{
	size_t pos = 0, body, blen;
	int v;

	while ((v = ref_frame(in->stream, in->len, max, &pos, &body, &blen)) == 1)
		continue;
	return v < 0;
}

/* The whole stream as one text: encode, then read back in one piece. */
static void
encode_round_trip(const struct input *in)
{
	struct ipc_reader r;
	uint8_t *enc;
	size_t elen, len;
	char *msg;
	int err;

	err = ipc_frame_encode((const char *)in->stream, in->len, &enc, &elen);
	if (in->len == 0 || in->len > CB_IPC_MAX_FRAME) {
		FUZZ_CHECK(err == CB_ERR_TOO_LARGE && enc == NULL);
		return;
	}
	FUZZ_CHECK(err == 0 && elen == in->len + CB_IPC_HEADER);
	ipc_reader_init(&r, 0);
	FUZZ_CHECK(ipc_reader_feed(&r, enc, elen) == 0);
	err = ipc_reader_next(&r, &msg, &len);
	if (memchr(in->stream, '\0', in->len) != NULL) {
		FUZZ_CHECK(err == CB_ERR_IPC);
	} else {
		FUZZ_CHECK(err == 0 && len == in->len && memcmp(msg, in->stream, len) == 0);
		free(msg);
		FUZZ_CHECK(ipc_reader_next(&r, &msg, &len) == CB_ERR_AGAIN);
	}
	free(msg);
	free(enc);
	ipc_reader_clear(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_reader r;
	struct input in;
	size_t max;
	int err;

	if (!split_input(data, size, &in))
		return 0;
	ipc_reader_init(&r, in.max_frame);
	max = in.max_frame ? in.max_frame : CB_IPC_MAX_FRAME;
	FUZZ_CHECK(r.max_frame == max);
	err = replay(&in, &r, max);
	FUZZ_CHECK(err == 0 || err == CB_ERR_IPC);
	FUZZ_CHECK((err == CB_ERR_IPC) == ref_has_bad_frame(&in, max));
	ipc_reader_clear(&r);
	FUZZ_CHECK(r.buf == NULL && r.len == 0 && r.max_frame == max);
	encode_round_trip(&in);
	return 0;
}
