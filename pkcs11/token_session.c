/*
 * token_session.c - a PKCS#11 session on one token for one request (not a
 * connection of the daemon's): opening it, finding and reading objects,
 * destroying one, logging out and closing.  Logging in is login.c's.
 *
 * Login state in PKCS#11 belongs to the whole application, not to one
 * session: that is why an exclusive session owns the token (its owner
 * gate, token_lock.h) from C_OpenSession until after C_Logout and
 * C_CloseSession, and every login happens in one; and why a search in
 * another session leaves out what only a login shows.  Every session
 * holds the token's I/O gate while it calls the module, so that no two
 * requests call the module about one token at once (SoftHSM2 made blank
 * key objects and failed key generations when a search ran beside them).
 * Must never: release the owner gate while logged in, call the module
 * without the I/O gate, or hand out an attribute value it did not read in
 * full.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "pkcs11/log.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_lock.h"
#include "pkcs11/token_session.h"

/* Handles asked of C_FindObjects at a time. */
#define FIND_CHUNK 64
/* A module that never stops finding is broken: more than this is an error. */
#define FIND_OBJECTS_MAX (1UL << 20)

/* Our gates, in order: owner first, I/O second. */
static int
session_gates(struct token_session *s, bool exclusive)
{
	bool waited;
	int r;

	if (exclusive) {
		if ((r = token_gate_enter(s->req, s->token, TOKEN_GATE_OWNER, &waited)) != 0)
			return r;
		s->owner = true;
		/* Another owner may have used a PIN meanwhile: read the PIN flags again. */
		if (waited)
			s->token->info_fresh = false;
	}
	if ((r = token_gate_enter(s->req, s->token, TOKEN_GATE_IO, NULL)) != 0)
		return r;
	s->io = true;
	return 0;
}

int
token_session_open(struct request *req, struct token *t, bool exclusive, struct token_session *s)
{
	CK_FLAGS flags = CKF_SERIAL_SESSION | (exclusive ? CKF_RW_SESSION : 0);
	CK_RV rv;
	int r;

	memset(s, 0, sizeof(*s));
	s->req = req;
	s->token = t;
	s->funcs = t->module->funcs;
	if ((r = session_gates(s, exclusive)) != 0) {
		token_session_close(s);
		return r;
	}
	rv = s->funcs->C_OpenSession(t->slot, flags, NULL, NULL, &s->handle);
	/* An owner logged in as SO (OpenPGP keygen) allows read-write sessions only. */
	if (rv == CKR_SESSION_READ_WRITE_SO_EXISTS)
		rv = s->funcs->C_OpenSession(
		    t->slot, flags | CKF_RW_SESSION, NULL, NULL, &s->handle);
	if (rv != CKR_OK) {
		token_session_close(s);
		return p11_fail(req, rv, "opening a session on the token");
	}
	s->open = true;
	req->session = s;
	return 0;
}

void
token_session_close(struct token_session *s)
{
	/* Closing talks to the module: with the I/O gate, if we can get it back. */
	if (s->open && s->yielded && token_gate_enter(s->req, s->token, TOKEN_GATE_IO, NULL) == 0) {
		s->io = true;
		s->yielded = false;
	}
	token_session_logout(s);
	if (s->open)
		s->funcs->C_CloseSession(s->handle);
	if (s->io)
		token_gate_leave(s->token, TOKEN_GATE_IO);
	if (s->owner)
		token_gate_leave(s->token, TOKEN_GATE_OWNER);
	if (s->req != NULL && s->req->session == s)
		s->req->session = NULL;
	s->logged_in = s->open = s->owner = s->io = s->yielded = false;
}

void
token_session_yield(struct request *req)
{
	struct token_session *s = req->session;

	if (s == NULL || !s->io)
		return;
	token_gate_leave(s->token, TOKEN_GATE_IO);
	s->io = false;
	s->yielded = true;
}

int
token_session_resume(struct request *req)
{
	struct token_session *s = req->session;
	int r;

	if (s == NULL || !s->yielded)
		return 0;
	if ((r = token_gate_enter(req, s->token, TOKEN_GATE_IO, NULL)) != 0)
		return r;
	s->io = true;
	s->yielded = false;
	return 0;
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

/* Does the module say obj is CKA_PRIVATE?  Unreadable counts as no. */
static bool
object_private(struct token_session *s, CK_OBJECT_HANDLE obj)
{
	CK_BBOOL private = CK_FALSE;
	CK_ATTRIBUTE attr = {CKA_PRIVATE, &private, sizeof(private)};

	return s->funcs->C_GetAttributeValue(s->handle, obj, &attr, 1) == CKR_OK &&
	       attr.ulValueLen == sizeof(private) && private == CK_TRUE;
}

/* Room for n more handles in *objects (cap of them); false when out of memory. */
static bool
handles_room(CK_OBJECT_HANDLE **objects, CK_ULONG *cap, CK_ULONG used, CK_ULONG n)
{
	CK_OBJECT_HANDLE *grown;
	CK_ULONG want = *cap ? *cap : FIND_CHUNK;

	while (want < used + n)
		want *= 2;
	if (want == *cap)
		return true;
	if ((grown = realloc(*objects, want * sizeof(*grown))) == NULL)
		return false;
	*objects = grown;
	*cap = want;
	return true;
}

/*
 * C_FindObjects page by page until it has no more, or max were kept (0: no
 * limit); the handles in *objects (allocated).  What only a login shows is
 * left out unless s logged in itself.
 */
static int
find_paged(struct token_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ULONG max,
    CK_OBJECT_HANDLE **objects, CK_ULONG *count)
{
	CK_OBJECT_HANDLE page[FIND_CHUNK];
	CK_ULONG got = 0, cap = 0, chunk, i;
	CK_RV rv;
	int r = 0;

	*objects = NULL;
	*count = 0;
	if ((rv = s->funcs->C_FindObjectsInit(s->handle, tmpl, n)) != CKR_OK)
		return p11_fail(s->req, rv, "searching the token");
	while (max == 0 || got < max) {
		rv = s->funcs->C_FindObjects(s->handle, page, FIND_CHUNK, &chunk);
		if (rv != CKR_OK || chunk == 0)
			break;
		if (chunk > FIND_CHUNK || got + chunk > FIND_OBJECTS_MAX) {
			r = request_fail(s->req, CB_ERR_MODULE_ERROR,
			    "the token module answered a search wrongly");
			break;
		}
		if (!handles_room(objects, &cap, got, chunk)) {
			r = CB_ERR_ALLOC;
			break;
		}
		for (i = 0; i < chunk && (max == 0 || got < max); i++)
			if (s->logged_in || !object_private(s, page[i]))
				(*objects)[got++] = page[i];
	}
	s->funcs->C_FindObjectsFinal(s->handle);
	if (r == 0 && rv != CKR_OK)
		r = p11_fail(s->req, rv, "searching the token");
	if (r != 0) {
		free(*objects);
		*objects = NULL;
		return r;
	}
	*count = got;
	return 0;
}

int
token_session_find_all(struct token_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE **objects, CK_ULONG *count)
{
	return find_paged(s, tmpl, n, 0, objects, count);
}

int
token_session_find(struct token_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count)
{
	CK_OBJECT_HANDLE *found;
	int r;

	*count = 0;
	if (max == 0 || (r = find_paged(s, tmpl, n, max, &found, count)) != 0)
		return max == 0 ? 0 : r;
	memcpy(objects, found, *count * sizeof(*found));
	free(found);
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
token_session_find_class_all(struct token_session *s, CK_OBJECT_CLASS cls, const uint8_t *id,
    size_t id_len, CK_OBJECT_HANDLE **objects, CK_ULONG *count)
{
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_ID, (void *)id, id_len},
	};

	return token_session_find_all(s, tmpl, id != NULL ? 2 : 1, objects, count);
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

bool
token_session_destroy(struct token_session *s, CK_OBJECT_HANDLE obj)
{
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE attr = {CKA_CLASS, &cls, sizeof(cls)};
	CK_RV rv;

	if ((rv = s->funcs->C_DestroyObject(s->handle, obj)) != CKR_OK)
		helper_log(CB_LOG_ERROR, "cannot remove object %lu: %s", (unsigned long)obj,
		    p11_kit_strerror(rv));
	/* Gone is when the module no longer knows the handle, whatever it said. */
	rv = s->funcs->C_GetAttributeValue(s->handle, obj, &attr, 1);
	return rv == CKR_OBJECT_HANDLE_INVALID;
}
