/*
 * claim.h - module by ATR: which configured PKCS#11 module serves the card
 * in a reader.  The one rule; the helper applies it to every lookup
 * (pkcs11/claim.c: tokens.list, token_find, certificates.list, a
 * certificates.install without a token).
 *
 * Pure code.  A module whose "atr" list matches the card claims it and
 * alone serves it, whether it loaded or not.  A module with a list never
 * serves a card its list does not match.  A card no list claims is served
 * by the modules without a list: by the first of them (in the order of the
 * configuration) that shows a token for it, so that one card never shows
 * up as two tokens with one URI through two modules.
 */
#ifndef CB_CLAIM_H
#define CB_CLAIM_H

#include <stdbool.h>
#include <stddef.h>

struct claim_module {
	const char *const *atrs; /* ATR patterns (protocol/atr.h) */
	size_t natrs;		 /* 0: the module has no list */
};

/* The index of the first module whose list matches the card's ATR (hex), or -1. */
int claim_claimant(const struct claim_module *modules, size_t n, const char *atr);

/*
 * May module i serve the card whose ATR is atr?  shows[j] says whether
 * module j shows a token for that card (loaded modules only).
 */
bool claim_serves(
    const struct claim_module *modules, size_t n, size_t i, const char *atr, const bool *shows);

/*
 * Is the PKCS#11 slot described as slot (its slotDescription, trimmed) in
 * the PC/SC reader called reader?  Modules name their slots after the
 * reader, sometimes with a suffix after a space, and cut long names at the
 * 64 bytes of slotDescription.
 */
bool claim_slot_in_reader(const char *reader, const char *slot);

#endif /* CB_CLAIM_H */
