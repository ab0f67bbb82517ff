/*
 * wrap.c - mock-p11's second life: a module that passes every call on to
 * another module (MOCK_P11_WRAP, e.g. SoftHSM2, so that pkcs11-tool can
 * look at what stays on the token afterwards) or to mock-p11's own token,
 * and lies about private keys as real modules do:
 *
 *   MOCK_P11_PRIVATE_KEYS=misreport  private keys read CKA_SENSITIVE,
 *       CKA_EXTRACTABLE, CKA_LOCAL, CKA_ALWAYS_SENSITIVE and
 *       CKA_NEVER_EXTRACTABLE all FALSE, and C_SetAttributeValue of
 *       SENSITIVE or EXTRACTABLE answers CKR_ATTRIBUTE_READ_ONLY: OpenSC
 *       before 0.24 on a PKCS#15 card.  The secret parts are answered by
 *       the module underneath (SoftHSM2: CKR_ATTRIBUTE_SENSITIVE).
 *   MOCK_P11_PRIVATE_KEYS=leak  the same, and the secret parts (RSA's
 *       CKA_PRIVATE_EXPONENT, CKA_PRIME_1, ... and EC's CKA_VALUE) read as
 *       32 bytes of key material: a module that hands out private keys.
 *
 * Read at C_GetFunctionList, the first call a loader makes.  Test
 * equipment: never installed.  Must never be loaded outside the tests.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "wrap.h"

enum lie { LIE_NONE, LIE_MISREPORT, LIE_LEAK };

static CK_FUNCTION_LIST inner; /* the module underneath */
static CK_FUNCTION_LIST outer; /* what the loader gets */
static enum lie lie;

static const CK_ATTRIBUTE_TYPE flags_false[] = {
    CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE};
static const CK_ATTRIBUTE_TYPE secrets[] = {CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
    CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT, CKA_VALUE};
static const CK_BYTE material[32] = "not a key, but it comes out: 32";

static bool
listed(CK_ATTRIBUTE_TYPE type, const CK_ATTRIBUTE_TYPE *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == type)
			return true;
	return false;
}

static bool
is_private_key(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj)
{
	CK_OBJECT_CLASS cls = 0;
	CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};

	return inner.C_GetAttributeValue(session, obj, &a, 1) == CKR_OK && cls == CKO_PRIVATE_KEY;
}

/* Put value into a: as C_GetAttributeValue would (PKCS#11 2.40, 5.7). */
static CK_RV
answer(CK_ATTRIBUTE *a, const void *value, CK_ULONG len)
{
	if (a->pValue == NULL) {
		a->ulValueLen = len;
		return CKR_OK;
	}
	if (a->ulValueLen < len) {
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(a->pValue, value, len);
	a->ulValueLen = len;
	return CKR_OK;
}

/* The worse of two answers: any other error, then SENSITIVE, TYPE_INVALID, BUFFER_TOO_SMALL. */
static CK_RV
worse(CK_RV a, CK_RV b)
{
	static const CK_RV order[] = {
	    CKR_OK, CKR_BUFFER_TOO_SMALL, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_SENSITIVE};
	size_t i, ia = 4, ib = 4;

	for (i = 0; i < 4; i++) {
		ia = order[i] == a ? i : ia;
		ib = order[i] == b ? i : ib;
	}
	return ib > ia ? b : a;
}

static CK_RV
wrap_get_attribute_value(
    CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_BBOOL no = CK_FALSE;
	CK_RV rv = CKR_OK, one;
	CK_ULONG i;

	if (!is_private_key(session, obj))
		return inner.C_GetAttributeValue(session, obj, tmpl, n);
	for (i = 0; i < n; i++) {
		if (listed(tmpl[i].type, flags_false, 5))
			one = answer(&tmpl[i], &no, sizeof(no));
		else if (lie == LIE_LEAK && listed(tmpl[i].type, secrets, 7))
			one = answer(&tmpl[i], material, sizeof(material));
		else
			one = inner.C_GetAttributeValue(session, obj, &tmpl[i], 1);
		rv = worse(rv, one);
	}
	return rv;
}

static CK_RV
wrap_set_attribute_value(
    CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if ((tmpl[i].type == CKA_SENSITIVE || tmpl[i].type == CKA_EXTRACTABLE) &&
		    is_private_key(session, obj))
			return CKR_ATTRIBUTE_READ_ONLY;
	return inner.C_SetAttributeValue(session, obj, tmpl, n);
}

static bool
load_wrapped(const char *path)
{
	CK_RV (*get_list)(CK_FUNCTION_LIST **);
	CK_FUNCTION_LIST *list;
	void *dl;

	/* RTLD_LOCAL: its own C_* symbols, not ours, are what it calls. */
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "mock-p11: %s\n", dlerror());
		return false;
	}
	*(void **)&get_list = dlsym(dl, "C_GetFunctionList");
	if (get_list == NULL || get_list(&list) != CKR_OK)
		return false;
	inner = *list;
	return true;
}

CK_FUNCTION_LIST *
wrap_function_list(CK_FUNCTION_LIST *own)
{
	const char *path = getenv("MOCK_P11_WRAP"), *keys = getenv("MOCK_P11_PRIVATE_KEYS");

	lie = keys == NULL		       ? LIE_NONE
	      : strcmp(keys, "misreport") == 0 ? LIE_MISREPORT
	      : strcmp(keys, "leak") == 0      ? LIE_LEAK
					       : LIE_NONE;
	if (path != NULL && *path != '\0') {
		if (!load_wrapped(path))
			return NULL;
	} else if (lie == LIE_NONE) {
		return own;
	} else {
		inner = *own;
	}
	outer = inner;
	if (lie != LIE_NONE) {
		outer.C_GetAttributeValue = wrap_get_attribute_value;
		outer.C_SetAttributeValue = wrap_set_attribute_value;
	}
	return &outer;
}
