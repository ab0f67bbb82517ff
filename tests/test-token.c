/*
 * test-token.c - unit tests of pkcs11/token.c (TAP): listing tokens,
 * naming them with URIs, finding one by URI, and telling a pulled card
 * from a failing one, against the in-memory token of tests/p11-fake.c.
 */
#include "config.h"

#include <string.h>

#include "protocol/cberr.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "tests/p11-fake.h"
#include "tests/tap.h"

static struct request *req;

static void
start(void)
{
	fake_reset();
	request_free(req);
	req = request_new();
}

static void
test_token_list_names_the_token_with_a_token_uri(void)
{
	struct token *list;
	size_t n;

	start();
	TAP_CHECK(token_list(req, &list, &n) == 0 && n == 1);
	TAP_CHECK(strcmp(list[0].label, "fake token") == 0);
	TAP_CHECK(strcmp(list[0].reader, "fake reader") == 0);
	TAP_CHECK(strcmp(list[0].serial, "0001") == 0);
	TAP_CHECK(strncmp(list[0].uri, "pkcs11:", 7) == 0);
	TAP_CHECK(strstr(list[0].uri, "token=fake%20token") != NULL);
	TAP_CHECK(strstr(list[0].uri, "object=") == NULL);
	token_list_free(list, n);
}

static void
test_a_blank_token_is_not_listed(void)
{
	struct token *list;
	size_t n;

	start();
	fake.info.flags &= ~(CK_FLAGS)CKF_TOKEN_INITIALIZED;
	TAP_CHECK(token_list(req, &list, &n) == 0 && n == 0);
	TAP_CHECK(req->message[0] == '\0');
	token_list_free(list, n);
}

static void
test_token_find_refuses_a_uri_that_names_an_object(void)
{
	struct token t;

	start();
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI ";object=key", &t) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message,
		      "params.token: not a token URI (has object or unknown attributes)") == 0);
	TAP_CHECK(token_find(req, "https://token", &t) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.token: not a pkcs11: URI") == 0);
}

static void
test_token_find_without_a_match_is_token_not_present(void)
{
	struct token t;

	start();
	TAP_CHECK(token_find(req, "pkcs11:token=other", &t) == CB_ERR_TOKEN_NOT_PRESENT);
	TAP_CHECK(strcmp(req->message, "no such token is present") == 0);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	TAP_CHECK(t.module == fake_module() && strcmp(t.label, "fake token") == 0);
	token_clear(&t);
}

/*
 * C_GetInfo fails: the token is still found by a URI that names no module
 * (it used to be "no such token is present"), but not by one that does.
 */
static void
test_a_module_that_cannot_describe_itself_still_finds_its_token(void)
{
	struct token t;

	start();
	fake.get_info = CKR_GENERAL_ERROR;
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	token_clear(&t);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI ";library-manufacturer=fake", &t) ==
		  CB_ERR_TOKEN_NOT_PRESENT);
}

static void
test_a_token_gone_from_the_slot_list_is_card_removed(void)
{
	struct token t;

	start();
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	/* Errors that cannot mean a pulled card are left as they are, at once. */
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_PIN_INCORRECT) == CB_ERR_PIN_INCORRECT);
	/* The module says removed, but the card is (back) there: as the module said. */
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_CARD_REMOVED) == CB_ERR_CARD_REMOVED);
	fake.no_slots = true;
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_MODULE_ERROR) == CB_ERR_CARD_REMOVED);
	TAP_CHECK(strcmp(req->message, "the card was removed during the operation") == 0);
	token_clear(&t);
}

int
main(void)
{
	helper_config.log_level = CB_LOG_ERROR;
	tap_plan(6);
	tap_run("token list names the token with a token uri",
	    test_token_list_names_the_token_with_a_token_uri);
	tap_run("a blank token is not listed", test_a_blank_token_is_not_listed);
	tap_run("token find refuses a uri that names an object",
	    test_token_find_refuses_a_uri_that_names_an_object);
	tap_run("token find without a match is token not present",
	    test_token_find_without_a_match_is_token_not_present);
	tap_run("a module that cannot describe itself still finds its token",
	    test_a_module_that_cannot_describe_itself_still_finds_its_token);
	tap_run("a token gone from the slot list is card removed",
	    test_a_token_gone_from_the_slot_list_is_card_removed);
	request_free(req);
	fake_reset();
	return tap_done();
}
