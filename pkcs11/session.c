/*
 * session.c - sessions, login and object access for one request.
 *
 * Login state in PKCS#11 belongs to the whole application, not to one
 * session: that is why every login happens inside an exclusive session
 * (token_lock() held) and ends with C_Logout before the lock is released.
 * The PIN is wiped right after C_Login, whatever C_Login said.
 * Must never: keep a PIN past C_Login, or log in without the token lock.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "pkcs11/helper.h"
#include "pkcs11/pin.h"
#include "pkcs11/secret.h"
#include "pkcs11/session.h"
#include "pkcs11/token.h"

#define PIN_MAX_LEN 256

int
session_open(struct request *req, struct token *t, bool exclusive, struct session *s)
{
	CK_FLAGS flags = CKF_SERIAL_SESSION;
	CK_RV rv;

	memset(s, 0, sizeof(*s));
	s->req = req;
	s->token = t;
	s->funcs = t->module->funcs;
	if (exclusive) {
		token_lock(t);
		s->locked = true;
		flags |= CKF_RW_SESSION;
	}
	if ((rv = s->funcs->C_OpenSession(t->slot, flags, NULL, NULL, &s->handle)) != CKR_OK) {
		session_close(s);
		return p11_fail(req, rv, "opening a session on the token");
	}
	s->open = true;
	return 0;
}

void
session_close(struct session *s)
{
	if (s->logged_in)
		s->funcs->C_Logout(s->handle);
	if (s->open)
		s->funcs->C_CloseSession(s->handle);
	if (s->locked)
		token_unlock(s->token);
	s->logged_in = s->open = s->locked = false;
}

static bool
pin_locked(CK_FLAGS flags, CK_USER_TYPE user)
{
	return (flags & (user == CKU_SO ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED)) != 0;
}

/* After CKR_PIN_INCORRECT: what the token now says about the PIN. */
static int
login_incorrect(struct session *s, CK_USER_TYPE user)
{
	CK_FLAGS final_try = user == CKU_SO ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY;

	if (token_refresh(s->req, s->token) != 0)
		return request_fail(s->req, CB_ERR_PIN_INCORRECT, "PIN incorrect");
	if (pin_locked(s->token->info.flags, user))
		return request_fail(
		    s->req, CB_ERR_PIN_LOCKED, "PIN incorrect; the PIN is now locked");
	if (s->token->info.flags & final_try) {
		s->req->retries_left = 1;
		return request_fail(s->req, CB_ERR_PIN_INCORRECT, "PIN incorrect; one try left");
	}
	return request_fail(s->req, CB_ERR_PIN_INCORRECT, "PIN incorrect");
}

/* The PIN's length as the token wants it; 0 when it fits. */
static int
pin_check_length(struct session *s, const struct secret *pin)
{
	const CK_TOKEN_INFO *info = &s->token->info;

	if (info->ulMinPinLen != CK_UNAVAILABLE_INFORMATION && pin->len < info->ulMinPinLen)
		return request_fail(s->req, CB_ERR_PIN_INVALID,
		    "the PIN must have at least %lu characters", info->ulMinPinLen);
	if (info->ulMaxPinLen != CK_UNAVAILABLE_INFORMATION && info->ulMaxPinLen > 0 &&
	    pin->len > info->ulMaxPinLen)
		return request_fail(s->req, CB_ERR_PIN_INVALID,
		    "the PIN must have at most %lu characters", info->ulMaxPinLen);
	return 0;
}

/*
 * One PIN dialog and one C_Login.  error is the text for a retry dialog
 * (NULL the first time): the retry loop of a later change calls this again.
 */
static int
login_once(struct session *s, CK_USER_TYPE user, const char *operation, const char *error)
{
	struct pin_prompt prompt = {
	    .operation = operation,
	    .token_label = s->token->label,
	    .token_serial = s->token->serial,
	    .pin_name = user == CKU_SO ? "admin PIN" : "user PIN",
	    .error = error,
	    .max_len = PIN_MAX_LEN,
	};
	struct secret *pin = NULL;
	CK_RV rv;
	int r;

	if (s->token->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		/* PIN pad: the reader asks for the PIN itself. */
		rv = s->funcs->C_Login(s->handle, user, NULL, 0);
	} else {
		if ((r = pin_ask(s->req, &prompt, &pin)) != 0)
			return r;
		if ((r = pin_check_length(s, pin)) != 0) {
			secret_free(pin);
			return r;
		}
		rv = s->funcs->C_Login(s->handle, user, (CK_UTF8CHAR_PTR)pin->data, pin->len);
		secret_free(pin);
	}
	/* Already logged in can only be a login of ours whose C_Logout failed. */
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		s->logged_in = true;
		return 0;
	}
	if (rv == CKR_PIN_INCORRECT)
		return login_incorrect(s, user);
	return p11_fail(s->req, rv, "logging in");
}

int
session_login(struct session *s, const char *operation)
{
	CK_USER_TYPE user = token_user_for_writing(s->token);
	int r;

	if ((r = token_refresh(s->req, s->token)) != 0)
		return r;
	if (!(s->token->info.flags & CKF_LOGIN_REQUIRED))
		return 0;
	if (pin_locked(s->token->info.flags, user))
		return request_fail(s->req, CB_ERR_PIN_LOCKED, "the %s of this token is locked",
		    user == CKU_SO ? "admin PIN" : "PIN");
	return login_once(s, user, operation, NULL);
}

int
session_find(struct session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *objects,
    CK_ULONG max, CK_ULONG *count)
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
session_find_class(struct session *s, CK_OBJECT_CLASS cls, const uint8_t *id, size_t id_len,
    CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count)
{
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_ID, (void *)id, id_len},
	};

	return session_find(s, tmpl, id != NULL ? 2 : 1, objects, max, count);
}

int
session_get_attr(
    struct session *s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, uint8_t **value, size_t *len)
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
session_destroy(struct session *s, CK_OBJECT_HANDLE obj)
{
	CK_RV rv;

	if ((rv = s->funcs->C_DestroyObject(s->handle, obj)) != CKR_OK)
		helper_log(CB_LOG_ERROR, "cannot remove object %lu: %s", (unsigned long)obj,
		    p11_kit_strerror(rv));
}
