/*
 * pin.h - the PIN dialogs: PIN entry, and the PIN-pad notice.
 *
 * One call is one dialog (dialog.h) with one pinentry process; nothing is
 * cached.  Only one dialog is open in the helper at a time: a dialog waits
 * for the one before it (at most 30 s, or the prompt timeout if that is
 * shorter) and then fails with BUSY.  A request that is cancelled while it
 * waits or while its dialog is open gets USER_CANCELLED and its pinentry is
 * killed.
 */
#ifndef CB_PKCS11_PIN_H
#define CB_PKCS11_PIN_H

#include <stdbool.h>
#include <stddef.h>

struct request;
struct secret;
struct dialog;

struct pin_prompt {
	const char *operation; /* plain words, translated: "generate an RSA 2048 key pair" */
	const char *token_label;
	const char *token_serial;
	bool admin_pin;	     /* the admin PIN (CKU_SO), else the user PIN */
	bool puk;	     /* the PUK (unblocking; admin_pin is then ignored) */
	const char *error;   /* shown above the entry on a retry; NULL at first */
	const char *closing; /* PIN-pad notices: the sentence after the empty line, or NULL */
	size_t max_len;	     /* longest PIN accepted, bytes */
};

/*
 * Run one PIN dialog for req.  On success *pin holds what was typed (the
 * caller secret_free()s it as soon as it was used).  Errors: USER_CANCELLED
 * (the user cancelled, or the request was cancelled), TIMEOUT, BUSY (another
 * dialog stayed open), PIN_INVALID (too long), INTERNAL (no pinentry).
 */
int pin_ask(struct request *req, const struct pin_prompt *prompt, struct secret **pin);

/*
 * "<origin> asks to <operation> on the token ...", an empty line, then
 * closing: the start of every PIN dialog's description.
 */
void pin_describe(char *buf, size_t size, const struct request *req, const struct pin_prompt *p,
    const char *closing);

/* End a PIN dialog: on success (r == 0) *pin takes what GETPIN read, else it is wiped. */
int pin_dialog_end(struct dialog *d, int r, struct secret **pin);

/*
 * A new PIN, typed twice (pin_new.c): pinentry's repeat field where the
 * pinentry has one, else a second dialog; PINs that differ are asked for
 * again and never returned.  min_len and max_len (0: none) are checked
 * before it is returned, and said in the dialog.  prompt->admin_pin: the
 * new admin PIN, else the new user PIN; prompt->error: the first dialog's
 * error line (why the token refused the last new PIN), or NULL.  Errors: those of pin_ask(), and
 * PIN_INVALID after three dialogs without two equal PINs of a good length.
 */
int pin_ask_new(struct request *req, const struct pin_prompt *prompt, unsigned long min_len,
    unsigned long max_len, struct secret **pin);

/*
 * PIN-pad readers: show "Enter the user PIN on the reader's keypad" (or
 * the admin PIN) without an entry field and leave it open; *out is the
 * open dialog (or NULL when no dialog could be shown, which is not an
 * error: the keypad works without it).  pin_pad_end() closes it once C_Login returned.
 * Errors: USER_CANCELLED, BUSY.
 */
int pin_pad_begin(struct request *req, const struct pin_prompt *prompt, struct dialog **out);
void pin_pad_end(struct dialog *d);

#endif /* CB_PKCS11_PIN_H */
