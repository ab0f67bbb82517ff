/*
 * test-login.c - unit tests of pkcs11/login.c (TAP): logging in with PINs
 * from dialogs, against the in-memory token of tests/p11-fake.c.
 *
 * The PIN dialogs are stubs (tests/pin-stub.c answers from a list and
 * keeps each dialog's error line), so that what the user would read and
 * what the page would get back can both be checked.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "protocol/cberr.h"
#include "pkcs11/log.h"
#include "pkcs11/login.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"
#include "tests/p11-fake.h"
#include "tests/pin-stub.h"
#include "tests/tap.h"

static struct request *req;
static struct token token;
static struct token_session session;

/* A fresh request, token and exclusive session; the dialogs will type pins in turn. */
static void
start(const char *pin1, const char *pin2, const char *pin3)
{
	request_free(req);
	req = request_new();
	pin_stub_reset(pin1, pin2, pin3);
	fake_token(&token);
	TAP_CHECK(token_session_open(req, &token, true, &session) == 0);
}

static void
test_a_login_that_succeeds_after_a_wrong_pin_leaves_no_stale_message(void)
{
	fake_reset();
	fake.login[0] = CKR_PIN_INCORRECT;
	start("0000", "123456", NULL);
	TAP_CHECK(login_as(&session, CKU_USER, "test") == 0);
	TAP_CHECK(pin_stub.dialogs == 2 && fake.logins == 2);
	TAP_CHECK(strcmp(pin_stub.shown[1], "Wrong PIN. Try again.") == 0);
	/* Whatever fails next without a message of its own must not say "PIN incorrect". */
	TAP_CHECK(req->message[0] == '\0');
	TAP_CHECK(req->retries_left == -1);
	TAP_CHECK(session.logged_in && session.user == CKU_USER);
	token_session_close(&session);
	TAP_CHECK(fake.logouts == 1);
}

static void
test_three_wrong_pins_fail_with_pin_incorrect(void)
{
	fake_reset();
	fake.login[0] = fake.login[1] = fake.login[2] = CKR_PIN_INCORRECT;
	start("0000", "1111", "2222");
	TAP_CHECK(login_as(&session, CKU_USER, "test") == CB_ERR_PIN_INCORRECT);
	TAP_CHECK(pin_stub.dialogs == 3 && fake.logins == 3);
	TAP_CHECK(strcmp(req->message, "PIN incorrect") == 0);
	TAP_CHECK(!session.logged_in);
	token_session_close(&session);
	TAP_CHECK(fake.logouts == 0);
}

static void
test_the_wrong_pin_that_locks_fails_with_pin_locked_and_no_tries_left(void)
{
	fake_reset();
	fake.login[0] = CKR_PIN_INCORRECT;
	fake.flags_after[0] = fake.info.flags | CKF_USER_PIN_LOCKED;
	start("0000", NULL, NULL);
	TAP_CHECK(login_as(&session, CKU_USER, "test") == CB_ERR_PIN_LOCKED);
	TAP_CHECK(pin_stub.dialogs == 1);
	TAP_CHECK(req->retries_left == 0);
	TAP_CHECK(strcmp(req->message, "PIN incorrect; the user PIN is now locked") == 0);
	token_session_close(&session);
}

static void
test_a_locked_pin_fails_before_any_dialog(void)
{
	fake_reset();
	fake.info.flags |= CKF_SO_PIN_LOCKED;
	start("123456", NULL, NULL);
	TAP_CHECK(login_as(&session, CKU_SO, "test") == CB_ERR_PIN_LOCKED);
	TAP_CHECK(pin_stub.dialogs == 0 && fake.logins == 0);
	TAP_CHECK(req->retries_left == 0);
	TAP_CHECK(strstr(req->message, "admin PIN") != NULL);
	token_session_close(&session);
}

static void
test_a_pin_shorter_than_the_token_takes_is_asked_again_without_c_login(void)
{
	fake_reset();
	start("12", "1234", NULL);
	TAP_CHECK(login_as(&session, CKU_USER, "test") == 0);
	TAP_CHECK(pin_stub.dialogs == 2 && fake.logins == 1);
	TAP_CHECK(strcmp(pin_stub.shown[1], "The PIN must have at least 4 characters.") == 0);
	TAP_CHECK(req->message[0] == '\0');
	token_session_close(&session);
}

static void
test_the_final_try_is_announced_in_the_first_dialog(void)
{
	fake_reset();
	fake.info.flags |= CKF_USER_PIN_FINAL_TRY;
	start("123456", NULL, NULL);
	TAP_CHECK(login_as(&session, CKU_USER, "test") == 0);
	TAP_CHECK(strcmp(pin_stub.shown[0], "This is the last try before the PIN is locked.") == 0);
	token_session_close(&session);
}

static void
test_logging_in_as_the_other_user_logs_out_first(void)
{
	fake_reset();
	start("123456", "654321", NULL);
	TAP_CHECK(login_as(&session, CKU_SO, "write") == 0);
	TAP_CHECK(login_as(&session, CKU_SO, "write again") == 0 && pin_stub.dialogs == 1);
	TAP_CHECK(login_as(&session, CKU_USER, "sign") == 0 && pin_stub.dialogs == 2);
	TAP_CHECK(fake.logouts == 1 && session.user == CKU_USER);
	token_session_close(&session);
	TAP_CHECK(fake.logouts == 2);
}

static void
test_a_token_without_login_asks_for_no_pin(void)
{
	fake_reset();
	fake.info.flags &= ~(CK_FLAGS)CKF_LOGIN_REQUIRED;
	start(NULL, NULL, NULL);
	TAP_CHECK(login_to_write(&session, "test") == 0);
	TAP_CHECK(pin_stub.dialogs == 0 && fake.logins == 0);
	token_session_close(&session);
}

static void
test_a_pin_pad_reader_takes_the_pin_on_its_keypad(void)
{
	fake_reset();
	fake.info.flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
	start(NULL, NULL, NULL);
	TAP_CHECK(login_as(&session, CKU_USER, "test") == 0);
	TAP_CHECK(pin_stub.dialogs == 1 && fake.logins == 1);
	token_session_close(&session);
}

/* On an OpenPGP card through OpenSC each C_GetTokenInfo costs an APDU. */
static void
test_a_pin_check_right_after_the_token_was_found_reads_nothing_again(void)
{
	int before;

	fake_reset();
	request_free(req);
	req = request_new();
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &token) == 0 && token.info_fresh);
	before = fake.token_infos;
	TAP_CHECK(login_check_pin(req, &token, CKU_SO) == 0);
	TAP_CHECK(login_check_pin(req, &token, CKU_USER) == 0);
	TAP_CHECK(fake.token_infos == before);
	token_clear(&token);
}

static void
test_after_a_login_the_pin_flags_are_read_again(void)
{
	int before;

	fake_reset();
	fake.flags_after[0] = fake.info.flags | CKF_SO_PIN_LOCKED;
	request_free(req);
	req = request_new();
	pin_stub_reset("123456", NULL, NULL);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &token) == 0);
	TAP_CHECK(token_session_open(req, &token, true, &session) == 0);
	before = fake.token_infos;
	TAP_CHECK(login_as(&session, CKU_USER, "sign") == 0 && fake.token_infos == before);
	TAP_CHECK(login_check_pin(req, &token, CKU_SO) == CB_ERR_PIN_LOCKED);
	TAP_CHECK(fake.token_infos == before + 1);
	token_session_close(&session);
	token_clear(&token);
}

struct holder {
	struct token token;
	struct token_session session;
	struct request *req;
};

/* Another request's turn at the token: it owns it for 100 ms. */
static void *
hold_the_token(void *arg)
{
	struct holder *h = arg;
	struct timespec pause = {0, 100 * 1000 * 1000};

	nanosleep(&pause, NULL);
	token_session_close(&h->session);
	return NULL;
}

static void
test_after_waiting_for_another_owner_the_pin_flags_are_read_again(void)
{
	struct holder other;
	pthread_t thread;
	int before;

	fake_reset();
	helper_config.prompt_timeout = 10; /* how long a turn may be waited for */
	request_free(req);
	req = request_new();
	other.req = request_new();
	fake_token(&other.token);
	TAP_CHECK(token_session_open(other.req, &other.token, true, &other.session) == 0);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &token) == 0 && token.info_fresh);
	TAP_CHECK(pthread_create(&thread, NULL, hold_the_token, &other) == 0);
	TAP_CHECK(token_session_open(req, &token, true, &session) == 0 && !token.info_fresh);
	pthread_join(thread, NULL);
	before = fake.token_infos;
	TAP_CHECK(login_check_pin(req, &token, CKU_USER) == 0 && fake.token_infos == before + 1);
	token_session_close(&session);
	token_clear(&token);
	request_free(other.req);
	helper_config.prompt_timeout = 0;
}

int
main(void)
{
	helper_config.log_level = CB_LOG_ERROR;
	tap_plan(12);
	tap_run("a login that succeeds after a wrong pin leaves no stale message",
	    test_a_login_that_succeeds_after_a_wrong_pin_leaves_no_stale_message);
	tap_run("three wrong pins fail with pin incorrect",
	    test_three_wrong_pins_fail_with_pin_incorrect);
	tap_run("the wrong pin that locks fails with pin locked and no tries left",
	    test_the_wrong_pin_that_locks_fails_with_pin_locked_and_no_tries_left);
	tap_run("a locked pin fails before any dialog", test_a_locked_pin_fails_before_any_dialog);
	tap_run("a pin shorter than the token takes is asked again without c login",
	    test_a_pin_shorter_than_the_token_takes_is_asked_again_without_c_login);
	tap_run("the final try is announced in the first dialog",
	    test_the_final_try_is_announced_in_the_first_dialog);
	tap_run("logging in as the other user logs out first",
	    test_logging_in_as_the_other_user_logs_out_first);
	tap_run(
	    "a token without login asks for no pin", test_a_token_without_login_asks_for_no_pin);
	tap_run("a pin pad reader takes the pin on its keypad",
	    test_a_pin_pad_reader_takes_the_pin_on_its_keypad);
	tap_run("a pin check right after the token was found reads nothing again",
	    test_a_pin_check_right_after_the_token_was_found_reads_nothing_again);
	tap_run("after a login the pin flags are read again",
	    test_after_a_login_the_pin_flags_are_read_again);
	tap_run("after waiting for another owner the pin flags are read again",
	    test_after_waiting_for_another_owner_the_pin_flags_are_read_again);
	request_free(req);
	fake_reset();
	return tap_done();
}
