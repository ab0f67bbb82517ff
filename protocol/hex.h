/*
 * hex.h - the value of one hexadecimal digit, for the decoders that take
 * hex text from outside (ATR patterns, JSON \u escapes, percent escapes).
 */
#ifndef CB_HEX_H
#define CB_HEX_H

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

#endif /* CB_HEX_H */
