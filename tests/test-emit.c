/*
 * test-emit.c - unit tests of the emitters of protocol/jsonrpc.c (TAP):
 * proto_emit_result(), proto_emit_error(), proto_emit_error_data() and
 * proto_emit_event(), which write every message the page reads.
 *
 * Emitted text is parsed back with json-c in strict mode (reparse()), so
 * that a test fails on invalid JSON or UTF-8, not only on a wrong value.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "tests/proto-test.h"

static bool
has_member(struct json_object *obj, const char *name)
{
	return json_object_object_get_ex(obj, name, NULL);
}

/* "id" is present and JSON null. */
static bool
null_id(struct json_object *obj)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(obj, "id", &v) && v == NULL;
}

/* --- results --------------------------------------------------------------- */

static void
test_result_echoes_an_integer_id(void)
{
	struct proto_id id = {PROTO_ID_INT, INT64_C(9007199254740991), NULL};
	struct json_object *result = json_object_new_object(), *obj;
	char *text;

	json_object_object_add(result, "ok", json_object_new_boolean(1));
	text = proto_emit_result(&id, result);
	obj = reparse(text);
	TAP_CHECK(obj != NULL);
	TAP_CHECK(string_at(obj, "jsonrpc", "2.0"));
	TAP_CHECK(int_at(obj, "id", INT64_C(9007199254740991)));
	TAP_CHECK(json_object_get_boolean(dig(obj, "result.ok")));
	TAP_CHECK(!has_member(obj, "error") && json_object_object_length(obj) == 3);
	json_object_put(obj);
	free(text);
}

static void
test_result_echoes_a_string_id(void)
{
	char str[] = "a\"b\\c/\xc3\xa9\x01";
	struct proto_id id = {PROTO_ID_STRING, 0, str};
	struct json_object *obj;
	char *text;

	text = proto_emit_result(&id, json_object_new_string("done"));
	obj = reparse(text);
	TAP_CHECK(obj != NULL);
	TAP_CHECK(string_at(obj, "id", str));
	TAP_CHECK(string_at(obj, "result", "done"));
	json_object_put(obj);
	free(text);
}

static void
test_responses_without_an_id_carry_a_null_id(void)
{
	struct proto_id none = {PROTO_ID_NONE, 0, NULL}, null = {PROTO_ID_NULL, 0, NULL};
	struct json_object *a, *b, *c;
	char *ta, *tb, *tc;

	ta = proto_emit_error(&none, CB_ERR_PARSE, NULL, -1);
	tb = proto_emit_error(&null, CB_ERR_PARSE, NULL, -1);
	tc = proto_emit_result(NULL, json_object_new_object());
	a = reparse(ta);
	b = reparse(tb);
	c = reparse(tc);
	TAP_CHECK(a != NULL && null_id(a));
	TAP_CHECK(b != NULL && null_id(b));
	TAP_CHECK(c != NULL && null_id(c));
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
	free(ta);
	free(tb);
	free(tc);
}

/* --- errors ---------------------------------------------------------------- */

static void
test_error_has_code_message_reason_and_retries_left(void)
{
	struct proto_id id = {PROTO_ID_INT, 12, NULL};
	struct json_object *obj;
	char *text;

	text = proto_emit_error(&id, CB_ERR_PIN_INCORRECT, "PIN incorrect", 2);
	obj = reparse(text);
	TAP_CHECK(obj != NULL);
	TAP_CHECK(int_at(obj, "id", 12));
	TAP_CHECK(int_at(obj, "error.code", -32005));
	TAP_CHECK(string_at(obj, "error.message", "PIN incorrect"));
	TAP_CHECK(string_at(obj, "error.data.reason", "PIN_INCORRECT"));
	TAP_CHECK(int_at(obj, "error.data.retriesLeft", 2));
	TAP_CHECK(!has_member(obj, "result"));
	json_object_put(obj);
	free(text);
}

static void
test_error_with_zero_retries_left_says_so(void)
{
	struct proto_id id = {PROTO_ID_INT, 1, NULL};
	struct json_object *obj;
	char *text;

	text = proto_emit_error(&id, CB_ERR_PIN_LOCKED, NULL, 0);
	obj = reparse(text);
	TAP_CHECK(obj != NULL && int_at(obj, "error.data.retriesLeft", 0));
	TAP_CHECK(obj != NULL && int_at(obj, "error.code", -32006));
	json_object_put(obj);
	free(text);
}

static void
test_error_without_retries_omits_retries_left(void)
{
	struct proto_id id = {PROTO_ID_STRING, 0, "q"};
	struct json_object *obj;
	char *text;

	text = proto_emit_error(&id, CB_ERR_BUSY, "busy", -1);
	obj = reparse(text);
	TAP_CHECK(obj != NULL);
	TAP_CHECK(string_at(obj, "id", "q"));
	TAP_CHECK(!has_member(dig(obj, "error.data"), "retriesLeft"));
	TAP_CHECK(json_object_object_length(dig(obj, "error.data")) == 1);
	json_object_put(obj);
	free(text);
}

static void
test_error_without_detail_uses_the_error_text(void)
{
	struct json_object *a, *b;
	char *ta, *tb;

	ta = proto_emit_error(NULL, CB_ERR_TOKEN_NOT_PRESENT, NULL, -1);
	tb = proto_emit_error(NULL, CB_ERR_TOKEN_NOT_PRESENT, "", -1);
	a = reparse(ta);
	b = reparse(tb);
	TAP_CHECK(a != NULL && string_at(a, "error.message", cb_err_str(CB_ERR_TOKEN_NOT_PRESENT)));
	TAP_CHECK(b != NULL && string_at(b, "error.message", cb_err_str(CB_ERR_TOKEN_NOT_PRESENT)));
	json_object_put(a);
	json_object_put(b);
	free(ta);
	free(tb);
}

static void
test_error_data_keeps_extra_members_and_the_table_reason(void)
{
	struct proto_id id = {PROTO_ID_INT, 3, NULL};
	struct json_object *data = json_object_new_object(), *obj;
	char *text;

	json_object_object_add(data, "retryAfterMs", json_object_new_int(500));
	/* A caller cannot make the page see another reason. */
	json_object_object_add(data, "reason", json_object_new_string("OK"));
	text = proto_emit_error_data(&id, CB_ERR_BUSY, "wait", data);
	obj = reparse(text);
	TAP_CHECK(obj != NULL);
	TAP_CHECK(int_at(obj, "error.data.retryAfterMs", 500));
	TAP_CHECK(string_at(obj, "error.data.reason", "BUSY"));
	TAP_CHECK(int_at(obj, "error.code", -32002));
	json_object_put(obj);
	free(text);
}

static void
test_error_data_may_be_absent(void)
{
	struct json_object *obj;
	char *text;

	text = proto_emit_error_data(NULL, CB_ERR_TIMEOUT, NULL, NULL);
	obj = reparse(text);
	TAP_CHECK(obj != NULL && string_at(obj, "error.data.reason", "TIMEOUT"));
	TAP_CHECK(obj != NULL && json_object_object_length(dig(obj, "error.data")) == 1);
	json_object_put(obj);
	free(text);
}

static void
test_internal_errors_reach_the_page_as_internal_error(void)
{
	static const int internal[] = {
	    CB_ERR_ALLOC, CB_ERR_SYSTEM, CB_ERR_CONFIG, CB_ERR_IPC, CB_ERR_AGAIN, -999};
	struct json_object *obj;
	size_t i;
	char *text;

	for (i = 0; i < ARRAY_SIZE(internal); i++) {
		text = proto_emit_error(NULL, internal[i], NULL, -1);
		obj = reparse(text);
		TAP_CHECK(obj != NULL && int_at(obj, "error.code", -32603));
		TAP_CHECK(obj != NULL && string_at(obj, "error.data.reason", "INTERNAL_ERROR"));
		json_object_put(obj);
		free(text);
	}
}

static void
test_emitted_text_does_not_escape_slashes(void)
{
	char *text = proto_emit_error(
	    NULL, CB_ERR_ORIGIN_NOT_ALLOWED, "https://portal.example is not allowed", -1);

	TAP_CHECK(text != NULL && strstr(text, "https://portal.example") != NULL);
	TAP_CHECK(text != NULL && strchr(text, '\n') == NULL);
	free(text);
}

static void
test_parse_failure_is_answered_with_its_id_and_detail(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;
	struct json_object *obj;
	char *text;

	TAP_CHECK(
	    parse(REQ(",\"id\":\"abc\",\"params\":[1]"), &req, &fail) == CB_ERR_INVALID_PARAMS);
	text = proto_emit_error(&fail.id, fail.err, fail.detail, -1);
	obj = reparse(text);
	TAP_CHECK(obj != NULL);
	TAP_CHECK(string_at(obj, "id", "abc"));
	TAP_CHECK(int_at(obj, "error.code", -32602));
	TAP_CHECK(string_at(obj, "error.data.reason", "INVALID_PARAMS"));
	TAP_CHECK(string_at(obj, "error.message", fail.detail));
	json_object_put(obj);
	free(text);
	proto_failure_clear(&fail);
}

/* --- events ---------------------------------------------------------------- */

static void
test_event_has_method_event_and_no_id(void)
{
	struct json_object *params = json_object_new_object(), *obj;
	char *text;

	json_object_object_add(params, "type", json_object_new_string("tokensChanged"));
	text = proto_emit_event(params);
	obj = reparse(text);
	TAP_CHECK(obj != NULL);
	TAP_CHECK(string_at(obj, "jsonrpc", "2.0"));
	TAP_CHECK(string_at(obj, "method", "event"));
	TAP_CHECK(string_at(obj, "params.type", "tokensChanged"));
	TAP_CHECK(obj != NULL && !has_member(obj, "id") && json_object_object_length(obj) == 3);
	json_object_put(obj);
	free(text);
}

/* --- progress -------------------------------------------------------------- */

static void
test_progress_carries_the_request_id_then_stage_elapsed_and_pin(void)
{
	struct json_object *report =
	    json_tokener_parse("{\"stage\":\"waitingForPin\",\"pin\":\"admin\"}");
	struct proto_id id = {.kind = PROTO_ID_STRING, .str = "k-1"};
	char *text = proto_emit_progress(&id, report, 5210);

	/* The members in the order PROTOCOL.md shows them. */
	TAP_CHECK(text != NULL &&
		  strcmp(text,
		      "{\"jsonrpc\":\"2.0\",\"method\":\"progress\",\"params\":{\"id\":\"k-1\","
		      "\"stage\":\"waitingForPin\",\"elapsedMs\":5210,\"pin\":\"admin\"}}") == 0);
	free(text);
	json_object_put(report);
}

static void
test_progress_is_never_emitted_for_a_request_without_an_id(void)
{
	struct json_object *report = json_tokener_parse("{\"stage\":\"generatingKey\"}");
	struct proto_id none = {.kind = PROTO_ID_NONE}, null_id = {.kind = PROTO_ID_NULL};
	struct proto_id num = {.kind = PROTO_ID_INT, .num = 3};
	char *text;

	TAP_CHECK(proto_emit_progress(&none, report, 1) == NULL);
	TAP_CHECK(proto_emit_progress(&null_id, report, 1) == NULL);
	text = proto_emit_progress(&num, report, 0);
	TAP_CHECK(
	    text != NULL && strstr(text, "{\"id\":3,\"stage\":\"generatingKey\",\"elapsedMs\":0}"));
	free(text);
	json_object_put(report);
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_result_echoes_an_integer_id),
	    TAP_TEST(test_result_echoes_a_string_id),
	    TAP_TEST(test_responses_without_an_id_carry_a_null_id),
	    TAP_TEST(test_error_has_code_message_reason_and_retries_left),
	    TAP_TEST(test_error_with_zero_retries_left_says_so),
	    TAP_TEST(test_error_without_retries_omits_retries_left),
	    TAP_TEST(test_error_without_detail_uses_the_error_text),
	    TAP_TEST(test_error_data_keeps_extra_members_and_the_table_reason),
	    TAP_TEST(test_error_data_may_be_absent),
	    TAP_TEST(test_internal_errors_reach_the_page_as_internal_error),
	    TAP_TEST(test_emitted_text_does_not_escape_slashes),
	    TAP_TEST(test_parse_failure_is_answered_with_its_id_and_detail),
	    TAP_TEST(test_event_has_method_event_and_no_id),
	    TAP_TEST(test_progress_carries_the_request_id_then_stage_elapsed_and_pin),
	    TAP_TEST(test_progress_is_never_emitted_for_a_request_without_an_id),
	};

	return tap_main(tests, ARRAY_SIZE(tests));
}
