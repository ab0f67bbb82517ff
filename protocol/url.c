/*
 * url.c - validate cardbridge:// launch URLs.
 *
 * The browser passes the URL a page chose to "cardbridge open URL".  We
 * accept exactly "cardbridge://VERB" or "cardbridge://VERB/" for a verb in
 * the table below, and nothing else: no query, fragment, path, user info,
 * port or percent-encoding, because the handler must never act on page
 * content beyond picking a known verb.  This file must never allocate,
 * do I/O or copy the URL anywhere.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/url.h"

struct verb_row {
	const char *name;
	enum url_verb verb;
};

static const struct verb_row verbs[] = {
    {"start", URL_VERB_START},
    {NULL, URL_VERB_NONE},
};

/* RFC 3986 characters: unreserved, reserved, and '%'. */
static bool
uri_char_ok(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL;
}

static int
refuse(const char **why, const char *text)
{
	*why = text;
	return CB_ERR_INVALID_PARAMS;
}

/* Compare the n bytes at p with the NUL-terminated word, exactly. */
static bool
span_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(p, word, n) == 0;
}

static enum url_verb
verb_lookup(const char *p, size_t n)
{
	const struct verb_row *v;

	for (v = verbs; v->name; v++)
		if (span_is(p, n, v->name))
			return v->verb;
	return URL_VERB_NONE;
}

int
url_parse_launch(const char *text, size_t len, enum url_verb *verb, const char **why)
{
	static const char prefix[] = URL_SCHEME "://";
	const size_t plen = sizeof(prefix) - 1;
	const char *rest, *slash;
	size_t i, rlen, vlen;
	enum url_verb v;

	*verb = URL_VERB_NONE;
	*why = NULL;
	if (text == NULL || len == 0)
		return refuse(why, "the URL is empty");
	if (len > URL_MAX)
		return refuse(why, "the URL is too long (at most 256 bytes)");
	for (i = 0; i < len; i++)
		if (!uri_char_ok((unsigned char)text[i]))
			return refuse(why, "the URL has a byte that is not allowed in a URL "
					   "(space, control, quote, NUL or non-ASCII)");
	if (len < plen || memcmp(text, prefix, plen) != 0)
		return refuse(why, "the URL does not start with cardbridge://");
	rest = text + plen;
	rlen = len - plen;
	if (memchr(rest, '?', rlen) || memchr(rest, '#', rlen))
		return refuse(why, "a query or fragment is not accepted");
	if (memchr(rest, '%', rlen))
		return refuse(why, "percent-encoding is not accepted");
	slash = memchr(rest, '/', rlen);
	vlen = slash ? (size_t)(slash - rest) : rlen;
	if (vlen == 0)
		return refuse(why, "no verb after cardbridge:// (expected cardbridge://start)");
	if ((v = verb_lookup(rest, vlen)) == URL_VERB_NONE)
		return refuse(why, "unknown verb (the only one is start)");
	if (slash != NULL && (size_t)(slash - rest) + 1 != rlen)
		return refuse(why, "a path is not accepted (only cardbridge://start or "
				   "cardbridge://start/)");
	*verb = v;
	return 0;
}

const char *
url_verb_name(enum url_verb verb)
{
	const struct verb_row *v;

	for (v = verbs; v->name; v++)
		if (v->verb == verb)
			return v->name;
	return "none";
}
