/*
 * fuzz-url.c - the text a page chooses outside JSON-RPC: the cardbridge://
 * URL handed to the scheme handler (protocol/url.c) and the Origin and
 * Host headers of the WebSocket handshake (protocol/origin.c).
 *
 * The same bytes go to every check: url_parse_launch() sees them with
 * their length (embedded NULs included, as "cardbridge open URL" may get
 * them); the origin and Host checks see them as the C string the daemon
 * copies out of a header (cut at the first NUL).
 *
 * Properties: a launch URL is accepted only as exactly cardbridge://start
 * or cardbridge://start/; an accepted origin is canonical (printing it
 * again gives back the very same text), lower case, with a port in range
 * and never the default one, and plain http only on loopback; a Host
 * header passes only as 127.0.0.1, localhost or [::1] with our port.
 * Refusals always carry a printable reason.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz/fuzz.h"
#include "protocol/cberr.h"
#include "protocol/origin.h"
#include "protocol/url.h"

#define LISTEN_PORT 47110 /* any port: the daemon passes the one it listens on */

static void
check_launch(const uint8_t *data, size_t size)
{
	static const char exact[] = "cardbridge://start/";
	const char *why = NULL;
	enum url_verb verb = URL_VERB_START;
	int r;

	r = url_parse_launch((const char *)data, size, &verb, &why);
	if (r == 0) {
		FUZZ_CHECK(verb == URL_VERB_START && why == NULL);
		FUZZ_CHECK(size == sizeof(exact) - 1 || size == sizeof(exact) - 2);
		FUZZ_CHECK(memcmp(data, exact, size) == 0);
		FUZZ_CHECK(strcmp(url_verb_name(verb), "start") == 0);
	} else {
		FUZZ_CHECK(r == CB_ERR_INVALID_PARAMS && verb == URL_VERB_NONE);
		FUZZ_CHECK(why != NULL && *why != '\0' && fuzz_printable(why));
		FUZZ_CHECK(strcmp(url_verb_name(verb), "none") == 0);
	}
}

static void
check_origin(const char *text)
{
	char again[ORIGIN_MAX + 16];
	struct origin o;
	const char *why = NULL, *h;
	bool ok;

	if (origin_parse(text, &o, &why) != 0) {
		FUZZ_CHECK(why != NULL && fuzz_printable(why));
		return;
	}
	FUZZ_CHECK(strcmp(o.scheme, "https") == 0 || strcmp(o.scheme, "http") == 0);
	FUZZ_CHECK(o.host[0] != '\0' && strlen(o.host) < sizeof(o.host));
	for (h = o.host; *h; h++)
		FUZZ_CHECK(!(*h >= 'A' && *h <= 'Z'));
	FUZZ_CHECK(o.port >= 0 && o.port <= 65535);
	FUZZ_CHECK(!(o.port == 443 && strcmp(o.scheme, "https") == 0));
	FUZZ_CHECK(!(o.port == 80 && strcmp(o.scheme, "http") == 0));
	if (o.port)
		snprintf(again, sizeof(again), "%s://%s:%d", o.scheme, o.host, o.port);
	else
		snprintf(again, sizeof(again), "%s://%s", o.scheme, o.host);
	FUZZ_CHECK(strcmp(again, text) == 0);
	/* Loopback names are only these; everything else is a remote site. */
	FUZZ_CHECK(!o.loopback || strcmp(o.host, "localhost") == 0 ||
		   strncmp(o.host, "127.", 4) == 0 || o.host[0] == '[');
	why = NULL;
	ok = origin_is_acceptable(&o, &why);
	FUZZ_CHECK(ok == (strcmp(o.scheme, "https") == 0 || o.loopback));
	FUZZ_CHECK(ok || (why != NULL && fuzz_printable(why)));
}

static void
check_host(const char *text, int port)
{
	char want[3][32];
	bool match;

	snprintf(want[0], sizeof(want[0]), "127.0.0.1:%d", port);
	snprintf(want[1], sizeof(want[1]), "localhost:%d", port);
	snprintf(want[2], sizeof(want[2]), "[::1]:%d", port);
	match = strcasecmp(text, want[0]) == 0 || strcasecmp(text, want[1]) == 0 ||
		strcmp(text, want[2]) == 0;
	FUZZ_CHECK(origin_host_is_loopback(text, port) == match);
}

/* The port after the last colon, so that matching Host headers are reachable. */
static int
port_in(const char *text)
{
	const char *colon = strrchr(text, ':');
	long port;

	if (colon == NULL)
		return LISTEN_PORT;
	port = strtol(colon + 1, NULL, 10);
	return port >= 1 && port <= 65535 ? (int)port : LISTEN_PORT;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	check_launch(data, size);
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_origin(text);
	check_host(text, LISTEN_PORT);
	check_host(text, port_in(text));
	(void)origin_addr_is_loopback(text);
	free(text);
	return 0;
}
