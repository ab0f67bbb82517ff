/*
 * session.h - a PKCS#11 session on one token for one request: opening it
 * (exclusive sessions hold the token's lock), logging in with a PIN from
 * pinentry, reading and finding objects, and closing it again.
 */
#ifndef CB_PKCS11_SESSION_H
#define CB_PKCS11_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/p11-kit.h>

struct request;
struct token;

struct session {
	struct request *req;
	struct token *token; /* borrowed */
	CK_FUNCTION_LIST *funcs;
	CK_SESSION_HANDLE handle;
	bool open;
	bool logged_in;
	CK_USER_TYPE user; /* who is logged in, when logged_in */
	bool locked;	   /* holds token_lock() */
};

/*
 * exclusive: a read-write session under the token's lock, for anything
 * that logs in or writes.  Otherwise a read-only session without the lock.
 */
int session_open(struct request *req, struct token *t, bool exclusive, struct session *s);

/*
 * Log in as user (CKU_USER or CKU_SO), asking for the PIN in a dialog that
 * names the operation in plain words; a wrong PIN is asked for again, up
 * to three dialogs.  Errors: PIN_LOCKED (before any dialog when the token
 * says so), PIN_INCORRECT after the third wrong PIN, PIN_INVALID, the
 * dialog's errors (USER_CANCELLED, TIMEOUT, BUSY); req->retries_left is set
 * when the token's flags tell (1: final try, 0: locked).  Logs out first
 * when logged in as the other user.
 */
int session_login_as(struct session *s, CK_USER_TYPE user, const char *operation);

/* session_login_as() with the PIN that writes on this token (token_user_for_writing). */
int session_login(struct session *s, const char *operation);

void session_logout(struct session *s);

/* PIN_LOCKED (with retries_left 0) when t says the PIN of user is locked; re-reads t's flags. */
int session_check_pin(struct request *req, struct token *t, CK_USER_TYPE user);

/* Log out, close, unlock; safe on a session that failed to open. */
void session_close(struct session *s);

/* Handles of up to max objects matching tmpl. */
int session_find(struct session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *objects,
    CK_ULONG max, CK_ULONG *count);

/* Objects of class cls, only those with CKA_ID id when id is not NULL. */
int session_find_class(struct session *s, CK_OBJECT_CLASS cls, const uint8_t *id, size_t id_len,
    CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count);

/*
 * One attribute's value, allocated (caller frees).  An attribute the object
 * does not have or will not show gives 0 with *value NULL and *len 0.
 */
int session_get_attr(
    struct session *s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, uint8_t **value, size_t *len);

/* Destroy obj, logging (not returning) a failure: used on cleanup paths. */
void session_destroy(struct session *s, CK_OBJECT_HANDLE obj);

#endif /* CB_PKCS11_SESSION_H */
