/*
 * daemon-unit.h - the runner of the C unit tests of daemon/ (TAP).
 *
 * Each test runs with HOME, XDG_CONFIG_HOME and XDG_STATE_HOME pointing
 * into a private temporary directory, so no test ever reads or writes the
 * user's own files; the directory is removed at the end (kept with CB_KEEP_TMP=1).
 * Log lines go to stderr, only errors, named after the test program.
 */
#ifndef CB_DAEMON_UNIT_H
#define CB_DAEMON_UNIT_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "tests/tap.h"

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(f)                                                                               \
	{                                                                                          \
#f, f                                                                              \
	}

static char unit_dir[128]; /* the temporary directory, also HOME and the XDG directories */

static inline int
unit_remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Run tests[0..n) as one TAP stream; returns the exit status. */
static inline int
unit_run(const char *program, const struct unit_test *tests, size_t n)
{
	const char *tmp = getenv("TMPDIR"), *keep = getenv("CB_KEEP_TMP");
	size_t i;
	int r;

	if (snprintf(unit_dir, sizeof(unit_dir), "%s/cb-%s-XXXXXX",
		tmp && tmp[0] == '/' && strlen(tmp) < 64 ? tmp : "/tmp",
		program) >= (int)sizeof(unit_dir) ||
	    mkdtemp(unit_dir) == NULL) {
		printf("Bail out! no temporary directory\n");
		return 1;
	}
	setenv("HOME", unit_dir, 1);
	setenv("XDG_CONFIG_HOME", unit_dir, 1);
	setenv("XDG_STATE_HOME", unit_dir, 1);
	log_init(program);
	log_set_level(LOG_LVL_ERROR);
	tap_plan((int)n);
	for (i = 0; i < n; i++)
		tap_run(tests[i].name, tests[i].fn);
	r = tap_done();
	if (!(keep && strcmp(keep, "1") == 0))
		nftw(unit_dir, unit_remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}

#endif /* CB_DAEMON_UNIT_H */
