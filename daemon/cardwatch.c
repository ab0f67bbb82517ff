/*
 * cardwatch.c - the PC/SC watcher thread.
 *
 * Threads: cardwatch_start/take/stop run on the lws service thread; the
 * rest on the watcher thread.  Shared: the event queue and `stopping`
 * under `lock`.  The watcher never touches lws or a session.
 *
 * pcscd may come and go (its unit uses --auto-exit and socket activation,
 * and tests kill it): SCARD_E_NO_SERVICE and friends drop the context,
 * report every known reader as removed, and wait on inotify for pcscd's
 * socket to reappear.  Nothing here polls.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include "daemon/cardwatch.h"
#include "daemon/log.h"
#include "protocol/cberr.h"

#define CW_MAX_READERS 16
#define PNP_READER "\\\\?PnP?\\Notification"

struct cardwatch {
	pthread_t thread;
	pthread_mutex_t lock;
	void (*wake)(void *);
	void *wake_arg;
	int stop_fd; /* eventfd: wakes the inotify wait */

	/* {lock} */
	struct cardwatch_event *events, **tail;
	bool stopping;
	SCARDCONTEXT ctx; /* valid while `have_ctx`: SCardCancel target */
	bool have_ctx;

	/* watcher thread only */
	SCARD_READERSTATE states[CW_MAX_READERS + 1];
	size_t nreaders;
};

const char *
cardwatch_type_name(enum cardwatch_type t)
{
	switch (t) {
	case CW_READER_ADDED:
		return "readerAdded";
	case CW_READER_REMOVED:
		return "readerRemoved";
	case CW_CARD_INSERTED:
		return "cardInserted";
	case CW_CARD_REMOVED:
		return "cardRemoved";
	}
	return "?";
}

static bool
is_stopping(struct cardwatch *w)
{
	bool s;

	pthread_mutex_lock(&w->lock);
	s = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return s;
}

/* Card events carry pcscd's event count (the upper half of dwEventState). */
static void
emit_counted(struct cardwatch *w, enum cardwatch_type type, const char *reader,
    const unsigned char *atr, size_t atrlen, DWORD state, bool service_lost)
{
	struct cardwatch_event *e;
	size_t i;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	e->type = type;
	e->events = (unsigned)((state >> 16) & 0xffff);
	e->service_lost = service_lost;
	snprintf(e->reader, sizeof(e->reader), "%s", reader);
	for (i = 0; atr && i < atrlen && i < 33; i++)
		snprintf(e->atr + 2 * i, 3, "%02x", atr[i]);
	log_info("%s: %s%s%s", cardwatch_type_name(type), reader, e->atr[0] ? " atr " : "", e->atr);
	pthread_mutex_lock(&w->lock);
	*w->tail = e;
	w->tail = &e->next;
	pthread_mutex_unlock(&w->lock);
	w->wake(w->wake_arg);
}

static void
emit(struct cardwatch *w, enum cardwatch_type type, const char *reader, const unsigned char *atr,
    size_t atrlen)
{
	emit_counted(w, type, reader, atr, atrlen, 0, false);
}

/* service_lost: pcscd went away; its readers and cards are reported gone. */
static void
forget_reader(struct cardwatch *w, size_t i, bool service_lost)
{
	SCARD_READERSTATE *st = &w->states[i];

	if (st->dwCurrentState & SCARD_STATE_PRESENT)
		emit_counted(w, CW_CARD_REMOVED, st->szReader, NULL, 0, 0, service_lost);
	emit_counted(w, CW_READER_REMOVED, st->szReader, NULL, 0, 0, service_lost);
	free((char *)st->szReader);
	memmove(&w->states[i], &w->states[i + 1], (w->nreaders - i - 1) * sizeof(*st));
	w->nreaders--;
}

static void
forget_all(struct cardwatch *w, bool service_lost)
{
	while (w->nreaders > 0)
		forget_reader(w, w->nreaders - 1, service_lost);
}

/* Re-read the reader list; report readers that came and went. */
static LONG
sync_readers(struct cardwatch *w, SCARDCONTEXT ctx)
{
	char *list = NULL, *p;
	DWORD len = SCARD_AUTOALLOCATE;
	LONG rv;
	size_t i;
	bool found;

	rv = SCardListReaders(ctx, NULL, (LPSTR)&list, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		forget_all(w, false);
		return SCARD_S_SUCCESS;
	}
	if (rv != SCARD_S_SUCCESS)
		return rv;
	for (i = w->nreaders; i-- > 0;) {
		found = false;
		for (p = list; *p; p += strlen(p) + 1)
			found = found || strcmp(p, w->states[i].szReader) == 0;
		if (!found)
			forget_reader(w, i, false);
	}
	for (p = list; *p && w->nreaders < CW_MAX_READERS; p += strlen(p) + 1) {
		found = false;
		for (i = 0; i < w->nreaders; i++)
			found = found || strcmp(p, w->states[i].szReader) == 0;
		if (found)
			continue;
		memset(&w->states[w->nreaders], 0, sizeof(w->states[0]));
		w->states[w->nreaders].szReader = strdup(p);
		w->states[w->nreaders].dwCurrentState = SCARD_STATE_UNAWARE;
		if (w->states[w->nreaders].szReader == NULL)
			break;
		w->nreaders++;
		emit(w, CW_READER_ADDED, p, NULL, 0);
	}
	SCardFreeMemory(ctx, list);
	return SCARD_S_SUCCESS;
}

/* Compare new and old state of each reader; report card insertions/removals. */
static void
report_changes(struct cardwatch *w)
{
	SCARD_READERSTATE *st;
	DWORD was, now;
	size_t i;

	for (i = 0; i < w->nreaders; i++) {
		st = &w->states[i];
		if (!(st->dwEventState & SCARD_STATE_CHANGED))
			continue;
		was = st->dwCurrentState & SCARD_STATE_PRESENT;
		now = st->dwEventState & SCARD_STATE_PRESENT;
		if (now && !was)
			emit_counted(w, CW_CARD_INSERTED, st->szReader, st->rgbAtr, st->cbAtr,
			    st->dwEventState, false);
		else if (!now && was)
			emit_counted(
			    w, CW_CARD_REMOVED, st->szReader, NULL, 0, st->dwEventState, false);
		st->dwCurrentState = st->dwEventState & ~SCARD_STATE_CHANGED;
	}
}

/* Watch one pcscd lifetime; returns when it goes away or on stop. */
static void
watch_context(struct cardwatch *w, SCARDCONTEXT ctx)
{
	SCARD_READERSTATE *pnp;
	LONG rv;

	for (;;) {
		if ((rv = sync_readers(w, ctx)) != SCARD_S_SUCCESS)
			break;
		/* The PnP pseudo-reader always sits after the real ones. */
		pnp = &w->states[w->nreaders];
		memset(pnp, 0, sizeof(*pnp));
		pnp->szReader = PNP_READER;
		pnp->dwCurrentState = (DWORD)(w->nreaders << 16);
		do {
			rv = SCardGetStatusChange(ctx, INFINITE, w->states, (DWORD)w->nreaders + 1);
			if (rv == SCARD_S_SUCCESS)
				report_changes(w);
		} while (rv == SCARD_S_SUCCESS && !(pnp->dwEventState & SCARD_STATE_CHANGED) &&
			 !is_stopping(w));
		if (rv != SCARD_S_SUCCESS || is_stopping(w))
			break;
	}
	if (rv != SCARD_S_SUCCESS && rv != (LONG)SCARD_E_CANCELLED)
		log_info("PC/SC: %s; waiting for pcscd", pcsc_stringify_error(rv));
	forget_all(w, rv != SCARD_S_SUCCESS && rv != (LONG)SCARD_E_CANCELLED);
}

/*
 * Block until pcscd's socket directory changes, or stop.  When the socket
 * file exists but nobody answers (a killed pcscd leaves it behind, or a new
 * one is still starting), also give up after timeout_ms; otherwise wait
 * without a timeout: no wake-ups while pcscd is simply not there.
 */
static void
wait_for_pcscd(struct cardwatch *w, int timeout_ms)
{
	char path[PATH_MAX], *dir;
	const char *sock = getenv("PCSCLITE_CSOCK_NAME");
	struct pollfd pfd[2];
	char buf[4096];
	int fd;

	snprintf(path, sizeof(path), "%s", sock ? sock : "/run/pcscd/pcscd.comm");
	dir = dirname(path);
	if ((fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
		return;
	if (inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0) {
		/* The directory itself is missing: watch its parent. */
		snprintf(path, sizeof(path), "%s", dir);
		if (inotify_add_watch(fd, dirname(path), IN_CREATE | IN_MOVED_TO) < 0) {
			close(fd);
			return;
		}
	}
	snprintf(path, sizeof(path), "%s", sock ? sock : "/run/pcscd/pcscd.comm");
	if (access(path, F_OK) != 0)
		timeout_ms = -1;
	pfd[0] = (struct pollfd){.fd = fd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = w->stop_fd, .events = POLLIN};
	if (poll(pfd, 2, timeout_ms) > 0 && (pfd[0].revents & POLLIN))
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	close(fd);
}

static void *
watch_thread(void *arg)
{
	struct cardwatch *w = arg;
	SCARDCONTEXT ctx;
	int backoff_ms = 250;
	LONG rv;

	while (!is_stopping(w)) {
		rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
		if (rv != SCARD_S_SUCCESS) {
			log_debug("PC/SC: %s", pcsc_stringify_error(rv));
			wait_for_pcscd(w, backoff_ms);
			backoff_ms = backoff_ms < 16000 ? backoff_ms * 2 : 30000;
			/* pcscd creates its socket a moment before it listens. */
			usleep(100 * 1000);
			continue;
		}
		backoff_ms = 250;
		pthread_mutex_lock(&w->lock);
		w->ctx = ctx;
		w->have_ctx = true;
		pthread_mutex_unlock(&w->lock);
		watch_context(w, ctx);
		pthread_mutex_lock(&w->lock);
		w->have_ctx = false;
		pthread_mutex_unlock(&w->lock);
		SCardReleaseContext(ctx);
	}
	return NULL;
}

int
cardwatch_start(struct cardwatch **out, void (*wake)(void *), void *wake_arg)
{
	struct cardwatch *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CB_ERR_ALLOC;
	pthread_mutex_init(&w->lock, NULL);
	w->wake = wake;
	w->wake_arg = wake_arg;
	w->tail = &w->events;
	if ((w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
		log_error("cannot start the card watcher: %s", strerror(errno));
		free(w);
		return CB_ERR_SYSTEM;
	}
	*out = w;
	return 0;
}

struct cardwatch_event *
cardwatch_take(struct cardwatch *w)
{
	struct cardwatch_event *e;

	pthread_mutex_lock(&w->lock);
	e = w->events;
	w->events = NULL;
	w->tail = &w->events;
	pthread_mutex_unlock(&w->lock);
	return e;
}

void
cardwatch_event_free(struct cardwatch_event *e)
{
	struct cardwatch_event *next;

	for (; e; e = next) {
		next = e->next;
		free(e);
	}
}

void
cardwatch_stop(struct cardwatch *w)
{
	uint64_t one = 1;

	if (w == NULL)
		return;
	struct timespec t;
	int tries;

	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_mutex_unlock(&w->lock);
	if (write(w->stop_fd, &one, sizeof(one)) < 0)
		log_debug("card watcher: wake-up failed");
	/*
	 * SCardCancel only interrupts a wait already in progress, so repeat it
	 * until the thread notices `stopping`.
	 */
	for (tries = 0; tries < 20; tries++) {
		pthread_mutex_lock(&w->lock);
		if (w->have_ctx)
			SCardCancel(w->ctx);
		pthread_mutex_unlock(&w->lock);
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 100 * 1000 * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(w->thread, NULL, &t) == 0)
			break;
	}
	if (tries == 20) {
		log_warn("card watcher did not stop; leaving it behind");
		pthread_detach(w->thread);
		return;
	}
	cardwatch_event_free(w->events);
	close(w->stop_fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
