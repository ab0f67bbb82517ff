/*
 * origin.c - origin and Host header checks for handshake admission.
 *
 * Everything here is an exact, byte-level comparison of what a browser
 * sends.  It must never resolve names or accept "close enough" forms:
 * "https://portal.example.evil" is not "https://portal.example".
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/origin.h"

static bool
host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int
parse_port(const char *p, int *port)
{
	long v = 0;
	const char *q;

	if (*p == '\0' || *p == '0' || strlen(p) > 5)
		return -1;
	for (q = p; *q; q++) {
		if (!isdigit((unsigned char)*q))
			return -1;
		v = v * 10 + (*q - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

bool
origin_addr_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(addr, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* host is lower case already; IPv6 literals with brackets. */
static bool
host_is_loopback(const char *host)
{
	char inner[64];
	size_t n = strlen(host);

	if (host[0] == '[') {
		if (n < 3 || n - 2 >= sizeof(inner) || host[n - 1] != ']')
			return false;
		memcpy(inner, host + 1, n - 2);
		inner[n - 2] = '\0';
		return origin_addr_is_loopback(inner);
	}
	return origin_addr_is_loopback(host);
}

/*
 * The IPv6 serializer of the WHATWG URL standard, which is how a browser
 * writes an IPv6 host in an Origin: lower-case hex without leading zeros,
 * the first longest run of two or more zero pieces as "::", and never a
 * dotted IPv4 tail.  out needs 40 bytes.
 */
static void
ipv6_serialise(const struct in6_addr *a, char *out)
{
	unsigned piece[8];
	int i, run, compress = -1, longest = 1;
	bool skipping = false;
	size_t o = 0;

	for (i = 0; i < 8; i++)
		piece[i] = (unsigned)a->s6_addr[2 * i] << 8 | a->s6_addr[2 * i + 1];
	for (i = 0; i<8; i += run> 0 ? run : 1) {
		for (run = 0; i + run < 8 && piece[i + run] == 0; run++)
			;
		if (run > longest) {
			longest = run;
			compress = i;
		}
	}
	for (i = 0; i < 8; i++) {
		if (skipping && piece[i] == 0)
			continue;
		skipping = false;
		if (i == compress) {
			o += (size_t)snprintf(out + o, 40 - o, "%s", i == 0 ? "::" : ":");
			skipping = true;
			continue;
		}
		o += (size_t)snprintf(out + o, 40 - o, "%x%s", piece[i], i < 7 ? ":" : "");
	}
	out[o] = '\0';
}

static int
parse_host(const char *start, size_t n, struct origin *o, const char **why)
{
	struct in6_addr a6;
	char inner[64], canonical[40];
	size_t i;

	if (n == 0 || n >= sizeof(o->host)) {
		*why = "host is empty or too long";
		return CB_ERR_INVALID_PARAMS;
	}
	memcpy(o->host, start, n);
	o->host[n] = '\0';
	if (o->host[0] == '[') {
		if (n < 4 || o->host[n - 1] != ']' || n - 2 >= sizeof(inner)) {
			*why = "malformed IPv6 literal";
			return CB_ERR_INVALID_PARAMS;
		}
		memcpy(inner, o->host + 1, n - 2);
		inner[n - 2] = '\0';
		if (inet_pton(AF_INET6, inner, &a6) != 1) {
			*why = "malformed IPv6 literal";
			return CB_ERR_INVALID_PARAMS;
		}
		/* Browsers serialise IPv6 hosts in lower case; "[::ABCD]" would never match. */
		if (strpbrk(inner, "ABCDEF") != NULL) {
			*why = "IPv6 literal in upper case (origins are lower case)";
			return CB_ERR_INVALID_PARAMS;
		}
		/* Nor "[0::1]", "[::0:1]" or "[::ffff:127.0.0.1]": browsers send "[::1]",
		 * "[::ffff:7f00:1]". */
		ipv6_serialise(&a6, canonical);
		if (strcmp(inner, canonical) != 0) {
			*why = "IPv6 literal not in its shortest form (as browsers write it)";
			return CB_ERR_INVALID_PARAMS;
		}
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!host_char_ok(o->host[i])) {
			*why =
			    "host has characters other than a-z 0-9 - . (origins are lower case)";
			return CB_ERR_INVALID_PARAMS;
		}
	if (o->host[0] == '.' || o->host[0] == '-' || o->host[n - 1] == '.' ||
	    strstr(o->host, "..") != NULL) {
		*why = "host is not a valid name";
		return CB_ERR_INVALID_PARAMS;
	}
	return 0;
}

int
origin_parse(const char *text, struct origin *o, const char **why)
{
	const char *p, *hs, *he, *colon;
	int r;

	memset(o, 0, sizeof(*o));
	*why = NULL;
	if (text == NULL || strlen(text) >= ORIGIN_MAX) {
		*why = "origin is missing or too long";
		return CB_ERR_INVALID_PARAMS;
	}
	if (strncmp(text, "https://", 8) == 0) {
		strcpy(o->scheme, "https");
		p = text + 8;
	} else if (strncmp(text, "http://", 7) == 0) {
		strcpy(o->scheme, "http");
		p = text + 7;
	} else {
		*why = "scheme must be https:// or http://";
		return CB_ERR_INVALID_PARAMS;
	}
	if (strpbrk(p, "/?#@\\ ") != NULL) {
		*why = "an origin has no path, query, fragment or user info";
		return CB_ERR_INVALID_PARAMS;
	}
	hs = p;
	if (*p == '[') {
		if ((he = strchr(p, ']')) == NULL) {
			*why = "malformed IPv6 literal";
			return CB_ERR_INVALID_PARAMS;
		}
		he++;
		colon = *he == ':' ? he : NULL;
		if (*he != '\0' && colon == NULL) {
			*why = "unexpected text after the IPv6 literal";
			return CB_ERR_INVALID_PARAMS;
		}
	} else {
		colon = strchr(p, ':');
		he = colon ? colon : p + strlen(p);
	}
	if ((r = parse_host(hs, (size_t)(he - hs), o, why)) != 0)
		return r;
	if (colon != NULL) {
		if (parse_port(colon + 1, &o->port) != 0) {
			*why = "port must be a number from 1 to 65535";
			return CB_ERR_INVALID_PARAMS;
		}
		if ((o->port == 443 && strcmp(o->scheme, "https") == 0) ||
		    (o->port == 80 && strcmp(o->scheme, "http") == 0)) {
			*why = "the default port is never part of a serialised origin";
			return CB_ERR_INVALID_PARAMS;
		}
	}
	o->loopback = host_is_loopback(o->host);
	return 0;
}

bool
origin_is_acceptable(const struct origin *o, const char **why)
{
	if (strcmp(o->scheme, "http") == 0 && !o->loopback) {
		*why = "plain http origins are accepted only on loopback";
		return false;
	}
	return true;
}

bool
origin_host_is_loopback(const char *host, int port)
{
	char want[32];
	static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
	size_t i;

	if (host == NULL)
		return false;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "%s:%d", names[i], port);
		if (strcasecmp(host, want) == 0)
			return true;
	}
	return false;
}
