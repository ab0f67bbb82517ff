/*
 * pin.c - the PIN dialogs: a PIN typed into pinentry, or the notice that
 * tells the user to type it on the reader's keypad.
 *
 * The description names the page's origin, the operation in plain words,
 * the token and which PIN (user or admin); the dialog itself is dialog.c's.
 * The PIN goes from GETPIN straight into a struct secret on the secure heap
 * and is handed to the caller, who wipes it right after C_Login.
 * Must never: log, cache or copy the PIN, or show a text a page or a card
 * controls without protocol/display.c (dialog_words.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "protocol/cberr.h"
#include "common/i18n.h"
#include "pkcs11/dialog.h"
#include "pkcs11/dialog_words.h"
#include "pkcs11/log.h"
#include "pkcs11/pin.h"
#include "pkcs11/progress.h"
#include "pkcs11/request.h"
#include "pkcs11/secret.h"
#include "pkcs11/token_session.h"

void
pin_describe(char *buf, size_t size, const struct request *req, const struct pin_prompt *p,
    const char *closing)
{
	char origin[DIALOG_NAME_SIZE], site[DIALOG_NAME_SIZE + 32], label[TOKEN_TEXT_SIZE],
	    serial[TOKEN_TEXT_SIZE], first[DIALOG_TEXT_MAX], note[256];

	dialog_origin(origin, sizeof(origin), req);
	dialog_site_line(site, sizeof(site), req);
	dialog_shown(p->token_label, TOKEN_TEXT_CHARS, label, sizeof(label));
	dialog_shown(p->token_serial, TOKEN_TEXT_CHARS, serial, sizeof(serial));
	/*
	 * TRANSLATORS: the origin (https://portal.example), what it asks to do
	 * ("generate an EC P-256 key pair"), the token's label and serial
	 * number.  An empty line and the sentence saying which PIN to enter
	 * follow.
	 */
	snprintf(first, sizeof(first), _("%s asks to %s on the token \"%s\" (serial number %s)."),
	    origin, p->operation, label, serial[0] ? serial : _("unknown"));
	dialog_repeat_note(req, first, note, sizeof(note));
	snprintf(buf, size, "%s%s%s\n\n%s", site, first, note, closing);
}

int
pin_ask(struct request *req, const struct pin_prompt *prompt, struct secret **pin)
{
	struct dialog d = {.req = req};
	char desc[DIALOG_TEXT_MAX];
	int r;

	*pin = NULL;
	if (request_is_cancelled(req))
		return request_fail(req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	if ((d.pin = secret_new(prompt->max_len)) == NULL)
		return CB_ERR_ALLOC;
	if (prompt->puk)
		pin_describe(
		    desc, sizeof(desc), req, prompt, _("Enter the PUK of this token to allow it."));
	else
		pin_describe(desc, sizeof(desc), req, prompt,
		    prompt->admin_pin ? _("Enter the admin PIN of this token to allow it.")
				      : _("Enter the user PIN of this token to allow it."));
	if ((r = dialog_start(&d)) == 0 && (r = dialog_texts(&d, desc,
						prompt->puk	    ? _("PUK:")
						: prompt->admin_pin ? _("Admin PIN:")
								    : _("User PIN:"),
						prompt->error)) == 0) {
		progress_report(req, PROGRESS_WAITING_FOR_PIN,
		    prompt->puk		? PROGRESS_PIN_PUK
		    : prompt->admin_pin ? PROGRESS_PIN_ADMIN
					: PROGRESS_PIN_USER);
		r = dialog_getpin(&d);
	}
	return pin_dialog_end(&d, r, pin);
}

int
pin_dialog_end(struct dialog *d, int r, struct secret **pin)
{
	r = dialog_end(d, r);
	if (r == 0) {
		*pin = d->pin;
		d->pin = NULL; /* transferred */
	}
	secret_free(d->pin);
	d->pin = NULL;
	return r;
}

int
pin_pad_begin(struct request *req, const struct pin_prompt *prompt, struct dialog **out)
{
	struct dialog *d;
	char desc[DIALOG_TEXT_MAX];
	int r;

	*out = NULL;
	if (request_is_cancelled(req))
		return request_fail(req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return CB_ERR_ALLOC;
	d->req = req;
	pin_describe(desc, sizeof(desc), req, prompt,
	    prompt->closing != NULL ? prompt->closing
	    : prompt->admin_pin	    ? _("Enter the admin PIN on the reader's keypad.")
				    : _("Enter the user PIN on the reader's keypad."));
	/*
	 * The notice stays up while C_Login waits for the keypad; pin_pad_end()
	 * takes it down.  The login talks to the token: take our turn back first.
	 */
	if ((r = dialog_start(d)) == 0 && (r = dialog_texts(d, desc, NULL, prompt->error)) == 0 &&
	    (r = dialog_show(d)) == 0) {
		if ((r = token_session_resume(req)) == 0) {
			*out = d;
			return 0;
		}
		dialog_dismiss(d);
		free(d);
		return r;
	}
	/* dialog_end() may find that the request was cancelled meanwhile. */
	r = dialog_end(d, r);
	free(d);
	if (r == CB_ERR_USER_CANCELLED || r == CB_ERR_BUSY || r == CB_ERR_ALLOC)
		return r;
	/* The keypad still works: go on without the notice, and without its error text. */
	helper_log(CB_LOG_WARN, "request %llu: cannot show the PIN-pad notice",
	    (unsigned long long)req->id);
	req->message[0] = '\0';
	return 0;
}

void
pin_pad_end(struct dialog *d)
{
	if (d == NULL)
		return;
	dialog_dismiss(d);
	free(d);
}
