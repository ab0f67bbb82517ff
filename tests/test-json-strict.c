/*
 * test-json-strict.c - unit tests of strict JSON (TAP): what json-c's strict
 * mode refuses or lets through and protocol/json_strict.c refuses after it
 * (single quotes, NaN, duplicate keys in every spelling), the UTF-8 a
 * message may hold, and proto_parse_object() (protocol/jsonrpc.c), which
 * holds the daemon <-> helper link to the same rules.
 *
 * {"id":1,"id":2} means different things to different parsers: every
 * spelling json-c would merge into one key must be refused.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "tests/proto-test.h"

/* --- what json-c lets through ---------------------------------------------- */

static void
test_comments_and_trailing_commas_are_parse_errors(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"id\":1/* x */")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"id\":1,")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":01}")) == CB_ERR_PARSE);
}

static void
test_single_quoted_strings_are_parse_errors(void)
{
	/* json-c accepts single-quoted keys even in strict mode. */
	TAP_CHECK(REFUSAL(REQ(",'id':1")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{'a':1}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":'x'}")) == CB_ERR_PARSE);
}

static void
test_nan_and_infinity_are_parse_errors(void)
{
	/* json-c accepts these in strict mode; they are not JSON. */
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":NaN}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":Infinity}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":[-Infinity]}")) == CB_ERR_PARSE);
}

/* --- UTF-8 ----------------------------------------------------------------- */

static void
test_multibyte_utf8_in_params_is_kept(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"params\":{\"label\":"
			    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}"),
		      &req, &fail) == 0);
	TAP_CHECK(
	    req && string_at(req->params, "label", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	proto_request_free(req);
}

static void
test_escaped_surrogate_pair_is_decoded_to_utf8(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(
	    parse(REQ(",\"params\":{\"label\":\"\\ud83d\\ude00\\u00e9\"}"), &req, &fail) == 0);
	TAP_CHECK(req && string_at(req->params, "label", "\xf0\x9f\x98\x80\xc3\xa9"));
	proto_request_free(req);
}

static void
test_invalid_utf8_byte_is_a_parse_error(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(
	    parse(REQ(",\"id\":1,\"params\":{\"label\":\"\xff\"}"), &req, &fail) == CB_ERR_PARSE);
	TAP_CHECK(failure_id_is_null(&fail));
	proto_failure_clear(&fail);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xfe\"}")) == CB_ERR_PARSE);
}

static void
test_stray_continuation_byte_is_a_parse_error(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"a\x80z\"}")) == CB_ERR_PARSE);
}

static void
test_truncated_utf8_sequence_is_a_parse_error(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xc3\"}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xe2\x82\"}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xf0\x9f\x98\"}")) == CB_ERR_PARSE);
}

static void
test_overlong_utf8_is_a_parse_error(void)
{
	/* json-c's own check looks only at the shape of the bytes. */
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xc0\x80\"}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xc1\xbf\"}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xe0\x80\xaf\"}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xf0\x80\x80\xaf\"}")) == CB_ERR_PARSE);
}

static void
test_utf8_encoded_surrogate_is_a_parse_error(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xed\xa0\x80\"}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xed\xbf\xbf\"}")) == CB_ERR_PARSE);
}

static void
test_code_point_beyond_u10ffff_is_a_parse_error(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xf4\x90\x80\x80\"}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xf5\x80\x80\x80\"}")) == CB_ERR_PARSE);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xf8\x88\x80\x80\x80\"}")) == CB_ERR_PARSE);
}

static void
test_largest_code_points_are_accepted(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xf4\x8f\xbf\xbf\"}")) == 0);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xef\xbf\xbf\xee\x80\x80\"}")) == 0);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"\xed\x9f\xbf\"}")) == 0);
}

/* --- duplicate keys -------------------------------------------------------- */

static void
test_duplicate_top_level_key_is_invalid_request(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":1,\"id\":2"), &req, &fail) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(strstr(fail.detail, "\"id\"") != NULL);
	/* Which id would we echo?  Neither. */
	TAP_CHECK(failure_id_is_null(&fail));
	proto_failure_clear(&fail);
	TAP_CHECK(REFUSAL("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"method\":\"b\"}") ==
		  CB_ERR_INVALID_REQUEST);
}

static void
test_duplicate_nested_key_is_invalid_request(void)
{
	TAP_CHECK(
	    REFUSAL(REQ(",\"params\":{\"pin\":\"1\",\"pin\":\"2\"}")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":{\"b\":[{\"c\":1,\"c\":2}]}}")) ==
		  CB_ERR_INVALID_REQUEST);
}

static void
test_escaped_spelling_of_a_key_is_a_duplicate(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":1,\"\\u0061\":2}")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"id\":1,\"\\u0069\\u0064\":2")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(
	    REFUSAL(REQ(",\"params\":{\"\xc3\xa9\":1,\"\\u00e9\":2}")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}")) ==
		  CB_ERR_INVALID_REQUEST);
}

static void
test_keys_equal_up_to_an_escaped_nul_are_duplicates(void)
{
	/* json-c cuts keys at NUL, so it merges these into one "id". */
	TAP_CHECK(REFUSAL(REQ(",\"id\":1,\"id\\u0000x\":2")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\\u0000x\":1,\"a\\u0000y\":2}")) ==
		  CB_ERR_INVALID_REQUEST);
}

static void
test_lone_surrogate_escapes_are_refused_wherever_they_are(void)
{
	/* json-c would turn every lone surrogate into U+FFFD. */
	TAP_CHECK(
	    REFUSAL(REQ(",\"params\":{\"\\ud800\":1,\"\\udbff\":2}")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"\\udc00\":1,\"\xef\xbf\xbd\":2}")) ==
		  CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"label\":\"a\\ud800\"}")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(
	    REFUSAL(REQ(",\"params\":{\"label\":\"\\ude00\\ud83d\"}")) == CB_ERR_INVALID_REQUEST);
}

static void
test_same_key_in_sibling_objects_is_accepted(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":{\"k\":1},\"b\":{\"k\":2},"
			      "\"c\":[{\"k\":1},{\"k\":2}]}")) == 0);
}

static void
test_keys_differing_only_in_case_are_not_duplicates(void)
{
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"a\":1,\"A\":2,\"\\u0041a\":3,\"aa\":4}")) == 0);
}

static void
test_duplicate_key_check_ignores_text_inside_strings(void)
{
	static const char text[] =
	    "{\"a\":\"{\\\"b\\\":1,\\\"b\\\":2}\",\"b\":\"\\\\\",\"c\":[\"a\",\"a\"]}";
	char where[64];

	TAP_CHECK(proto_check_duplicate_keys(text, sizeof(text) - 1, where, sizeof(where)) == 0);
}

static void
test_duplicate_key_check_names_the_key(void)
{
	static const char text[] = "{\"x\":{\"label\":1,\"z\":2,\"label\":3}}";
	char where[64];

	TAP_CHECK(proto_check_duplicate_keys(text, sizeof(text) - 1, where, sizeof(where)) ==
		  CB_ERR_INVALID_REQUEST);
	TAP_CHECK(strcmp(where, "\"label\"") == 0);
}

static void
test_duplicate_key_description_is_printable_and_bounded(void)
{
	static const char text[] = "{\"\\n\xc3\xa9\":1,\"\\n\xc3\xa9\":2}";
	char where[8];

	TAP_CHECK(proto_check_duplicate_keys(text, sizeof(text) - 1, where, sizeof(where)) ==
		  CB_ERR_INVALID_REQUEST);
	TAP_CHECK(strlen(where) < sizeof(where) && printable_ascii(where));
}

/* --- proto_parse_object: the daemon <-> helper link ------------------------ */

/* The cb_err text is refused with as a daemon <-> helper message; 0 if accepted. */
static int
object_refusal(const char *text, int depth)
{
	struct proto_failure fail;
	struct json_object *o = proto_parse_object(text, strlen(text), depth, &fail);

	if (o != NULL) {
		json_object_put(o);
		return 0;
	}
	return fail.err;
}

static void
test_link_message_must_be_one_json_object(void)
{
	TAP_CHECK(object_refusal("{\"id\":1,\"result\":{\"a\":[1,2]}} \n", 8) == 0);
	TAP_CHECK(object_refusal("[{\"id\":1}]", 8) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(object_refusal("null", 8) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(object_refusal("42", 8) == CB_ERR_INVALID_REQUEST);
}

static void
test_link_message_is_parsed_as_strictly_as_a_request(void)
{
	TAP_CHECK(object_refusal("{\"id\":1} {\"id\":2}", 8) == CB_ERR_PARSE);
	TAP_CHECK(object_refusal("{\"id\":1", 8) == CB_ERR_PARSE);
	TAP_CHECK(object_refusal("{'id':1}", 8) == CB_ERR_PARSE);
	TAP_CHECK(object_refusal("{\"a\":NaN}", 8) == CB_ERR_PARSE);
	TAP_CHECK(object_refusal("{\"id\":1,\"id\":2}", 8) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(object_refusal("{\"a\":\"\xff\"}", 8) == CB_ERR_PARSE);
}

static void
test_link_message_nesting_is_limited_by_the_callers_depth(void)
{
	char deep[64 + 1];

	memset(deep, '[', 32);
	memset(deep + 32, ']', 32);
	deep[64] = '\0';
	TAP_CHECK(object_refusal(deep, 8) == CB_ERR_TOO_DEEP);
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_comments_and_trailing_commas_are_parse_errors),
	    TAP_TEST(test_single_quoted_strings_are_parse_errors),
	    TAP_TEST(test_nan_and_infinity_are_parse_errors),
	    TAP_TEST(test_multibyte_utf8_in_params_is_kept),
	    TAP_TEST(test_escaped_surrogate_pair_is_decoded_to_utf8),
	    TAP_TEST(test_invalid_utf8_byte_is_a_parse_error),
	    TAP_TEST(test_stray_continuation_byte_is_a_parse_error),
	    TAP_TEST(test_truncated_utf8_sequence_is_a_parse_error),
	    TAP_TEST(test_overlong_utf8_is_a_parse_error),
	    TAP_TEST(test_utf8_encoded_surrogate_is_a_parse_error),
	    TAP_TEST(test_code_point_beyond_u10ffff_is_a_parse_error),
	    TAP_TEST(test_largest_code_points_are_accepted),
	    TAP_TEST(test_duplicate_top_level_key_is_invalid_request),
	    TAP_TEST(test_duplicate_nested_key_is_invalid_request),
	    TAP_TEST(test_escaped_spelling_of_a_key_is_a_duplicate),
	    TAP_TEST(test_keys_equal_up_to_an_escaped_nul_are_duplicates),
	    TAP_TEST(test_lone_surrogate_escapes_are_refused_wherever_they_are),
	    TAP_TEST(test_same_key_in_sibling_objects_is_accepted),
	    TAP_TEST(test_keys_differing_only_in_case_are_not_duplicates),
	    TAP_TEST(test_duplicate_key_check_ignores_text_inside_strings),
	    TAP_TEST(test_duplicate_key_check_names_the_key),
	    TAP_TEST(test_duplicate_key_description_is_printable_and_bounded),
	    TAP_TEST(test_link_message_must_be_one_json_object),
	    TAP_TEST(test_link_message_is_parsed_as_strictly_as_a_request),
	    TAP_TEST(test_link_message_nesting_is_limited_by_the_callers_depth),
	};

	return tap_main(tests, ARRAY_SIZE(tests));
}
