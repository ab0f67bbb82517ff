/*
 * test-site.c - unit tests of daemon/site.c (TAP): the registrable domain
 * ("site") of an origin, from the Public Suffix List, by which a Deny, the
 * consent rate limit and the connection budget of pages nobody allowed
 * are kept (issue 14, item 10).
 */
#include "config.h"

#include <string.h>

#include "daemon/site.h"
#include "tests/daemon-unit.h"
#include "tests/tap.h"

static bool
site_is(const char *origin, const char *want)
{
	char site[SITE_MAX];

	site_of(origin, site, sizeof(site));
	if (strcmp(site, want) != 0)
		printf("# site of \"%s\": \"%s\", expected \"%s\"\n", origin, site, want);
	return strcmp(site, want) == 0;
}

static void
test_subdomains_and_ports_share_their_registrable_domain(void)
{
	TAP_CHECK(site_is("https://shop.example", "shop.example"));
	TAP_CHECK(site_is("https://a.b.shop.example:8443", "shop.example"));
	TAP_CHECK(site_is("https://portal.bank.co.uk", "bank.co.uk"));
	TAP_CHECK(site_is("https://xn--bcher-kva.example", "xn--bcher-kva.example"));
}

/* Where anybody may register a name (github.io, co.uk), that name is the site. */
static void
test_a_name_under_a_public_suffix_is_its_own_site(void)
{
	TAP_CHECK(site_is("https://alice.github.io", "alice.github.io"));
	TAP_CHECK(site_is("https://bob.github.io", "bob.github.io"));
	TAP_CHECK(site_is("https://co.uk", "co.uk"));
}

static void
test_ip_literals_and_localhost_are_their_own_sites(void)
{
	TAP_CHECK(site_is("http://127.0.0.1:8080", "127.0.0.1"));
	TAP_CHECK(site_is("http://127.0.0.2:8080", "127.0.0.2"));
	TAP_CHECK(site_is("http://[::1]:8080", "[::1]"));
	TAP_CHECK(site_is("http://localhost:3000", "localhost"));
}

static void
test_what_is_not_an_origin_has_no_site(void)
{
	char site[8] = "x";

	TAP_CHECK(site_is("", ""));
	TAP_CHECK(site_is("https://Shop.Example", ""));
	TAP_CHECK(site_is("https://shop.example/path", ""));
	/* A bare host is taken as it is; a site that does not fit is cut, never overrun. */
	TAP_CHECK(site_is("a.shop.example", "shop.example"));
	site_of("https://averyveryverylongname.example", site, sizeof(site));
	TAP_CHECK(strlen(site) == sizeof(site) - 1);
}

int
main(void)
{
	static const struct unit_test tests[] = {
	    UNIT_TEST(test_subdomains_and_ports_share_their_registrable_domain),
	    UNIT_TEST(test_a_name_under_a_public_suffix_is_its_own_site),
	    UNIT_TEST(test_ip_literals_and_localhost_are_their_own_sites),
	    UNIT_TEST(test_what_is_not_an_origin_has_no_site),
	};
	int r;

	site_start();
	r = unit_run("test-site", tests, sizeof(tests) / sizeof(tests[0]));
	site_stop();
	return r;
}
