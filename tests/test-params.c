/*
 * test-params.c - unit tests of protocol/params.c and protocol/methods.c
 * (TAP): the params rules, how a refusal names its field, and the table
 * that daemon, helper, control socket and fuzzers share.
 *
 * Every params object here is what a hostile page could send.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "protocol/params.h"
#include "tests/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const colours[] = {"red", "green", NULL};
static const int64_t sizes[] = {2048, 4096, 0};

static const struct proto_field subject_fields[] = {
    {.name = "cn", .type = PROTO_T_STRING, .required = true, .max_chars = 4},
    {.name = "o", .type = PROTO_T_STRING, .max_bytes = 64},
    {NULL},
};

static const struct proto_field schema[] = {
    {.name = "token", .type = PROTO_T_STRING, .required = true, .max_bytes = 32},
    {.name = "bits",
	.type = PROTO_T_INT,
	.int_choices = sizes,
	.choice_err = CB_ERR_UNSUPPORTED_ALGORITHM},
    {.name = "count", .type = PROTO_T_INT, .min = 1, .max = 3},
    {.name = "extractable", .type = PROTO_T_BOOL},
    {.name = "subject", .type = PROTO_T_OBJECT, .fields = subject_fields},
    {.name = "extra", .type = PROTO_T_OBJECT},
    {.name = "usages", .type = PROTO_T_ARRAY_OF_STRINGS, .max_items = 3, .max_bytes = 8},
    {.name = "pem", .type = PROTO_T_STRING, .syntax = PROTO_S_PEM},
    {.name = "colour", .type = PROTO_T_STRING, .choices = colours},
    {.name = "label", .type = PROTO_T_STRING, .nonempty = true, .max_bytes = 12, .max_chars = 6},
    {.name = "uri", .type = PROTO_T_STRING, .syntax = PROTO_S_PKCS11_URI},
    {.name = "c", .type = PROTO_T_STRING, .syntax = PROTO_S_COUNTRY},
    {.name = "mail", .type = PROTO_T_STRING, .syntax = PROTO_S_EMAIL},
    {.name = "printable", .type = PROTO_T_STRING, .syntax = PROTO_S_PRINTABLE},
    {.name = "origin", .type = PROTO_T_STRING, .syntax = PROTO_S_ORIGIN},
    {NULL},
};

static const struct proto_field optional_schema[] = {
    {.name = "verbose", .type = PROTO_T_BOOL},
    {NULL},
};

static char why[PROTO_PARAMS_WHY_MAX];

/* The cb_err params text gets against s; why holds the message. */
static int
check_with(const char *text, const struct proto_field *s)
{
	struct json_object *params = json_tokener_parse(text);
	int r;

	if (params == NULL)
		return 1;
	r = proto_check_params(params, s, why, sizeof(why));
	json_object_put(params);
	return r;
}

static int
check(const char *text)
{
	return check_with(text, schema);
}

/* Refused with err and exactly this message. */
static bool
refused(const char *text, int err, const char *message)
{
	if (check(text) != err) {
		printf("# %s: not refused with %d (why: %s)\n", text, err, why);
		return false;
	}
	if (strcmp(why, message) != 0) {
		printf("# %s: \"%s\", not \"%s\"\n", text, why, message);
		return false;
	}
	return true;
}

static bool
printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void
test_params_matching_the_schema_pass(void)
{
	why[0] = 'x';
	TAP_CHECK(check("{\"token\":\"t1\",\"bits\":2048,\"extractable\":false,"
			"\"subject\":{\"cn\":\"Ann\",\"o\":\"Example\"},\"extra\":{},"
			"\"usages\":[\"sign\",\"decrypt\"],\"colour\":\"red\",\"count\":3}") == 0);
	TAP_CHECK(why[0] == '\0');
	TAP_CHECK(check("{\"token\":\"t1\"}") == 0);
}

static void
test_every_refusal_names_the_field_as_params_dot_path(void)
{
	TAP_CHECK(refused("{\"token\":\"t1\",\"shade\":1}", CB_ERR_INVALID_PARAMS,
	    "params.shade: unknown parameter"));
	TAP_CHECK(refused("{\"token\":\"t1\",\"subject\":{\"cn\":\"A\",\"ou\":\"B\"}}",
	    CB_ERR_INVALID_PARAMS, "params.subject.ou: unknown parameter"));
	TAP_CHECK(refused("{\"bits\":2048}", CB_ERR_INVALID_PARAMS, "params.token: missing"));
	TAP_CHECK(refused("{\"token\":\"t1\",\"subject\":{\"o\":\"B\"}}", CB_ERR_INVALID_PARAMS,
	    "params.subject.cn: missing"));
	TAP_CHECK(
	    refused("{\"token\":1}", CB_ERR_INVALID_PARAMS, "params.token: must be a string"));
	TAP_CHECK(refused("{\"token\":\"0123456789abcdef0123456789abcdefX\"}",
	    CB_ERR_INVALID_PARAMS, "params.token: longer than 32 bytes"));
	TAP_CHECK(refused("{\"token\":\"t\",\"usages\":[\"a\",1]}", CB_ERR_INVALID_PARAMS,
	    "params.usages[1]: must be a string"));
}

static void
test_unknown_parameter_message_is_printable_ascii_and_short(void)
{
	TAP_CHECK(check("{\"token\":\"t1\",\"\\n\xc3\xa9\\u001b[2J"
			"0123456789012345678901234567890123456789012345678901234567890\":1}") ==
		  CB_ERR_INVALID_PARAMS);
	TAP_CHECK(printable_ascii(why));
	TAP_CHECK(strncmp(why, "params.??", 9) == 0);
	TAP_CHECK(strlen(why) < 80);
}

static void
test_absent_params_fail_only_when_a_parameter_is_required(void)
{
	TAP_CHECK(proto_check_params(NULL, schema, why, sizeof(why)) == CB_ERR_INVALID_PARAMS &&
		  strcmp(why, "params.token: missing") == 0);
	TAP_CHECK(proto_check_params(NULL, optional_schema, why, sizeof(why)) == 0);
}

static void
test_method_without_a_schema_accepts_only_empty_params(void)
{
	TAP_CHECK(check_with("{}", NULL) == 0);
	TAP_CHECK(proto_check_params(NULL, NULL, why, sizeof(why)) == 0);
	TAP_CHECK(check_with("{\"a\":1}", NULL) == CB_ERR_INVALID_PARAMS);
}

static void
test_params_that_are_not_an_object_are_refused(void)
{
	TAP_CHECK(
	    check("[]") == CB_ERR_INVALID_PARAMS && strcmp(why, "params: must be an object") == 0);
}

static void
test_wrong_type_is_named_with_the_expected_type(void)
{
	TAP_CHECK(refused("{\"token\":\"t\",\"bits\":\"2048\"}", CB_ERR_INVALID_PARAMS,
	    "params.bits: must be an integer"));
	TAP_CHECK(refused("{\"token\":\"t\",\"bits\":2048.0}", CB_ERR_INVALID_PARAMS,
	    "params.bits: must be an integer"));
	TAP_CHECK(refused("{\"token\":\"t\",\"extractable\":1}", CB_ERR_INVALID_PARAMS,
	    "params.extractable: must be a boolean"));
	TAP_CHECK(refused("{\"token\":\"t\",\"subject\":[]}", CB_ERR_INVALID_PARAMS,
	    "params.subject: must be an object"));
	TAP_CHECK(refused("{\"token\":\"t\",\"usages\":\"sign\"}", CB_ERR_INVALID_PARAMS,
	    "params.usages: must be an array of strings"));
}

static void
test_null_is_not_an_absent_parameter(void)
{
	TAP_CHECK(
	    refused("{\"token\":null}", CB_ERR_INVALID_PARAMS, "params.token: must be a string"));
	TAP_CHECK(check("{\"token\":\"t\",\"bits\":null}") == CB_ERR_INVALID_PARAMS);
}

static void
test_byte_limits_count_bytes(void)
{
	TAP_CHECK(check("{\"token\":\"0123456789abcdef0123456789abcdef\"}") == 0);
	/* 17 two-byte characters are 34 bytes. */
	TAP_CHECK(refused("{\"token\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			  "\xc3\xa9\"}",
	    CB_ERR_INVALID_PARAMS, "params.token: longer than 32 bytes"));
}

static void
test_character_limits_count_characters(void)
{
	/* Four characters of three bytes each: within 4 characters. */
	TAP_CHECK(check("{\"token\":\"t\",\"subject\":{\"cn\":\"\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4"
			"\xaa\xe9\x83\x8e\"}}") == 0);
	TAP_CHECK(refused("{\"token\":\"t\",\"subject\":{\"cn\":\"abcde\"}}", CB_ERR_INVALID_PARAMS,
	    "params.subject.cn: longer than 4 characters"));
}

static void
test_a_field_with_both_limits_meets_both(void)
{
	TAP_CHECK(check("{\"token\":\"t\",\"label\":\"abcdef\"}") == 0);
	TAP_CHECK(refused("{\"token\":\"t\",\"label\":\"abcdefg\"}", CB_ERR_INVALID_PARAMS,
	    "params.label: longer than 6 characters"));
	/* Five characters, fifteen bytes. */
	TAP_CHECK(
	    refused("{\"token\":\"t\",\"label\":\"\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1"
		    "\xb1\xe5\xb1\xb1\"}",
		CB_ERR_INVALID_PARAMS, "params.label: longer than 12 bytes"));
	TAP_CHECK(refused(
	    "{\"token\":\"t\",\"label\":\"\"}", CB_ERR_INVALID_PARAMS, "params.label: empty"));
}

static void
test_control_characters_in_text_are_refused(void)
{
	static const char *const bad[] = {
	    "a\\u0000b", "a\\u0001", "\\u001b[2J", "a\\u007f", "a\\tb", "a\\nb", "\\u0085"};
	char text[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "{\"token\":\"%s\"}", bad[i]);
		TAP_CHECK(refused(
		    text, CB_ERR_INVALID_PARAMS, "params.token: contains control characters"));
	}
}

static void
test_pem_text_may_hold_line_breaks_and_nothing_else(void)
{
	TAP_CHECK(
	    check("{\"token\":\"t\",\"pem\":\"-----BEGIN X-----\\r\\nQUJD\\tRA==\\n\"}") == 0);
	TAP_CHECK(refused("{\"token\":\"t\",\"pem\":\"\xc3\xa9\"}", CB_ERR_INVALID_PARAMS,
	    "params.pem: contains characters PEM or base64 cannot hold"));
	TAP_CHECK(check("{\"token\":\"t\",\"pem\":\"a\\u0000\"}") == CB_ERR_INVALID_PARAMS);
}

static void
test_values_outside_the_choices_are_refused_with_the_fields_reason(void)
{
	TAP_CHECK(refused("{\"token\":\"t\",\"colour\":\"blue\"}", CB_ERR_INVALID_PARAMS,
	    "params.colour: must be one of \"red\", \"green\""));
	TAP_CHECK(refused("{\"token\":\"t\",\"bits\":1024}", CB_ERR_UNSUPPORTED_ALGORITHM,
	    "params.bits: must be one of 2048, 4096"));
	TAP_CHECK(refused("{\"token\":\"t\",\"count\":4}", CB_ERR_INVALID_PARAMS,
	    "params.count: must be from 1 to 3"));
	TAP_CHECK(check("{\"token\":\"t\",\"count\":0}") == CB_ERR_INVALID_PARAMS);
}

static void
test_array_limits_and_elements(void)
{
	TAP_CHECK(check("{\"token\":\"t\",\"usages\":[\"a\",\"b\",\"c\"]}") == 0);
	TAP_CHECK(check("{\"token\":\"t\",\"usages\":[]}") == 0);
	TAP_CHECK(refused("{\"token\":\"t\",\"usages\":[\"a\",\"b\",\"c\",\"d\"]}",
	    CB_ERR_INVALID_PARAMS, "params.usages: more than 3 elements"));
	TAP_CHECK(refused("{\"token\":\"t\",\"usages\":[\"ok\",\"a\\u0000\"]}",
	    CB_ERR_INVALID_PARAMS, "params.usages[1]: contains control characters"));
	TAP_CHECK(refused("{\"token\":\"t\",\"usages\":[\"123456789\"]}", CB_ERR_INVALID_PARAMS,
	    "params.usages[0]: longer than 8 bytes"));
}

static void
test_object_without_a_schema_accepts_any_members(void)
{
	TAP_CHECK(check("{\"token\":\"t\",\"extra\":{\"any\":[1,{\"x\":null}],\"b\":1}}") == 0);
}

static void
test_pkcs11_uris_are_checked_before_p11_kit_sees_them(void)
{
	TAP_CHECK(check("{\"token\":\"t\",\"uri\":\"pkcs11:token=My%20card;serial=1\"}") == 0);
	TAP_CHECK(refused("{\"token\":\"t\",\"uri\":\"file:x\"}", CB_ERR_INVALID_PARAMS,
	    "params.uri: not a pkcs11: URI"));
	TAP_CHECK(refused("{\"token\":\"t\",\"uri\":\"pkcs11:token=%zz\"}", CB_ERR_INVALID_PARAMS,
	    "params.uri: not a pkcs11: URI"));
	TAP_CHECK(refused("{\"token\":\"t\",\"uri\":\"pkcs11:token=%4\"}", CB_ERR_INVALID_PARAMS,
	    "params.uri: not a pkcs11: URI"));
	TAP_CHECK(refused("{\"token\":\"t\",\"uri\":\"pkcs11:token=a%00b\"}", CB_ERR_INVALID_PARAMS,
	    "params.uri: a control character (%00-%1F, %7F) in the URI"));
	TAP_CHECK(refused("{\"token\":\"t\",\"uri\":\"pkcs11:token=%7F\"}", CB_ERR_INVALID_PARAMS,
	    "params.uri: a control character (%00-%1F, %7F) in the URI"));
	TAP_CHECK(check("{\"token\":\"t\",\"uri\":\"pkcs11:token=a b\"}") == CB_ERR_INVALID_PARAMS);
}

static void
test_subject_syntaxes(void)
{
	TAP_CHECK(check("{\"token\":\"t\",\"c\":\"pl\",\"mail\":\"a@b.example\",\"printable\":"
			"\"AB-12 (x)\"}") == 0);
	TAP_CHECK(refused("{\"token\":\"t\",\"c\":\"POL\"}", CB_ERR_INVALID_PARAMS,
	    "params.c: must be two letters"));
	TAP_CHECK(refused("{\"token\":\"t\",\"c\":\"P1\"}", CB_ERR_INVALID_PARAMS,
	    "params.c: must be two letters"));
	TAP_CHECK(refused("{\"token\":\"t\",\"mail\":\"a@b@c\"}", CB_ERR_INVALID_PARAMS,
	    "params.mail: not an e-mail address"));
	TAP_CHECK(refused("{\"token\":\"t\",\"mail\":\"a b@c\"}", CB_ERR_INVALID_PARAMS,
	    "params.mail: not an e-mail address"));
	TAP_CHECK(refused("{\"token\":\"t\",\"printable\":\"a_b\"}", CB_ERR_INVALID_PARAMS,
	    "params.printable: has characters a PrintableString cannot hold"));
}

static void
test_origins_are_checked_as_the_allow_list_takes_them(void)
{
	TAP_CHECK(check("{\"token\":\"t\",\"origin\":\"https://portal.example\"}") == 0);
	TAP_CHECK(check("{\"token\":\"t\",\"origin\":\"http://portal.example\"}") ==
		  CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strncmp(why, "params.origin: ", 15) == 0 && printable_ascii(why));
	TAP_CHECK(check("{\"token\":\"t\",\"origin\":\"https://portal.example/\"}") ==
		  CB_ERR_INVALID_PARAMS);
}

static void
test_params_message_fits_a_small_buffer(void)
{
	struct json_object *params = json_tokener_parse("{\"shade\":1}");
	char small[8];

	TAP_CHECK(
	    proto_check_params(params, schema, small, sizeof(small)) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strlen(small) < sizeof(small));
	json_object_put(params);
}

static void
test_utf8_cut_never_splits_a_character(void)
{
	static const char s[] = "a\xe5\xb1\xb1"
				"b"; /* a, one 3-byte character, b */

	TAP_CHECK(proto_utf8_cut(s, 5, 5) == 5);
	TAP_CHECK(proto_utf8_cut(s, 5, 4) == 4);
	TAP_CHECK(proto_utf8_cut(s, 5, 3) == 1);
	TAP_CHECK(proto_utf8_cut(s, 5, 2) == 1);
	TAP_CHECK(proto_utf8_cut(s, 5, 0) == 0);
	TAP_CHECK(proto_utf8_chars(s, 5) == 3);
}

/* --- the table ----------------------------------------------------------- */

static int
check_method(const char *name, unsigned port, const char *text)
{
	struct json_object *params = text ? json_tokener_parse(text) : NULL;
	const struct proto_method *m = proto_method_find(name, port);
	int r;

	if (m == NULL)
		return 1;
	r = proto_method_check(m, params, why, sizeof(why));
	json_object_put(params);
	return r;
}

static void
test_method_names_are_unique_and_rows_are_complete(void)
{
	const struct proto_method *m, *n;

	for (m = proto_methods; m->name != NULL; m++) {
		for (n = m + 1; n->name != NULL; n++)
			TAP_CHECK(strcmp(m->name, n->name) != 0);
		TAP_CHECK(m->params != NULL && m->reasons != NULL);
		TAP_CHECK(m->flags & (PROTO_M_PAGE | PROTO_M_CONTROL | PROTO_M_HELPER));
		TAP_CHECK((m->budget == PROTO_BUDGET_NONE) == (m->timeout_s == 0));
		/* A method that may change a token is one the user sees. */
		TAP_CHECK(!(m->flags & PROTO_M_CHANGES_TOKEN) || (m->flags & PROTO_M_DIALOG));
		/* Pages reach the helper only through consent. */
		TAP_CHECK(!((m->flags & PROTO_M_PAGE) && (m->flags & PROTO_M_HELPER)) ||
			  (m->flags & PROTO_M_CONSENT));
	}
}

static void
test_lookups_honour_the_port(void)
{
	TAP_CHECK(proto_method_find("keys.generate", PROTO_M_PAGE) != NULL);
	TAP_CHECK(proto_method_find("keys.generate", PROTO_M_CONTROL) == NULL);
	TAP_CHECK(proto_method_find("control.status", PROTO_M_PAGE) == NULL);
	TAP_CHECK(proto_method_find("cancel", PROTO_M_PAGE) == NULL);
	TAP_CHECK(proto_method_find("origin.confirm", PROTO_M_PAGE | PROTO_M_CONTROL) == NULL);
	TAP_CHECK(proto_method_find("cancel", PROTO_M_HELPER) != NULL);
	TAP_CHECK(proto_method_find(NULL, PROTO_M_PAGE) == NULL);
}

struct binding {
	const char *method;
	int handler;
};

static void
test_bindings_must_cover_exactly_the_rows_of_their_port(void)
{
	/* The control rows of the table, one binding each, then three ways to get it wrong. */
	struct binding control[32], twice[33], foreign[33];
	static const struct binding missing[] = {{"control.status", 1}};
	const struct proto_method *m;
	size_t n = 0;

	for (m = proto_methods; m->name != NULL; m++)
		if ((m->flags & PROTO_M_CONTROL) && n < ARRAY_SIZE(control)) {
			control[n] = (struct binding){m->name, (int)n + 1};
			n++;
		}
	memcpy(twice, control, n * sizeof(control[0]));
	memcpy(foreign, control, n * sizeof(control[0]));
	twice[n] = (struct binding){"control.status", 99};
	foreign[n] = (struct binding){"keys.generate", 99};

	TAP_CHECK(n > 5 && n < ARRAY_SIZE(control));
	TAP_CHECK(proto_bindings_check(
		      &control[0].method, n, sizeof(control[0]), PROTO_M_CONTROL) == NULL);
	TAP_CHECK(PROTO_BINDINGS_CHECK(missing, PROTO_M_CONTROL) != NULL);
	TAP_CHECK(
	    strcmp(proto_bindings_check(&twice[0].method, n + 1, sizeof(twice[0]), PROTO_M_CONTROL),
		"control.status") == 0);
	TAP_CHECK(strcmp(proto_bindings_check(
			     &foreign[0].method, n + 1, sizeof(foreign[0]), PROTO_M_CONTROL),
		      "keys.generate") == 0);
	TAP_CHECK(strcmp(control[proto_binding_index(&control[0].method, n, sizeof(control[0]),
				     "control.origins.allow")]
			     .method,
		      "control.origins.allow") == 0);
	TAP_CHECK(
	    proto_binding_index(&control[0].method, n, sizeof(control[0]), "keys.generate") == n);
	/* Card management reaches the helper from the desktop too; keys.generate does not. */
	TAP_CHECK(proto_method_find("pins.unblock", PROTO_M_CONTROL) != NULL);
	TAP_CHECK(proto_method_find("pins.unblock", PROTO_M_PAGE) != NULL);
}

static void
test_keys_generate_needs_the_size_or_the_curve_of_its_type(void)
{
	TAP_CHECK(
	    check_method("keys.generate", PROTO_M_PAGE,
		"{\"token\":\"pkcs11:token=a\",\"algorithm\":{\"type\":\"RSA\",\"bits\":3072}}") ==
	    0);
	TAP_CHECK(check_method("keys.generate", PROTO_M_HELPER,
		      "{\"token\":\"pkcs11:token=a\",\"algorithm\":{\"type\":\"EC\",\"curve\":"
		      "\"P-384\"}}") == 0);
	TAP_CHECK(check_method("keys.generate", PROTO_M_PAGE,
		      "{\"token\":\"pkcs11:token=a\",\"algorithm\":{\"type\":\"RSA\"}}") ==
		      CB_ERR_INVALID_PARAMS &&
		  strcmp(why, "params.algorithm.bits: missing") == 0);
	TAP_CHECK(check_method("keys.generate", PROTO_M_PAGE,
		      "{\"token\":\"pkcs11:token=a\",\"algorithm\":{\"type\":\"EC\"}}") ==
		      CB_ERR_INVALID_PARAMS &&
		  strcmp(why, "params.algorithm.curve: missing") == 0);
	TAP_CHECK(check_method("keys.generate", PROTO_M_PAGE,
		      "{\"token\":\"pkcs11:token=a\",\"algorithm\":{\"type\":\"EC\",\"curve\":"
		      "\"P-256\",\"bits\":2048}}") == CB_ERR_INVALID_PARAMS &&
		  strcmp(why, "params.algorithm.bits: only for RSA keys") == 0);
	TAP_CHECK(check_method("keys.generate", PROTO_M_PAGE,
		      "{\"token\":\"pkcs11:token=a\",\"algorithm\":{\"type\":\"DSA\"}}") ==
		      CB_ERR_UNSUPPORTED_ALGORITHM &&
		  strcmp(why, "params.algorithm.type: must be one of \"RSA\", \"EC\"") == 0);
	TAP_CHECK(
	    check_method("keys.generate", PROTO_M_PAGE,
		"{\"token\":\"pkcs11:token=a\",\"algorithm\":{\"type\":\"RSA\",\"bits\":1024}}") ==
	    CB_ERR_UNSUPPORTED_ALGORITHM);
}

static void
test_a_cjk_common_name_of_22_characters_is_a_valid_label_and_cn(void)
{
	/* 22 characters of three bytes: 66 bytes. */
	char text[512], cn[67];
	size_t i;

	for (i = 0; i < 22; i++)
		memcpy(cn + 3 * i, "\xe5\xb1\xb1", 3);
	cn[66] = '\0';
	snprintf(text, sizeof(text),
	    "{\"token\":\"pkcs11:token=a\",\"algorithm\":{\"type\":\"EC\",\"curve\":\"P-256\"},"
	    "\"subject\":{\"CN\":\"%s\"},\"label\":\"%s\"}",
	    cn, cn);
	TAP_CHECK(check_method("keys.generate", PROTO_M_PAGE, text) == 0);
}

static void
test_client_timeouts_leave_room_for_the_daemons_own_answer(void)
{
	const struct proto_method *m;

	for (m = proto_methods; m->name != NULL; m++)
		TAP_CHECK(proto_method_client_timeout_ms(m) >= m->timeout_s * 1000L + 5000L);
	TAP_CHECK(proto_method_client_timeout_ms(
		      proto_method_find("keys.generate", PROTO_M_PAGE)) == 610000);
}

static void
test_notifications_declare_their_kinds(void)
{
	const struct proto_notification *n;

	const struct proto_field *f;

	for (n = proto_notifications; n->name != NULL; n++) {
		TAP_CHECK(n->types != NULL && n->types[0] != NULL && n->params != NULL);
		for (f = n->params; f->name != NULL; f++)
			if (strcmp(f->name, n->type_member) == 0)
				break;
		TAP_CHECK(f->name != NULL && f->choices == n->types);
	}
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_params_matching_the_schema_pass),
	    TAP_TEST(test_every_refusal_names_the_field_as_params_dot_path),
	    TAP_TEST(test_unknown_parameter_message_is_printable_ascii_and_short),
	    TAP_TEST(test_absent_params_fail_only_when_a_parameter_is_required),
	    TAP_TEST(test_method_without_a_schema_accepts_only_empty_params),
	    TAP_TEST(test_params_that_are_not_an_object_are_refused),
	    TAP_TEST(test_wrong_type_is_named_with_the_expected_type),
	    TAP_TEST(test_null_is_not_an_absent_parameter),
	    TAP_TEST(test_byte_limits_count_bytes),
	    TAP_TEST(test_character_limits_count_characters),
	    TAP_TEST(test_a_field_with_both_limits_meets_both),
	    TAP_TEST(test_control_characters_in_text_are_refused),
	    TAP_TEST(test_pem_text_may_hold_line_breaks_and_nothing_else),
	    TAP_TEST(test_values_outside_the_choices_are_refused_with_the_fields_reason),
	    TAP_TEST(test_array_limits_and_elements),
	    TAP_TEST(test_object_without_a_schema_accepts_any_members),
	    TAP_TEST(test_pkcs11_uris_are_checked_before_p11_kit_sees_them),
	    TAP_TEST(test_subject_syntaxes),
	    TAP_TEST(test_origins_are_checked_as_the_allow_list_takes_them),
	    TAP_TEST(test_params_message_fits_a_small_buffer),
	    TAP_TEST(test_utf8_cut_never_splits_a_character),
	    TAP_TEST(test_method_names_are_unique_and_rows_are_complete),
	    TAP_TEST(test_lookups_honour_the_port),
	    TAP_TEST(test_bindings_must_cover_exactly_the_rows_of_their_port),
	    TAP_TEST(test_keys_generate_needs_the_size_or_the_curve_of_its_type),
	    TAP_TEST(test_a_cjk_common_name_of_22_characters_is_a_valid_label_and_cn),
	    TAP_TEST(test_client_timeouts_leave_room_for_the_daemons_own_answer),
	    TAP_TEST(test_notifications_declare_their_kinds),
	};

	return tap_main(tests, sizeof(tests) / sizeof(tests[0]));
}
