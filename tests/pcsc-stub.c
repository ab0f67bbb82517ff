/*
 * pcsc-stub.c - pkcs11/pcsc.h without pcscd, for the unit tests of the
 * helper's token code (pcsc-stub.h); and the part of request.c's registry
 * that card.c uses, for one request and no threads.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/claim.h"
#include "pkcs11/request.h"
#include "tests/pcsc-stub.h"

struct pcsc_stub pcsc_stub;

void
pcsc_stub_reset(void)
{
	memset(&pcsc_stub, 0, sizeof(pcsc_stub));
	pcsc_stub.verdict = PCSC_SAME_CARD;
	pcsc_stub.back = PCSC_CARD_GONE;
}

void
pcsc_stub_card(const char *reader, const char *atr)
{
	struct pcsc_reader *r = &pcsc_stub.view.readers[pcsc_stub.view.n++];

	pcsc_stub.view.service = true;
	snprintf(r->name, sizeof(r->name), "%s", reader);
	snprintf(r->atr, sizeof(r->atr), "%s", atr);
	r->events = 1;
}

void
pcsc_view_read(struct pcsc_view *v)
{
	*v = pcsc_stub.view;
}

const struct pcsc_reader *
pcsc_view_find(const struct pcsc_view *v, const char *slot)
{
	size_t i = 0;

	while (i < v->n && !claim_slot_in_reader(v->readers[i].name, slot))
		i++;
	return i < v->n ? &v->readers[i] : NULL;
}

void
pcsc_watch_begin(struct pcsc_watch *w, const char *slot)
{
	const struct pcsc_reader *r = pcsc_view_find(&pcsc_stub.view, slot);

	memset(w, 0, sizeof(*w));
	if (r != NULL && r->atr[0] != '\0') {
		w->card = *r;
		w->active = true;
	}
}

enum pcsc_verdict
pcsc_watch_check(const struct pcsc_watch *w, int wait_ms)
{
	pcsc_stub.checks++;
	pcsc_stub.waited_ms = wait_ms;
	return w->active ? pcsc_stub.verdict : PCSC_UNKNOWN;
}

enum pcsc_verdict
pcsc_watch_wait_card(const struct pcsc_watch *w, int ms, bool (*stop)(void *arg), void *arg)
{
	(void)ms;
	(void)stop;
	(void)arg;
	return w->active ? pcsc_stub.back : PCSC_UNKNOWN;
}

void
pcsc_watch_end(struct pcsc_watch *w)
{
	w->active = false;
}

/* --- request.c's, for card.c --- */

void
request_bind_reader(struct request *req, const char *reader, unsigned events)
{
	snprintf(req->reader, sizeof(req->reader), "%s", reader);
	req->reader_events = events;
}

bool
request_is_cancelled(struct request *req)
{
	return req->cancelled;
}

int
request_interrupted(struct request *req)
{
	return req->cancelled ? CB_ERR_USER_CANCELLED : req->card_gone;
}

int
request_card_removed(const char *reader, unsigned events, bool service_stopped)
{
	(void)reader;
	(void)events;
	(void)service_stopped;
	return 0;
}
