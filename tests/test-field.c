/*
 * test-field.c - unit tests of pkcs11/field.c (TAP): strict reading of
 * request parameters, text made safe for JSON and dialogs, hex, and the
 * space-padded fields of PKCS#11.
 *
 * What field_sanitize() and field_trim_copy() get comes from cards and
 * modules: anything at all.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/params.h"
#include "pkcs11/field.h"
#include "pkcs11/request.h"
#include "tests/tap.h"

/* field_sanitize() of a copy of s, compared with want. */
static bool
sanitized(const char *s, const char *want)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", s);
	field_sanitize(buf);
	return strcmp(buf, want) == 0;
}

static void
test_sanitize_keeps_valid_utf8_and_replaces_the_rest(void)
{
	TAP_CHECK(sanitized("Joe Doe", "Joe Doe"));
	TAP_CHECK(sanitized("\xc5\x81\xc3\xb3\x64\xc5\xba", "\xc5\x81\xc3\xb3\x64\xc5\xba"));
	TAP_CHECK(sanitized("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"));
	/* Each byte of a broken, overlong or surrogate sequence becomes '?'. */
	TAP_CHECK(sanitized("a\xff"
			    "b",
	    "a?b"));
	TAP_CHECK(sanitized("a\xc3", "a?"));
	TAP_CHECK(sanitized("\xc0\xaf", "??"));
	TAP_CHECK(sanitized("\xed\xa0\x80", "???"));
	TAP_CHECK(sanitized("\xf4\x90\x80\x80", "????"));
}

static void
test_sanitize_replaces_control_characters(void)
{
	char buf[64];
	size_t i;

	TAP_CHECK(sanitized("a\nb\tc\x1b[2J", "a?b?c?[2J"));
	TAP_CHECK(sanitized("del\x7f", "del?"));
	/* A C1 control (U+009B, the 8-bit CSI) cannot drive a terminal either. */
	snprintf(buf, sizeof(buf),
	    "x\xc2\x9b"
	    "31m");
	field_sanitize(buf);
	for (i = 0; buf[i] != '\0'; i++)
		TAP_CHECK((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f &&
			  (unsigned char)buf[i] < 0x80);
	TAP_CHECK(proto_text_ok(buf, strlen(buf)));
}

static void
test_hex_is_lowercase_two_digits_a_byte(void)
{
	static const uint8_t bytes[] = {0x00, 0x0f, 0xab, 0xff};
	char *hex;

	TAP_CHECK((hex = field_hex(bytes, sizeof(bytes))) != NULL && strcmp(hex, "000fabff") == 0);
	free(hex);
	TAP_CHECK((hex = field_hex(bytes, 0)) != NULL && strcmp(hex, "") == 0);
	free(hex);
}

/* field_trim_copy() of the n bytes of src into a buffer of size bytes. */
static bool
trimmed(const char *src, size_t n, size_t size, const char *want)
{
	char dst[64];

	memset(dst, 'X', sizeof(dst));
	field_trim_copy(dst, size, (const unsigned char *)src, n);
	return strcmp(dst, want) == 0;
}

static void
test_trim_copy_takes_a_padded_pkcs11_field_apart(void)
{
	TAP_CHECK(trimmed("My token                        ", 32, 33, "My token"));
	TAP_CHECK(trimmed("                                ", 32, 33, ""));
	/* Some modules pad with NULs; what follows the first NUL is not text. */
	TAP_CHECK(trimmed("serial\0\0\0junk\0\0\0\0\0\0", 19, 17, "serial"));
	TAP_CHECK(trimmed("a   b   ", 8, 17, "a   b"));
	TAP_CHECK(trimmed("ctl\x01\x1b  ", 7, 17, "ctl??"));
}

static void
test_trim_copy_cuts_to_the_buffer_and_keeps_utf8_valid(void)
{
	TAP_CHECK(trimmed("abcdefgh", 8, 5, "abcd"));
	/* Cut inside "é": the half character is replaced, not passed on. */
	TAP_CHECK(trimmed("ab\xc3\xa9 ", 5, 4, "ab?"));
}

/* A request whose params are json; the fields are read from it. */
static struct request *
request_with(const char *json)
{
	struct request *req = request_new();

	req->root = req->params = json_tokener_parse(json);
	return req;
}

static void
test_field_string_names_the_parameter_in_its_messages(void)
{
	struct request *req = request_with("{\"label\":\"ok\",\"n\":3,\"nul\":\"a\\u0000b\","
					   "\"subject\":{\"CN\":\"Joe\"}}");
	struct json_object *subject;
	const char *s;

	TAP_CHECK(
	    field_string(req, req->params, "label", true, 8, &s) == 0 && strcmp(s, "ok") == 0);
	TAP_CHECK(field_string(req, req->params, "missing", false, 8, &s) == 0 && s == NULL);
	TAP_CHECK(field_string(req, req->params, "missing", true, 8, &s) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.missing: missing") == 0);
	TAP_CHECK(field_string(req, req->params, "n", true, 8, &s) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.n: must be a string") == 0);
	TAP_CHECK(field_string(req, req->params, "nul", true, 8, &s) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.nul: contains NUL") == 0);
	TAP_CHECK(field_string(req, req->params, "label", true, 1, &s) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.label: longer than 1 bytes") == 0);
	/* A dotted path: its last part is looked up, the whole path named. */
	TAP_CHECK(field_object(req, req->params, "subject", true, &subject) == 0);
	TAP_CHECK(field_string(req, subject, "subject.CN", true, 1, &s) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.subject.CN: longer than 1 bytes") == 0);
	request_free(req);
}

static void
test_field_readers_check_the_type(void)
{
	struct request *req = request_with("{\"b\":true,\"i\":7,\"o\":{},\"a\":[],\"s\":\"x\"}");
	struct json_object *obj;
	int64_t i;
	bool b;

	TAP_CHECK(field_bool(req, req->params, "b", &b) == 0 && b);
	TAP_CHECK(field_bool(req, req->params, "absent", &b) == 0 && !b);
	TAP_CHECK(field_bool(req, req->params, "s", &b) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.s: must be a boolean") == 0);
	TAP_CHECK(field_int(req, req->params, "i", &i) == 0 && i == 7);
	TAP_CHECK(field_int(req, req->params, "absent", &i) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(field_object(req, req->params, "o", true, &obj) == 0 && obj != NULL);
	TAP_CHECK(field_object(req, req->params, "a", true, &obj) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(field_array(req, req->params, "a", &obj) == 0 && obj != NULL);
	TAP_CHECK(field_array(req, req->params, "absent", &obj) == 0 && obj == NULL);
	request_free(req);
}

static void
test_add_string_adds_null_for_no_value(void)
{
	struct json_object *obj = json_object_new_object();

	TAP_CHECK(field_add_string(obj, "a", "text") == 0 && field_add_string(obj, "b", NULL) == 0);
	TAP_CHECK(strcmp(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
		      "{\"a\":\"text\",\"b\":null}") == 0);
	json_object_put(obj);
}

int
main(void)
{
	tap_plan(8);
	tap_run("sanitize keeps valid utf8 and replaces the rest",
	    test_sanitize_keeps_valid_utf8_and_replaces_the_rest);
	tap_run("sanitize replaces control characters", test_sanitize_replaces_control_characters);
	tap_run("hex is lowercase two digits a byte", test_hex_is_lowercase_two_digits_a_byte);
	tap_run("trim copy takes a padded pkcs11 field apart",
	    test_trim_copy_takes_a_padded_pkcs11_field_apart);
	tap_run("trim copy cuts to the buffer and keeps utf8 valid",
	    test_trim_copy_cuts_to_the_buffer_and_keeps_utf8_valid);
	tap_run("field string names the parameter in its messages",
	    test_field_string_names_the_parameter_in_its_messages);
	tap_run("field readers check the type", test_field_readers_check_the_type);
	tap_run("add string adds null for no value", test_add_string_adds_null_for_no_value);
	return tap_done();
}
