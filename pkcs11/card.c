/*
 * card.c - what became of the card a request works on (card.h): was it
 * pulled, did the smart-card service stop, is it back.
 *
 * PC/SC is asked (pcsc.c), never the card: OpenSC reports a card pulled in
 * the middle of an APDU exchange as CKR_GENERAL_ERROR or
 * CKR_FUNCTION_NOT_SUPPORTED, and a stopped pcscd the same way, so the
 * CK_RV cannot tell; asking the module again would cost status APDUs (an
 * OpenPGP card answers each C_GetTokenInfo with a VERIFY) and time.  A
 * failure the helper found itself in what the token answered (no CK_RV)
 * needs no question at all.  Slots that are no PC/SC reader (SoftHSM, a
 * vendor's own transport) are asked of their module, once.
 * Must never: send an APDU of its own, or call a card removed while PC/SC
 * says it never left.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/card.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"

/*
 * How long PC/SC may take to notice a card that is gone: pcscd polls readers
 * that cannot signal an event (vpcd among them) every 400 ms.  Spent only
 * when a PKCS#11 call failed and the card still looks present.
 */
#define REMOVAL_NOTICE_MS 600
#define SLOTS_MAX 64

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

void
card_bind(struct request *req, struct token *t)
{
	pcsc_watch_end(&t->card);
	pcsc_watch_begin(&t->card, t->reader);
	request_bind_reader(req, t->card.active ? t->card.card.name : t->reader,
	    t->card.active ? t->card.card.events : 0);
}

/* Slots that are no PC/SC reader: is t's slot still listed with t's token? */
static bool
token_still_present(const struct token *t)
{
	CK_SLOT_ID slots[SLOTS_MAX];
	CK_ULONG count = SLOTS_MAX, i;
	CK_TOKEN_INFO info;

	/* The sizing call first: it makes a module look at its readers again. */
	if (t->module->funcs->C_GetSlotList(CK_TRUE, NULL, &count) != CKR_OK)
		return false;
	count = SLOTS_MAX;
	if (t->module->funcs->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK)
		return false;
	for (i = 0; i < count; i++)
		if (slots[i] == t->slot)
			break;
	if (i == count || t->module->funcs->C_GetTokenInfo(t->slot, &info) != CKR_OK)
		return false;
	return memcmp(info.serialNumber, t->info.serialNumber, sizeof(info.serialNumber)) == 0 &&
	       memcmp(info.label, t->info.label, sizeof(info.label)) == 0;
}

static int
card_left(struct request *req, const struct token *t, int why)
{
	if (why == CB_ERR_SERVICE_STOPPED) {
		helper_log(CB_LOG_INFO, "request %llu: the smart-card service stopped",
		    (unsigned long long)req->id);
		return request_fail(req, why,
		    "the smart-card service (pcscd) stopped during the operation; the card was "
		    "not removed");
	}
	helper_log(CB_LOG_INFO, "request %llu: the token \"%s\" was removed",
	    (unsigned long long)req->id, t->label);
	return request_fail(req, why, "the card was removed during the operation");
}

static const char *
verdict_name(enum pcsc_verdict v)
{
	switch (v) {
	case PCSC_SAME_CARD:
		return "the card is still there";
	case PCSC_CARD_GONE:
		return "the card left";
	case PCSC_SERVICE_GONE:
		return "pcscd stopped";
	default:
		return "no answer";
	}
}

int
token_check_removed(struct request *req, const struct token *t, int err)
{
	struct timespec start;
	enum pcsc_verdict v;
	int told;

	if (err != CB_ERR_MODULE_ERROR && err != CB_ERR_TOKEN_NOT_PRESENT &&
	    err != CB_ERR_CARD_REMOVED)
		return err;
	/* The daemon's card watcher said so already (a dialog was closed for it). */
	if ((told = request_interrupted(req)) == CB_ERR_CARD_REMOVED ||
	    told == CB_ERR_SERVICE_STOPPED)
		return err == told ? err : card_left(req, t, told);
	/* A verdict on what the token answered: the card was there to answer. */
	if (err == CB_ERR_MODULE_ERROR && !req->module_failed)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &start);
	v = pcsc_watch_check(&t->card, REMOVAL_NOTICE_MS);
	helper_log(CB_LOG_DEBUG, "request %llu: after the failure, PC/SC: %s (%ld ms)",
	    (unsigned long long)req->id, verdict_name(v), elapsed_ms(&start));
	switch (v) {
	case PCSC_CARD_GONE:
		return card_left(req, t, CB_ERR_CARD_REMOVED);
	case PCSC_SERVICE_GONE:
		return card_left(req, t, CB_ERR_SERVICE_STOPPED);
	case PCSC_SAME_CARD:
		return err;
	default:
		return t->card.active || token_still_present(t)
			   ? err
			   : card_left(req, t, CB_ERR_CARD_REMOVED);
	}
}

/* Runs on the main thread (PROTO_M_INLINE): only marks requests and signals pinentries. */
int
handle_card_removed(struct request *req, struct json_object **result)
{
	struct json_object *obj, *v;
	const char *reader = proto_param_string(req->params, "reader");
	unsigned events = 0;
	bool stopped = false;
	int told;

	if (json_object_object_get_ex(req->params, "events", &v))
		events = (unsigned)json_object_get_int64(v);
	if (json_object_object_get_ex(req->params, "serviceStopped", &v))
		stopped = json_object_get_boolean(v);
	if (reader == NULL)
		return request_fail(req, CB_ERR_INVALID_PARAMS, "params.reader: missing");
	if ((told = request_card_removed(reader, events, stopped)) > 0)
		helper_log(CB_LOG_INFO, "%s: %s; %d request(s) told", reader,
		    stopped ? "the smart-card service stopped" : "the card was removed", told);
	if ((obj = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	json_object_object_add(obj, "told", json_object_new_int(told));
	*result = obj;
	return 0;
}
