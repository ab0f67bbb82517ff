/*
 * pin.h - ask the user for a PIN through a pinentry program (Assuan).
 *
 * One call is one dialog with one pinentry process; nothing is cached.
 * The same machinery asks yes/no questions (pin_confirm).  A
 * retry loop (later work) calls pin_ask() again with prompt.error set.
 */
#ifndef CB_PKCS11_PIN_H
#define CB_PKCS11_PIN_H

#include <stddef.h>

struct request;
struct secret;

struct pin_prompt {
	const char *operation; /* plain words: "generate an RSA 2048 key pair" */
	const char *token_label;
	const char *token_serial;
	const char *pin_name; /* "user PIN" or "admin PIN" */
	const char *error;    /* shown above the entry on a retry; NULL at first */
	size_t max_len;	      /* longest PIN accepted, bytes */
};

/*
 * Run one dialog for req.  On success *pin holds what was typed (the caller
 * secret_free()s it as soon as it was used).  Errors: USER_CANCELLED (the
 * user cancelled, or the request was cancelled), TIMEOUT, PIN_INVALID (too
 * long), INTERNAL (no pinentry could be run).
 */
int pin_ask(struct request *req, const struct pin_prompt *prompt, struct secret **pin);

/*
 * A yes/no dialog about prompt's operation: question closes the description,
 * ok labels the button that says yes.  0 for yes; USER_CANCELLED for no.
 */
int pin_confirm(
    struct request *req, const struct pin_prompt *prompt, const char *question, const char *ok);

#endif /* CB_PKCS11_PIN_H */
