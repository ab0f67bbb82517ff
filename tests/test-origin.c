/*
 * test-origin.c - unit tests of protocol/origin.c (TAP).
 *
 * Origins are matched byte for byte against the allow-list, so every
 * non-canonical spelling a browser would never send must be refused, and the
 * loopback checks must never accept a name that merely starts like one.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/origin.h"
#include "tests/tap.h"

/* Parse text, expecting success; the result is left in *o. */
static bool
parses(const char *text, struct origin *o)
{
	const char *why = "unset";

	return origin_parse(text, o, &why) == 0 && why == NULL;
}

/* Parse text, expecting CB_ERR_INVALID_PARAMS with a reason. */
static bool
is_refused(const char *text)
{
	struct origin o;
	const char *why = NULL;

	return origin_parse(text, &o, &why) == CB_ERR_INVALID_PARAMS && why != NULL && *why;
}

static bool
acceptable(const char *text)
{
	struct origin o;
	const char *why = NULL;

	if (!parses(text, &o))
		return false;
	return origin_is_acceptable(&o, &why);
}

static void
test_https_origin_is_parsed(void)
{
	struct origin o;

	TAP_CHECK(parses("https://portal.example", &o));
	TAP_CHECK(strcmp(o.scheme, "https") == 0);
	TAP_CHECK(strcmp(o.host, "portal.example") == 0);
	TAP_CHECK(o.port == 0);
	TAP_CHECK(!o.loopback);
}

static void
test_http_origin_is_parsed(void)
{
	struct origin o;

	TAP_CHECK(parses("http://intranet.example", &o));
	TAP_CHECK(strcmp(o.scheme, "http") == 0);
	TAP_CHECK(strcmp(o.host, "intranet.example") == 0);
	TAP_CHECK(o.port == 0);
}

static void
test_explicit_port_is_parsed(void)
{
	struct origin o;

	TAP_CHECK(parses("https://portal.example:8443", &o));
	TAP_CHECK(strcmp(o.host, "portal.example") == 0);
	TAP_CHECK(o.port == 8443);
	TAP_CHECK(parses("https://portal.example:1", &o) && o.port == 1);
	TAP_CHECK(parses("https://portal.example:65535", &o) && o.port == 65535);
}

static void
test_port_out_of_range_is_refused(void)
{
	TAP_CHECK(is_refused("https://portal.example:0"));
	TAP_CHECK(is_refused("https://portal.example:65536"));
	TAP_CHECK(is_refused("https://portal.example:99999"));
	TAP_CHECK(is_refused("https://portal.example:123456"));
}

static void
test_malformed_port_is_refused(void)
{
	TAP_CHECK(is_refused("https://portal.example:"));
	TAP_CHECK(is_refused("https://portal.example:08443"));
	TAP_CHECK(is_refused("https://portal.example:+443"));
	TAP_CHECK(is_refused("https://portal.example:-1"));
	TAP_CHECK(is_refused("https://portal.example:84a3"));
	TAP_CHECK(is_refused("https://portal.example:8443:1"));
}

static void
test_default_port_spelled_out_is_refused(void)
{
	TAP_CHECK(is_refused("https://portal.example:443"));
	TAP_CHECK(is_refused("http://localhost:80"));
}

static void
test_other_scheme_default_port_is_not_a_default_port(void)
{
	struct origin o;

	TAP_CHECK(parses("http://localhost:443", &o) && o.port == 443);
	TAP_CHECK(parses("https://localhost:80", &o) && o.port == 80);
}

static void
test_upper_case_origin_is_refused(void)
{
	TAP_CHECK(is_refused("https://Portal.example"));
	TAP_CHECK(is_refused("https://PORTAL.EXAMPLE"));
	TAP_CHECK(is_refused("HTTPS://portal.example"));
	TAP_CHECK(is_refused("Https://portal.example"));
}

static void
test_other_schemes_are_refused(void)
{
	TAP_CHECK(is_refused("ftp://portal.example"));
	TAP_CHECK(is_refused("wss://portal.example"));
	TAP_CHECK(is_refused("file://"));
	TAP_CHECK(is_refused("chrome-extension://abcdefghijklmnop"));
	TAP_CHECK(is_refused("https:/portal.example"));
	TAP_CHECK(is_refused("//portal.example"));
	TAP_CHECK(is_refused("portal.example"));
}

static void
test_trailing_slash_is_refused(void)
{
	TAP_CHECK(is_refused("https://portal.example/"));
	TAP_CHECK(is_refused("https://portal.example:8443/"));
}

static void
test_path_query_and_fragment_are_refused(void)
{
	TAP_CHECK(is_refused("https://portal.example/login"));
	TAP_CHECK(is_refused("https://portal.example?x=1"));
	TAP_CHECK(is_refused("https://portal.example#top"));
	TAP_CHECK(is_refused("https://portal.example\\evil"));
}

static void
test_userinfo_is_refused(void)
{
	TAP_CHECK(is_refused("https://user@portal.example"));
	TAP_CHECK(is_refused("https://user:pass@portal.example"));
	TAP_CHECK(is_refused("https://portal.example@evil.example"));
}

static void
test_whitespace_and_control_characters_are_refused(void)
{
	TAP_CHECK(is_refused("https://portal.example "));
	TAP_CHECK(is_refused(" https://portal.example"));
	TAP_CHECK(is_refused("https://portal .example"));
	TAP_CHECK(is_refused("https://portal.example\t"));
	TAP_CHECK(is_refused("https://portal.example\r\n"));
	TAP_CHECK(is_refused("https://portal.example:8443\n"));
}

static void
test_malformed_host_names_are_refused(void)
{
	TAP_CHECK(is_refused("https://"));
	TAP_CHECK(is_refused("https://:8443"));
	TAP_CHECK(is_refused("https://.portal.example"));
	TAP_CHECK(is_refused("https://portal.example."));
	TAP_CHECK(is_refused("https://portal..example"));
	TAP_CHECK(is_refused("https://-portal.example"));
	TAP_CHECK(is_refused("https://portal_x.example"));
	TAP_CHECK(is_refused("https://portal%2eexample"));
	TAP_CHECK(is_refused("https://xn--caf\xc3\xa9.example"));
}

static void
test_ipv6_loopback_literal_is_parsed(void)
{
	struct origin o;

	TAP_CHECK(parses("https://[::1]:8443", &o));
	TAP_CHECK(strcmp(o.host, "[::1]") == 0);
	TAP_CHECK(o.port == 8443);
	TAP_CHECK(o.loopback);
	TAP_CHECK(parses("http://[::1]", &o) && o.port == 0 && o.loopback);
}

static void
test_ipv6_global_literal_is_not_loopback(void)
{
	struct origin o;

	TAP_CHECK(parses("https://[2001:db8::1]", &o));
	TAP_CHECK(strcmp(o.host, "[2001:db8::1]") == 0);
	TAP_CHECK(!o.loopback);
	/* An IPv4-mapped address is not what a browser sends for loopback. */
	TAP_CHECK(parses("https://[::ffff:7f00:1]", &o) && !o.loopback);
}

static void
test_ipv6_literals_not_in_the_browsers_form_are_refused(void)
{
	struct origin o;

	/* What browsers send (the WHATWG URL serializer). */
	TAP_CHECK(parses("https://[2001:db8::1:0:0:1]", &o));
	TAP_CHECK(parses("https://[2001:db8:0:1:1:1:1:1]", &o));
	TAP_CHECK(parses("https://[::]", &o));
	TAP_CHECK(parses("https://[1::]", &o));
	TAP_CHECK(parses("https://[fe80::1:2:3:4]", &o));
	/* Spellings of the same addresses no browser sends: never matched, so refused. */
	TAP_CHECK(is_refused("https://[0::1]"));
	TAP_CHECK(is_refused("https://[::0:1]"));
	TAP_CHECK(is_refused("https://[0:0:0:0:0:0:0:1]"));
	TAP_CHECK(is_refused("https://[::0001]"));
	TAP_CHECK(is_refused("https://[2001:db8:0:0:1:0:0:1]"));
	TAP_CHECK(is_refused("https://[2001:db8::1:0:0:1:0]"));
	TAP_CHECK(is_refused("https://[2001:db8::1:1:1:1:1]"));
	TAP_CHECK(is_refused("https://[::ffff:127.0.0.1]"));
	TAP_CHECK(is_refused("https://[::127.0.0.1]"));
}

static void
test_malformed_ipv6_literals_are_refused(void)
{
	TAP_CHECK(is_refused("https://[::1"));
	TAP_CHECK(is_refused("https://[]"));
	TAP_CHECK(is_refused("https://[:]"));
	TAP_CHECK(is_refused("https://[zz::1]"));
	TAP_CHECK(is_refused("https://[::1]x"));
	TAP_CHECK(is_refused("https://[::1]:"));
	TAP_CHECK(is_refused("https://[::1]:0"));
	TAP_CHECK(is_refused("https://[fe80::1%25eth0]"));
	TAP_CHECK(is_refused("https://::1"));
}

static void
test_null_origin_is_refused(void)
{
	TAP_CHECK(is_refused("null"));
}

static void
test_empty_and_missing_origins_are_refused(void)
{
	struct origin o;
	const char *why = NULL;

	TAP_CHECK(is_refused(""));
	TAP_CHECK(origin_parse(NULL, &o, &why) == CB_ERR_INVALID_PARAMS && why != NULL);
}

static void
test_origin_of_255_bytes_is_accepted(void)
{
	char text[ORIGIN_MAX + 8];
	struct origin o;
	size_t n;

	strcpy(text, "https://");
	n = strlen(text);
	while (n < ORIGIN_MAX - 1)
		text[n++] = 'a';
	text[n] = '\0';
	TAP_CHECK(strlen(text) == ORIGIN_MAX - 1);
	TAP_CHECK(parses(text, &o));
	TAP_CHECK(strlen(o.host) == ORIGIN_MAX - 1 - strlen("https://"));
}

static void
test_origin_of_256_bytes_is_refused(void)
{
	char text[ORIGIN_MAX + 8];
	size_t n;

	strcpy(text, "https://");
	n = strlen(text);
	while (n < ORIGIN_MAX)
		text[n++] = 'a';
	text[n] = '\0';
	TAP_CHECK(strlen(text) == ORIGIN_MAX);
	TAP_CHECK(is_refused(text));
}

static void
test_ipv4_loopback_origins_are_loopback(void)
{
	struct origin o;

	TAP_CHECK(parses("http://127.0.0.1:8080", &o) && o.loopback);
	TAP_CHECK(parses("http://127.5.5.5", &o) && o.loopback);
	TAP_CHECK(parses("http://127.255.255.255", &o) && o.loopback);
	TAP_CHECK(parses("http://localhost:3000", &o) && o.loopback);
}

static void
test_names_that_only_look_like_loopback_are_not_loopback(void)
{
	struct origin o;

	TAP_CHECK(parses("http://127.0.0.1.evil.example", &o) && !o.loopback);
	TAP_CHECK(parses("http://localhost.evil.example", &o) && !o.loopback);
	TAP_CHECK(parses("http://evil-localhost", &o) && !o.loopback);
	TAP_CHECK(parses("http://128.0.0.1", &o) && !o.loopback);
	TAP_CHECK(parses("http://0.0.0.0", &o) && !o.loopback);
	/* Short and octal IPv4 forms are names here, never resolved. */
	TAP_CHECK(parses("http://127.1", &o) && !o.loopback);
	TAP_CHECK(parses("http://0177.0.0.1", &o) && !o.loopback);
	TAP_CHECK(parses("http://2130706433", &o) && !o.loopback);
}

static void
test_https_origin_is_acceptable(void)
{
	TAP_CHECK(acceptable("https://portal.example"));
	TAP_CHECK(acceptable("https://portal.example:8443"));
	TAP_CHECK(acceptable("https://localhost:8443"));
}

static void
test_http_origin_is_acceptable_only_on_loopback(void)
{
	TAP_CHECK(acceptable("http://127.0.0.1"));
	TAP_CHECK(acceptable("http://127.5.5.5:8080"));
	TAP_CHECK(acceptable("http://localhost:3000"));
	TAP_CHECK(acceptable("http://[::1]:3000"));
}

static void
test_http_origin_off_loopback_is_not_acceptable(void)
{
	struct origin o;
	const char *why = NULL;

	TAP_CHECK(parses("http://portal.example", &o));
	TAP_CHECK(!origin_is_acceptable(&o, &why));
	TAP_CHECK(why != NULL && *why);
	TAP_CHECK(!acceptable("http://127.0.0.1.evil.example"));
	TAP_CHECK(!acceptable("http://localhost.evil.example:8080"));
	TAP_CHECK(!acceptable("http://[2001:db8::1]"));
}

static void
test_host_header_for_loopback_names_with_our_port_is_accepted(void)
{
	TAP_CHECK(origin_host_is_loopback("127.0.0.1:8547", 8547));
	TAP_CHECK(origin_host_is_loopback("localhost:8547", 8547));
	TAP_CHECK(origin_host_is_loopback("[::1]:8547", 8547));
	TAP_CHECK(origin_host_is_loopback("[::1]:65535", 65535));
}

static void
test_host_header_compares_names_without_case(void)
{
	/* Host is case-insensitive (RFC 9110); rebinding needs a different name. */
	TAP_CHECK(origin_host_is_loopback("LOCALHOST:8547", 8547));
	TAP_CHECK(origin_host_is_loopback("LocalHost:8547", 8547));
}

static void
test_host_header_with_wrong_port_is_refused(void)
{
	TAP_CHECK(!origin_host_is_loopback("127.0.0.1:8548", 8547));
	TAP_CHECK(!origin_host_is_loopback("localhost:854", 8547));
	TAP_CHECK(!origin_host_is_loopback("localhost:85470", 8547));
	TAP_CHECK(!origin_host_is_loopback("localhost:08547", 8547));
	TAP_CHECK(!origin_host_is_loopback("[::1]:80", 8547));
}

static void
test_host_header_without_port_is_refused(void)
{
	TAP_CHECK(!origin_host_is_loopback("127.0.0.1", 8547));
	TAP_CHECK(!origin_host_is_loopback("localhost", 8547));
	TAP_CHECK(!origin_host_is_loopback("[::1]", 8547));
	TAP_CHECK(!origin_host_is_loopback("localhost:", 8547));
}

static void
test_host_header_naming_another_host_is_refused(void)
{
	TAP_CHECK(!origin_host_is_loopback("evil.example:8547", 8547));
	TAP_CHECK(!origin_host_is_loopback("127.0.0.1.evil.example:8547", 8547));
	TAP_CHECK(!origin_host_is_loopback("localhost.evil.example:8547", 8547));
	TAP_CHECK(!origin_host_is_loopback("evil.localhost:8547", 8547));
	TAP_CHECK(!origin_host_is_loopback("127.0.0.2:8547", 8547));
	TAP_CHECK(!origin_host_is_loopback("::1:8547", 8547));
	TAP_CHECK(!origin_host_is_loopback(" localhost:8547", 8547));
	TAP_CHECK(!origin_host_is_loopback("localhost:8547 ", 8547));
	TAP_CHECK(!origin_host_is_loopback("", 8547));
	TAP_CHECK(!origin_host_is_loopback(NULL, 8547));
}

static void
test_loopback_listen_addresses_are_recognised(void)
{
	TAP_CHECK(origin_addr_is_loopback("127.0.0.1"));
	TAP_CHECK(origin_addr_is_loopback("127.5.5.5"));
	TAP_CHECK(origin_addr_is_loopback("127.255.255.255"));
	TAP_CHECK(origin_addr_is_loopback("::1"));
	TAP_CHECK(origin_addr_is_loopback("0:0:0:0:0:0:0:1"));
	TAP_CHECK(origin_addr_is_loopback("localhost"));
}

static void
test_other_listen_addresses_are_not_loopback(void)
{
	TAP_CHECK(!origin_addr_is_loopback("0.0.0.0"));
	TAP_CHECK(!origin_addr_is_loopback("::"));
	TAP_CHECK(!origin_addr_is_loopback("192.168.1.10"));
	TAP_CHECK(!origin_addr_is_loopback("128.0.0.1"));
	TAP_CHECK(!origin_addr_is_loopback("::ffff:127.0.0.1"));
	TAP_CHECK(!origin_addr_is_loopback("[::1]"));
	TAP_CHECK(!origin_addr_is_loopback("127.1"));
	TAP_CHECK(!origin_addr_is_loopback("127.0.0.1.evil.example"));
	TAP_CHECK(!origin_addr_is_loopback("localhost.evil.example"));
	TAP_CHECK(!origin_addr_is_loopback("LOCALHOST"));
	TAP_CHECK(!origin_addr_is_loopback(""));
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_https_origin_is_parsed),
	    TAP_TEST(test_http_origin_is_parsed),
	    TAP_TEST(test_explicit_port_is_parsed),
	    TAP_TEST(test_port_out_of_range_is_refused),
	    TAP_TEST(test_malformed_port_is_refused),
	    TAP_TEST(test_default_port_spelled_out_is_refused),
	    TAP_TEST(test_other_scheme_default_port_is_not_a_default_port),
	    TAP_TEST(test_upper_case_origin_is_refused),
	    TAP_TEST(test_other_schemes_are_refused),
	    TAP_TEST(test_trailing_slash_is_refused),
	    TAP_TEST(test_path_query_and_fragment_are_refused),
	    TAP_TEST(test_userinfo_is_refused),
	    TAP_TEST(test_whitespace_and_control_characters_are_refused),
	    TAP_TEST(test_malformed_host_names_are_refused),
	    TAP_TEST(test_ipv6_loopback_literal_is_parsed),
	    TAP_TEST(test_ipv6_global_literal_is_not_loopback),
	    TAP_TEST(test_ipv6_literals_not_in_the_browsers_form_are_refused),
	    TAP_TEST(test_malformed_ipv6_literals_are_refused),
	    TAP_TEST(test_null_origin_is_refused),
	    TAP_TEST(test_empty_and_missing_origins_are_refused),
	    TAP_TEST(test_origin_of_255_bytes_is_accepted),
	    TAP_TEST(test_origin_of_256_bytes_is_refused),
	    TAP_TEST(test_ipv4_loopback_origins_are_loopback),
	    TAP_TEST(test_names_that_only_look_like_loopback_are_not_loopback),
	    TAP_TEST(test_https_origin_is_acceptable),
	    TAP_TEST(test_http_origin_is_acceptable_only_on_loopback),
	    TAP_TEST(test_http_origin_off_loopback_is_not_acceptable),
	    TAP_TEST(test_host_header_for_loopback_names_with_our_port_is_accepted),
	    TAP_TEST(test_host_header_compares_names_without_case),
	    TAP_TEST(test_host_header_with_wrong_port_is_refused),
	    TAP_TEST(test_host_header_without_port_is_refused),
	    TAP_TEST(test_host_header_naming_another_host_is_refused),
	    TAP_TEST(test_loopback_listen_addresses_are_recognised),
	    TAP_TEST(test_other_listen_addresses_are_not_loopback),
	};

	return tap_main(tests, sizeof(tests) / sizeof(tests[0]));
}
