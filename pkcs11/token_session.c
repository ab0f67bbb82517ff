/*
 * token_session.c - a PKCS#11 session on one token for one request (not a
 * connection of the daemon's): opening it, finding and reading objects,
 * destroying one, logging out and closing.  Logging in is login.c's.
 *
 * Login state in PKCS#11 belongs to the whole application, not to one
 * session: that is why an exclusive session holds the token's lock
 * (token_lock()) from C_OpenSession until after C_Logout and
 * C_CloseSession, and every login happens in one.
 * Must never: release the token lock while logged in, or hand out an
 * attribute value it did not read in full.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "pkcs11/log.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"

int
token_session_open(struct request *req, struct token *t, bool exclusive, struct token_session *s)
{
	CK_FLAGS flags = CKF_SERIAL_SESSION;
	CK_RV rv;

	memset(s, 0, sizeof(*s));
	s->req = req;
	s->token = t;
	s->funcs = t->module->funcs;
	if (exclusive) {
		if (token_lock(t))
			t->info_fresh = false;
		s->locked = true;
		flags |= CKF_RW_SESSION;
	}
	if ((rv = s->funcs->C_OpenSession(t->slot, flags, NULL, NULL, &s->handle)) != CKR_OK) {
		token_session_close(s);
		return p11_fail(req, rv, "opening a session on the token");
	}
	s->open = true;
	return 0;
}

void
token_session_close(struct token_session *s)
{
	token_session_logout(s);
	if (s->open)
		s->funcs->C_CloseSession(s->handle);
	if (s->locked)
		token_unlock(s->token);
	s->logged_in = s->open = s->locked = false;
}

void
token_session_logout(struct token_session *s)
{
	CK_RV rv;

	/*
	 * Logged in stays logged in for the whole application until the last
	 * session closes (token_session_close() closes ours next); the log
	 * says so, and the next login takes CKR_USER_ALREADY_LOGGED_IN.
	 */
	if (s->logged_in && (rv = s->funcs->C_Logout(s->handle)) != CKR_OK)
		helper_log(CB_LOG_WARN, "request %llu: C_Logout: %s",
		    (unsigned long long)s->req->id, p11_kit_strerror(rv));
	s->logged_in = false;
}

int
token_session_find(struct token_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count)
{
	CK_ULONG got = 0, chunk;
	CK_RV rv;

	*count = 0;
	if ((rv = s->funcs->C_FindObjectsInit(s->handle, tmpl, n)) != CKR_OK)
		return p11_fail(s->req, rv, "searching the token");
	while (got < max) {
		rv = s->funcs->C_FindObjects(s->handle, objects + got, max - got, &chunk);
		if (rv != CKR_OK || chunk == 0)
			break;
		got += chunk;
	}
	s->funcs->C_FindObjectsFinal(s->handle);
	if (rv != CKR_OK)
		return p11_fail(s->req, rv, "searching the token");
	*count = got;
	return 0;
}

int
token_session_find_class(struct token_session *s, CK_OBJECT_CLASS cls, const uint8_t *id,
    size_t id_len, CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count)
{
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_ID, (void *)id, id_len},
	};

	return token_session_find(s, tmpl, id != NULL ? 2 : 1, objects, max, count);
}

int
token_session_get_attr(struct token_session *s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
    uint8_t **value, size_t *len)
{
	CK_ATTRIBUTE attr = {type, NULL, 0};
	CK_RV rv;

	*value = NULL;
	*len = 0;
	rv = s->funcs->C_GetAttributeValue(s->handle, obj, &attr, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
	    attr.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return 0;
	if (rv != CKR_OK)
		return p11_fail(s->req, rv, "reading an object");
	/* One spare byte so that an empty value is still a non-NULL pointer. */
	if ((attr.pValue = calloc(1, attr.ulValueLen + 1)) == NULL)
		return CB_ERR_ALLOC;
	if ((rv = s->funcs->C_GetAttributeValue(s->handle, obj, &attr, 1)) != CKR_OK) {
		free(attr.pValue);
		return p11_fail(s->req, rv, "reading an object");
	}
	*value = attr.pValue;
	*len = attr.ulValueLen;
	return 0;
}

void
token_session_destroy(struct token_session *s, CK_OBJECT_HANDLE obj)
{
	CK_RV rv;

	if ((rv = s->funcs->C_DestroyObject(s->handle, obj)) != CKR_OK)
		helper_log(CB_LOG_ERROR, "cannot remove object %lu: %s", (unsigned long)obj,
		    p11_kit_strerror(rv));
}
