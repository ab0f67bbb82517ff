/*
 * dialog_words.c - who asks, as the dialogs say it (dialog_words.h).
 *
 * A page controls its origin's host (within what the daemon admits), and
 * a page that can make two dialogs look alike can make the user answer the
 * wrong one.  So: the registrable domain (the "site", which the daemon
 * sends with each request) comes first and in the title; an origin too
 * long to show loses the middle of its host, never its end; and a page
 * asking for the very same thing again is told apart by a number.
 * Must never: show a text a page, a token or a certificate controls without
 * protocol/display.c, or keep what a dialog said beyond a digest of it.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "protocol/display.h"
#include "common/i18n.h"
#include "pkcs11/dialog_words.h"
#include "pkcs11/request.h"

/* How long a page's dialog is remembered, to number the same one again. */
#define REPEAT_WINDOW_S 600
#define REPEATS_MAX 32

struct repeat {
	uint64_t digest; /* of the origin and the text */
	uint64_t last_id;
	unsigned long count;
	time_t when;
};

static pthread_mutex_t repeats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct repeat repeats[REPEATS_MAX]; /* {repeats_lock} */

void
dialog_shown(const char *text, size_t max_chars, char *buf, size_t size)
{
	if (size == 0)
		return;
	buf[0] = '\0';
	if (text != NULL)
		display_text(text, strlen(text), max_chars, buf, size);
}

void
dialog_origin(char *buf, size_t size, const struct request *req)
{
	/* The cardbridge tool asks in the user's own name: the program is who asks. */
	if (req->local)
		snprintf(buf, size, "cardbridge");
	else if (req->origin[0] != '\0')
		display_origin(req->origin, DIALOG_NAME_CHARS, buf, size);
	else
		snprintf(buf, size, "%s", _("A web page"));
}

/* The site as shown; "" when the daemon sent none. */
static void
site_shown(char *buf, size_t size, const struct request *req)
{
	buf[0] = '\0';
	if (!req->local && req->site[0] != '\0')
		display_origin(req->site, DIALOG_NAME_CHARS, buf, size);
}

void
dialog_title(char *buf, size_t size, const struct request *req)
{
	char who[DIALOG_NAME_SIZE];

	site_shown(who, sizeof(who), req);
	if (who[0] == '\0' && !req->local && req->origin[0] != '\0')
		dialog_origin(who, sizeof(who), req);
	if (who[0] == '\0')
		snprintf(buf, size, "cardbridge");
	else
		snprintf(buf, size, "cardbridge: %s", who);
}

void
dialog_site_line(char *buf, size_t size, const struct request *req)
{
	char site[DIALOG_NAME_SIZE];
	size_t n;

	site_shown(site, sizeof(site), req);
	buf[0] = '\0';
	if (site[0] == '\0')
		return;
	/* TRANSLATORS: the first line of a page's dialogs: its registrable domain. */
	snprintf(buf, size, _("Site: %s"), site);
	n = strlen(buf);
	snprintf(buf + n, size - n, "\n");
}

/* FNV-1a over the origin, a NUL, and the text. */
static uint64_t
digest_of(const char *origin, const char *text)
{
	const char *parts[] = {origin, text};
	uint64_t h = 14695981039346656037ULL;
	size_t i;
	const unsigned char *p;

	for (i = 0; i < 2; i++) {
		for (p = (const unsigned char *)parts[i]; *p != '\0'; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0) * 1099511628211ULL;
	}
	return h;
}

/* {repeats_lock} held.  The request number of this text for this page. */
static unsigned long
repeat_count_locked(uint64_t digest, uint64_t id, time_t now)
{
	struct repeat *e, *oldest = &repeats[0];
	size_t i;

	for (i = 0; i < REPEATS_MAX; i++) {
		e = &repeats[i];
		if (e->count > 0 && now - e->when > REPEAT_WINDOW_S)
			e->count = 0;
		if (e->count > 0 && e->digest == digest) {
			if (e->last_id != id) {
				e->count++;
				e->last_id = id;
			}
			e->when = now;
			return e->count;
		}
		if (e->count == 0 || (oldest->count > 0 && e->when < oldest->when))
			oldest = e;
	}
	*oldest = (struct repeat){digest, id, 1, now};
	return 1;
}

void
dialog_repeat_note(const struct request *req, const char *text, char *buf, size_t size)
{
	unsigned long n;

	buf[0] = '\0';
	if (req->local || req->origin[0] == '\0')
		return;
	pthread_mutex_lock(&repeats_lock);
	n = repeat_count_locked(digest_of(req->origin, text), req->id, time(NULL));
	pthread_mutex_unlock(&repeats_lock);
	if (n > 1)
		/* TRANSLATORS: after the first sentence of a dialog that a page showed before. */
		snprintf(buf, size,
		    _(" This page asked for the same before: this is request number %lu."), n);
}
