/*
 * origin.h - exact parsing of web origins and loopback Host headers.
 *
 * Pure code (no I/O, no resolver): the daemon's handshake admission and the
 * configuration loader both use it, and it is unit-tested and fuzzed.
 */
#ifndef CB_ORIGIN_H
#define CB_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

#define ORIGIN_MAX 256

struct origin {
	char scheme[8];	       /* "https" or "http" */
	char host[ORIGIN_MAX]; /* lower case; IPv6 literals keep their brackets */
	int port;	       /* explicit port, or 0 when the default one */
	bool loopback;	       /* 127.0.0.0/8, [::1] or localhost */
};

/*
 * Parse a serialised origin as browsers send it: scheme "://" host [":" port],
 * nothing else.  Returns 0, or CB_ERR_INVALID_PARAMS with *why set.
 * Non-canonical forms (upper case, default port spelled out, trailing slash,
 * userinfo, path) are refused: allow-list matching is exact.
 */
int origin_parse(const char *text, struct origin *o, const char **why);

/* May this origin be allow-listed at all?  http only on loopback. */
bool origin_is_acceptable(const struct origin *o, const char **why);

/*
 * Is the Host header one of 127.0.0.1:port, localhost:port, [::1]:port for
 * the port we listen on?  Defeats DNS rebinding.
 */
bool origin_host_is_loopback(const char *host, int port);

/* Is this listen address a loopback literal (or "localhost")? */
bool origin_addr_is_loopback(const char *addr);

#endif /* CB_ORIGIN_H */
