/*
 * keyattrs.c - decide on what the module can really do with a new private
 * key, not on the flags it reports.
 *
 * OpenSC before 0.24 (Debian 12's 0.23, Ubuntu 22.04's 0.22) does not pass
 * CKA_SENSITIVE / CKA_EXTRACTABLE from the template to a PKCS#15 card's key
 * record, and reads the flags back from that record: a key generated on an
 * IsoApplet, MyEID or other pkcs15init card reads SENSITIVE, ALWAYS_SENSITIVE,
 * NEVER_EXTRACTABLE and LOCAL false, C_SetAttributeValue cannot fix them
 * (CKR_ATTRIBUTE_READ_ONLY), and yet the key never left the card and its
 * secret parts answer CKR_ATTRIBUTE_SENSITIVE.  So the flags are read and
 * reported, one fix is tried, and only a module that really returns secret
 * material is refused.
 * Must never: keep, log or pass on a secret part it read (the bytes are
 * wiped at once), or refuse a key for its flags alone.
 */
#include "config.h"

#include <stdlib.h>

#include <json.h>
#include <openssl/crypto.h>

#include "protocol/cberr.h"
#include "pkcs11/keyattrs.h"
#include "pkcs11/log.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/request.h"
#include "pkcs11/token_session.h"

/* The secret parts of a private key of each type (PKCS#11 2.40, 2.1.3 and 2.3.4). */
static const CK_ATTRIBUTE_TYPE rsa_secrets[] = {CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
    CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT};
static const CK_ATTRIBUTE_TYPE ec_secrets[] = {CKA_VALUE};

/* A boolean attribute as the module reports it; false when it does not say. */
static int
read_flag(struct token_session *s, CK_OBJECT_HANDLE priv, CK_ATTRIBUTE_TYPE type, bool *out)
{
	uint8_t *value = NULL;
	size_t len;
	int r;

	*out = false;
	if ((r = token_session_get_attr(s, priv, type, &value, &len)) != 0)
		return r;
	*out = len == sizeof(CK_BBOOL) && *(CK_BBOOL *)value == CK_TRUE;
	free(value);
	return 0;
}

static int
read_flags(struct token_session *s, CK_OBJECT_HANDLE priv, struct key_attributes *a)
{
	int r;

	if ((r = read_flag(s, priv, CKA_SENSITIVE, &a->sensitive)) != 0 ||
	    (r = read_flag(s, priv, CKA_EXTRACTABLE, &a->extractable)) != 0 ||
	    (r = read_flag(s, priv, CKA_LOCAL, &a->local)) != 0 ||
	    (r = read_flag(s, priv, CKA_ALWAYS_SENSITIVE, &a->always_sensitive)) != 0)
		return r;
	return read_flag(s, priv, CKA_NEVER_EXTRACTABLE, &a->never_extractable);
}

/* One try each, as the template asked; a module that refuses (READ_ONLY) is no error. */
static void
try_fix(struct token_session *s, CK_OBJECT_HANDLE priv, const struct key_attributes *a)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE sensitive = {CKA_SENSITIVE, &yes, sizeof(yes)};
	CK_ATTRIBUTE extractable = {CKA_EXTRACTABLE, &no, sizeof(no)};
	CK_RV rv;

	if (!a->sensitive) {
		rv = s->funcs->C_SetAttributeValue(s->handle, priv, &sensitive, 1);
		helper_log(CB_LOG_DEBUG, "request %llu: setting CKA_SENSITIVE: CK_RV 0x%lx",
		    (unsigned long long)s->req->id, (unsigned long)rv);
	}
	if (a->extractable) {
		rv = s->funcs->C_SetAttributeValue(s->handle, priv, &extractable, 1);
		helper_log(CB_LOG_DEBUG, "request %llu: clearing CKA_EXTRACTABLE: CK_RV 0x%lx",
		    (unsigned long long)s->req->id, (unsigned long)rv);
	}
}

static bool
withheld(CK_RV rv, CK_ULONG len)
{
	return rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
	       (rv == CKR_OK && (len == 0 || len == CK_UNAVAILABLE_INFORMATION));
}

/* Does the module return attribute type of priv?  What it returns is wiped unread. */
static int
secret_returned(
    struct token_session *s, CK_OBJECT_HANDLE priv, CK_ATTRIBUTE_TYPE type, bool *returned)
{
	CK_ATTRIBUTE attr = {type, NULL, 0};
	CK_ULONG size;
	CK_RV rv;

	*returned = false;
	rv = s->funcs->C_GetAttributeValue(s->handle, priv, &attr, 1);
	if (withheld(rv, attr.ulValueLen))
		return 0;
	if (rv != CKR_OK)
		return p11_fail(s->req, rv, "reading the new private key");
	size = attr.ulValueLen;
	if ((attr.pValue = malloc(size)) == NULL)
		return CB_ERR_ALLOC;
	rv = s->funcs->C_GetAttributeValue(s->handle, priv, &attr, 1);
	OPENSSL_cleanse(attr.pValue, size);
	free(attr.pValue);
	if (withheld(rv, attr.ulValueLen))
		return 0;
	if (rv != CKR_OK)
		return p11_fail(s->req, rv, "reading the new private key");
	*returned = true;
	return 0;
}

static int
probe_secrets(struct token_session *s, CK_OBJECT_HANDLE priv, bool rsa, bool *readable)
{
	const CK_ATTRIBUTE_TYPE *types = rsa ? rsa_secrets : ec_secrets;
	size_t i, n = rsa ? sizeof(rsa_secrets) / sizeof(rsa_secrets[0]) : 1;
	int r;

	*readable = false;
	for (i = 0; i < n && !*readable; i++)
		if ((r = secret_returned(s, priv, types[i], readable)) != 0)
			return r;
	return 0;
}

int
keyattrs_inspect(
    struct token_session *s, CK_OBJECT_HANDLE priv, bool rsa, struct key_attributes *out)
{
	struct key_attributes a = {0};
	int r;

	if ((r = read_flags(s, priv, &a)) != 0)
		return r;
	if (!a.sensitive || a.extractable) {
		try_fix(s, priv, &a);
		if ((r = read_flags(s, priv, &a)) != 0)
			return r;
	}
	/* Even a key whose flags look right: a module may report one thing and do another. */
	if ((r = probe_secrets(s, priv, rsa, &a.secret_readable)) != 0)
		return r;
	*out = a;
	if (a.secret_readable)
		return request_fail(s->req, CB_ERR_MODULE_ERROR,
		    "the token hands out the private key: its secret parts can be read");
	if (!a.sensitive || a.extractable)
		helper_log(CB_LOG_INFO,
		    "request %llu: the module reports the new key as %s, but will not "
		    "reveal it: accepted (OpenSC before 0.24 misreports keys on PKCS#15 cards)",
		    (unsigned long long)s->req->id,
		    a.extractable ? "extractable" : "not sensitive");
	return 0;
}

int
keyattrs_add_json(struct json_object *result, const struct key_attributes *a)
{
	const struct {
		const char *name;
		bool value;
	} members[] = {
	    {"sensitive", a->sensitive},
	    {"extractable", a->extractable},
	    {"local", a->local},
	    {"alwaysSensitive", a->always_sensitive},
	    {"neverExtractable", a->never_extractable},
	    {"secretReadable", a->secret_readable},
	};
	struct json_object *obj;
	size_t i;

	if ((obj = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (json_object_object_add(
			obj, members[i].name, json_object_new_boolean(members[i].value)) != 0) {
			json_object_put(obj);
			return CB_ERR_ALLOC;
		}
	if (json_object_object_add(result, "keyAttributes", obj) != 0) {
		json_object_put(obj);
		return CB_ERR_ALLOC;
	}
	return 0;
}
