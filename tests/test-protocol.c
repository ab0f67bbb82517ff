/*
 * test-protocol.c - unit tests of protocol/ (TAP): request parsing, the
 * emitters, duplicate keys, the helper IPC codec and the
 * cb_err table.
 *
 * Every input here is what a hostile page could send.  Emitted text is
 * parsed back with json-c in strict mode so that a test fails on invalid
 * JSON or UTF-8, not only on a wrong value.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/ipc.h"
#include "protocol/jsonrpc.h"
#include "tests/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A request with the two members every test needs, then more members. */
#define REQ(more) "{\"jsonrpc\":\"2.0\",\"method\":\"tokens.list\"" more "}"

static const struct proto_limits default_limits = {
    PROTO_DEFAULT_MAX_MESSAGE, PROTO_DEFAULT_MAX_DEPTH};

/*
 * Parse len bytes.  Returns the cb_err, or 1 if the result breaks the
 * contract (a request returned with an error, or none with success).
 */
static int
parse_len(const char *text, size_t len, const struct proto_limits *lim, struct proto_request **out,
    struct proto_failure *fail)
{
	int r = proto_parse_request(text, len, lim, out, fail);

	if ((r == 0) != (*out != NULL))
		return 1;
	if (r != 0 && fail->err != r)
		return 1;
	return r;
}

static int
parse(const char *text, struct proto_request **out, struct proto_failure *fail)
{
	return parse_len(text, strlen(text), &default_limits, out, fail);
}

/* The cb_err text (len bytes) is refused with; 0 if accepted. */
static int
refusal_len(const char *text, size_t len)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;
	int r;

	r = parse_len(text, len, &default_limits, &req, &fail);
	proto_request_free(req);
	proto_failure_clear(&fail);
	return r;
}

/* For string literals, which may hold NUL bytes. */
#define REFUSAL(lit) refusal_len(lit, sizeof(lit) - 1)

/* Is the failure's id the JSON-RPC null id? */
static bool
failure_id_is_null(const struct proto_failure *fail)
{
	return fail->id.kind == PROTO_ID_NULL && fail->id.str == NULL;
}

/* Does s hold only printable ASCII (safe for logs and any text frame)? */
static bool
printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Parse emitted text back, strictly; NULL unless it is one JSON object. */
static struct json_object *
reparse(const char *text)
{
	struct json_tokener *tok;
	struct json_object *obj;
	char where[96];
	size_t len;

	if (text == NULL || (tok = json_tokener_new()) == NULL)
		return NULL;
	len = strlen(text);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(obj, json_type_object) ||
	    proto_check_duplicate_keys(text, len, where, sizeof(where)) != 0) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* The member at a dotted path ("error.data.reason"), or NULL. */
static struct json_object *
dig(struct json_object *obj, const char *path)
{
	char name[64];
	const char *dot;
	size_t n;

	while (obj != NULL && *path) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		if (!json_object_object_get_ex(obj, name, &obj))
			return NULL;
		path += n + (dot != NULL);
	}
	return obj;
}

static bool
has_member(struct json_object *obj, const char *name)
{
	return json_object_object_get_ex(obj, name, NULL);
}

static bool
string_at(struct json_object *obj, const char *path, const char *want)
{
	struct json_object *v = dig(obj, path);

	return json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), want) == 0;
}

static bool
int_at(struct json_object *obj, const char *path, int64_t want)
{
	struct json_object *v = dig(obj, path);

	return json_object_is_type(v, json_type_int) && json_object_get_int64(v) == want;
}

/* "id" is present and JSON null. */
static bool
null_id(struct json_object *obj)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(obj, "id", &v) && v == NULL;
}

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

/* --- valid requests -------------------------------------------------- */

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
test_null_id_is_kept_as_null_id(void)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;

	TAP_CHECK(parse(REQ(",\"id\":null"), &req, &fail) == 0);
	TAP_CHECK(req && req->id.kind == PROTO_ID_NULL);
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

/* --- malformed JSON --------------------------------------------------- */

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

/* --- envelope --------------------------------------------------------- */

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
	/* Without a byte after it json-c cannot tell the literal has ended; we end the input. */
	TAP_CHECK(REFUSAL("null") == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL("42") == CB_ERR_INVALID_REQUEST);
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

/* --- ids --------------------------------------------------------------- */

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

/* --- limits ------------------------------------------------------------ */

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

/* --- unicode ----------------------------------------------------------- */

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

/* --- duplicate keys ---------------------------------------------------- */

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
test_lone_surrogate_keys_are_duplicates(void)
{
	/* json-c turns every lone surrogate into U+FFFD. */
	TAP_CHECK(
	    REFUSAL(REQ(",\"params\":{\"\\ud800\":1,\"\\udbff\":2}")) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(REFUSAL(REQ(",\"params\":{\"\\udc00\":1,\"\xef\xbf\xbd\":2}")) ==
		  CB_ERR_INVALID_REQUEST);
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

/* --- emitters ---------------------------------------------------------- */

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

/* --- helper IPC framing -------------------------------------------------- */

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

static void
test_ipc_encoder_refuses_empty_and_oversize_text(void)
{
	uint8_t *frame = (uint8_t *)"unchanged";
	size_t flen = 1;
	char *big = malloc(CB_IPC_MAX_FRAME + 1);

	TAP_CHECK(ipc_frame_encode("x", 0, &frame, &flen) == CB_ERR_TOO_LARGE);
	TAP_CHECK(frame == NULL && flen == 0);
	TAP_CHECK(big != NULL);
	if (big != NULL) {
		memset(big, ' ', CB_IPC_MAX_FRAME + 1);
		TAP_CHECK(
		    ipc_frame_encode(big, CB_IPC_MAX_FRAME + 1, &frame, &flen) == CB_ERR_TOO_LARGE);
		TAP_CHECK(ipc_frame_encode(big, CB_IPC_MAX_FRAME, &frame, &flen) == 0);
		TAP_CHECK(flen == CB_IPC_MAX_FRAME + CB_IPC_HEADER);
		TAP_CHECK(frame != NULL && frame[0] == 0x00 && frame[1] == 0x10 && frame[2] == 0 &&
			  frame[3] == 0);
		free(frame);
	}
	free(big);
}

/* --- the cb_err table ---------------------------------------------------- */

static const int all_errors[] = {
    CB_ERR_PARSE,
    CB_ERR_INVALID_REQUEST,
    CB_ERR_METHOD_NOT_FOUND,
    CB_ERR_INVALID_PARAMS,
    CB_ERR_INTERNAL,
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_BUSY,
    CB_ERR_TOO_LARGE,
    CB_ERR_USER_CANCELLED,
    CB_ERR_PIN_INCORRECT,
    CB_ERR_PIN_LOCKED,
    CB_ERR_TOKEN_NOT_PRESENT,
    CB_ERR_CARD_REMOVED,
    CB_ERR_KEY_NOT_FOUND,
    CB_ERR_SLOT_OCCUPIED,
    CB_ERR_UNSUPPORTED_ALGORITHM,
    CB_ERR_TOKEN_WRITE_PROTECTED,
    CB_ERR_MODULE_ERROR,
    CB_ERR_TIMEOUT,
    CB_ERR_TOO_DEEP,
    CB_ERR_PIN_INVALID,
    CB_ERR_ALLOC,
    CB_ERR_SYSTEM,
    CB_ERR_CONFIG,
    CB_ERR_IPC,
    CB_ERR_AGAIN,
};

/* The reasons a helper may send (doc/HELPER-IPC.md). */
static const int application_errors[] = {
    CB_ERR_INVALID_PARAMS,
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_BUSY,
    CB_ERR_TOO_LARGE,
    CB_ERR_USER_CANCELLED,
    CB_ERR_PIN_INCORRECT,
    CB_ERR_PIN_LOCKED,
    CB_ERR_TOKEN_NOT_PRESENT,
    CB_ERR_CARD_REMOVED,
    CB_ERR_KEY_NOT_FOUND,
    CB_ERR_SLOT_OCCUPIED,
    CB_ERR_UNSUPPORTED_ALGORITHM,
    CB_ERR_TOKEN_WRITE_PROTECTED,
    CB_ERR_MODULE_ERROR,
    CB_ERR_TIMEOUT,
    CB_ERR_TOO_DEEP,
    CB_ERR_PIN_INVALID,
};

static void
test_every_error_has_a_reason_and_a_code_in_range(void)
{
	const char *reason;
	int code, bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all_errors); i++) {
		reason = cb_err_reason(all_errors[i]);
		code = cb_err_rpc_code(all_errors[i]);
		if (reason == NULL || *reason == '\0' || code < -32768 || code > -32000 ||
		    cb_err_str(all_errors[i]) == NULL || *cb_err_str(all_errors[i]) == '\0') {
			printf("# error %d: reason %s code %d\n", all_errors[i],
			    reason ? reason : "(null)", code);
			bad++;
		}
	}
	TAP_CHECK(bad == 0);
}

static void
test_application_errors_have_distinct_codes_and_reasons(void)
{
	size_t i, j;
	int clashes = 0;

	for (i = 0; i < ARRAY_SIZE(application_errors); i++)
		for (j = i + 1; j < ARRAY_SIZE(application_errors); j++)
			if (cb_err_rpc_code(application_errors[i]) ==
				cb_err_rpc_code(application_errors[j]) ||
			    strcmp(cb_err_reason(application_errors[i]),
				cb_err_reason(application_errors[j])) == 0)
				clashes++;
	TAP_CHECK(clashes == 0);
}

static void
test_standard_errors_have_json_rpc_codes(void)
{
	TAP_CHECK(cb_err_rpc_code(CB_ERR_PARSE) == -32700);
	TAP_CHECK(cb_err_rpc_code(CB_ERR_INVALID_REQUEST) == -32600);
	TAP_CHECK(cb_err_rpc_code(CB_ERR_METHOD_NOT_FOUND) == -32601);
	TAP_CHECK(cb_err_rpc_code(CB_ERR_INVALID_PARAMS) == -32602);
	TAP_CHECK(cb_err_rpc_code(CB_ERR_INTERNAL) == -32603);
}

static void
test_application_reasons_round_trip(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(application_errors); i++)
		if (cb_err_from_reason(cb_err_reason(application_errors[i])) !=
		    application_errors[i]) {
			printf("# reason %s does not round-trip\n",
			    cb_err_reason(application_errors[i]));
			bad++;
		}
	TAP_CHECK(bad == 0);
}

static void
test_internal_reasons_from_the_helper_are_refused(void)
{
	TAP_CHECK(cb_err_from_reason("OK") == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason("PARSE_ERROR") == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason("INVALID_REQUEST") == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason("METHOD_NOT_FOUND") == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason("INTERNAL_ERROR") == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason(cb_err_reason(CB_ERR_ALLOC)) == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason(cb_err_reason(CB_ERR_IPC)) == CB_ERR_INTERNAL);
}

static void
test_unknown_reasons_from_the_helper_are_internal_errors(void)
{
	TAP_CHECK(cb_err_from_reason(NULL) == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason("") == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason("pin_incorrect") == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason("PIN_INCORRECT ") == CB_ERR_INTERNAL);
	TAP_CHECK(cb_err_from_reason("PIN") == CB_ERR_INTERNAL);
}

/* --- proto_parse_object: the daemon <-> helper link --------------------- */

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
test_link_messages_are_objects_parsed_strictly(void)
{
	char deep[64 + 1];

	TAP_CHECK(object_refusal("{\"id\":1,\"result\":{\"a\":[1,2]}} \n", 8) == 0);
	TAP_CHECK(object_refusal("[{\"id\":1}]", 8) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(object_refusal("null", 8) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(object_refusal("42", 8) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(object_refusal("{\"id\":1} {\"id\":2}", 8) == CB_ERR_PARSE);
	TAP_CHECK(object_refusal("{\"id\":1", 8) == CB_ERR_PARSE);
	TAP_CHECK(object_refusal("{'id':1}", 8) == CB_ERR_PARSE);
	TAP_CHECK(object_refusal("{\"a\":NaN}", 8) == CB_ERR_PARSE);
	TAP_CHECK(object_refusal("{\"id\":1,\"id\":2}", 8) == CB_ERR_INVALID_REQUEST);
	TAP_CHECK(object_refusal("{\"a\":\"\xff\"}", 8) == CB_ERR_PARSE);
	memset(deep, '[', 32);
	memset(deep + 32, ']', 32);
	deep[64] = '\0';
	TAP_CHECK(object_refusal(deep, 8) == CB_ERR_TOO_DEEP);
}

static void
test_unknown_error_values_map_to_internal_error(void)
{
	TAP_CHECK(cb_err_rpc_code(-999) == -32603);
	TAP_CHECK(strcmp(cb_err_reason(-999), "INTERNAL_ERROR") == 0);
	TAP_CHECK(strcmp(cb_err_reason(1), "INTERNAL_ERROR") == 0);
	TAP_CHECK(cb_err_str(-999) != NULL);
}

int
main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
#define T(fn) {#fn, fn}
	    T(test_request_with_integer_id_is_parsed),
	    T(test_request_with_string_id_is_parsed),
	    T(test_request_with_params_object_keeps_the_params),
	    T(test_request_with_empty_params_object_is_accepted),
	    T(test_members_may_come_in_any_order),
	    T(test_notification_has_no_id),
	    T(test_null_id_is_kept_as_null_id),
	    T(test_successful_parse_leaves_nothing_to_free_in_the_failure),
	    T(test_surrounding_whitespace_is_accepted),
	    T(test_malformed_json_is_a_parse_error_with_null_id),
	    T(test_truncated_json_is_a_parse_error),
	    T(test_empty_message_is_a_parse_error),
	    T(test_trailing_garbage_is_a_parse_error),
	    T(test_trailing_nul_bytes_are_a_parse_error),
	    T(test_comments_and_trailing_commas_are_parse_errors),
	    T(test_single_quoted_strings_are_parse_errors),
	    T(test_nan_and_infinity_are_parse_errors),
	    T(test_batch_request_is_rejected),
	    T(test_empty_batch_is_rejected),
	    T(test_non_object_top_level_is_invalid_request),
	    T(test_top_level_null_is_invalid_request),
	    T(test_missing_jsonrpc_is_invalid_request),
	    T(test_jsonrpc_other_than_2_0_is_invalid_request),
	    T(test_jsonrpc_with_text_after_escaped_nul_is_invalid_request),
	    T(test_missing_method_is_invalid_request),
	    T(test_non_string_method_is_invalid_request),
	    T(test_method_with_bad_characters_is_method_not_found),
	    T(test_empty_method_is_method_not_found),
	    T(test_method_with_rpc_prefix_is_method_not_found),
	    T(test_method_of_64_bytes_is_accepted),
	    T(test_method_of_65_bytes_is_method_not_found),
	    T(test_method_with_escaped_nul_is_method_not_found),
	    T(test_method_with_raw_nul_is_a_parse_error),
	    T(test_method_not_found_echoes_the_id),
	    T(test_params_array_is_invalid_params),
	    T(test_params_of_other_types_are_invalid_params),
	    T(test_unknown_top_level_member_is_invalid_request),
	    T(test_unknown_member_detail_is_printable_ascii),
	    T(test_float_id_is_invalid_request),
	    T(test_boolean_id_is_invalid_request),
	    T(test_object_and_array_ids_are_invalid_request),
	    T(test_integer_id_within_2_pow_53_is_accepted),
	    T(test_integer_id_beyond_2_pow_53_is_invalid_request),
	    T(test_integer_id_beyond_64_bits_is_invalid_request),
	    T(test_string_id_of_128_bytes_is_accepted),
	    T(test_string_id_of_129_bytes_is_invalid_request),
	    T(test_string_id_with_escaped_nul_is_invalid_request),
	    T(test_nesting_at_the_depth_limit_is_accepted),
	    T(test_nesting_one_beyond_the_depth_limit_is_too_deep),
	    T(test_depth_limit_is_taken_from_the_limits),
	    T(test_the_depth_limit_counts_containers_whatever_they_hold),
	    T(test_message_of_exactly_max_message_bytes_is_accepted),
	    T(test_message_one_byte_over_max_message_is_too_large),
	    T(test_multibyte_utf8_in_params_is_kept),
	    T(test_escaped_surrogate_pair_is_decoded_to_utf8),
	    T(test_invalid_utf8_byte_is_a_parse_error),
	    T(test_stray_continuation_byte_is_a_parse_error),
	    T(test_truncated_utf8_sequence_is_a_parse_error),
	    T(test_overlong_utf8_is_a_parse_error),
	    T(test_utf8_encoded_surrogate_is_a_parse_error),
	    T(test_code_point_beyond_u10ffff_is_a_parse_error),
	    T(test_largest_code_points_are_accepted),
	    T(test_duplicate_top_level_key_is_invalid_request),
	    T(test_duplicate_nested_key_is_invalid_request),
	    T(test_escaped_spelling_of_a_key_is_a_duplicate),
	    T(test_keys_equal_up_to_an_escaped_nul_are_duplicates),
	    T(test_lone_surrogate_keys_are_duplicates),
	    T(test_same_key_in_sibling_objects_is_accepted),
	    T(test_keys_differing_only_in_case_are_not_duplicates),
	    T(test_duplicate_key_check_ignores_text_inside_strings),
	    T(test_duplicate_key_check_names_the_key),
	    T(test_duplicate_key_description_is_printable_and_bounded),
	    T(test_result_echoes_an_integer_id),
	    T(test_result_echoes_a_string_id),
	    T(test_responses_without_an_id_carry_a_null_id),
	    T(test_error_has_code_message_reason_and_retries_left),
	    T(test_error_with_zero_retries_left_says_so),
	    T(test_error_without_retries_omits_retries_left),
	    T(test_error_without_detail_uses_the_error_text),
	    T(test_error_data_keeps_extra_members_and_the_table_reason),
	    T(test_error_data_may_be_absent),
	    T(test_internal_errors_reach_the_page_as_internal_error),
	    T(test_emitted_text_does_not_escape_slashes),
	    T(test_event_has_method_event_and_no_id),
	    T(test_parse_failure_is_answered_with_its_id_and_detail),
	    T(test_id_copy_duplicates_the_string),
	    T(test_ipc_frame_round_trips),
	    T(test_ipc_frame_fed_byte_by_byte_is_reassembled),
	    T(test_two_ipc_frames_in_one_feed_come_out_in_order),
	    T(test_ipc_oversize_length_is_refused_before_the_body_arrives),
	    T(test_ipc_frame_at_the_reader_limit_is_accepted),
	    T(test_ipc_frame_one_byte_over_the_reader_limit_is_refused),
	    T(test_ipc_zero_length_frame_is_refused),
	    T(test_ipc_frame_with_nul_is_refused),
	    T(test_ipc_encoder_refuses_empty_and_oversize_text),
	    T(test_every_error_has_a_reason_and_a_code_in_range),
	    T(test_application_errors_have_distinct_codes_and_reasons),
	    T(test_standard_errors_have_json_rpc_codes),
	    T(test_application_reasons_round_trip),
	    T(test_internal_reasons_from_the_helper_are_refused),
	    T(test_unknown_reasons_from_the_helper_are_internal_errors),
	    T(test_unknown_error_values_map_to_internal_error),
	    T(test_link_messages_are_objects_parsed_strictly),
#undef T
	};
	size_t i;

	tap_plan((int)ARRAY_SIZE(tests));
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		tap_run(tests[i].name, tests[i].fn);
	return tap_done();
}
