/*
 * test-claim.c - the module-by-ATR rule (protocol/claim.c): which module
 * serves a card, and which PC/SC reader a PKCS#11 slot is in.
 */
#include "config.h"

#include "protocol/claim.h"
#include "tests/tap.h"

#define CARD_ATR "3b8c800163622d49736f4170706c657448"

static const char *const matching[] = {"3b8c800163622d49736f4170706c657448"};
static const char *const other[] = {"3bda18ff81b1fe751f030031f573c00180059000f9"};

/* SoftHSM without a list, OpenSC with a list that does not match the card. */
static void
test_a_module_with_a_list_never_serves_a_card_it_does_not_match(void)
{
	const struct claim_module m[] = {{NULL, 0}, {other, 1}};
	const bool shows[] = {false, true};

	TAP_CHECK(claim_claimant(m, 2, CARD_ATR) == -1);
	TAP_CHECK(!claim_serves(m, 2, 1, CARD_ATR, shows));
	TAP_CHECK(!claim_serves(m, 2, 0, CARD_ATR, shows));
}

static void
test_the_claiming_module_alone_serves_the_card_even_when_not_loaded(void)
{
	const struct claim_module m[] = {{NULL, 0}, {matching, 1}};
	const bool loaded[] = {true, true}, failed[] = {true, false};

	TAP_CHECK(claim_claimant(m, 2, CARD_ATR) == 1);
	TAP_CHECK(claim_serves(m, 2, 1, CARD_ATR, loaded));
	TAP_CHECK(!claim_serves(m, 2, 0, CARD_ATR, loaded));
	/* The vendor module did not load: OpenSC still may not serve its card. */
	TAP_CHECK(!claim_serves(m, 2, 0, CARD_ATR, failed));
}

static void
test_an_unclaimed_card_goes_to_the_first_module_without_a_list_that_shows_it(void)
{
	const struct claim_module m[] = {{other, 1}, {NULL, 0}, {NULL, 0}};
	const bool both[] = {false, true, true}, second[] = {false, false, true};

	TAP_CHECK(claim_serves(m, 3, 1, CARD_ATR, both));
	TAP_CHECK(!claim_serves(m, 3, 2, CARD_ATR, both));
	TAP_CHECK(claim_serves(m, 3, 2, CARD_ATR, second));
	TAP_CHECK(!claim_serves(m, 3, 0, CARD_ATR, both));
	TAP_CHECK(!claim_serves(m, 3, 3, CARD_ATR, both));
}

static void
test_the_first_matching_list_claims(void)
{
	const struct claim_module m[] = {{matching, 1}, {matching, 1}};

	TAP_CHECK(claim_claimant(m, 2, CARD_ATR) == 0);
	TAP_CHECK(claim_claimant(m, 2, "") == -1);
	TAP_CHECK(claim_claimant(m, 2, NULL) == -1);
}

static void
test_a_slot_is_in_the_reader_it_is_named_after(void)
{
	TAP_CHECK(claim_slot_in_reader("Virtual PCD 00 00", "Virtual PCD 00 00"));
	TAP_CHECK(!claim_slot_in_reader("Virtual PCD 00 00", "Virtual PCD 00 01"));
	TAP_CHECK(claim_slot_in_reader("Virtual PCD 00 00", "Virtual PCD 00 00 (token 2)"));
	TAP_CHECK(!claim_slot_in_reader("Virtual PCD 00 0", "Virtual PCD 00 00"));
	TAP_CHECK(!claim_slot_in_reader("Virtual PCD 00 00", "Virtual PCD"));
	TAP_CHECK(claim_slot_in_reader(
	    "Long Reader Name Corp. Smart Card Reader Interface [CCID Interface] (1234) 00 00",
	    "Long Reader Name Corp. Smart Card Reader Interface [CCID Interf"));
	TAP_CHECK(!claim_slot_in_reader("", "x"));
	TAP_CHECK(!claim_slot_in_reader("x", ""));
	TAP_CHECK(!claim_slot_in_reader(NULL, "x"));
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_a_module_with_a_list_never_serves_a_card_it_does_not_match),
	    TAP_TEST(test_the_claiming_module_alone_serves_the_card_even_when_not_loaded),
	    TAP_TEST(test_an_unclaimed_card_goes_to_the_first_module_without_a_list_that_shows_it),
	    TAP_TEST(test_the_first_matching_list_claims),
	    TAP_TEST(test_a_slot_is_in_the_reader_it_is_named_after),
	};

	return tap_main(tests, sizeof(tests) / sizeof(tests[0]));
}
