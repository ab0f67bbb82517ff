/*
 * pin-stub.c - the PIN dialogs of pkcs11/pin.h, answered from a list
 * (tests/pin-stub.h), for unit tests that link login.c without pinentry.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "protocol/cberr.h"
#include "pkcs11/pin.h"
#include "pkcs11/request.h"
#include "pkcs11/secret.h"
#include "tests/pin-stub.h"

struct pin_stub pin_stub;

void
pin_stub_reset(const char *pin1, const char *pin2, const char *pin3)
{
	memset(&pin_stub, 0, sizeof(pin_stub));
	pin_stub.typed[0] = pin1;
	pin_stub.typed[1] = pin2;
	pin_stub.typed[2] = pin3;
}

int
pin_ask(struct request *req, const struct pin_prompt *prompt, struct secret **pin)
{
	int i = pin_stub.dialogs;
	const char *typed = i < PIN_STUB_DIALOGS_MAX ? pin_stub.typed[i] : NULL;

	*pin = NULL;
	if (i < PIN_STUB_DIALOGS_MAX) {
		snprintf(pin_stub.shown[i], sizeof(pin_stub.shown[i]), "%s",
		    prompt->error != NULL ? prompt->error : "");
		snprintf(
		    pin_stub.operation[i], sizeof(pin_stub.operation[i]), "%s", prompt->operation);
	}
	pin_stub.dialogs++;
	if (typed == NULL)
		return request_fail(req, CB_ERR_USER_CANCELLED, "the user cancelled the dialog");
	if ((*pin = secret_new(prompt->max_len)) == NULL ||
	    secret_append(*pin, typed, strlen(typed)) != 0) {
		secret_free(*pin);
		*pin = NULL;
		return CB_ERR_ALLOC;
	}
	return 0;
}

int
pin_pad_begin(struct request *req, const struct pin_prompt *prompt, struct dialog **out)
{
	(void)req, (void)prompt;
	*out = NULL;
	pin_stub.dialogs++;
	return 0;
}

void
pin_pad_end(struct dialog *d)
{
	(void)d;
}
