/*
 * token_session.h - a PKCS#11 session on one token for one request:
 * opening it (exclusive sessions hold the token's lock), reading and
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
	bool locked;	   /* holds token_lock() */
};

/*
 * exclusive: a read-write session under the token's lock, for anything
 * that logs in or writes.  Otherwise a read-only session without the lock.
 */
int token_session_open(
    struct request *req, struct token *t, bool exclusive, struct token_session *s);

/* C_Logout when logged in; login.h logs in. */
void token_session_logout(struct token_session *s);

/* Log out, close, unlock; safe on a session that failed to open. */
void token_session_close(struct token_session *s);

/* Handles of up to max objects matching tmpl. */
int token_session_find(struct token_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count);

/* Objects of class cls, only those with CKA_ID id when id is not NULL. */
int token_session_find_class(struct token_session *s, CK_OBJECT_CLASS cls, const uint8_t *id,
    size_t id_len, CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count);

/*
 * One attribute's value, allocated (caller frees).  An attribute the object
 * does not have or will not show gives 0 with *value NULL and *len 0.
 */
int token_session_get_attr(struct token_session *s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
    uint8_t **value, size_t *len);

/* Destroy obj, logging (not returning) a failure: used on cleanup paths. */
void token_session_destroy(struct token_session *s, CK_OBJECT_HANDLE obj);

#endif /* CB_PKCS11_TOKEN_SESSION_H */
