/*
 * token_session.h - a PKCS#11 session on one token for one request:
 * opening it (taking turns at the token, token_lock.h), reading and
 * finding objects, and closing it again.  login.h logs in on one.
 * Not to be confused with daemon/session.c, a page's WebSocket connection.
 */
#ifndef CB_PKCS11_TOKEN_SESSION_H
#define CB_PKCS11_TOKEN_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/p11-kit.h>

struct request;
struct token;

struct token_session {
	struct request *req;
	struct token *token; /* borrowed */
	CK_FUNCTION_LIST *funcs;
	CK_SESSION_HANDLE handle;
	bool open;
	bool logged_in;
	CK_USER_TYPE user; /* who is logged in, when logged_in */
	bool owner;	   /* holds the token's owner gate (token_lock.h) */
	bool io;	   /* holds the token's I/O gate */
	bool yielded;	   /* gave the I/O gate up for a dialog (token_session_yield) */
};

/*
 * exclusive: a read-write session that owns the token (its owner gate),
 * for anything that logs in or writes.  Otherwise a read-only session that
 * takes turns with the owner.  Either way the session holds the token's
 * I/O gate while open, but while a dialog of its request waits for the
 * user; it is req->session until closed.  Errors: the gates' BUSY and
 * USER_CANCELLED, the module's.
 */
int token_session_open(
    struct request *req, struct token *t, bool exclusive, struct token_session *s);

/*
 * The dialogs of req (dialog.c) give the I/O gate of its open session up
 * while they wait for the user, and take it again afterwards (a bounded
 * wait: BUSY, USER_CANCELLED).  No-ops when req has no session, or for
 * resume when it did not yield.
 */
void token_session_yield(struct request *req);
int token_session_resume(struct request *req);

/* C_Logout when logged in; login.h logs in. */
void token_session_logout(struct token_session *s);

/* Log out, close, unlock; safe on a session that failed to open. */
void token_session_close(struct token_session *s);

/*
 * Handles of up to max objects matching tmpl.  Objects marked CKA_PRIVATE
 * are left out unless s itself logged in: login state belongs to the whole
 * module, and a session of another request must see what it would see
 * logged out.
 */
int token_session_find(struct token_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count);

/* Every object matching tmpl, however many (*objects allocated; free it). */
int token_session_find_all(struct token_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE **objects, CK_ULONG *count);

/* Objects of class cls, only those with CKA_ID id when id is not NULL. */
int token_session_find_class(struct token_session *s, CK_OBJECT_CLASS cls, const uint8_t *id,
    size_t id_len, CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count);
int token_session_find_class_all(struct token_session *s, CK_OBJECT_CLASS cls, const uint8_t *id,
    size_t id_len, CK_OBJECT_HANDLE **objects, CK_ULONG *count);

/*
 * One attribute's value, allocated (caller frees).  An attribute the object
 * does not have or will not show gives 0 with *value NULL and *len 0.
 */
int token_session_get_attr(struct token_session *s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
    uint8_t **value, size_t *len);

/*
 * Destroy obj, logging a failure; then true only when the object is gone
 * (the module no longer knows its handle): clean-up says what happened.
 */
bool token_session_destroy(struct token_session *s, CK_OBJECT_HANDLE obj);

#endif /* CB_PKCS11_TOKEN_SESSION_H */
