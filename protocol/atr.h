/*
 * atr.h - matching a card's ATR against configured patterns.
 *
 * Pure code.  A pattern is hex ("3bda18ff...") or hex with a mask of the
 * same length ("3bda18ff.../ffffff00..."): the card matches when its ATR has
 * the pattern's length and (atr & mask) == (pattern & mask).  Case-blind.
 */
#ifndef CB_ATR_H
#define CB_ATR_H

#include <stdbool.h>

/* Is text a well-formed pattern (1..33 bytes, optional mask of equal length)? */
bool atr_pattern_valid(const char *text);

/* Does the ATR (hex) match the pattern?  false for malformed input. */
bool atr_matches(const char *pattern, const char *atr_hex);

#endif /* CB_ATR_H */
