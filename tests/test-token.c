/*
 * test-token.c - unit tests of pkcs11/token.c, claim.c and card.c (TAP):
 * listing tokens, naming them with URIs, finding one by URI, module by
 * ATR, and telling a pulled card (or a stopped pcscd) from a failing one,
 * against the in-memory token of tests/p11-fake.c and the PC/SC readers
 * of tests/pcsc-stub.c.
 */
#include "config.h"

#include <string.h>

#include "protocol/cberr.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "tests/p11-fake.h"
#include "tests/pcsc-stub.h"
#include "tests/tap.h"

#define CARD_ATR "3b8c800163622d49736f4170706c657448"

static struct request *req;

static void
start(void)
{
	fake_reset();
	pcsc_stub_reset();
	fake_module()->atrs = NULL;
	fake_module()->natrs = 0;
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

/* A slot that is no PC/SC reader (SoftHSM, a vendor's own transport): its module says. */
static void
test_a_token_gone_from_the_slot_list_is_card_removed(void)
{
	struct token t;

	start();
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	TAP_CHECK(!t.card.active);
	/* Errors that cannot mean a pulled card are left as they are, at once. */
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_PIN_INCORRECT) == CB_ERR_PIN_INCORRECT);
	/* The module says removed, but the card is (back) there: as the module said. */
	req->module_failed = true;
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_CARD_REMOVED) == CB_ERR_CARD_REMOVED);
	fake.no_slots = true;
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_MODULE_ERROR) == CB_ERR_CARD_REMOVED);
	TAP_CHECK(strcmp(req->message, "the card was removed during the operation") == 0);
	token_clear(&t);
}

/* What the helper decided from what the token answered needs no question. */
static void
test_a_module_error_without_a_failed_call_asks_nobody(void)
{
	struct token t;

	start();
	pcsc_stub_card("fake reader", CARD_ATR);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0 && t.card.active);
	pcsc_stub.verdict = PCSC_CARD_GONE;
	fake.no_slots = true;
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_MODULE_ERROR) == CB_ERR_MODULE_ERROR);
	TAP_CHECK(pcsc_stub.checks == 0);
	token_clear(&t);
}

/* A failed call with the card still in its reader: PC/SC answers, the card is not asked. */
static void
test_a_failed_call_with_the_card_present_asks_pcsc_not_the_card(void)
{
	struct token t;

	start();
	pcsc_stub_card("fake reader", CARD_ATR);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	TAP_CHECK(strcmp(req->reader, "fake reader") == 0 && req->reader_events == 1);
	fake.no_slots = true; /* the module would say "gone": it must not be asked */
	req->module_failed = true;
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_MODULE_ERROR) == CB_ERR_MODULE_ERROR);
	TAP_CHECK(pcsc_stub.checks == 1);
	TAP_CHECK(pcsc_stub.waited_ms > 0 && pcsc_stub.waited_ms < 1000);
	token_clear(&t);
}

static void
test_pcsc_tells_a_pulled_card_from_a_stopped_service(void)
{
	struct token t;

	start();
	pcsc_stub_card("fake reader", CARD_ATR);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	req->module_failed = true;
	pcsc_stub.verdict = PCSC_CARD_GONE;
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_MODULE_ERROR) == CB_ERR_CARD_REMOVED);
	TAP_CHECK(strcmp(req->message, "the card was removed during the operation") == 0);
	pcsc_stub.verdict = PCSC_SERVICE_GONE;
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_MODULE_ERROR) == CB_ERR_SERVICE_STOPPED);
	TAP_CHECK(strstr(req->message, "(pcscd) stopped") != NULL);
	TAP_CHECK(strstr(req->message, "not removed") != NULL);
	token_clear(&t);
}

/* The daemon's card watcher said so (card.removed): no question at all. */
static void
test_a_card_the_daemon_saw_leave_is_card_removed_at_once(void)
{
	struct token t;

	start();
	pcsc_stub_card("fake reader", CARD_ATR);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	req->card_gone = CB_ERR_CARD_REMOVED;
	TAP_CHECK(token_check_removed(req, &t, CB_ERR_MODULE_ERROR) == CB_ERR_CARD_REMOVED);
	TAP_CHECK(pcsc_stub.checks == 0);
	token_clear(&t);
}

/* Module by ATR: a module with a list serves only the cards it names. */
static void
test_a_module_whose_atr_list_does_not_name_the_card_does_not_serve_it(void)
{
	static const char *const other[] = {"3bda18ff81b1fe751f030031f573c00180059000f9"};
	static const char *const ours[] = {"3b8c80/ffffff"};
	static const char *const exact[] = {CARD_ATR};
	struct token *list, t;
	size_t n;

	start();
	pcsc_stub_card("fake reader", CARD_ATR);
	fake_module()->atrs = other;
	fake_module()->natrs = 1;
	TAP_CHECK(token_list(req, &list, &n) == 0 && n == 0);
	token_list_free(list, n);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == CB_ERR_TOKEN_NOT_PRESENT);
	TAP_CHECK(
	    strcmp(req->message,
		"the atr list of the module fake does not name the card in fake reader") == 0);
	fake_module()->atrs = ours; /* a mask of another length matches nothing */
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == CB_ERR_TOKEN_NOT_PRESENT);
	fake_module()->atrs = exact;
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	token_clear(&t);
	/* Without pcscd nothing is known about cards: the list cannot apply. */
	pcsc_stub_reset();
	fake_module()->atrs = other;
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &t) == 0);
	token_clear(&t);
}

int
main(void)
{
	helper_config.log_level = CB_LOG_ERROR;
	tap_plan(11);
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
	tap_run("a module error without a failed call asks nobody",
	    test_a_module_error_without_a_failed_call_asks_nobody);
	tap_run("a failed call with the card present asks pcsc not the card",
	    test_a_failed_call_with_the_card_present_asks_pcsc_not_the_card);
	tap_run("pcsc tells a pulled card from a stopped service",
	    test_pcsc_tells_a_pulled_card_from_a_stopped_service);
	tap_run("a card the daemon saw leave is card removed at once",
	    test_a_card_the_daemon_saw_leave_is_card_removed_at_once);
	tap_run("a module whose atr list does not name the card does not serve it",
	    test_a_module_whose_atr_list_does_not_name_the_card_does_not_serve_it);
	request_free(req);
	fake_reset();
	return tap_done();
}
