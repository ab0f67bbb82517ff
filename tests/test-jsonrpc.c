/*
 * test-jsonrpc.c - unit tests of proto_parse_request() in protocol/jsonrpc.c
 * (TAP): the envelope a request must have (jsonrpc "2.0", a method name,
 * params as an object, no other member, no batch), its id, and what the
 * parser hands back or refuses with.
 *
 * Every input here is what a hostile page could send.  The size and depth
 * limits are in test-jsonrpc-limits.c, strict JSON and UTF-8 in
 * test-json-strict.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "tests/proto-test.h"

/* --- valid requests -------------------------------------------------------- */

static void
test_request_with_integer_id_is_parsed(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":7"), &req, &fail) == 0);
	TAP_CHECK(req && req->id.kind == PROTO_ID_INT && req->id.num == 7);
	TAP_CHECK(req && strcmp(req->method, "tokens.list") == 0);
	TAP_CHECK(req && req->params == NULL);
	proto_request_free(req);
}

static void
test_request_with_string_id_is_parsed(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":\"req-1\""), &req, &fail) == 0);
	TAP_CHECK(req && req->id.kind == PROTO_ID_STRING && strcmp(req->id.str, "req-1") == 0);
	proto_request_free(req);
}

static void
test_request_with_params_object_keeps_the_params(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(
	    parse(REQ(",\"id\":1,\"params\":{\"token\":\"t1\",\"bits\":2048}"), &req, &fail) == 0);
	TAP_CHECK(req && json_object_is_type(req->params, json_type_object));
	TAP_CHECK(req && string_at(req->params, "token", "t1"));
	TAP_CHECK(req && int_at(req->params, "bits", 2048));
	proto_request_free(req);
}

static void
test_request_with_empty_params_object_is_accepted(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":1,\"params\":{}"), &req, &fail) == 0);
	TAP_CHECK(req && json_object_is_type(req->params, json_type_object));
	proto_request_free(req);
}

static void
test_members_may_come_in_any_order(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse("{\"params\":{},\"id\":3,\"method\":\"hello\",\"jsonrpc\":\"2.0\"}", &req,
		      &fail) == 0);
	TAP_CHECK(req && req->id.num == 3 && strcmp(req->method, "hello") == 0);
	proto_request_free(req);
}

static void
test_notification_has_no_id(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(""), &req, &fail) == 0);
	TAP_CHECK(req && req->id.kind == PROTO_ID_NONE && req->id.str == NULL);
	proto_request_free(req);
}

static void
test_null_id_is_an_invalid_request(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	/* Answering it would reply with id null, which a page cannot match. */
	TAP_CHECK(parse(REQ(",\"id\":null"), &req, &fail) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(req == NULL && fail.id.kind == PROTO_ID_NULL);
	TAP_CHECK(strstr(fail.detail, "id must be") != NULL);
	proto_failure_clear(&fail);
}

static void
test_string_id_with_a_lone_surrogate_escape_is_an_invalid_request(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	/* json-c would make it U+FFFD: the answer's id would not be the page's. */
	TAP_CHECK(parse(REQ(",\"id\":\"\\ud800\""), &req, &fail) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(req == NULL && fail.id.kind == PROTO_ID_NULL);
	TAP_CHECK(strstr(fail.detail, "lone surrogate") != NULL);
	proto_failure_clear(&fail);
	TAP_CHECK(
	    parse(REQ(",\"id\":\"a\\udc00\\ud800b\""), &req, &fail) == CB_ERR_INVALID_REQUEST);
	proto_failure_clear(&fail);
	/* A pair is one character, and fine. */
	TAP_CHECK(parse(REQ(",\"id\":\"\\ud83d\\ude00\""), &req, &fail) == 0);
	TAP_CHECK(req && strcmp(req->id.str, "\xf0\x9f\x98\x80") == 0);
	proto_request_free(req);
}

static void
test_successful_parse_leaves_nothing_to_free_in_the_failure(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	/* Callers clear the failure only when parsing fails. */
	TAP_CHECK(parse(REQ(",\"id\":\"keep-me\""), &req, &fail) == 0);
	TAP_CHECK(fail.id.str == NULL && fail.err == 0);
	proto_request_free(req);
}

static void
test_surrounding_whitespace_is_accepted(void)
{
	TAP_CHECK(REFUSAL(" \t\r\n" REQ(",\"id\":1") " \t\r\n") == 0);
}

/* --- malformed JSON -------------------------------------------------------- */

static void
test_malformed_json_is_a_parse_error_with_null_id(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(
	    parse("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":tokens}", &req, &fail) == CB_ERR_PARSE);
	TAP_CHECK(failure_id_is_null(&fail));
	TAP_CHECK(fail.detail[0] != '\0');
	proto_failure_clear(&fail);
}

static void
test_truncated_json_is_a_parse_error(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"m\"") == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.") == CB_ERR_PARSE);
}

static void
test_empty_message_is_a_parse_error(void)
{
	TAP_CHECK(REFUSAL("") == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL("   ") == CB_ERR_PARSE);
}

static void
test_trailing_garbage_is_a_parse_error(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"id\":1") "x") == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"id\":1") " {}") == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"id\":1") REQ(",\"id\":2")) == CB_ERR_PARSE);
}

static void
test_trailing_nul_bytes_are_a_parse_error(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"id\":1") "\0") == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"id\":1") " \0\0") == CB_ERR_PARSE);
}

/* --- envelope -------------------------------------------------------------- */

static void
test_batch_request_is_rejected(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse("[" REQ(",\"id\":1") "," REQ(",\"id\":2") "]", &req, &fail) ==
		  CB_ERR_INVALID_REQUEST);
	TAP_CHECK(failure_id_is_null(&fail));
	TAP_CHECK(strstr(fail.detail, "batch") != NULL);
	proto_failure_clear(&fail);
}

static void
test_empty_batch_is_rejected(void)
{
	TAP_CHECK(REFUSAL("[]") == CB_ERR_INVALID_REQUEST);
}

static void
test_non_object_top_level_is_invalid_request(void)
{
	TAP_CHECK(REFUSAL("\"tokens.list\"") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL("42\n") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL("true ") == CB_ERR_INVALID_REQUEST);
}

static void
test_top_level_null_is_invalid_request(void)
{
	/* json-c returns no object for null: it must not look like success. */
	TAP_CHECK(REFUSAL("null ") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL("null\n") == CB_ERR_INVALID_REQUEST);
}

static void
test_bare_literal_that_ends_the_message_is_invalid_request(void)
{
	/* Without a byte after it json-c cannot tell the literal has ended; we end the input. */
	TAP_CHECK(REFUSAL("null") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL("42") == CB_ERR_INVALID_REQUEST);
}

static void
test_ending_the_input_leaves_blank_and_truncated_text_parse_errors(void)
{
	TAP_CHECK(REFUSAL("   ") == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL("{\"a\":") == CB_ERR_PARSE);
}

static void
test_missing_jsonrpc_is_invalid_request(void)
{
	TAP_CHECK(REFUSAL("{\"method\":\"tokens.list\",\"id\":1}") == CB_ERR_INVALID_REQUEST);
}

static void
test_jsonrpc_other_than_2_0_is_invalid_request(void)
{
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"id\":1}") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL("{\"jsonrpc\":2.0,\"method\":\"m\",\"id\":1}") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"2.00\",\"method\":\"m\",\"id\":1}") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":null,\"method\":\"m\",\"id\":1}") == CB_ERR_INVALID_REQUEST);
}

static void
test_jsonrpc_with_text_after_escaped_nul_is_invalid_request(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\\u0000x\",\"method\":\"m\",\"id\":1}") ==
		  CB_ERR_INVALID_REQUEST);
}

static void
test_missing_method_is_invalid_request(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse("{\"jsonrpc\":\"2.0\",\"id\":9}", &req, &fail) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(fail.id.kind == PROTO_ID_INT && fail.id.num == 9);
	proto_failure_clear(&fail);
}

static void
test_non_string_method_is_invalid_request(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":1,\"id\":1}") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":null,\"id\":1}") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":[\"m\"],\"id\":1}") == CB_ERR_INVALID_REQUEST);
}

static void
test_method_with_bad_characters_is_method_not_found(void)
{
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"tokens-list\"}") == CB_ERR_METHOD_NOT_FOUND);
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"tokens list\"}") == CB_ERR_METHOD_NOT_FOUND);
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"../etc\"}") == CB_ERR_METHOD_NOT_FOUND);
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"tokens\\n\"}") == CB_ERR_METHOD_NOT_FOUND);
	TAP_CHECK(
	    REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"t\xc3\xa9\"}") == CB_ERR_METHOD_NOT_FOUND);
}

static void
test_empty_method_is_method_not_found(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"\"}") == CB_ERR_METHOD_NOT_FOUND);
}

static void
test_method_with_rpc_prefix_is_method_not_found(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"rpc.discover\"}") ==
		  CB_ERR_METHOD_NOT_FOUND);
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"rpc.\"}") == CB_ERR_METHOD_NOT_FOUND);
}

static void
test_method_of_64_bytes_is_accepted(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\""
			  "a123456789b123456789c123456789d123456789e123456789f123456789g123"
			  "\"}") == 0);
}

static void
test_method_of_65_bytes_is_method_not_found(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\""
			  "a123456789b123456789c123456789d123456789e123456789f123456789g1234"
			  "\"}") == CB_ERR_METHOD_NOT_FOUND);
}

static void
test_method_with_escaped_nul_is_method_not_found(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"tokens.list\\u0000x\"}") ==
		  CB_ERR_METHOD_NOT_FOUND);
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"tokens.list\\u0000\"}") ==
		  CB_ERR_METHOD_NOT_FOUND);
}

static void
test_method_with_raw_nul_is_a_parse_error(void)
{
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"tokens\0.list\"}") == CB_ERR_PARSE);
}

static void
test_method_not_found_echoes_the_id(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"rpc.x\"}", &req, &fail) ==
		  CB_ERR_METHOD_NOT_FOUND);
	TAP_CHECK(fail.id.kind == PROTO_ID_STRING && strcmp(fail.id.str, "x") == 0);
	proto_failure_clear(&fail);
}

static void
test_params_array_is_invalid_params(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":4,\"params\":[1,2]"), &req, &fail) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(fail.id.kind == PROTO_ID_INT && fail.id.num == 4);
	TAP_CHECK(strstr(fail.detail, "params") != NULL);
	proto_failure_clear(&fail);
}

static void
test_params_of_other_types_are_invalid_params(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":null")) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(REFUSAL(REQ(",\"params\":\"x\"")) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(REFUSAL(REQ(",\"params\":1")) == CB_ERR_INVALID_PARAMS);
}

static void
test_unknown_top_level_member_is_invalid_request(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":6,\"auth\":\"x\""), &req, &fail) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(strstr(fail.detail, "auth") != NULL);
	TAP_CHECK(fail.id.kind == PROTO_ID_INT && fail.id.num == 6);
	proto_failure_clear(&fail);
}

static void
test_unknown_member_detail_is_printable_ascii(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;
	char *text;

	/* 0xc3 0xa9 pairs so that a byte-counted cut would split one. */
	TAP_CHECK(parse(REQ(",\"\\n[fake log line]x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			    "\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			    "\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			    "\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			    "\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			    "\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			    "\xa9\xc3\xa9\":1"),
		      &req, &fail) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(printable_ascii(fail.detail));
	text = proto_emit_error(&fail.id, fail.err, fail.detail, -1);
	TAP_CHECK(text != NULL);
	if (text != NULL) {
		struct json_object *obj = reparse(text);

		TAP_CHECK(obj != NULL);
		json_object_put(obj);
	}
	free(text);
	proto_failure_clear(&fail);
}

/* --- ids ------------------------------------------------------------------- */

static void
test_float_id_is_invalid_request(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":1.5"), &req, &fail) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(failure_id_is_null(&fail));
	proto_failure_clear(&fail);
	TAP_CHECK(REFUSAL(REQ(",\"id\":1.0")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"id\":1e3")) == CB_ERR_INVALID_REQUEST);
}

static void
test_boolean_id_is_invalid_request(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"id\":true")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"id\":false")) == CB_ERR_INVALID_REQUEST);
}

static void
test_object_and_array_ids_are_invalid_request(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"id\":{}")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"id\":{\"n\":1}")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"id\":[1]")) == CB_ERR_INVALID_REQUEST);
}

static void
test_integer_id_within_2_pow_53_is_accepted(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":9007199254740991"), &req, &fail) == 0);
	TAP_CHECK(req && req->id.num == INT64_C(9007199254740991));
	proto_request_free(req);
	TAP_CHECK(parse(REQ(",\"id\":-9007199254740991"), &req, &fail) == 0);
	TAP_CHECK(req && req->id.num == -INT64_C(9007199254740991));
	proto_request_free(req);
}

static void
test_integer_id_beyond_2_pow_53_is_invalid_request(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"id\":9007199254740992")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"id\":-9007199254740992")) == CB_ERR_INVALID_REQUEST);
}

static void
test_integer_id_beyond_64_bits_is_invalid_request(void)
{
	/* json-c clamps these to INT64_MAX / UINT64_MAX / INT64_MIN. */
	TAP_CHECK(REFUSAL(REQ(",\"id\":18446744073709551615")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"id\":100000000000000000000000000000")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(
	    REFUSAL(REQ(",\"id\":-100000000000000000000000000000")) == CB_ERR_INVALID_REQUEST);
}

static void
test_string_id_of_128_bytes_is_accepted(void)
{
	/* 64 two-byte characters: the limit counts bytes. */
	TAP_CHECK(REFUSAL(REQ(
		      ",\"id\":\""
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"")) == 0);
}

static void
test_string_id_of_129_bytes_is_invalid_request(void)
{
	TAP_CHECK(
	    REFUSAL(REQ(",\"id\":\"x"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"")) ==
	    CB_ERR_INVALID_REQUEST);
}

static void
test_string_id_with_escaped_nul_is_invalid_request(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"id\":\"a\\u0000b\"")) == CB_ERR_INVALID_REQUEST);
}

static void
test_id_copy_duplicates_the_string(void)
{
	char str[] = "id-1";
	struct proto_id src = {PROTO_ID_STRING, 0, str}, dst;

	TAP_CHECK(proto_id_copy(&dst, &src) == 0);
	TAP_CHECK(dst.kind == PROTO_ID_STRING && dst.str != str && strcmp(dst.str, "id-1") == 0);
	proto_id_clear(&dst);
	TAP_CHECK(dst.kind == PROTO_ID_NONE && dst.str == NULL);
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_request_with_integer_id_is_parsed),
	    TAP_TEST(test_request_with_string_id_is_parsed),
	    TAP_TEST(test_request_with_params_object_keeps_the_params),
	    TAP_TEST(test_request_with_empty_params_object_is_accepted),
	    TAP_TEST(test_members_may_come_in_any_order),
	    TAP_TEST(test_notification_has_no_id),
	    TAP_TEST(test_null_id_is_an_invalid_request),
	    TAP_TEST(test_string_id_with_a_lone_surrogate_escape_is_an_invalid_request),
	    TAP_TEST(test_successful_parse_leaves_nothing_to_free_in_the_failure),
	    TAP_TEST(test_surrounding_whitespace_is_accepted),
	    TAP_TEST(test_malformed_json_is_a_parse_error_with_null_id),
	    TAP_TEST(test_truncated_json_is_a_parse_error),
	    TAP_TEST(test_empty_message_is_a_parse_error),
	    TAP_TEST(test_trailing_garbage_is_a_parse_error),
	    TAP_TEST(test_trailing_nul_bytes_are_a_parse_error),
	    TAP_TEST(test_batch_request_is_rejected),
	    TAP_TEST(test_empty_batch_is_rejected),
	    TAP_TEST(test_non_object_top_level_is_invalid_request),
	    TAP_TEST(test_top_level_null_is_invalid_request),
	    TAP_TEST(test_bare_literal_that_ends_the_message_is_invalid_request),
	    TAP_TEST(test_ending_the_input_leaves_blank_and_truncated_text_parse_errors),
	    TAP_TEST(test_missing_jsonrpc_is_invalid_request),
	    TAP_TEST(test_jsonrpc_other_than_2_0_is_invalid_request),
	    TAP_TEST(test_jsonrpc_with_text_after_escaped_nul_is_invalid_request),
	    TAP_TEST(test_missing_method_is_invalid_request),
	    TAP_TEST(test_non_string_method_is_invalid_request),
	    TAP_TEST(test_method_with_bad_characters_is_method_not_found),
	    TAP_TEST(test_empty_method_is_method_not_found),
	    TAP_TEST(test_method_with_rpc_prefix_is_method_not_found),
	    TAP_TEST(test_method_of_64_bytes_is_accepted),
	    TAP_TEST(test_method_of_65_bytes_is_method_not_found),
	    TAP_TEST(test_method_with_escaped_nul_is_method_not_found),
	    TAP_TEST(test_method_with_raw_nul_is_a_parse_error),
	    TAP_TEST(test_method_not_found_echoes_the_id),
	    TAP_TEST(test_params_array_is_invalid_params),
	    TAP_TEST(test_params_of_other_types_are_invalid_params),
	    TAP_TEST(test_unknown_top_level_member_is_invalid_request),
	    TAP_TEST(test_unknown_member_detail_is_printable_ascii),
	    TAP_TEST(test_float_id_is_invalid_request),
	    TAP_TEST(test_boolean_id_is_invalid_request),
	    TAP_TEST(test_object_and_array_ids_are_invalid_request),
	    TAP_TEST(test_integer_id_within_2_pow_53_is_accepted),
	    TAP_TEST(test_integer_id_beyond_2_pow_53_is_invalid_request),
	    TAP_TEST(test_integer_id_beyond_64_bits_is_invalid_request),
	    TAP_TEST(test_string_id_of_128_bytes_is_accepted),
	    TAP_TEST(test_string_id_of_129_bytes_is_invalid_request),
	    TAP_TEST(test_string_id_with_escaped_nul_is_invalid_request),
	    TAP_TEST(test_id_copy_duplicates_the_string),
	};

	return tap_main(tests, ARRAY_SIZE(tests));
}
