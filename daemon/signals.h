/*
 * signals.h - SIGTERM and SIGINT stop cardbridged gracefully.
 *
 * The handler only sets a flag and writes to an eventfd (both
 * async-signal-safe); the lws service thread watches that eventfd like
 * any other descriptor and sets d->stopping when it fires, so the event
 * loop ends after the current round and server.c closes the sessions.
 */
#ifndef CB_SIGNALS_H
#define CB_SIGNALS_H

struct daemon;

/* Service thread, after the lws context exists: watch the eventfd, install the handlers. */
int signals_start(struct daemon *d);

/* Before lws_context_destroy(), which closes the eventfd: signals only set the flag. */
void signals_stop(void);

#endif /* CB_SIGNALS_H */
