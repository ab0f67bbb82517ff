/*
 * test-admission.c - unit tests of daemon/admission.c: may a page connect,
 * and must the user be asked first (TAP).
 *
 * The handshake hands admission_check() its Host and Origin headers.  The
 * Host must be loopback with our port (DNS rebinding), the Origin present,
 * canonical and allowed byte for byte, by the administrator or the user;
 * any other origin is refused, or admitted pending the user's answer when
 * unknown origins are to be asked about and the user has not denied its
 * site.  The peer must be our own uid, and pages nobody allowed yet have a
 * connection budget of their own (issue 14, items 1 and 10).
 * HOME and the XDG directories point into a temporary directory.
 */
#include "config.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/admission.h"
#include "daemon/daemon.h"
#include "daemon/denied_store.h"
#include "daemon/origins_store.h"
#include "daemon/site.h"
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

static void
test_a_deny_covers_the_whole_site_for_a_day_across_restarts(void)
{
	char *path;
	FILE *f;

	fresh_daemon(true);
	admission_deny(&D, "https://a.shop.example");
	TAP_CHECK(verdict("https://b.shop.example", HOST) == 0);
	TAP_CHECK(verdict("https://shop.example:8443", HOST) == 0);
	TAP_CHECK(verdict("https://shop2.example", HOST) == 2);
	fresh_daemon(true); /* cardbridged started again: denied.json is read */
	TAP_CHECK(verdict("https://c.shop.example", HOST) == 0);
	/* "cardbridge origins allow" of one of its origins lifts the site's deny. */
	TAP_CHECK(admission_user_allow(&D, "https://a.shop.example") == 0);
	TAP_CHECK(verdict("https://c.shop.example", HOST) == 2);
	/* A deny that has ended is forgotten. */
	TAP_CHECK((path = denied_store_default_path()) != NULL);
	TAP_CHECK(path != NULL && (f = fopen(path, "w")) != NULL);
	if (path != NULL && f != NULL) {
		fprintf(f, "{\"deniedSites\": {\"old.example\": %lld, \"new.example\": %lld}}\n",
		    (long long)time(NULL) - 1, (long long)time(NULL) + 3600);
		fclose(f);
	}
	free(path);
	fresh_daemon(true);
	TAP_CHECK(verdict("https://old.example", HOST) == 2);
	TAP_CHECK(verdict("https://new.example", HOST) == 0);
}

/* Sessions for the budget: n allowed, and unconsented ones of these sites. */
static struct session sessions[16];

static void
open_sessions(int allowed, const char *const *pending)
{
	int i, n = 0;

	memset(sessions, 0, sizeof(sessions));
	D.sessions = NULL;
	for (i = 0; i < allowed; i++, n++)
		snprintf(sessions[n].site, sizeof(sessions[n].site), "portal.example");
	for (i = 0; pending && pending[i]; i++, n++) {
		snprintf(sessions[n].site, sizeof(sessions[n].site), "%s", pending[i]);
		sessions[n].consent_pending = true;
	}
	for (i = n - 1; i >= 0; i--) {
		sessions[i].next = D.sessions;
		D.sessions = &sessions[i];
	}
}

static void
test_pages_nobody_allowed_have_a_budget_of_their_own(void)
{
	static const char *const two[] = {"flood.example", "flood.example", NULL};
	static const char *const eight[] = {"a.example", "b.example", "c.example", "d.example",
	    "e.example", "f.example", "g.example", "h.example", NULL};
	const char *why;

	fresh_daemon(true);
	cfg.max_connections = 3;
	open_sessions(0, two);
	TAP_CHECK(admission_budget(&D, true, "flood.example", &why) == CB_ERR_BUSY);
	TAP_CHECK(admission_budget(&D, true, "other.example", &why) == 0);
	TAP_CHECK(admission_budget(&D, false, "portal.example", &why) == 0);
	open_sessions(2, eight);
	TAP_CHECK(admission_budget(&D, true, "i.example", &why) == CB_ERR_BUSY);
	/* Eight waiting pages take none of the allowed pages' three slots. */
	TAP_CHECK(admission_budget(&D, false, "portal.example", &why) == 0);
	open_sessions(3, NULL);
	TAP_CHECK(admission_budget(&D, false, "portal.example", &why) == CB_ERR_BUSY);
	TAP_CHECK(strcmp(why, "too many connections") == 0);
	D.sessions = NULL;
}

/* A loopback connection from a process of uid (-1: ours); the accepted end. */
static int
connection_from(int uid, int *child)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int l, c, fd;

	*child = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(l, (void *)&a, sizeof(a)) != 0 ||
	    listen(l, 1) != 0 || getsockname(l, (void *)&a, &len) != 0)
		return -1;
	if ((*child = fork()) == 0) {
		if (uid >= 0 && (setgid((gid_t)uid) != 0 || setuid((uid_t)uid) != 0))
			_exit(1);
		c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (void *)&a, sizeof(a)) != 0)
			_exit(1);
		pause(); /* keep the client end open */
		_exit(0);
	}
	fd = accept(l, NULL, NULL);
	close(l);
	return fd;
}

static void
end_child(int child, int fd)
{
	if (fd >= 0)
		close(fd);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
}

static void
test_only_our_own_uid_may_connect(void)
{
	const char *why = NULL;
	int fd, child;

	fresh_daemon(true);
	fd = connection_from(-1, &child);
	TAP_CHECK(fd >= 0 && admission_check_peer(&D, fd, &why) == 0);
	end_child(child, fd);
	if (geteuid() != 0)
		return; /* becoming another uid needs root; tests/test-trust.py says so too */
	fd = connection_from(65534, &child);
	TAP_CHECK(fd >= 0 && admission_check_peer(&D, fd, &why) == CB_ERR_ORIGIN_NOT_ALLOWED);
	TAP_CHECK(why != NULL && strstr(why, "uid 65534") != NULL);
	end_child(child, fd);
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
	    UNIT_TEST(test_a_deny_covers_the_whole_site_for_a_day_across_restarts),
	    UNIT_TEST(test_pages_nobody_allowed_have_a_budget_of_their_own),
	    UNIT_TEST(test_only_our_own_uid_may_connect),
	};
	int r;

	site_start();
	r = unit_run("test-admission", tests, sizeof(tests) / sizeof(tests[0]));
	site_stop();
	admission_stop(&D);
	config_free(&cfg);
	return r;
}
