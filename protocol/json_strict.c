/*
 * json_strict.c - find duplicate object keys, which json-c silently merges.
 *
 * {"id":1,"id":2} means different things to different parsers; a security
 * tool must not guess which one the page meant.  Runs only on text json-c
 * has already accepted in strict mode, so the scanner can assume valid
 * JSON and stay small.  Keys are compared after decoding escapes, so
 * "a" and "\u0061" collide as they should.
 *
 * json-c 0.16's strict mode still accepts 'single-quoted' keys (which this
 * scanner could not see as keys), NaN and Infinity: those are refused here
 * as CB_ERR_PARSE.  Keys are compared as json-c stores them: cut at the
 * first NUL, lone surrogates turned into U+FFFD.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/hex.h"
#include "protocol/jsonrpc.h"

struct key {
	char *s;
	size_t len;
};

struct frame {
	bool is_object;
	bool expect_key;
	struct key *keys;
	size_t nkeys, cap;
};

/* json-c has checked the digits; U+FFFD keeps a direct caller's bad escape defined. */
static unsigned
read_u4(const char *p)
{
	int d0 = hex_value(p[0]), d1 = hex_value(p[1]), d2 = hex_value(p[2]), d3 = hex_value(p[3]);

	if ((d0 | d1 | d2 | d3) < 0)
		return 0xfffd;
	return (unsigned)(d0 << 12 | d1 << 8 | d2 << 4 | d3);
}

static size_t
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Index of the closing quote of the string whose text starts at i (or len). */
static size_t
skip_string(const char *t, size_t len, size_t i)
{
	while (i < len && t[i] != '"')
		i += t[i] == '\\' ? 2 : 1;
	return i < len ? i : len;
}

/*
 * Does the string from i (after its opening quote) to end hold a \u escape
 * of a surrogate that is not half of a pair?  json-c would make it U+FFFD,
 * so a string id would come back different from the one sent.
 */
static bool
lone_surrogate(const char *t, size_t i, size_t end)
{
	uint32_t cp, lo;

	for (; i < end; i++) {
		if (t[i] != '\\')
			continue;
		if (i + 1 >= end || t[++i] != 'u' || i + 4 >= end)
			continue;
		cp = read_u4(t + i + 1);
		i += 4;
		if (cp < 0xd800 || cp >= 0xe000)
			continue;
		if (cp >= 0xdc00 || i + 6 >= end || t[i + 1] != '\\' || t[i + 2] != 'u')
			return true;
		lo = read_u4(t + i + 3);
		if (lo < 0xdc00 || lo >= 0xe000)
			return true;
		i += 6;
	}
	return false;
}

/* Decode the string starting after the opening quote at *pos; advance past it. */
static char *
decode_string(const char *t, size_t len, size_t *pos, size_t *outlen)
{
	size_t i = *pos, o = 0, end;
	uint32_t cp, lo;
	char *out;

	/*
	 * Decoded text is never longer than the escaped text, as long as we
	 * stop where skip_string() did: a bad \u escape could swallow the quote.
	 */
	end = skip_string(t, len, i);
	if ((out = malloc(end - i + 1)) == NULL)
		return NULL;
	while (i < end) {
		if (t[i] != '\\') {
			out[o++] = t[i++];
			continue;
		}
		if (++i >= end)
			break;
		switch (t[i]) {
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u':
			if (i + 4 >= end)
				break;
			cp = read_u4(t + i + 1);
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < end && t[i + 1] == '\\' &&
			    t[i + 2] == 'u') {
				lo = read_u4(t + i + 3);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd; /* what json-c makes of a lone surrogate */
			/* Encoded UTF-8 of one \u escape never exceeds its 6 escaped bytes. */
			o += put_utf8(out + o, cp);
			break;
		default:
			out[o++] = t[i];
			break;
		}
		i++;
	}
	*pos = i < len ? i + 1 : len;
	out[o] = '\0';
	*outlen = o;
	return out;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void
describe_key(const struct key *k, char *where, size_t wherelen)
{
	size_t i, o = 0;

	if (wherelen < 4)
		return;
	where[o++] = '"';
	for (i = 0; i < k->len && o + 2 < wherelen && i < 40; i++)
		where[o++] = (k->s[i] >= 0x20 && k->s[i] < 0x7f) ? k->s[i] : '?';
	where[o++] = '"';
	where[o] = '\0';
}

/* Sort the keys of a closing object and look for neighbours that are equal. */
static int
frame_close(struct frame *f, char *where, size_t wherelen)
{
	size_t i;
	int r = 0;

	if (f->nkeys > 1) {
		qsort(f->keys, f->nkeys, sizeof(*f->keys), key_cmp);
		for (i = 1; i < f->nkeys && r == 0; i++)
			if (key_cmp(&f->keys[i - 1], &f->keys[i]) == 0) {
				describe_key(&f->keys[i], where, wherelen);
				r = CB_ERR_INVALID_REQUEST;
			}
	}
	for (i = 0; i < f->nkeys; i++)
		free(f->keys[i].s);
	free(f->keys);
	memset(f, 0, sizeof(*f));
	return r;
}

static int
frame_add_key(struct frame *f, char *s, size_t len)
{
	struct key *nk;
	size_t cap;

	if (f->nkeys == f->cap) {
		cap = f->cap ? f->cap * 2 : 8;
		if ((nk = realloc(f->keys, cap * sizeof(*nk))) == NULL) {
			free(s);
			return CB_ERR_ALLOC;
		}
		f->keys = nk;
		f->cap = cap;
	}
	f->keys[f->nkeys].s = s;
	f->keys[f->nkeys++].len = len;
	return 0;
}

static int
push_frame(struct frame **stack, size_t *depth, size_t *cap, bool is_object)
{
	struct frame *ns;

	if (*depth == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((ns = realloc(*stack, *cap * sizeof(*ns))) == NULL)
			return CB_ERR_ALLOC;
		*stack = ns;
	}
	memset(&(*stack)[*depth], 0, sizeof(**stack));
	(*stack)[*depth].is_object = is_object;
	(*stack)[*depth].expect_key = is_object;
	(*depth)++;
	return 0;
}

int
proto_check_duplicate_keys(const char *text, size_t len, char *where, size_t wherelen)
{
	struct frame *stack = NULL, *top;
	size_t depth = 0, cap = 0, pos = 0, klen;
	char *key;
	int r = 0;

	if (wherelen)
		where[0] = '\0';
	while (pos < len && r == 0) {
		char c = text[pos++];

		top = depth ? &stack[depth - 1] : NULL;
		if (c == '{' || c == '[')
			r = push_frame(&stack, &depth, &cap, c == '{');
		else if ((c == '}' || c == ']') && depth)
			r = frame_close(&stack[--depth], where, wherelen);
		else if (c == ',' && top && top->is_object)
			top->expect_key = true;
		else if (c == '\'' || c == 'N' || c == 'I') {
			if (wherelen)
				snprintf(where, wherelen, "%s",
				    c == '\'' ? "single-quoted string" : "NaN or Infinity");
			r = CB_ERR_PARSE;
		} else if (c == '"') {
			if (lone_surrogate(text, pos, skip_string(text, len, pos))) {
				if (wherelen)
					snprintf(where, wherelen, "%s",
					    "a lone surrogate escape (\\uD800-\\uDFFF) in a "
					    "string");
				r = CB_ERR_INVALID_REQUEST;
				continue;
			}
			if (!(top && top->is_object && top->expect_key)) {
				pos = skip_string(text, len, pos) + 1;
				continue;
			}
			if ((key = decode_string(text, len, &pos, &klen)) == NULL)
				r = CB_ERR_ALLOC;
			else {
				/* json-c keeps keys as C strings: "a\u0000x" is its "a". */
				klen = strlen(key);
				top->expect_key = false;
				r = frame_add_key(top, key, klen);
			}
		}
	}
	while (depth)
		frame_close(&stack[--depth], NULL, 0);
	free(stack);
	return r;
}
