/*
 * test-admission.c - unit tests of daemon/admission.c: may a page connect,
 * and must the user be asked first (TAP).
 *
 * The handshake hands admission_check() its Host and Origin headers.  The
 * Host must be loopback with our port (DNS rebinding), the Origin present,
 * canonical and allowed byte for byte, by the administrator or the user;
 * any other origin is refused, or admitted pending the user's answer when
 * unknown origins are to be asked about and the user has not denied it.
 * HOME and XDG_CONFIG_HOME point into a temporary directory.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon/admission.h"
#include "daemon/daemon.h"
#include "daemon/origins_store.h"
#include "protocol/cberr.h"
#include "tests/daemon-unit.h"
#include "tests/tap.h"

#define PORT 48801
#define HOST "127.0.0.1:48801"
#define ADMIN "https://portal.example"

static struct cb_config cfg;
static struct daemon D;

static void
fresh_daemon(bool ask_unknown)
{
	admission_stop(&D);
	config_free(&cfg);
	config_init(&cfg);
	cfg.ask_unknown_origins = ask_unknown;
	config_add_origin(&cfg, ADMIN);
	memset(&D, 0, sizeof(D));
	D.cfg = &cfg;
	TAP_CHECK(admission_start(&D) == 0);
}

/* 1: admitted, 2: admitted pending the user's answer, 0: refused (with a reason). */
static int
verdict(const char *origin, const char *host)
{
	const char *why = NULL;
	bool ask = true;

	if (admission_check(&D, origin, host, PORT, &ask, &why) != 0) {
		TAP_CHECK(why != NULL && why[0] != '\0' && !ask);
		return 0;
	}
	return ask ? 2 : 1;
}

static void
test_an_administrator_origin_is_admitted(void)
{
	fresh_daemon(true);
	TAP_CHECK(verdict(ADMIN, HOST) == 1);
	TAP_CHECK(verdict(ADMIN, "localhost:48801") == 1);
	TAP_CHECK(verdict(ADMIN, "[::1]:48801") == 1);
	TAP_CHECK(admission_source(&D, ADMIN) == ADMISSION_ADMINISTRATOR);
}

static void
test_the_host_must_be_loopback_with_our_port(void)
{
	fresh_daemon(true);
	TAP_CHECK(verdict(ADMIN, "evil.example:48801") == 0);
	TAP_CHECK(verdict(ADMIN, "127.0.0.1:48802") == 0);
	TAP_CHECK(verdict(ADMIN, "") == 0);
	TAP_CHECK(verdict(ADMIN, "127.0.0.1.evil.example:48801") == 0);
}

static void
test_the_origin_must_be_present_and_canonical(void)
{
	fresh_daemon(true);
	TAP_CHECK(verdict("", HOST) == 0);
	TAP_CHECK(verdict("null", HOST) == 0);
	TAP_CHECK(verdict("https://Portal.example", HOST) == 0);
	TAP_CHECK(verdict("https://portal.example/", HOST) == 0);
	TAP_CHECK(verdict("http://portal.example", HOST) == 0);
}

static void
test_allowed_means_byte_for_byte(void)
{
	fresh_daemon(false);
	TAP_CHECK(verdict("https://portal.example.evil.example", HOST) == 0);
	TAP_CHECK(verdict("https://sub.portal.example", HOST) == 0);
	TAP_CHECK(verdict("https://portal.example:8443", HOST) == 0);
}

static void
test_unknown_origins_are_asked_about_or_refused_as_configured(void)
{
	fresh_daemon(true);
	TAP_CHECK(verdict("https://shop.example", HOST) == 2);
	TAP_CHECK(admission_source(&D, "https://shop.example") == ADMISSION_NOT_ALLOWED);
	fresh_daemon(false);
	TAP_CHECK(verdict("https://shop.example", HOST) == 0);
}

static void
test_a_denied_origin_is_refused_until_the_user_allows_it(void)
{
	fresh_daemon(true);
	admission_deny(&D, "https://shop.example");
	admission_deny(&D, "https://shop.example");
	TAP_CHECK(admission_denied(&D, "https://shop.example"));
	TAP_CHECK(verdict("https://shop.example", HOST) == 0);
	TAP_CHECK(verdict("https://other.example", HOST) == 2);
	TAP_CHECK(admission_user_allow(&D, "https://shop.example") == 0);
	TAP_CHECK(verdict("https://shop.example", HOST) == 1);
}

static void
test_the_user_list_is_kept_across_restarts_and_revocable(void)
{
	fresh_daemon(false);
	TAP_CHECK(admission_user_allow(&D, "https://mine.example") == 0);
	TAP_CHECK(admission_source(&D, "https://mine.example") == ADMISSION_USER);
	fresh_daemon(false); /* cardbridged started again: origins.json is read */
	TAP_CHECK(verdict("https://mine.example", HOST) == 1);
	TAP_CHECK(origins_store_contains(admission_user_origins(&D), "https://mine.example"));
	TAP_CHECK(admission_user_revoke(&D, "https://mine.example") == 0);
	TAP_CHECK(verdict("https://mine.example", HOST) == 0);
	/* The user's list can neither hold nor revoke the administrator's origins. */
	TAP_CHECK(admission_user_revoke(&D, ADMIN) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(verdict(ADMIN, HOST) == 1);
}

int
main(void)
{
	static const struct unit_test tests[] = {
	    UNIT_TEST(test_an_administrator_origin_is_admitted),
	    UNIT_TEST(test_the_host_must_be_loopback_with_our_port),
	    UNIT_TEST(test_the_origin_must_be_present_and_canonical),
	    UNIT_TEST(test_allowed_means_byte_for_byte),
	    UNIT_TEST(test_unknown_origins_are_asked_about_or_refused_as_configured),
	    UNIT_TEST(test_a_denied_origin_is_refused_until_the_user_allows_it),
	    UNIT_TEST(test_the_user_list_is_kept_across_restarts_and_revocable),
	};
	int r;

	r = unit_run("test-admission", tests, sizeof(tests) / sizeof(tests[0]));
	admission_stop(&D);
	config_free(&cfg);
	return r;
}
