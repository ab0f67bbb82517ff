/*
 * display.c - make page, token and certificate text safe for a dialog.
 *
 * The dialogs are the only place where the user decides what a PIN is
 * typed for, so nothing a page or a certificate controls may add lines,
 * reorder a sentence or hide where it ends.  Must never: return cut UTF-8,
 * cut without the ellipsis, or drop the end of an origin's host.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/display.h"
#include "protocol/invisible.h"
#include "protocol/utf8.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

bool
display_invisible(unsigned long cp)
{
	size_t lo = 0, hi = sizeof(invisible_ranges) / sizeof(invisible_ranges[0]), mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp < invisible_ranges[mid].first)
			hi = mid;
		else if (cp > invisible_ranges[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Controls and separators part words; format characters are just dropped. */
static bool
separates(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029;
}

/*
 * in without what display_text() drops, in a new buffer (*outlen bytes,
 * NUL-terminated); NULL when out of memory.  *changed says whether it
 * differs from in.
 */
static char *
clean(const char *in, size_t len, size_t *outlen, bool *changed)
{
	const unsigned char *p = (const unsigned char *)in;
	char *buf;
	size_t i = 0, n, o = 0;
	bool space = true; /* at the start: no leading space */
	uint32_t cp;

	*changed = false;
	if ((buf = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		if ((n = utf8_next(p + i, len - i, &cp)) == 0) {
			memcpy(buf + o, REPLACEMENT, 3);
			o += 3;
			i++;
			space = false;
			*changed = true;
			continue;
		}
		if (display_invisible(cp)) {
			*changed = true;
			if (separates(cp) && !space) {
				buf[o++] = ' ';
				space = true;
			}
			i += n;
			continue;
		}
		memcpy(buf + o, p + i, n);
		o += n;
		i += n;
		space = cp == ' ';
	}
	while (o > 0 && buf[o - 1] == ' ') {
		o--;
		*changed = true;
	}
	for (i = 0; i < o && buf[i] == ' '; i++)
		*changed = true;
	memmove(buf, buf + i, o - i);
	o -= i;
	buf[o] = '\0';
	*outlen = o;
	return buf;
}

/* The bytes of the first chars characters of s (valid UTF-8). */
static size_t
bytes_of_chars(const char *s, size_t len, size_t chars)
{
	size_t i = 0, n = 0;
	uint32_t cp;

	while (i < len && n < chars) {
		i += utf8_next((const unsigned char *)s + i, len - i, &cp);
		n++;
	}
	return i;
}

static size_t
chars_of(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

bool
display_text(const char *in, size_t len, size_t max_chars, char *out, size_t outsize)
{
	const size_t ell = strlen(DISPLAY_ELLIPSIS);
	size_t clen, keep;
	bool changed;
	char *c;

	if (outsize == 0)
		return true;
	out[0] = '\0';
	if ((c = clean(in, len, &clen, &changed)) == NULL)
		return true;
	if ((max_chars == 0 || chars_of(c, clen) <= max_chars) && clen < outsize) {
		memcpy(out, c, clen + 1);
		free(c);
		return changed;
	}
	/* Cut: as many characters as fit, then the ellipsis. */
	keep = bytes_of_chars(c, clen, max_chars ? max_chars - 1 : clen);
	while (keep > 0 && keep + ell >= outsize)
		do
			keep--;
		while (keep > 0 && ((unsigned char)c[keep] & 0xc0) == 0x80);
	while (keep > 0 && c[keep - 1] == ' ')
		keep--;
	if (keep + ell < outsize) {
		memcpy(out, c, keep);
		memcpy(out + keep, DISPLAY_ELLIPSIS, ell + 1);
	}
	free(c);
	return true;
}

bool
display_origin(const char *origin, size_t max_chars, char *out, size_t outsize)
{
	const size_t ell = strlen(DISPLAY_ELLIPSIS);
	size_t len = strlen(origin), head, tail, clen;
	const char *sep;
	bool changed;
	char *c;

	if (max_chars == 0)
		return display_text(origin, len, max_chars, out, outsize);
	if ((c = clean(origin, len, &clen, &changed)) == NULL) {
		if (outsize > 0)
			out[0] = '\0';
		return true;
	}
	head = (sep = strstr(c, "://")) != NULL ? (size_t)(sep - c) + 3 : 0;
	if (chars_of(c, clen) <= max_chars && clen < outsize) {
		memcpy(out, c, clen + 1);
		free(c);
		return changed;
	}
	/*
	 * "scheme://" + "…" + the end of host[:port]: the start goes, since
	 * "portal.bank.example.…" would tell the user the wrong site.
	 */
	/* No room even for the scheme: the end of it all, still. */
	if (chars_of(c, head) + 1 >= max_chars || head + ell >= outsize)
		head = 0;
	tail = clen - head;
	while (tail > 0 && (chars_of(c + clen - tail, tail) > max_chars - chars_of(c, head) - 1 ||
			       head + ell + tail >= outsize))
		do
			tail--;
		while (tail > 0 && ((unsigned char)c[clen - tail] & 0xc0) == 0x80);
	memcpy(out, c, head);
	memcpy(out + head, DISPLAY_ELLIPSIS, ell);
	memcpy(out + head + ell, c + clen - tail, tail);
	out[head + ell + tail] = '\0';
	free(c);
	return true;
}
