/*
 * log.c - stderr logging shared by cardbridged's threads.
 *
 * A single fprintf of a fully formatted line keeps records from different
 * threads whole.  Control characters are replaced so that nothing a page
 * sends (an origin, a method name) can forge a log line.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"

static enum log_level current_level = LOG_LVL_INFO;
static const char *log_ident = "cardbridged";
static int use_prefix;

int
log_level_parse(const char *name, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
	    {"error", LOG_LVL_ERROR},
	    {"warn", LOG_LVL_WARN},
	    {"warning", LOG_LVL_WARN},
	    {"info", LOG_LVL_INFO},
	    {"debug", LOG_LVL_DEBUG},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	return -1;
}

void
log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level
log_get_level(void)
{
	return current_level;
}

void
log_init(const char *ident)
{
	log_ident = ident;
	use_prefix = getenv("JOURNAL_STREAM") != NULL;
}

static const char *
level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERROR:
		return "error";
	case LOG_LVL_WARN:
		return "warning";
	case LOG_LVL_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
cb_log(enum log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	size_t i;

	if (level > current_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	if (use_prefix)
		fprintf(stderr, "<%d>%s\n", (int)level, msg);
	else
		fprintf(
		    stderr, "%s[%d]: %s: %s\n", log_ident, (int)getpid(), level_name(level), msg);
}
