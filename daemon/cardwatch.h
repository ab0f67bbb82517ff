/*
 * cardwatch.h - PC/SC reader and card events for cardbridged.
 *
 * A thread of its own blocks in SCardGetStatusChange (readers plus the
 * \\?PnP?\Notification pseudo-reader) and, while pcscd is absent, in
 * inotify on pcscd's socket directory: no polling, no wake-ups while
 * nothing changes.  Events reach the lws service thread through a queue
 * and the wake callback (lws_cancel_service); only that thread reads them.
 */
#ifndef CB_CARDWATCH_H
#define CB_CARDWATCH_H

#include <stdbool.h>

enum cardwatch_type {
	CW_READER_ADDED,
	CW_READER_REMOVED,
	CW_CARD_INSERTED,
	CW_CARD_REMOVED,
};

struct cardwatch_event {
	struct cardwatch_event *next;
	enum cardwatch_type type;
	char reader[128];
	char atr[2 * 33 + 1]; /* hex, empty when unknown */
	unsigned events;      /* pcscd's count of card events in the reader; 0 when unknown */
	bool service_lost;    /* reported because pcscd went away, not because of the card */
};

struct cardwatch;

/* Runs on the service thread. */
int cardwatch_start(struct cardwatch **out, void (*wake)(void *), void *wake_arg);
struct cardwatch_event *cardwatch_take(struct cardwatch *w);
void cardwatch_event_free(struct cardwatch_event *e);
void cardwatch_stop(struct cardwatch *w);

const char *cardwatch_type_name(enum cardwatch_type t);

#endif /* CB_CARDWATCH_H */
