/*
 * test-url.c - unit tests of protocol/url.c (TAP).
 *
 * The URL comes from a web page through the browser's "Open cardbridge?"
 * prompt, so exactly cardbridge://start and cardbridge://start/ may pass;
 * every other spelling, smuggled path, query, encoding or byte must be
 * refused with a reason, and the reason must never quote the URL.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/url.h"
#include "tests/tap.h"

static bool
accepted_as(const char *text, size_t len, enum url_verb want)
{
	enum url_verb verb = URL_VERB_NONE;
	const char *why = "unset";

	return url_parse_launch(text, len, &verb, &why) == 0 && verb == want && why == NULL;
}

/* Refused with CB_ERR_INVALID_PARAMS, a reason, and no verb. */
static bool
refused_n(const char *text, size_t len)
{
	enum url_verb verb = URL_VERB_START;
	const char *why = NULL;

	return url_parse_launch(text, len, &verb, &why) == CB_ERR_INVALID_PARAMS &&
	       verb == URL_VERB_NONE && why != NULL && *why != '\0';
}

static bool
refused(const char *text)
{
	return refused_n(text, strlen(text));
}

static const char *
reason(const char *text)
{
	enum url_verb verb;
	const char *why = NULL;

	url_parse_launch(text, strlen(text), &verb, &why);
	return why ? why : "";
}

static void
test_start_is_accepted(void)
{
	TAP_CHECK(accepted_as("cardbridge://start", 18, URL_VERB_START));
}

static void
test_start_with_one_trailing_slash_is_accepted(void)
{
	TAP_CHECK(accepted_as("cardbridge://start/", 19, URL_VERB_START));
}

static void
test_only_the_given_length_is_read(void)
{
	/* The caller passes the length; bytes after it do not count. */
	TAP_CHECK(accepted_as("cardbridge://start/../../x", 18, URL_VERB_START));
	TAP_CHECK(refused_n("cardbridge://start", 17));
}

static void
test_empty_url_is_refused(void)
{
	TAP_CHECK(refused(""));
	TAP_CHECK(refused_n(NULL, 0));
}

static void
test_other_schemes_are_refused(void)
{
	TAP_CHECK(refused("http://start"));
	TAP_CHECK(refused("https://cardbridge/start"));
	TAP_CHECK(refused("file:///usr/bin/cardbridged"));
	TAP_CHECK(refused("javascript:alert(1)"));
	TAP_CHECK(refused("cardbridges://start"));
	TAP_CHECK(refused("xcardbridge://start"));
	TAP_CHECK(strstr(reason("http://start"), "cardbridge://") != NULL);
}

static void
test_scheme_must_be_lower_case_and_have_two_slashes(void)
{
	TAP_CHECK(refused("CARDBRIDGE://start"));
	TAP_CHECK(refused("CardBridge://start"));
	TAP_CHECK(refused("cardbridge:start"));
	TAP_CHECK(refused("cardbridge:/start"));
	TAP_CHECK(refused("cardbridge:///start"));
	TAP_CHECK(refused("cardbridge://"));
	TAP_CHECK(refused("cardbridge:"));
}

static void
test_unknown_verbs_are_refused(void)
{
	TAP_CHECK(refused("cardbridge://evil"));
	TAP_CHECK(refused("cardbridge://stop"));
	TAP_CHECK(refused("cardbridge://START"));
	TAP_CHECK(refused("cardbridge://starts"));
	TAP_CHECK(refused("cardbridge://star"));
	TAP_CHECK(refused("cardbridge://start."));
	TAP_CHECK(strstr(reason("cardbridge://evil"), "verb") != NULL);
}

static void
test_paths_are_refused(void)
{
	TAP_CHECK(refused("cardbridge://start/../../x"));
	TAP_CHECK(refused("cardbridge://start//"));
	TAP_CHECK(refused("cardbridge://start/x"));
	TAP_CHECK(refused("cardbridge://start/."));
	TAP_CHECK(strstr(reason("cardbridge://start/../../x"), "path") != NULL);
}

static void
test_queries_and_fragments_are_refused(void)
{
	TAP_CHECK(refused("cardbridge://evil?cmd=$(id)"));
	TAP_CHECK(refused("cardbridge://start?"));
	TAP_CHECK(refused("cardbridge://start?origin=https://evil.example"));
	TAP_CHECK(refused("cardbridge://start#x"));
	TAP_CHECK(refused("cardbridge://start/?x=1"));
}

static void
test_percent_encoding_is_refused(void)
{
	TAP_CHECK(refused("cardbridge://%73tart"));
	TAP_CHECK(refused("cardbridge://start%2f"));
	TAP_CHECK(refused("cardbridge://start%00"));
}

static void
test_user_info_and_ports_are_refused(void)
{
	TAP_CHECK(refused("cardbridge://user@start"));
	TAP_CHECK(refused("cardbridge://start@evil"));
	TAP_CHECK(refused("cardbridge://start:48801"));
	TAP_CHECK(refused("cardbridge://[::1]"));
}

static void
test_bytes_outside_uri_characters_are_refused(void)
{
	TAP_CHECK(refused("cardbridge://start "));
	TAP_CHECK(refused(" cardbridge://start"));
	TAP_CHECK(refused("cardbridge://start\n"));
	TAP_CHECK(refused("cardbridge://start\r\nX: y"));
	TAP_CHECK(refused("cardbridge://st\tart"));
	TAP_CHECK(refused("cardbridge://start\"`id`"));
	TAP_CHECK(refused("cardbridge://start\\"));
	TAP_CHECK(refused("cardbridge://st\xc3\xa4rt"));
	TAP_CHECK(refused("cardbridge://start\x7f"));
	TAP_CHECK(refused("cardbridge://start<>"));
	TAP_CHECK(refused("cardbridge://start{}"));
}

static void
test_embedded_nul_is_refused(void)
{
	TAP_CHECK(refused_n("cardbridge://start\0/evil", 24));
	TAP_CHECK(refused_n("cardbridge://start\0", 19));
}

static void
test_long_urls_are_refused(void)
{
	char buf[10 * 1024 + 1];

	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	memcpy(buf, "cardbridge://start/", 19);
	TAP_CHECK(refused(buf));
	TAP_CHECK(strstr(reason(buf), "long") != NULL);
	/* Exactly URL_MAX is still looked at (and refused for its path). */
	buf[URL_MAX] = '\0';
	TAP_CHECK(refused(buf));
	TAP_CHECK(strstr(reason(buf), "long") == NULL);
	buf[URL_MAX + 1] = '\0';
	buf[URL_MAX] = 'a';
	TAP_CHECK(strstr(reason(buf), "long") != NULL);
}

static void
test_reasons_never_quote_the_url(void)
{
	static const char *const hostile[] = {
	    "cardbridge://evil?cmd=$(id)",
	    "cardbridge://start/../../x",
	    "http://xyzzy",
	    "cardbridge://xyzzy",
	    "cardbridge://start%xyzzy",
	};
	size_t i;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		TAP_CHECK(strstr(reason(hostile[i]), "xyzzy") == NULL);
		TAP_CHECK(strstr(reason(hostile[i]), "$(id)") == NULL);
		TAP_CHECK(strstr(reason(hostile[i]), "evil") == NULL);
	}
}

static void
test_verb_names_are_known(void)
{
	TAP_CHECK(strcmp(url_verb_name(URL_VERB_START), "start") == 0);
	TAP_CHECK(strcmp(url_verb_name(URL_VERB_NONE), "none") == 0);
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_start_is_accepted),
	    TAP_TEST(test_start_with_one_trailing_slash_is_accepted),
	    TAP_TEST(test_only_the_given_length_is_read),
	    TAP_TEST(test_empty_url_is_refused),
	    TAP_TEST(test_other_schemes_are_refused),
	    TAP_TEST(test_scheme_must_be_lower_case_and_have_two_slashes),
	    TAP_TEST(test_unknown_verbs_are_refused),
	    TAP_TEST(test_paths_are_refused),
	    TAP_TEST(test_queries_and_fragments_are_refused),
	    TAP_TEST(test_percent_encoding_is_refused),
	    TAP_TEST(test_user_info_and_ports_are_refused),
	    TAP_TEST(test_bytes_outside_uri_characters_are_refused),
	    TAP_TEST(test_embedded_nul_is_refused),
	    TAP_TEST(test_long_urls_are_refused),
	    TAP_TEST(test_reasons_never_quote_the_url),
	    TAP_TEST(test_verb_names_are_known),
	};

	return tap_main(tests, sizeof(tests) / sizeof(tests[0]));
}
