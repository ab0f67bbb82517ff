/*
 * log.h - the helper's log lines on stderr, and the run-time configuration
 * that main() sets up from the command line before any worker starts.
 *
 * Both live here, not in helper.c, so that every part of the helper may use
 * them while helper.c (main, the frame reader, dispatch) calls into the
 * rest and nothing calls back into it.
 */
#ifndef CB_PKCS11_LOG_H
#define CB_PKCS11_LOG_H

#include <stdbool.h>

enum cb_log_level {
	CB_LOG_ERROR = 0,
	CB_LOG_WARN = 1,
	CB_LOG_INFO = 2,
	CB_LOG_DEBUG = 3,
};

/* Set once by main() before any worker starts; read-only afterwards. */
struct helper_config {
	const char *pinentry;	     /* program for PIN dialogs */
	unsigned int prompt_timeout; /* seconds */
	int log_level;		     /* enum cb_log_level */
	const char *fault;	     /* CB_HELPER_FAULT, only with CB_HELPER_TESTING=1 */
	int card_back_ms; /* CB_HELPER_CARD_BACK_MS, likewise: how long a write waits for its card
			   */
};

extern struct helper_config helper_config;

/* One line on stderr; never pass a PIN or a message body. */
void helper_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The level called name ("error", "warn", "info", "debug"), or -1. */
int helper_log_level(const char *name);

/*
 * True when the test-only fault hook named point is armed: the helper was
 * started with CB_HELPER_TESTING=1 and CB_HELPER_FAULT=point.
 */
bool helper_fault(const char *point);

/* When the fault hook named point is armed: sleep 1.5 s (a slow token, a late answer). */
void helper_fault_pause(const char *point);

/*
 * How long a request waits for its turn, at the screen (dialog.c) or at a
 * token another request is using (token_lock.c), before it gives up with
 * BUSY: 30 s, or the prompt timeout if that is shorter.  Milliseconds.
 */
unsigned long helper_wait_limit_ms(void);

#endif /* CB_PKCS11_LOG_H */
