/*
 * test-errors.c - unit tests of the cb_err table, protocol/errors.c (TAP):
 * every error has a text, a reason and a JSON-RPC code in range; the
 * reasons a helper may send are distinct and read back as themselves;
 * anything else, from the helper or from a caller, becomes INTERNAL_ERROR.
 *
 * The helper's reason is untrusted text: it must never turn into an error
 * the helper has no business sending.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "protocol/cberr.h"
#include "tests/proto-test.h"

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

/* --- the table ------------------------------------------------------------- */

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
test_unknown_error_values_map_to_internal_error(void)
{
	TAP_CHECK(cb_err_rpc_code(-999) == -32603);
	TAP_CHECK(strcmp(cb_err_reason(-999), "INTERNAL_ERROR") == 0);
	TAP_CHECK(strcmp(cb_err_reason(1), "INTERNAL_ERROR") == 0);
	TAP_CHECK(cb_err_str(-999) != NULL);
}

/* --- reasons from the helper ----------------------------------------------- */

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

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_every_error_has_a_reason_and_a_code_in_range),
	    TAP_TEST(test_application_errors_have_distinct_codes_and_reasons),
	    TAP_TEST(test_standard_errors_have_json_rpc_codes),
	    TAP_TEST(test_unknown_error_values_map_to_internal_error),
	    TAP_TEST(test_application_reasons_round_trip),
	    TAP_TEST(test_internal_reasons_from_the_helper_are_refused),
	    TAP_TEST(test_unknown_reasons_from_the_helper_are_internal_errors),
	};

	return tap_main(tests, ARRAY_SIZE(tests));
}
