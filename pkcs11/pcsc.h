/*
 * pcsc.h - what PC/SC (pcscd) says about the readers and their cards, as
 * the helper asks it: which card is in which reader (for module by ATR),
 * and whether the card a request works on is still there, or pcscd itself
 * went away.  pcsc.c; tests/pcsc-stub.c stands in for it in unit tests.
 *
 * Asking PC/SC costs no APDU and never connects to a card: pcscd answers
 * from the reader states it keeps (SCardGetStatusChange).  Any thread may
 * call these; each watch has a PC/SC context of its own.
 */
#ifndef CB_PKCS11_PCSC_H
#define CB_PKCS11_PCSC_H

#include <stdbool.h>
#include <stddef.h>

#define PCSC_READERS_MAX 16
#define PCSC_READER_MAX 128
#define PCSC_ATR_HEX_MAX (2 * 33 + 1)

struct pcsc_reader {
	char name[PCSC_READER_MAX];
	char atr[PCSC_ATR_HEX_MAX]; /* hex; "" when the reader holds no card */
	unsigned events;	    /* pcscd's count of card insertions and removals there */
};

/* Every reader, as pcscd saw it at one moment. */
struct pcsc_view {
	bool service; /* pcscd answered */
	size_t n;
	struct pcsc_reader readers[PCSC_READERS_MAX];
};

void pcsc_view_read(struct pcsc_view *v);

/* The reader the slot (slotDescription, trimmed) is in, or NULL. */
const struct pcsc_reader *pcsc_view_find(const struct pcsc_view *v, const char *slot);

/*
 * One card followed through one operation: its reader and pcscd's event
 * count when the operation began, on a PC/SC context of its own.  The
 * context is what tells a stopped pcscd from a removed card: once pcscd
 * stops, that context fails, even when a new pcscd has started meanwhile.
 */
struct pcsc_watch {
	bool active; /* the slot is a PC/SC reader that held a card */
	long ctx;    /* SCARDCONTEXT, open while active */
	struct pcsc_reader card;
};

enum pcsc_verdict {
	PCSC_UNKNOWN,	   /* not a PC/SC reader, or PC/SC did not say */
	PCSC_SAME_CARD,	   /* the card of pcsc_watch_begin() is still in the reader */
	PCSC_CARD_GONE,	   /* it left (and another card, or it again, may be there now) */
	PCSC_SERVICE_GONE, /* pcscd stopped */
	PCSC_CARD_BACK,	   /* pcsc_watch_wait_card(): a card is in the reader again */
};

/* Start following the card in the reader the slot is in (inactive if there is none). */
void pcsc_watch_begin(struct pcsc_watch *w, const char *slot);

/*
 * Is the card still there?  When PC/SC says so, wait up to wait_ms for it
 * to notice otherwise: pcscd polls some readers (vpcd) only every 400 ms,
 * so a card pulled in the middle of an APDU may still look present.
 */
enum pcsc_verdict pcsc_watch_check(const struct pcsc_watch *w, int wait_ms);

/*
 * After the card left: wait up to ms for a card in the same reader,
 * asking stop(arg) between slices whether to give up.  PCSC_CARD_BACK,
 * PCSC_CARD_GONE (not back in time), PCSC_SERVICE_GONE or PCSC_UNKNOWN.
 */
enum pcsc_verdict pcsc_watch_wait_card(
    const struct pcsc_watch *w, int ms, bool (*stop)(void *arg), void *arg);

/* Release the context; harmless on an inactive watch. */
void pcsc_watch_end(struct pcsc_watch *w);

#endif /* CB_PKCS11_PCSC_H */
