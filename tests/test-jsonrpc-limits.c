/*
 * test-jsonrpc-limits.c - unit tests of the limits proto_parse_request()
 * (protocol/jsonrpc.c) puts on a page's message (TAP): its size in bytes
 * and how deeply its arrays and objects nest, each just at the limit and
 * one beyond, with the daemon's limits and with a caller's own.
 *
 * The requests are built to an exact size or depth, so that a limit that
 * moves by one byte or one level fails a test.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "tests/proto-test.h"

/* --- requests of a given size or depth ------------------------------------- */

/* A request of exactly len bytes: params {"s":"xxx..."} padded to fit. */
static char *
request_of_size(size_t len)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"s\":\"";
	static const char tail[] = "\"}}";
	size_t fixed = sizeof(head) - 1 + sizeof(tail) - 1;
	char *text;

	if (len < fixed || (text = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, 'x', len - fixed);
	memcpy(text + len - (sizeof(tail) - 1), tail, sizeof(tail));
	return text;
}

/* A request whose JSON nesting is exactly depth levels (depth >= 2). */
static char *
request_of_depth(int depth)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":";
	size_t arrays = (size_t)depth - 2, n = sizeof(head) - 1;
	char *text;

	if ((text = malloc(n + 2 * arrays + 3)) == NULL)
		return NULL;
	memcpy(text, head, n);
	memset(text + n, '[', arrays);
	memset(text + n + arrays, ']', arrays);
	n += 2 * arrays;
	if (arrays == 0)
		text[n++] = '1';
	memcpy(text + n, "}}", 3);
	return text;
}

/* Params nested as objects (or arrays) that hold a value at the bottom. */
static char *
request_of_objects(int depth, bool arrays)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":";
	size_t n = sizeof(head) - 1, i, levels = (size_t)depth - 1;
	char *text;

	if ((text = malloc(n + 6 * levels + 8)) == NULL)
		return NULL;
	memcpy(text, head, n);
	for (i = 0; i < levels; i++) {
		if (arrays && i > 0) {
			text[n++] = '[';
		} else {
			memcpy(text + n, "{\"a\":", 5);
			n += 5;
		}
	}
	text[n++] = '7';
	for (i = levels; i-- > 0;)
		text[n++] = arrays && i > 0 ? ']' : '}';
	memcpy(text + n, "}", 2);
	return text;
}

/* --- depth ----------------------------------------------------------------- */

static void
test_nesting_at_the_depth_limit_is_accepted(void)
{
	char *text = request_of_depth(PROTO_DEFAULT_MAX_DEPTH);

	TAP_CHECK(text != NULL && refusal_len(text, strlen(text)) == 0);
	free(text);
}

static void
test_nesting_one_beyond_the_depth_limit_is_too_deep(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;
	char *text = request_of_depth(PROTO_DEFAULT_MAX_DEPTH + 1);

	TAP_CHECK(text != NULL && parse(text, &req, &fail) == CB_ERR_TOO_DEEP);
	TAP_CHECK(failure_id_is_null(&fail));
	proto_failure_clear(&fail);
	free(text);
}

static void
test_depth_limit_is_taken_from_the_limits(void)
{
	const struct proto_limits shallow = {PROTO_DEFAULT_MAX_MESSAGE, 3};
	struct proto_request *req = NULL;
	struct proto_failure fail;
	char *ok = request_of_depth(3), *deep = request_of_depth(4);

	TAP_CHECK(ok != NULL && parse_len(ok, strlen(ok), &shallow, &req, &fail) == 0);
	proto_request_free(req);
	req = NULL;
	TAP_CHECK(deep != NULL &&
		  parse_len(deep, strlen(deep), &shallow, &req, &fail) == CB_ERR_TOO_DEEP);
	proto_failure_clear(&fail);
	free(ok);
	free(deep);
}

static void
test_the_depth_limit_counts_containers_whatever_they_hold(void)
{
	char *objects = request_of_objects(PROTO_DEFAULT_MAX_DEPTH, false);
	char *arrays = request_of_objects(PROTO_DEFAULT_MAX_DEPTH, true);
	char *deeper = request_of_objects(PROTO_DEFAULT_MAX_DEPTH + 1, false);

	TAP_CHECK(objects != NULL && refusal_len(objects, strlen(objects)) == 0);
	TAP_CHECK(arrays != NULL && refusal_len(arrays, strlen(arrays)) == 0);
	TAP_CHECK(deeper != NULL && refusal_len(deeper, strlen(deeper)) == CB_ERR_TOO_DEEP);
	/* Brackets inside strings are text, not nesting. */
	TAP_CHECK(
	    REFUSAL(REQ(
		",\"id\":1,\"params\":{\"a\":\"[[[[[[[[[[[[[[[[[[[[\\\"{{{{{{{{{{{{{{{{{{{\"}")) ==
	    0);
	free(objects);
	free(arrays);
	free(deeper);
}

/* --- size ------------------------------------------------------------------ */

static void
test_message_of_exactly_max_message_bytes_is_accepted(void)
{
	char *text = request_of_size(PROTO_DEFAULT_MAX_MESSAGE);

	TAP_CHECK(text != NULL && strlen(text) == PROTO_DEFAULT_MAX_MESSAGE);
	TAP_CHECK(text != NULL && refusal_len(text, strlen(text)) == 0);
	free(text);
}

static void
test_message_one_byte_over_max_message_is_too_large(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;
	char *text = request_of_size(PROTO_DEFAULT_MAX_MESSAGE + 1);

	TAP_CHECK(text != NULL && parse(text, &req, &fail) == CB_ERR_TOO_LARGE);
	TAP_CHECK(failure_id_is_null(&fail));
	proto_failure_clear(&fail);
	free(text);
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_nesting_at_the_depth_limit_is_accepted),
	    TAP_TEST(test_nesting_one_beyond_the_depth_limit_is_too_deep),
	    TAP_TEST(test_depth_limit_is_taken_from_the_limits),
	    TAP_TEST(test_the_depth_limit_counts_containers_whatever_they_hold),
	    TAP_TEST(test_message_of_exactly_max_message_bytes_is_accepted),
	    TAP_TEST(test_message_one_byte_over_max_message_is_too_large),
	};

	return tap_main(tests, ARRAY_SIZE(tests));
}
