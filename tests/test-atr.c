/*
 * test-atr.c - ATR patterns for the module-by-ATR choice (protocol/atr.c).
 */
#include "config.h"

#include "protocol/atr.h"
#include "tests/tap.h"

#define VCARD_ATR "3bda18ff81b1fe751f030031f573c00180059000f9"

static void
test_exact_pattern_matches_only_that_atr(void)
{
	TAP_CHECK(atr_matches(VCARD_ATR, VCARD_ATR));
	TAP_CHECK(atr_matches("3BDA18FF81B1FE751F030031F573C00180059000F9", VCARD_ATR));
	TAP_CHECK(!atr_matches(VCARD_ATR, "3bda18ff81b1fe751f030031f573c00180059000f8"));
}

static void
test_mask_ignores_the_masked_bits(void)
{
	TAP_CHECK(atr_matches("3bda00/ffff00", "3bda18"));
	TAP_CHECK(atr_matches("3bda00/ffff00", "3bdaff"));
	TAP_CHECK(!atr_matches("3bda00/ffff00", "3bdb18"));
	TAP_CHECK(atr_matches("3b0000/ff0000", "3b1234"));
}

static void
test_length_must_be_equal(void)
{
	TAP_CHECK(!atr_matches("3bda", "3bda18"));
	TAP_CHECK(!atr_matches("3bda18", "3bda"));
}

static void
test_malformed_patterns_match_nothing(void)
{
	TAP_CHECK(!atr_pattern_valid(""));
	TAP_CHECK(!atr_pattern_valid("3bd"));
	TAP_CHECK(!atr_pattern_valid("3bzz"));
	TAP_CHECK(!atr_pattern_valid("3bda/ff"));
	TAP_CHECK(!atr_pattern_valid("3bda/"));
	TAP_CHECK(!atr_pattern_valid("3bda18ff81b1fe751f030031f573c00180059000f93bda18ff81b1fe751f"
				     "030031f573c00180059000f9"));
	TAP_CHECK(atr_pattern_valid("3bda/ffff"));
	TAP_CHECK(!atr_matches("3bzz", "3bzz"));
	TAP_CHECK(!atr_matches(NULL, VCARD_ATR));
	TAP_CHECK(!atr_matches(VCARD_ATR, NULL));
	TAP_CHECK(!atr_matches(VCARD_ATR, ""));
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_exact_pattern_matches_only_that_atr),
	    TAP_TEST(test_mask_ignores_the_masked_bits),
	    TAP_TEST(test_length_must_be_equal),
	    TAP_TEST(test_malformed_patterns_match_nothing),
	};

	return tap_main(tests, sizeof(tests) / sizeof(tests[0]));
}
