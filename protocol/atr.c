/*
 * atr.c - ATR pattern matching for the module-by-ATR choice.
 *
 * Must never read past a string: every length is checked before bytes are
 * decoded, and a malformed pattern matches nothing.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol/atr.h"
#include "protocol/hex.h"

#define ATR_MAX 33

/* Decode n hex digits (n even) into out; returns bytes or -1. */
static int
decode(const char *hex, size_t n, uint8_t *out)
{
	size_t len;

	if (n == 0 || !hex_decode_n(hex, n, out, ATR_MAX, &len))
		return -1;
	return (int)len;
}

static int
parse(const char *text, uint8_t *value, uint8_t *mask)
{
	const char *slash = strchr(text, '/');
	size_t vlen = slash ? (size_t)(slash - text) : strlen(text);
	int n, m;

	if ((n = decode(text, vlen, value)) < 0)
		return -1;
	if (slash == NULL) {
		memset(mask, 0xff, (size_t)n);
		return n;
	}
	if ((m = decode(slash + 1, strlen(slash + 1), mask)) != n)
		return -1;
	return n;
}

bool
atr_pattern_valid(const char *text)
{
	uint8_t v[ATR_MAX], m[ATR_MAX];

	return text != NULL && parse(text, v, m) > 0;
}

bool
atr_matches(const char *pattern, const char *atr_hex)
{
	uint8_t v[ATR_MAX], m[ATR_MAX], a[ATR_MAX];
	int n, i;

	if (pattern == NULL || atr_hex == NULL || (n = parse(pattern, v, m)) < 0 ||
	    decode(atr_hex, strlen(atr_hex), a) != n)
		return false;
	for (i = 0; i < n; i++)
		if ((a[i] & m[i]) != (v[i] & m[i]))
			return false;
	return true;
}
