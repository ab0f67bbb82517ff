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
	bool locked; /* holds token_lock() */
};

/*
 * exclusive: a read-write session under the token's lock, for anything
 * that logs in or writes.  Otherwise a read-only session without the lock.
 */
int session_open(struct request *req, struct token *t, bool exclusive, struct session *s);

/* Ask for the PIN (operation in plain words for the dialog) and log in. */
int session_login(struct session *s, const char *operation);

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
