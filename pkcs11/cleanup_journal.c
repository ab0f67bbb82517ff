/*
 * cleanup_journal.c - the journal of unfinished clean-ups (cleanup.h):
 * $XDG_STATE_HOME/cardbridge/cleanup.json (or ~/.local/state/...), a JSON
 * object {"cleanups": [{"token", "id", "publicKey", "request"}...]}.
 *
 * Callers hold journal_lock() from load to save.  Saves are atomic (a
 * temporary file, fsync, rename), mode 0600 in a 0700 directory; a damaged
 * or oversized file is logged and read as empty, so that it cannot stop
 * a keys.generate.
 * Must never: follow a symbolic link for the file, or hold more than
 * JOURNAL_ENTRIES_MAX entries (the oldest go, with a log line).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/fdio.h"
#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "pkcs11/cleanup_journal.h"
#include "pkcs11/log.h"

#define JOURNAL_BYTES_MAX 65536
#define JOURNAL_ENTRIES_MAX 64

static pthread_mutex_t journal_mutex = PTHREAD_MUTEX_INITIALIZER;

void
journal_lock(void)
{
	pthread_mutex_lock(&journal_mutex);
}

void
journal_unlock(void)
{
	pthread_mutex_unlock(&journal_mutex);
}

/* The directory, made when make is set; false when there is none to use. */
static bool
journal_dir(char *dir, size_t size, bool make)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char parent[PATH_MAX];
	int n;

	if (state != NULL && state[0] == '/')
		n = snprintf(parent, sizeof(parent), "%s", state);
	else if (home != NULL && home[0] == '/')
		n = snprintf(parent, sizeof(parent), "%s/.local/state", home);
	else
		return false;
	if (n < 0 || (size_t)n >= sizeof(parent) ||
	    (n = snprintf(dir, size, "%s/cardbridge", parent)) < 0 || (size_t)n >= size)
		return false;
	if (!make)
		return true;
	/* ~/.local/state may not exist yet: one level up is made too, like mkdir -p. */
	if (mkdir(parent, 0700) != 0 && errno != EEXIST)
		return false;
	return mkdir(dir, 0700) == 0 || errno == EEXIST;
}

static struct json_object *
empty_array(void)
{
	return json_object_new_array();
}

struct json_object *
journal_load(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], buf[JOURNAL_BYTES_MAX + 1];
	struct json_object *root, *list;
	struct proto_failure fail;
	ssize_t n;
	int fd;

	if (!journal_dir(dir, sizeof(dir), false))
		return empty_array();
	snprintf(path, sizeof(path), "%s/cleanup.json", dir);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return empty_array(); /* none yet: nothing was left behind */
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || n > JOURNAL_BYTES_MAX ||
	    (root = proto_parse_object(buf, (size_t)n, 8, &fail)) == NULL) {
		helper_log(
		    CB_LOG_WARN, "%s is damaged; unfinished clean-ups in it are forgotten", path);
		return empty_array();
	}
	if (!json_object_object_get_ex(root, "cleanups", &list) ||
	    !json_object_is_type(list, json_type_array))
		list = NULL;
	list = list != NULL ? json_object_get(list) : empty_array();
	json_object_put(root);
	return list;
}

int
journal_save(struct json_object *list)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], tmp[PATH_MAX + 32];
	struct json_object *root;
	const char *text;
	int fd, r = CB_ERR_SYSTEM;

	while (json_object_array_length(list) > JOURNAL_ENTRIES_MAX) {
		helper_log(CB_LOG_WARN, "too many unfinished clean-ups: the oldest is forgotten");
		json_object_array_del_idx(list, 0, 1);
	}
	if (!journal_dir(dir, sizeof(dir), json_object_array_length(list) > 0))
		return json_object_array_length(list) > 0 ? CB_ERR_SYSTEM : 0;
	snprintf(path, sizeof(path), "%s/cleanup.json", dir);
	if (json_object_array_length(list) == 0)
		return unlink(path) == 0 || errno == ENOENT ? 0 : CB_ERR_SYSTEM;
	snprintf(tmp, sizeof(tmp), "%s/.cleanup.json.%ld", dir, (long)getpid());
	if ((root = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	json_object_object_add(root, "cleanups", json_object_get(list));
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
		r = cb_write_all(fd, text, strlen(text)) == 0 ? 0 : CB_ERR_SYSTEM;
		if (r == 0 && (fsync(fd) != 0 || rename(tmp, path) != 0))
			r = CB_ERR_SYSTEM;
		close(fd);
		if (r != 0)
			unlink(tmp);
	}
	if (r != 0)
		helper_log(CB_LOG_ERROR, "cannot save %s: %s", path, strerror(errno));
	json_object_put(root);
	return r;
}
