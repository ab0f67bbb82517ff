/*
 * claim.c - the module-by-ATR rule (claim.h): which module serves a card,
 * and which PC/SC reader a PKCS#11 slot is in.
 *
 * Must never: do I/O, or let a module with an ATR list serve a card the
 * list does not match.
 */
#include "config.h"

#include <string.h>

#include "protocol/atr.h"
#include "protocol/claim.h"

/* PKCS#11's slotDescription is 64 bytes: a reader name that long was cut. */
#define SLOT_DESCRIPTION_CUT 60

int
claim_claimant(const struct claim_module *modules, size_t n, const char *atr)
{
	size_t i, j;

	if (atr == NULL || atr[0] == '\0')
		return -1;
	for (i = 0; i < n; i++)
		for (j = 0; j < modules[i].natrs; j++)
			if (atr_matches(modules[i].atrs[j], atr))
				return (int)i;
	return -1;
}

bool
claim_serves(
    const struct claim_module *modules, size_t n, size_t i, const char *atr, const bool *shows)
{
	int claimant = claim_claimant(modules, n, atr);
	size_t j;

	if (i >= n)
		return false;
	if (claimant >= 0)
		return (size_t)claimant == i;
	if (modules[i].natrs > 0)
		return false;
	/* Unclaimed: the first module without a list that shows the card. */
	for (j = 0; j < n; j++)
		if (modules[j].natrs == 0 && shows[j])
			return j == i;
	return false;
}

bool
claim_slot_in_reader(const char *reader, const char *slot)
{
	size_t rlen, slen;

	if (reader == NULL || slot == NULL || reader[0] == '\0' || slot[0] == '\0')
		return false;
	rlen = strlen(reader);
	slen = strlen(slot);
	if (rlen == slen)
		return strcmp(reader, slot) == 0;
	if (slen > rlen) /* "Reader 00 00 (slot 1)" */
		return strncmp(reader, slot, rlen) == 0 && slot[rlen] == ' ';
	/* A long reader name, cut to fit slotDescription. */
	return slen >= SLOT_DESCRIPTION_CUT && strncmp(reader, slot, slen) == 0;
}
