/*
 * test-ipc.c - unit tests of protocol/ipc.c (TAP): the length-prefixed
 * frames between the daemon and the PKCS#11 helper, written by
 * ipc_frame_encode() and put together again by an ipc_reader however the
 * socket cuts the stream; empty, oversize and NUL-holding frames refused.
 *
 * A bad frame means a broken peer: the reader must refuse it before it
 * allocates or waits for the body.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/ipc.h"
#include "tests/proto-test.h"

/* --- reading frames -------------------------------------------------------- */

static void
test_ipc_frame_round_trips(void)
{
	static const char msg[] = "{\"id\":1,\"method\":\"hello\"}";
	struct ipc_reader r;
	uint8_t *frame;
	size_t flen, len;
	char *out;

	TAP_CHECK(ipc_frame_encode(msg, sizeof(msg) - 1, &frame, &flen) == 0);
	TAP_CHECK(flen == sizeof(msg) - 1 + CB_IPC_HEADER);
	TAP_CHECK(frame[0] == 0 && frame[1] == 0 && frame[2] == 0 && frame[3] == sizeof(msg) - 1);
	ipc_reader_init(&r, 0);
	TAP_CHECK(ipc_reader_feed(&r, frame, flen) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == 0);
	TAP_CHECK(out != NULL && len == sizeof(msg) - 1 && strcmp(out, msg) == 0);
	free(out);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == CB_ERR_AGAIN && out == NULL && len == 0);
	ipc_reader_clear(&r);
	free(frame);
}

static void
test_ipc_frame_fed_byte_by_byte_is_reassembled(void)
{
	static const char msg[] = "{\"event\":\"tokensChanged\"}";
	struct ipc_reader r;
	uint8_t *frame;
	size_t flen, len, i;
	char *out = NULL;
	int early = 0;

	TAP_CHECK(ipc_frame_encode(msg, sizeof(msg) - 1, &frame, &flen) == 0);
	ipc_reader_init(&r, 0);
	for (i = 0; i + 1 < flen; i++) {
		TAP_CHECK(ipc_reader_feed(&r, frame + i, 1) == 0);
		if (ipc_reader_next(&r, &out, &len) != CB_ERR_AGAIN)
			early++;
	}
	TAP_CHECK(early == 0);
	TAP_CHECK(ipc_reader_feed(&r, frame + flen - 1, 1) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == 0);
	TAP_CHECK(out != NULL && strcmp(out, msg) == 0);
	free(out);
	ipc_reader_clear(&r);
	free(frame);
}

static void
test_two_ipc_frames_in_one_feed_come_out_in_order(void)
{
	static const uint8_t two[] = {
	    0, 0, 0, 3, 'o', 'n', 'e', 0, 0, 0, 5, 't', 'h', 'r', 'e', 'e', 0, 0};
	struct ipc_reader r;
	size_t len;
	char *out;

	ipc_reader_init(&r, 0);
	TAP_CHECK(ipc_reader_feed(&r, two, sizeof(two)) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == 0 && len == 3 && strcmp(out, "one") == 0);
	free(out);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == 0 && len == 5 && strcmp(out, "three") == 0);
	free(out);
	/* Half of a third header is waiting. */
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == CB_ERR_AGAIN);
	ipc_reader_clear(&r);
}

static void
test_ipc_oversize_length_is_refused_before_the_body_arrives(void)
{
	static const uint8_t header[] = {0x00, 0x10, 0x00, 0x01}; /* 1 MiB + 1 */
	static const uint8_t body[64] = {'x'};
	struct ipc_reader r;
	size_t len;
	char *out;

	ipc_reader_init(&r, 0);
	TAP_CHECK(ipc_reader_feed(&r, header, sizeof(header)) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == CB_ERR_IPC);
	TAP_CHECK(ipc_reader_feed(&r, body, sizeof(body)) == CB_ERR_IPC);
	TAP_CHECK(r.len == sizeof(header));
	ipc_reader_clear(&r);
}

static void
test_ipc_frame_at_the_reader_limit_is_accepted(void)
{
	static const uint8_t frame[] = {0, 0, 0, 8, '{', '"', 'a', '"', ':', '1', '}', ' '};
	struct ipc_reader r;
	size_t len;
	char *out;

	ipc_reader_init(&r, 8);
	TAP_CHECK(ipc_reader_feed(&r, frame, sizeof(frame)) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == 0 && len == 8);
	free(out);
	ipc_reader_clear(&r);
	TAP_CHECK(r.max_frame == 8);
}

static void
test_ipc_frame_one_byte_over_the_reader_limit_is_refused(void)
{
	static const uint8_t header[] = {0, 0, 0, 9};
	struct ipc_reader r;
	size_t len;
	char *out;

	ipc_reader_init(&r, 8);
	TAP_CHECK(ipc_reader_feed(&r, header, 2) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == CB_ERR_AGAIN);
	TAP_CHECK(ipc_reader_feed(&r, header + 2, 2) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == CB_ERR_IPC);
	ipc_reader_clear(&r);
}

static void
test_ipc_zero_length_frame_is_refused(void)
{
	static const uint8_t frame[] = {0, 0, 0, 0, 0, 0, 0, 1, 'x'};
	struct ipc_reader r;
	size_t len;
	char *out;

	ipc_reader_init(&r, 0);
	TAP_CHECK(ipc_reader_feed(&r, frame, sizeof(frame)) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == CB_ERR_IPC && out == NULL);
	ipc_reader_clear(&r);
}

static void
test_ipc_frame_with_nul_is_refused(void)
{
	static const uint8_t frame[] = {0, 0, 0, 4, '{', '\0', '}', ' '};
	struct ipc_reader r;
	size_t len;
	char *out;

	ipc_reader_init(&r, 0);
	TAP_CHECK(ipc_reader_feed(&r, frame, sizeof(frame)) == 0);
	TAP_CHECK(ipc_reader_next(&r, &out, &len) == CB_ERR_IPC && out == NULL);
	ipc_reader_clear(&r);
}

/* --- writing frames -------------------------------------------------------- */

/* len blanks (not NUL-terminated), or NULL. */
static char *
blank_text(size_t len)
{
	char *text = malloc(len);

	if (text != NULL)
		memset(text, ' ', len);
	return text;
}

static void
test_ipc_encoder_refuses_empty_text(void)
{
	uint8_t *frame = (uint8_t *)"unchanged";
	size_t flen = 1;

	TAP_CHECK(ipc_frame_encode("x", 0, &frame, &flen) == CB_ERR_TOO_LARGE);
	TAP_CHECK(frame == NULL && flen == 0);
}

static void
test_ipc_encoder_refuses_text_over_the_frame_limit(void)
{
	char *big = blank_text(CB_IPC_MAX_FRAME + 1);
	uint8_t *frame;
	size_t flen;

	TAP_CHECK(big != NULL);
	if (big != NULL)
		TAP_CHECK(
		    ipc_frame_encode(big, CB_IPC_MAX_FRAME + 1, &frame, &flen) == CB_ERR_TOO_LARGE);
	free(big);
}

static void
test_ipc_encoder_takes_text_of_exactly_the_frame_limit(void)
{
	char *big = blank_text(CB_IPC_MAX_FRAME);
	uint8_t *frame;
	size_t flen;

	TAP_CHECK(big != NULL);
	if (big != NULL) {
		TAP_CHECK(ipc_frame_encode(big, CB_IPC_MAX_FRAME, &frame, &flen) == 0);
		TAP_CHECK(flen == CB_IPC_MAX_FRAME + CB_IPC_HEADER);
		TAP_CHECK(frame != NULL && frame[0] == 0x00 && frame[1] == 0x10 && frame[2] == 0 &&
			  frame[3] == 0);
		free(frame);
	}
	free(big);
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_ipc_frame_round_trips),
	    TAP_TEST(test_ipc_frame_fed_byte_by_byte_is_reassembled),
	    TAP_TEST(test_two_ipc_frames_in_one_feed_come_out_in_order),
	    TAP_TEST(test_ipc_oversize_length_is_refused_before_the_body_arrives),
	    TAP_TEST(test_ipc_frame_at_the_reader_limit_is_accepted),
	    TAP_TEST(test_ipc_frame_one_byte_over_the_reader_limit_is_refused),
	    TAP_TEST(test_ipc_zero_length_frame_is_refused),
	    TAP_TEST(test_ipc_frame_with_nul_is_refused),
	    TAP_TEST(test_ipc_encoder_refuses_empty_text),
	    TAP_TEST(test_ipc_encoder_refuses_text_over_the_frame_limit),
	    TAP_TEST(test_ipc_encoder_takes_text_of_exactly_the_frame_limit),
	};

	return tap_main(tests, ARRAY_SIZE(tests));
}
