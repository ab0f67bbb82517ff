/*
 * pin-stub.h - pkcs11/pin.h's dialogs for unit tests (pin-stub.c): no
 * pinentry, the user "types" what the test put in pin_stub.typed, and
 * what each dialog showed is kept.
 */
#ifndef CB_TESTS_PIN_STUB_H
#define CB_TESTS_PIN_STUB_H

#define PIN_STUB_DIALOGS_MAX 8

struct pin_stub {
	const char *typed[PIN_STUB_DIALOGS_MAX]; /* what the user types, dialog by dialog */
	char shown[PIN_STUB_DIALOGS_MAX][256];	 /* each dialog's error line ("" for none) */
	char operation[PIN_STUB_DIALOGS_MAX][256];
	int dialogs; /* PIN dialogs and PIN-pad notices shown */
};

extern struct pin_stub pin_stub;

/* No dialog shown yet; the user will type pin1, then pin2, then pin3 (NULL: cancels). */
void pin_stub_reset(const char *pin1, const char *pin2, const char *pin3);

#endif /* CB_TESTS_PIN_STUB_H */
