/*
 * login.h - logging in on a token session with a PIN the user types into a
 * pinentry dialog or on the reader's keypad (login.c).
 */
#ifndef CB_PKCS11_LOGIN_H
#define CB_PKCS11_LOGIN_H

#include <p11-kit/p11-kit.h>

struct request;
struct secret;
struct token;
struct token_session;

/*
 * Log in as user (CKU_USER or CKU_SO), asking for the PIN in a dialog that
 * names the operation in plain words; a wrong PIN is asked for again, up
 * to three dialogs.  Errors: PIN_LOCKED (before any dialog when the token
 * says so), PIN_INCORRECT after the third wrong PIN, PIN_INVALID, the
 * dialog's errors (USER_CANCELLED, TIMEOUT, BUSY); req->retries_left is set
 * when the token's flags tell (1: final try, 0: locked).  Logs out first
 * when logged in as the other user.  s must be exclusive.
 */
int login_as(struct token_session *s, CK_USER_TYPE user, const char *operation);

/*
 * login_as(), and *keep is the PIN that was accepted, for a C_SetPIN that
 * needs it again (the caller secret_free()s it).  Always asks, even when
 * logged in already; *keep stays NULL after a PIN typed on the reader's
 * keypad or when the token needs no login.
 */
int login_as_keeping(
    struct token_session *s, CK_USER_TYPE user, const char *operation, struct secret **keep);

/* login_as() with the PIN that writes on this token (token_user_for_writing). */
int login_to_write(struct token_session *s, const char *operation);

/* PIN_LOCKED (with retries_left 0) when t says the PIN of user is locked; re-reads t's
 * flags unless they are fresh (t->info_fresh). */
int login_check_pin(struct request *req, struct token *t, CK_USER_TYPE user);

#endif /* CB_PKCS11_LOGIN_H */
