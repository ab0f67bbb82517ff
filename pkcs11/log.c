/*
 * log.c - the helper's log lines and its run-time configuration.
 *
 * Any thread may log: a line is formatted first and written with one
 * fprintf, which stdio locks, so lines of two workers never mix.  The
 * configuration is written by main() before the workers start and only
 * read afterwards, so it needs no lock.
 * Must never: log a PIN or a message body (callers pass neither), or call
 * into any other part of the helper: everything calls this file.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol/methods.h"
#include "pkcs11/log.h"

/* The longest wait for the screen or a token, seconds (doc/HELPER-IPC.md). */
#define WAIT_LIMIT_S 30

struct helper_config helper_config = {
    .pinentry = "pinentry",
    .prompt_timeout = PROTO_DEFAULT_PROMPT_TIMEOUT,
    .log_level = CB_LOG_INFO,
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
helper_log(int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (level > helper_config.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cardbridge-pkcs11-helper[%ld]: %s: %s\n", (long)getpid(),
	    level_names[level], line);
}

int
helper_log_level(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

bool
helper_fault(const char *point)
{
	return helper_config.fault != NULL && strcmp(helper_config.fault, point) == 0;
}

void
helper_fault_pause(const char *point)
{
	struct timespec t = {1, 500000000L};

	if (helper_fault(point))
		while (nanosleep(&t, &t) != 0)
			;
}

unsigned long
helper_wait_limit_ms(void)
{
	unsigned int s = helper_config.prompt_timeout;

	return (s < WAIT_LIMIT_S ? s : WAIT_LIMIT_S) * 1000UL;
}
