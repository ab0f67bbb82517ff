/*
 * pcsc-stub.h - pkcs11/pcsc.h for unit tests (pcsc-stub.c): no pcscd, the
 * readers and cards are what the test puts in pcsc_stub.view, and a
 * watched card's fate is pcsc_stub.verdict.
 */
#ifndef CB_TESTS_PCSC_STUB_H
#define CB_TESTS_PCSC_STUB_H

#include "pkcs11/pcsc.h"

struct pcsc_stub {
	struct pcsc_view view;	   /* what pcsc_view_read() and pcsc_watch_begin() see */
	enum pcsc_verdict verdict; /* what pcsc_watch_check() answers for an active watch */
	enum pcsc_verdict back;	   /* what pcsc_watch_wait_card() answers */
	int checks;		   /* calls of pcsc_watch_check() */
	int waited_ms;		   /* the wait_ms of the last one */
};

extern struct pcsc_stub pcsc_stub;

/* No pcscd at all; then pcsc_stub_card() puts a card in a reader. */
void pcsc_stub_reset(void);
void pcsc_stub_card(const char *reader, const char *atr);

#endif /* CB_TESTS_PCSC_STUB_H */
