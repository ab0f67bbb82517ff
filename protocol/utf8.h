/*
 * utf8.h - the one UTF-8 decoder of cardbridge (RFC 3629).
 *
 * Pure code.  The JSON parser, the params checks and the helper's text
 * checks all decode with it, so that "valid UTF-8" means one thing.
 */
#ifndef CB_UTF8_H
#define CB_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decode the character at s (at most n > 0 bytes): its length in bytes, or
 * 0 when it is not valid UTF-8 (bad or truncated sequence, overlong form,
 * surrogate, above U+10FFFF).  *cp receives the code point.
 */
size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* The whole of s is valid UTF-8. */
bool utf8_valid(const char *s, size_t len);

/* C0, DEL or C1: what no text shown to a person or stored on a token holds. */
static inline bool
utf8_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

#endif /* CB_UTF8_H */
