/*
 * tap.h - a tiny TAP producer for C unit tests (automake's tap-driver).
 *
 * static void test_x(void) { ... TAP_CHECK(cond); ... } then in main:
 * static const struct tap_test tests[] = {TAP_TEST(test_x), ...};
 * return tap_main(tests, sizeof(tests) / sizeof(tests[0]));
 */
#ifndef CB_TAP_H
#define CB_TAP_H

#include <stddef.h>
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

/* One test function of a file's table; TAP_TEST(fn) names it after fn. */
struct tap_test {
	const char *name;
	void (*fn)(void);
};

#define TAP_TEST(fn)                                                                               \
	{                                                                                          \
#fn, fn                                                                            \
	}

/* Run every test of the table in order, as TAP; main()'s exit status. */
static inline int
tap_main(const struct tap_test *tests, size_t count)
{
	size_t i;

	tap_plan((int)count);
	for (i = 0; i < count; i++)
		tap_run(tests[i].name, tests[i].fn);
	return tap_done();
}

#endif /* CB_TAP_H */
