/*
 * denied_store.c - the user's denied sites (denied_store.h), loaded from
 * and saved to one small JSON file:
 *
 *   {"deniedSites": {"evil.example": 1733660000}}
 *
 * each value the Unix time at which the deny ends.  Saved the way
 * origins.json is (origins_store_write_file: temporary file, fsync,
 * rename, mode 0600).  Must never: keep more than DENIED_MAX sites (the
 * ones ending soonest go first), nor read a damaged file as anything but
 * an empty list.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/denied_store.h"
#include "daemon/log.h"
#include "daemon/origins_store.h"
#include "daemon/site.h"
#include "protocol/cberr.h"

#define DENIED_MAX 1024
#define DENIED_MAX_BYTES (256 * 1024)

struct denied {
	char site[SITE_MAX];
	time_t until;
};

struct denied_store {
	char *path; /* NULL: in memory only */
	struct denied *sites;
	size_t n;
};

char *
denied_store_default_path(void)
{
	return origins_store_user_path("XDG_STATE_HOME", ".local/state", "denied.json");
}

/* A site as site_of() writes them: a host name, an IPv4 or a bracketed IPv6 literal. */
static bool
site_ok(const char *site)
{
	size_t n = strlen(site);

	return n > 0 && n < SITE_MAX &&
	       strspn(site, "abcdefghijklmnopqrstuvwxyz0123456789.-[]:") == n;
}

static struct denied *
find(const struct denied_store *st, const char *site)
{
	size_t i;

	for (i = 0; st != NULL && i < st->n; i++)
		if (strcmp(st->sites[i].site, site) == 0)
			return &st->sites[i];
	return NULL;
}

/* Make room for one more: drop what has expired, then what ends soonest. */
static void
make_room(struct denied_store *st, time_t now)
{
	size_t i, j, soonest = 0;

	for (i = j = 0; i < st->n; i++)
		if (st->sites[i].until > now)
			st->sites[j++] = st->sites[i];
	st->n = j;
	if (st->n < DENIED_MAX)
		return;
	for (i = 1; i < st->n; i++)
		if (st->sites[i].until < st->sites[soonest].until)
			soonest = i;
	st->sites[soonest] = st->sites[--st->n];
}

static int
put(struct denied_store *st, const char *site, time_t until, time_t now)
{
	struct denied *d = find(st, site), *grown;

	if (d != NULL) {
		d->until = until;
		return 0;
	}
	make_room(st, now);
	if ((grown = realloc(st->sites, (st->n + 1) * sizeof(*grown))) == NULL)
		return CB_ERR_ALLOC;
	st->sites = grown;
	snprintf(st->sites[st->n].site, sizeof(st->sites[st->n].site), "%s", site);
	st->sites[st->n++].until = until;
	return 0;
}

static void
load_entries(struct denied_store *st, struct json_object *root, time_t now)
{
	struct json_object *sites;

	if (!json_object_object_get_ex(root, "deniedSites", &sites) ||
	    !json_object_is_type(sites, json_type_object)) {
		log_warn("%s: no \"deniedSites\" object; no denied site loaded", st->path);
		return;
	}
	json_object_object_foreach(sites, site, until)
	{
		if (!site_ok(site) || !json_object_is_type(until, json_type_int))
			log_warn("%s: entry \"%.64s\" skipped", st->path, site);
		else if (json_object_get_int64(until) > now &&
			 put(st, site, (time_t)json_object_get_int64(until), now) != 0)
			return;
	}
}

int
denied_store_load(struct denied_store **out, const char *path)
{
	struct denied_store *st;
	struct json_object *root;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (path != NULL && (st->path = strdup(path)) == NULL)) {
		free(st);
		return CB_ERR_ALLOC;
	}
	if ((root = origins_store_read_file(path, DENIED_MAX_BYTES, "no denied site loaded")) !=
	    NULL)
		load_entries(st, root, time(NULL));
	json_object_put(root);
	*out = st;
	return 0;
}

void
denied_store_free(struct denied_store *st)
{
	if (st == NULL)
		return;
	free(st->sites);
	free(st->path);
	free(st);
}

bool
denied_store_contains(const struct denied_store *st, const char *site, time_t now)
{
	const struct denied *d = find(st, site);

	return d != NULL && d->until > now;
}

static int
save(const struct denied_store *st)
{
	struct json_object *sites;
	size_t i;

	if (st->path == NULL)
		return 0; /* in memory only, as asked */
	if ((sites = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	for (i = 0; i < st->n; i++)
		json_object_object_add(
		    sites, st->sites[i].site, json_object_new_int64((int64_t)st->sites[i].until));
	return origins_store_write_file(st->path, "deniedSites", sites);
}

int
denied_store_add(struct denied_store *st, const char *site, time_t until)
{
	int r;

	if (!site_ok(site))
		return CB_ERR_INVALID_PARAMS;
	if ((r = put(st, site, until, time(NULL))) != 0)
		return r;
	return save(st);
}

int
denied_store_remove(struct denied_store *st, const char *site)
{
	struct denied *d = find(st, site);

	if (d == NULL)
		return 0;
	*d = st->sites[--st->n];
	return save(st);
}
