/*
 * runtime_dir.c - the user's runtime directory, with a fallback for
 * programs that a browser starts with a bare environment.
 *
 * Must never: accept a directory another user could write to, or one that
 * is not a directory (a symlink planted in /run/user is refused by lstat).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/runtime_dir.h"

/* /run/user/UID, as pam_systemd makes it: ours, a directory, nobody else's. */
static int
user_run_dir(char *out, size_t outlen)
{
	struct stat st;

	if (snprintf(out, outlen, "/run/user/%lu", (unsigned long)getuid()) >= (int)outlen)
		return -1;
	if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077) != 0)
		return -1;
	return 0;
}

char *
runtime_path(const char *leaf)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char fallback[64];
	char *path;

	if (rt == NULL || rt[0] != '/') {
		if (user_run_dir(fallback, sizeof(fallback)) != 0)
			return NULL;
		rt = fallback;
	}
	if (asprintf(&path, "%s/cardbridge/%s", rt, leaf) < 0)
		return NULL;
	return path;
}

int
runtime_dir_export(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char fallback[64];

	if (rt != NULL && rt[0] == '/')
		return 1;
	if (user_run_dir(fallback, sizeof(fallback)) != 0)
		return 0;
	return setenv("XDG_RUNTIME_DIR", fallback, 1) == 0;
}
