/*
 * tap.h - a tiny TAP producer for C unit tests (automake's tap-driver).
 *
 * TAP_TEST(name) { ... TAP_CHECK(cond); ... } then in main:
 * tap_plan(n); tap_run("name", fn); ... return tap_done();
 */
#ifndef CB_TAP_H
#define CB_TAP_H

#include <stdio.h>

static int tap_count, tap_failed, tap_current_failed;

#define TAP_CHECK(cond)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
			tap_current_failed = 1;                                                    \
		}                                                                                  \
	} while (0)

static inline void
tap_plan(int n)
{
	printf("1..%d\n", n);
}

static inline void
tap_run(const char *name, void (*fn)(void))
{
	tap_current_failed = 0;
	fn();
	tap_count++;
	if (tap_current_failed)
		tap_failed++;
	printf("%s %d - %s\n", tap_current_failed ? "not ok" : "ok", tap_count, name);
	fflush(stdout);
}

static inline int
tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif /* CB_TAP_H */
