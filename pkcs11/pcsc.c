/*
 * pcsc.c - the helper's questions to PC/SC (pcsc.h): the readers and the
 * ATRs of their cards, and whether the card of an operation is still
 * there.  The daemon's card watcher (daemon/cardwatch.c) reports events to
 * pages; the helper asks for itself, at the moment it must decide, so that
 * its answer never depends on how fast an event travels.
 *
 * Must never: connect to a card, send an APDU, or block without a bound
 * (every wait has a timeout).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include "protocol/claim.h"
#include "pkcs11/pcsc.h"

/* How long one wait for a card lasts before stop() is asked again. */
#define WAIT_SLICE_MS 250

static void
reader_fill(struct pcsc_reader *r, const SCARD_READERSTATE *st)
{
	DWORD i;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", st->szReader);
	r->events = (unsigned)((st->dwEventState >> 16) & 0xffff);
	if (!(st->dwEventState & SCARD_STATE_PRESENT))
		return;
	for (i = 0; i < st->cbAtr && i < 33; i++)
		snprintf(r->atr + 2 * i, 3, "%02x", st->rgbAtr[i]);
}

/* Every reader's state now, on ctx. */
static void
read_readers(SCARDCONTEXT ctx, struct pcsc_view *v)
{
	SCARD_READERSTATE st[PCSC_READERS_MAX];
	DWORD len = SCARD_AUTOALLOCATE, n = 0, i;
	char *list = NULL, *p;

	v->n = 0;
	if (SCardListReaders(ctx, NULL, (LPSTR)&list, &len) != SCARD_S_SUCCESS)
		return; /* SCARD_E_NO_READERS_AVAILABLE among others */
	memset(st, 0, sizeof(st));
	for (p = list; *p && n < PCSC_READERS_MAX; p += strlen(p) + 1) {
		st[n].szReader = p;
		st[n++].dwCurrentState = SCARD_STATE_UNAWARE;
	}
	if (n > 0 && SCardGetStatusChange(ctx, 0, st, n) == SCARD_S_SUCCESS)
		for (i = 0; i < n; i++)
			reader_fill(&v->readers[v->n++], &st[i]);
	SCardFreeMemory(ctx, list);
}

void
pcsc_view_read(struct pcsc_view *v)
{
	SCARDCONTEXT ctx;

	memset(v, 0, sizeof(*v));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
		return;
	v->service = true;
	read_readers(ctx, v);
	SCardReleaseContext(ctx);
}

const struct pcsc_reader *
pcsc_view_find(const struct pcsc_view *v, const char *slot)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (claim_slot_in_reader(v->readers[i].name, slot))
			return &v->readers[i];
	return NULL;
}

void
pcsc_watch_begin(struct pcsc_watch *w, const char *slot)
{
	const struct pcsc_reader *r;
	struct pcsc_view v;
	SCARDCONTEXT ctx;

	memset(w, 0, sizeof(*w));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
		return;
	memset(&v, 0, sizeof(v));
	read_readers(ctx, &v);
	if ((r = pcsc_view_find(&v, slot)) == NULL || r->atr[0] == '\0') {
		SCardReleaseContext(ctx);
		return;
	}
	w->card = *r;
	w->ctx = (long)ctx;
	w->active = true;
}

static bool
service_failed(LONG rv)
{
	return rv == (LONG)SCARD_E_NO_SERVICE || rv == (LONG)SCARD_E_SERVICE_STOPPED ||
	       rv == (LONG)SCARD_E_INVALID_HANDLE || rv == (LONG)SCARD_F_COMM_ERROR;
}

/* What one answer of SCardGetStatusChange says about w's card. */
static enum pcsc_verdict
verdict(const struct pcsc_watch *w, LONG rv, const SCARD_READERSTATE *st)
{
	if (service_failed(rv))
		return PCSC_SERVICE_GONE;
	if (rv == (LONG)SCARD_E_UNKNOWN_READER)
		return PCSC_CARD_GONE; /* the reader went, with the card */
	if (rv != SCARD_S_SUCCESS)
		return PCSC_UNKNOWN;
	if (st->dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE) ||
	    !(st->dwEventState & SCARD_STATE_PRESENT))
		return PCSC_CARD_GONE;
	/* Present, but pulled and put back (or another card) since we began. */
	if (((st->dwEventState >> 16) & 0xffff) != w->card.events)
		return PCSC_CARD_GONE;
	return PCSC_SAME_CARD;
}

/* The state of w's reader now (timeout 0), in *st, for a wait on it after. */
static LONG
reader_now(const struct pcsc_watch *w, SCARD_READERSTATE *st)
{
	memset(st, 0, sizeof(*st));
	st->szReader = w->card.name;
	st->dwCurrentState = SCARD_STATE_UNAWARE;
	return SCardGetStatusChange((SCARDCONTEXT)w->ctx, 0, st, 1);
}

enum pcsc_verdict
pcsc_watch_check(const struct pcsc_watch *w, int wait_ms)
{
	SCARD_READERSTATE st;
	enum pcsc_verdict v;
	LONG rv;

	if (!w->active)
		return PCSC_UNKNOWN;
	rv = reader_now(w, &st);
	if ((v = verdict(w, rv, &st)) != PCSC_SAME_CARD || wait_ms <= 0)
		return v;
	/* Returns at the first change pcscd sees, or after wait_ms without one. */
	st.dwCurrentState = st.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
	rv = SCardGetStatusChange((SCARDCONTEXT)w->ctx, (DWORD)wait_ms, &st, 1);
	if (rv == (LONG)SCARD_E_TIMEOUT)
		return PCSC_SAME_CARD;
	return verdict(w, rv, &st);
}

enum pcsc_verdict
pcsc_watch_wait_card(const struct pcsc_watch *w, int ms, bool (*stop)(void *arg), void *arg)
{
	SCARD_READERSTATE st;
	LONG rv;
	int slice = 0;

	if (!w->active)
		return PCSC_UNKNOWN;
	for (rv = reader_now(w, &st);; ms -= slice) {
		if (service_failed(rv))
			return PCSC_SERVICE_GONE;
		if (rv != SCARD_S_SUCCESS && rv != (LONG)SCARD_E_TIMEOUT &&
		    rv != (LONG)SCARD_E_UNKNOWN_READER)
			return PCSC_UNKNOWN;
		if (rv == SCARD_S_SUCCESS && (st.dwEventState & SCARD_STATE_PRESENT) &&
		    !(st.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)))
			return PCSC_CARD_BACK;
		if (ms <= 0 || (stop != NULL && stop(arg)))
			return PCSC_CARD_GONE;
		st.dwCurrentState = rv == SCARD_S_SUCCESS
					? st.dwEventState & ~(DWORD)SCARD_STATE_CHANGED
					: SCARD_STATE_UNAWARE;
		slice = ms < WAIT_SLICE_MS ? ms : WAIT_SLICE_MS;
		if (rv == (LONG)SCARD_E_UNKNOWN_READER) { /* the reader is not back either */
			struct timespec pause = {0, (long)slice * 1000000L};

			nanosleep(&pause, NULL);
		}
		rv = SCardGetStatusChange((SCARDCONTEXT)w->ctx, (DWORD)slice, &st, 1);
	}
}

void
pcsc_watch_end(struct pcsc_watch *w)
{
	if (w->active)
		SCardReleaseContext((SCARDCONTEXT)w->ctx);
	w->active = false;
}
