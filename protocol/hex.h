/*
 * hex.h - the value of one hexadecimal digit, for the decoders that take
 * hex text from outside (ATR patterns, JSON \u escapes, percent escapes),
 * and hex text as bytes.
 */
#ifndef CB_HEX_H
#define CB_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0-15, or -1 if c is not a hex digit (either case). */
static inline int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The n hex digits at text (n even; or up to the end of the string when n
 * is (size_t)-1) as bytes in out, at most size of them; false for anything
 * else.  *len gets the number of bytes.
 */
static inline bool
hex_decode_n(const char *text, size_t n, uint8_t *out, size_t size, size_t *len)
{
	size_t i;
	int hi, lo;

	if (n == (size_t)-1)
		for (n = 0; text[n] != '\0'; n++)
			;
	if (n % 2 != 0 || n / 2 > size)
		return false;
	for (i = 0; i < n / 2; i++) {
		if ((hi = hex_value(text[2 * i])) < 0 || (lo = hex_value(text[2 * i + 1])) < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

/* A whole string of hex digits as bytes (hex_decode_n). */
static inline bool
hex_decode(const char *text, uint8_t *out, size_t size, size_t *len)
{
	return hex_decode_n(text, (size_t)-1, out, size, len);
}

#endif /* CB_HEX_H */
