/*
 * pin_new.c - the dialog for a new PIN (pins.change, pins.unblock,
 * pins.initialize): typed twice, in pinentry's repeat field where the
 * pinentry has one (it compares the two and shows its own mismatch line),
 * else in a second dialog that we compare with the first; and checked
 * against the token's length limits, which the dialog says.
 *
 * Must never: return a PIN that was not typed twice alike, or one whose
 * length the token refuses; log, cache or copy a PIN (the two entries are
 * compared in constant time and both wiped).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "protocol/cberr.h"
#include "common/i18n.h"
#include "pkcs11/dialog.h"
#include "pkcs11/log.h"
#include "pkcs11/pin.h"
#include "pkcs11/request.h"
#include "pkcs11/secret.h"

/* Dialogs before a new PIN that never came twice alike, or of a bad length, gives up. */
#define NEW_PIN_TRIES 3

struct new_pin {
	struct request *req;
	const struct pin_prompt *prompt;
	unsigned long min_len, max_len;
	char desc[DIALOG_TEXT_MAX];
};

/* The description: who asks what, then "Enter the new ... twice." and the limits. */
static void
new_pin_describe(struct new_pin *np)
{
	char limits[160] = "", closing[320];
	unsigned long lo = np->min_len, hi = np->max_len;

	if (lo > 0 && hi > 0)
		snprintf(limits, sizeof(limits),
		    /* TRANSLATORS: the length limits of a new PIN, "from 4 to 16". */
		    P_("It must have from %lu to %lu character.",
			"It must have from %lu to %lu characters.", hi),
		    lo, hi);
	else if (lo > 0)
		snprintf(limits, sizeof(limits),
		    P_("It must have at least %lu character.",
			"It must have at least %lu characters.", lo),
		    lo);
	else if (hi > 0)
		snprintf(limits, sizeof(limits),
		    P_("It must have at most %lu character.",
			"It must have at most %lu characters.", hi),
		    hi);
	snprintf(closing, sizeof(closing), "%s%s%s",
	    np->prompt->admin_pin ? _("Enter the new admin PIN twice.")
				  : _("Enter the new user PIN twice."),
	    limits[0] ? " " : "", limits);
	pin_describe(np->desc, sizeof(np->desc), np->req, np->prompt, closing);
}

/*
 * One dialog.  repeat: ask for the repeat in pinentry's own field.  *pin is
 * what was typed; *repeated when pinentry compared it with its repeat.
 */
static int
new_pin_dialog(struct new_pin *np, const char *prompt, const char *error, bool repeat,
    struct secret **pin, bool *repeated)
{
	struct dialog d = {.req = np->req};
	int r;

	*pin = NULL;
	*repeated = false;
	if (request_is_cancelled(np->req))
		return request_fail(np->req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	if ((d.pin = secret_new(np->prompt->max_len)) == NULL)
		return CB_ERR_ALLOC;
	if ((r = dialog_start(&d)) == 0 && (r = dialog_texts(&d, np->desc, prompt, error)) == 0) {
		/* A pinentry without the repeat field refuses these: we compare ourselves. */
		if (repeat) {
			dialog_command(&d, "SETREPEAT", _("Repeat the new PIN:"), false);
			dialog_command(
			    &d, "SETREPEATERROR", _("The PINs do not match. Try again."), false);
		}
		/* Progress hook (doc/PROTOCOL.md "Progress"): waitingForPin, pin user|admin. */
		r = dialog_getpin(&d);
	}
	*repeated = d.repeated;
	return pin_dialog_end(&d, r, pin);
}

static bool
secret_equal(const struct secret *a, const struct secret *b)
{
	return a->len == b->len && CRYPTO_memcmp(a->data, b->data, a->len) == 0;
}

/* NULL when pin's length suits the token, else the next dialog's error line in again. */
static const char *
new_pin_length_problem(struct new_pin *np, const struct secret *pin, char *again, size_t size)
{
	if (np->min_len > 0 && pin->len < np->min_len)
		snprintf(again, size,
		    P_("The PIN must have at least %lu character.",
			"The PIN must have at least %lu characters.", np->min_len),
		    np->min_len);
	else if (np->max_len > 0 && pin->len > np->max_len)
		snprintf(again, size,
		    P_("The PIN must have at most %lu character.",
			"The PIN must have at most %lu characters.", np->max_len),
		    np->max_len);
	else
		return NULL;
	return again;
}

/* One round: the PIN and its repeat, or *error set for the next round and *out NULL. */
static int
new_pin_round(struct new_pin *np, const char **error, char *again, size_t size, struct secret **out)
{
	const char *prompt = np->prompt->admin_pin ? _("New admin PIN:") : _("New user PIN:");
	struct secret *pin = NULL, *repeat = NULL;
	bool repeated, ignored;
	int r;

	*out = NULL;
	if ((r = new_pin_dialog(np, prompt, *error, true, &pin, &repeated)) != 0)
		return r;
	if ((*error = new_pin_length_problem(np, pin, again, size)) != NULL)
		goto out;
	if (!repeated) {
		if ((r = new_pin_dialog(
			 np, _("Repeat the new PIN:"), NULL, false, &repeat, &ignored)) != 0)
			goto out;
		if (!secret_equal(pin, repeat)) {
			*error = _("The PINs do not match. Try again.");
			goto out;
		}
	}
	*out = pin;
	pin = NULL; /* transferred */
out:
	secret_free(pin);
	secret_free(repeat);
	return r;
}

int
pin_ask_new(struct request *req, const struct pin_prompt *prompt, unsigned long min_len,
    unsigned long max_len, struct secret **pin)
{
	struct new_pin np = {.req = req, .prompt = prompt, .min_len = min_len, .max_len = max_len};
	char again[REQUEST_MESSAGE_MAX];
	const char *error = prompt->error;
	int r, round;

	*pin = NULL;
	new_pin_describe(&np);
	for (round = 1; round <= NEW_PIN_TRIES; round++) {
		if ((r = new_pin_round(&np, &error, again, sizeof(again), pin)) != 0 ||
		    *pin != NULL)
			return r;
		helper_log(CB_LOG_INFO,
		    "request %llu: the new PIN was refused before the token "
		    "saw it, asking again",
		    (unsigned long long)req->id);
	}
	return request_fail(req, CB_ERR_PIN_INVALID,
	    "no new PIN of a length the token takes was typed twice alike");
}
