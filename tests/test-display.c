/*
 * test-display.c - unit tests of protocol/display.c (TAP): text a page, a
 * token or a certificate controls, made safe for a dialog.
 *
 * Each input is what a hostile page, a crafted certificate or a token
 * label could hold (issue 14, "Dialogs that tell the truth").
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "protocol/display.h"
#include "protocol/utf8.h"
#include "tests/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ELL DISPLAY_ELLIPSIS

static char out[512];

static const char *
shown(const char *in, size_t max_chars)
{
	display_text(in, strlen(in), max_chars, out, sizeof(out));
	return out;
}

static bool
is(const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return true;
	printf("# got \"%s\", want \"%s\"\n", got, want);
	return false;
}

static void
test_plain_text_is_shown_as_it_is(void)
{
	TAP_CHECK(!display_text("Zo\xc3\xab Test", 9, 64, out, sizeof(out)));
	TAP_CHECK(is(out, "Zo\xc3\xab Test"));
	TAP_CHECK(is(shown("\xe5\xb1\xb1\xe7\x94\xb0", 64), "\xe5\xb1\xb1\xe7\x94\xb0"));
}

static void
test_line_and_paragraph_separators_cannot_add_lines(void)
{
	/* U+2028, U+2029, CR LF, NEL: each run becomes one space. */
	TAP_CHECK(is(shown("Joe\xe2\x80\xa8\xe2\x9c\x94 Verified request\xe2\x80\xa9Press OK", 0),
	    "Joe \xe2\x9c\x94 Verified request Press OK"));
	TAP_CHECK(is(shown("a\r\n\r\nb\xc2\x85"
			   "c",
			 0),
	    "a b c"));
	TAP_CHECK(is(shown("\n\ttrailing\n", 0), "trailing"));
}

static void
test_bidi_controls_cannot_reverse_the_sentence(void)
{
	/* U+202E RLO ... U+202C PDF, U+2066..2069 isolates, U+200F RLM. */
	TAP_CHECK(is(shown("\xe2\x80\xae"
			   "eod eoJ\xe2\x80\xac",
			 0),
	    "eod eoJ"));
	TAP_CHECK(is(shown("a\xe2\x81\xa6"
			   "b\xe2\x81\xa9"
			   "c\xe2\x80\x8f",
			 0),
	    "abc"));
}

static void
test_zero_width_and_other_format_characters_are_dropped(void)
{
	/* ZWSP, ZWJ, BOM, soft hyphen, a tag character. */
	TAP_CHECK(is(shown("ev\xe2\x80\x8bil\xe2\x80\x8d.\xef\xbb\xbf"
			   "ex\xc2\xad"
			   "ample\xf3\xa0\x80\x81",
			 0),
	    "evil.example"));
	TAP_CHECK(
	    display_invisible(0x202e) && display_invisible(0x2028) && display_invisible(0xad));
	TAP_CHECK(
	    !display_invisible('a') && !display_invisible(0x20) && !display_invisible(0x2026));
}

static void
test_invalid_utf8_becomes_the_replacement_character(void)
{
	TAP_CHECK(is(shown("a\xff"
			   "b\xe5\xb1",
			 0),
	    "a\xef\xbf\xbd"
	    "b\xef\xbf\xbd\xef\xbf\xbd"));
}

static void
test_a_cut_is_counted_in_characters_and_marked(void)
{
	TAP_CHECK(is(shown("abcdef", 6), "abcdef"));
	TAP_CHECK(is(shown("abcdefg", 6), "abcde" ELL));
	/* Seven 3-byte characters cut to six characters: five and the ellipsis. */
	TAP_CHECK(
	    is(shown("\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1"
		     "\xe5\xb1\xb1",
		   6),
		"\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1" ELL));
	TAP_CHECK(is(shown("abc def", 5), "abc" ELL));
}

static void
test_a_small_buffer_never_gets_cut_utf8(void)
{
	char small[8];
	size_t i;

	for (i = 1; i <= sizeof(small); i++) {
		display_text("\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1", 12, 0, small, i);
		TAP_CHECK(strlen(small) < i && utf8_valid(small, strlen(small)));
		TAP_CHECK(small[0] == '\0' || strstr(small, ELL) != NULL);
	}
}

static void
test_a_long_origin_keeps_the_end_of_its_host(void)
{
	static const char evil[] =
	    "https://"
	    "portal.bank.example.com.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccc.evil.example";

	TAP_CHECK(display_origin(evil, 60, out, sizeof(out)));
	TAP_CHECK(strncmp(out, "https://" ELL, 11) == 0);
	TAP_CHECK(strlen(out) > 13 && strcmp(out + strlen(out) - 13, ".evil.example") == 0);
	TAP_CHECK(strstr(out, "portal.bank") == NULL);
	TAP_CHECK(!display_origin("https://portal.example", 60, out, sizeof(out)));
	TAP_CHECK(is(out, "https://portal.example"));
	TAP_CHECK(display_origin("http://127.0.0.1:8080", 12, out, sizeof(out)));
	TAP_CHECK(is(out, "http://" ELL "8080"));
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_plain_text_is_shown_as_it_is),
	    TAP_TEST(test_line_and_paragraph_separators_cannot_add_lines),
	    TAP_TEST(test_bidi_controls_cannot_reverse_the_sentence),
	    TAP_TEST(test_zero_width_and_other_format_characters_are_dropped),
	    TAP_TEST(test_invalid_utf8_becomes_the_replacement_character),
	    TAP_TEST(test_a_cut_is_counted_in_characters_and_marked),
	    TAP_TEST(test_a_small_buffer_never_gets_cut_utf8),
	    TAP_TEST(test_a_long_origin_keeps_the_end_of_its_host),
	};

	return tap_main(tests, sizeof(tests) / sizeof(tests[0]));
}
