/*
 * url.h - strict validation of the cardbridge:// URLs a browser hands to
 * "cardbridge open URL" (the x-scheme-handler).
 *
 * Pure code (no I/O, no allocation): a web page chooses every byte of the
 * URL, so the handler only ever learns which known verb was asked for and
 * never uses any other part of the text.  Unit-tested and fuzzed.
 */
#ifndef CB_URL_H
#define CB_URL_H

#include <stddef.h>

/* Longest URL we look at; anything longer is refused unread. */
#define URL_MAX 256

#define URL_SCHEME "cardbridge"

/* The verbs a page may ask for.  0 is never a valid verb. */
enum url_verb {
	URL_VERB_NONE = 0,
	URL_VERB_START, /* cardbridge://start: make sure cardbridged runs */
};

/*
 * Check text[0..len) (no NUL needed; an embedded NUL is refused) and, when
 * it is exactly "cardbridge://VERB" or "cardbridge://VERB/" for a known
 * VERB, set *verb and return 0.  Otherwise return CB_ERR_INVALID_PARAMS
 * with *why set to a fixed sentence (it never quotes the URL).
 */
int url_parse_launch(const char *text, size_t len, enum url_verb *verb, const char **why);

/* "start" for URL_VERB_START; "none" otherwise. */
const char *url_verb_name(enum url_verb verb);

#endif /* CB_URL_H */
