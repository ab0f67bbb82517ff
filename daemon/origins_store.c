/*
 * origins_store.c - load and atomically save the user's origin allow-list.
 *
 * The file is {"allowedOrigins": ["https://portal.example", ...]}, written
 * only by cardbridged on behalf of "cardbridge origins allow|revoke":
 * a temporary file in the same directory, fsync, rename, fsync of the
 * directory, mode 0600.  A crash leaves the old list or the new one, never
 * half of one.  Every entry goes through origin_parse() and
 * origin_is_acceptable() on the way in and on the way out of the file.
 * This file must never touch the administrator's list (struct cb_config).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/fdio.h"
#include "daemon/log.h"
#include "daemon/origins_store.h"
#include "protocol/cberr.h"
#include "protocol/origin.h"

#define STORE_MAX_ORIGINS 1024
#define STORE_MAX_BYTES (1024 * 1024)

struct origins_store {
	char *path; /* NULL: in memory only */
	char **origins;
	size_t n;
};

char *
origins_store_user_path(const char *xdg_variable, const char *home_dir, const char *file)
{
	const char *xdg = getenv(xdg_variable), *home = getenv("HOME");
	char path[PATH_MAX];
	int n;

	/* The XDG rule: an absolute $XDG_..._HOME, else the default under $HOME. */
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(path, sizeof(path), "%s/cardbridge/%s", xdg, file);
	else if (home != NULL && home[0] == '/')
		n = snprintf(path, sizeof(path), "%s/%s/cardbridge/%s", home, home_dir, file);
	else
		return NULL;
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	return strdup(path);
}

char *
origins_store_default_path(void)
{
	/* The same rule as the user's config.json (daemon/conf.c). */
	return origins_store_user_path("XDG_CONFIG_HOME", ".config", "origins.json");
}

static bool
origin_ok(const char *text, const char **why)
{
	struct origin o;

	return origin_parse(text, &o, why) == 0 && origin_is_acceptable(&o, why);
}

static int
list_append(struct origins_store *st, const char *origin)
{
	char **n;

	if (st->n >= STORE_MAX_ORIGINS)
		return CB_ERR_TOO_LARGE;
	if ((n = realloc(st->origins, (st->n + 1) * sizeof(*n))) == NULL)
		return CB_ERR_ALLOC;
	st->origins = n;
	if ((st->origins[st->n] = strdup(origin)) == NULL)
		return CB_ERR_ALLOC;
	st->n++;
	return 0;
}

static void
load_entries(struct origins_store *st, struct json_object *root)
{
	struct json_object *list = NULL;
	const char *why, *s;
	size_t i;

	json_object_object_foreach(root, key, v)
	{
		if (strcmp(key, "allowedOrigins") == 0)
			list = v;
		else
			log_warn("%s: unknown key \"%.64s\" ignored", st->path, key);
	}
	if (list == NULL || !json_object_is_type(list, json_type_array)) {
		log_warn(
		    "%s: \"allowedOrigins\" must be an array; no user origin loaded", st->path);
		return;
	}
	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i);

		s = json_object_get_string(e);
		if (!json_object_is_type(e, json_type_string) || !origin_ok(s, &why)) {
			log_warn("%s: allowedOrigins[%zu] skipped: %s", st->path, i,
			    json_object_is_type(e, json_type_string) ? why : "not a string");
			continue;
		}
		if (!origins_store_contains(st, s) && list_append(st, s) != 0) {
			log_warn("%s: too many origins; the rest are skipped", st->path);
			return;
		}
	}
}

struct json_object *
origins_store_read_file(const char *path, size_t max_bytes, const char *consequence)
{
	struct json_object *root;
	struct stat sb;

	if (path == NULL || (stat(path, &sb) != 0 && errno == ENOENT))
		return NULL;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > max_bytes) {
		log_error("%s: not a regular file of at most %zu KiB; %s", path, max_bytes / 1024,
		    consequence);
		return NULL;
	}
	if ((root = json_object_from_file(path)) == NULL ||
	    !json_object_is_type(root, json_type_object)) {
		log_error("%s: not a JSON object; %s", path, consequence);
		json_object_put(root);
		return NULL;
	}
	return root;
}

int
origins_store_load(struct origins_store **out, const char *path)
{
	struct origins_store *st;
	struct json_object *root = NULL;
	int r = CB_ERR_ALLOC;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto out;
	if (path != NULL && (st->path = strdup(path)) == NULL)
		goto out;
	r = 0;
	root = origins_store_read_file(path, STORE_MAX_BYTES,
	    "no user origin loaded (the next \"cardbridge origins allow\" replaces it)");
	if (root != NULL) {
		load_entries(st, root);
		log_info("%zu origin(s) allowed by the user (%s)", st->n, path);
	}
out:
	json_object_put(root);
	if (r == 0) {
		*out = st;
		st = NULL;
	}
	origins_store_free(st);
	return r;
}

void
origins_store_free(struct origins_store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->n; i++)
		free(st->origins[i]);
	free(st->origins);
	free(st->path);
	free(st);
}

bool
origins_store_contains(const struct origins_store *st, const char *origin)
{
	size_t i;

	if (st == NULL || origin == NULL)
		return false;
	for (i = 0; i < st->n; i++)
		if (strcmp(st->origins[i], origin) == 0)
			return true;
	return false;
}

struct json_object *
origins_store_list(const struct origins_store *st)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; st && a && i < st->n; i++)
		json_object_array_add(a, json_object_new_string(st->origins[i]));
	return a;
}

const char *
origins_store_path(const struct origins_store *st)
{
	return st ? st->path : NULL;
}

/*
 * mkdir -p the file's directory, each new level 0700 ($XDG_CONFIG_HOME,
 * ~/.local/state and the cardbridge directory below them may all be new).
 */
static int
make_dirs(const char *path, char *dir, size_t dirlen)
{
	char *slash;

	if (snprintf(dir, dirlen, "%s", path) >= (int)dirlen ||
	    (slash = strrchr(dir, '/')) == NULL || slash == dir)
		return CB_ERR_CONFIG;
	*slash = '\0';
	for (slash = strchr(dir + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash != NULL)
			*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return CB_ERR_SYSTEM;
		if (slash == NULL)
			return 0;
		*slash = '/';
	}
}

/* Replace path with text and a newline. */
static int
write_text(const char *path, const char *text)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32] = "";
	int fd = -1, dfd = -1, r, saved;

	if ((r = make_dirs(path, dir, sizeof(dir))) != 0)
		return r;
	r = CB_ERR_SYSTEM;
	if (snprintf(tmp, sizeof(tmp), "%s/.cardbridge.XXXXXX", dir) >= (int)sizeof(tmp) ||
	    (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || cb_write_all(fd, text, strlen(text)) != 0 ||
	    cb_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0)
		goto out;
	saved = close(fd);
	fd = -1;
	if (saved != 0 || rename(tmp, path) != 0)
		goto out;
	tmp[0] = '\0';
	/* The rename itself must reach the disk too. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		fsync(dfd);
	r = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	if (dfd >= 0)
		close(dfd);
	errno = saved;
	return r;
}

int
origins_store_write_file(const char *path, const char *key, struct json_object *value)
{
	struct json_object *root;
	int r, saved;

	if ((root = json_object_new_object()) == NULL) {
		json_object_put(value);
		return CB_ERR_ALLOC;
	}
	json_object_object_add(root, key, value);
	r = write_text(path, json_object_to_json_string_ext(
				 root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	saved = errno;
	json_object_put(root);
	errno = saved;
	return r;
}

/* Write names[0..n) to st->path atomically. */
static int
save(const struct origins_store *st, char *const *names, size_t n)
{
	struct json_object *list;
	size_t i;

	if (st->path == NULL) {
		errno = ENOENT;
		return CB_ERR_SYSTEM; /* neither XDG_CONFIG_HOME nor HOME */
	}
	if ((list = json_object_new_array()) == NULL)
		return CB_ERR_ALLOC;
	for (i = 0; i < n; i++)
		json_object_array_add(list, json_object_new_string(names[i]));
	return origins_store_write_file(st->path, "allowedOrigins", list);
}

int
origins_store_add(struct origins_store *st, const char *origin)
{
	const char *why;
	int r;

	if (!origin_ok(origin, &why))
		return CB_ERR_INVALID_PARAMS;
	if (origins_store_contains(st, origin))
		return 0;
	if ((r = list_append(st, origin)) != 0)
		return r;
	/*
	 * Not saved (e.g. disk full): the file keeps what it had, but the user's
	 * answer still holds until cardbridged stops; the caller logs why.
	 */
	return save(st, st->origins, st->n);
}

int
origins_store_remove(struct origins_store *st, const char *origin)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->origins[i], origin) == 0)
			break;
	if (i == st->n)
		return CB_ERR_INVALID_PARAMS;
	free(st->origins[i]);
	memmove(&st->origins[i], &st->origins[i + 1], (st->n - i - 1) * sizeof(char *));
	st->n--;
	return save(st, st->origins, st->n);
}
