/*
 * fuzz-display.c - protocol/display.c: any bytes a page, a token or a
 * certificate could hold, made safe for a dialog.
 *
 * The first input byte is the limit in characters (0: none), the rest is
 * the text.  Properties, for display_text() and display_origin() with a
 * roomy and a tiny buffer: the result is valid UTF-8 that fits its buffer,
 * holds no code point a dialog must not show (controls, format characters,
 * line and paragraph separators), has at most the limit of characters, is
 * the input itself when reported unchanged, and a shortened origin ends
 * with the end of the input.
 */
#include "config.h"

#include <string.h>

#include "fuzz/fuzz.h"
#include "protocol/display.h"
#include "protocol/utf8.h"

static void
check_shown(const char *out, size_t outsize, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)out;
	size_t len = strlen(out), i = 0, n, chars = 0;
	uint32_t cp;

	FUZZ_CHECK(len < outsize);
	FUZZ_CHECK(utf8_valid(out, len));
	while (i < len) {
		n = utf8_next(p + i, len - i, &cp);
		FUZZ_CHECK(n > 0 && !display_invisible(cp));
		i += n;
		chars++;
	}
	FUZZ_CHECK(max_chars == 0 || chars <= max_chars);
	FUZZ_CHECK(len == 0 || (out[0] != ' ' && out[len - 1] != ' '));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = {512, 7};
	char out[512], text[512];
	const char *in = (const char *)data + 1;
	size_t max, len, k, tail;
	bool changed;

	if (size < 1 || size > sizeof(text))
		return 0;
	max = data[0];
	len = size - 1;
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		changed = display_text(in, len, max, out, sizes[k]);
		check_shown(out, sizes[k], max);
		FUZZ_CHECK(changed || (strlen(out) == len && memcmp(out, in, len) == 0));
	}
	/* Origins are strings: up to the first NUL. */
	memcpy(text, in, len);
	text[len] = '\0';
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		changed = display_origin(text, max, out, sizes[k]);
		check_shown(out, sizes[k], max);
		FUZZ_CHECK(changed || strcmp(out, text) == 0);
	}
	/* A shortened plain ASCII origin keeps the end of its host. */
	if (strstr(text, "://") != NULL && utf8_valid(text, strlen(text)) && max > 16 &&
	    display_origin(text, max, out, sizeof(out)) && strstr(out, DISPLAY_ELLIPSIS) &&
	    strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789.-:/[]") == strlen(text)) {
		tail = strlen(out) - (size_t)(strstr(out, DISPLAY_ELLIPSIS) - out) - 3;
		FUZZ_CHECK(
		    tail > 0 && strcmp(out + strlen(out) - tail, text + strlen(text) - tail) == 0);
	}
	return 0;
}
