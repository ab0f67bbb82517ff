/*
 * mock-p11.c - a PKCS#11 module for what no token we can run in CI does:
 * a PIN-pad reader (CKF_PROTECTED_AUTHENTICATION_PATH) and a user PIN whose
 * retry counter shows in CKF_USER_PIN_COUNT_LOW, _FINAL_TRY and _LOCKED.
 *
 * One slot with one token; EC P-256 key pairs made with OpenSSL and kept in
 * memory; certificates stored as given.  That is enough of PKCS#11 for
 * cardbridge-pkcs11-helper's keys.generate and certificates.install, so the
 * tests drive real requests through the daemon and check the dialogs.
 * Test equipment (fault injection, ../shared/STYLE.md): built for make
 * check only, never installed.  Must never be loaded outside the tests.
 *
 * Environment, read at C_Initialize:
 *   MOCK_P11_PIN           the user PIN (default 123456)
 *   MOCK_P11_TRIES         wrong PINs before it locks (default 3)
 *   MOCK_P11_LABEL         token label (default "mock token")
 *   MOCK_P11_PINPAD=1      a PIN-pad reader: C_Login and C_SetPIN take no
 *                          PIN; the "keypad user" types the next entry of
 *   MOCK_P11_PINPAD_INPUT  (comma-separated; default the PIN; "cancel"
 *                          presses the keypad's cancel key)
 *   MOCK_P11_PINPAD_MS     how long typing on the keypad takes (default 300)
 *   MOCK_P11_READER        the slot description (the reader's name), e.g.
 *                          to pose as a vendor module for a real reader
 * and at C_Finalize:
 *   MOCK_P11_FINALIZE_LOG  a file that gets a line "C_Finalize" appended
 *   MOCK_P11_FINALIZE_MS   how long C_Finalize takes (default 0), to pose
 *                          as a token that hangs on the way out
 * The retry counter lives as long as the module is loaded.
 * MOCK_P11_WRAP and MOCK_P11_PRIVATE_KEYS (wrap.c) make it pass calls on to
 * another module, and misreport or hand out private keys.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <p11-kit/pkcs11.h>

#include "wrap.h"

#define SLOT_ID 1
#define ATTRS_MAX 24
#define OBJECTS_MAX 64
#define FOUND_MAX OBJECTS_MAX

/* DER OID of P-256, the only curve: CKA_EC_PARAMS. */
static const CK_BYTE p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

struct attr {
	CK_ATTRIBUTE_TYPE type;
	CK_BYTE *value;
	CK_ULONG len;
};

struct object {
	CK_OBJECT_HANDLE handle; /* 0: free */
	struct attr attrs[ATTRS_MAX];
	size_t nattrs;
	EVP_PKEY *pkey; /* private keys only */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool initialized;			      /* {lock} */
static bool logged_in;				      /* {lock} */
static CK_SESSION_HANDLE next_session, open_sessions; /* {lock} */
static CK_OBJECT_HANDLE next_object;		      /* {lock} */
static struct object objects[OBJECTS_MAX];	      /* {lock} */
static CK_OBJECT_HANDLE found[FOUND_MAX];	      /* {lock} one search at a time */
static size_t nfound, found_at;			      /* {lock} */
static CK_OBJECT_HANDLE sign_key;		      /* {lock} 0: no C_SignInit */
static int tries_left, tries_max;		      /* {lock} */
static char pin[64], label[33], pinpad_input[256], reader[65];
static bool pinpad;
static long pinpad_ms;
static size_t pinpad_next; /* {lock} index into pinpad_input */

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

static void
pad(CK_UTF8CHAR *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', size);
	memcpy(dst, src, n < size ? n : size);
}

/* --- objects --- */

static struct attr *
attr_find(struct object *o, CK_ATTRIBUTE_TYPE type)
{
	size_t i;

	for (i = 0; i < o->nattrs; i++)
		if (o->attrs[i].type == type)
			return &o->attrs[i];
	return NULL;
}

static CK_RV
attr_set(struct object *o, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len)
{
	struct attr *a = attr_find(o, type);
	CK_BYTE *copy = malloc(len + 1);

	if (copy == NULL)
		return CKR_HOST_MEMORY;
	memcpy(copy, value, len);
	if (a == NULL) {
		if (o->nattrs == ATTRS_MAX) {
			free(copy);
			return CKR_TEMPLATE_INCONSISTENT;
		}
		a = &o->attrs[o->nattrs++];
		a->type = type;
	} else {
		free(a->value);
	}
	a->value = copy;
	a->len = len;
	return CKR_OK;
}

static CK_RV
attr_set_bool(struct object *o, CK_ATTRIBUTE_TYPE type, CK_BBOOL v)
{
	return attr_set(o, type, &v, sizeof(v));
}

static CK_RV
attr_set_ulong(struct object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	return attr_set(o, type, &v, sizeof(v));
}

static bool
attr_true(struct object *o, CK_ATTRIBUTE_TYPE type)
{
	struct attr *a = attr_find(o, type);

	return a != NULL && a->len == sizeof(CK_BBOOL) && *(CK_BBOOL *)a->value == CK_TRUE;
}

static struct object *
object_new(void)
{
	size_t i;

	for (i = 0; i < OBJECTS_MAX; i++)
		if (objects[i].handle == 0) {
			memset(&objects[i], 0, sizeof(objects[i]));
			objects[i].handle = ++next_object;
			return &objects[i];
		}
	return NULL;
}

static void
object_free(struct object *o)
{
	size_t i;

	for (i = 0; i < o->nattrs; i++)
		free(o->attrs[i].value);
	EVP_PKEY_free(o->pkey);
	memset(o, 0, sizeof(*o));
}

/* The object with this handle, if the caller may see it. */
static struct object *
object_get(CK_OBJECT_HANDLE handle)
{
	size_t i;

	for (i = 0; i < OBJECTS_MAX && handle != 0; i++)
		if (objects[i].handle == handle)
			return !logged_in && attr_true(&objects[i], CKA_PRIVATE) ? NULL
										 : &objects[i];
	return NULL;
}

/* Copy the template's attributes (not the ones the token decides) into o. */
static CK_RV
object_take(struct object *o, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG i;
	CK_RV rv;

	for (i = 0; i < n; i++) {
		switch (tmpl[i].type) {
		case CKA_LOCAL:
		case CKA_ALWAYS_SENSITIVE:
		case CKA_NEVER_EXTRACTABLE:
		case CKA_EC_POINT:
			continue;
		}
		if ((rv = attr_set(o, tmpl[i].type, tmpl[i].pValue, tmpl[i].ulValueLen)) != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

/* --- general, slot and token --- */

CK_RV
C_Initialize(void *init_args)
{
	(void)init_args;
	pthread_mutex_lock(&lock);
	if (initialized) {
		pthread_mutex_unlock(&lock);
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	}
	snprintf(pin, sizeof(pin), "%s", env_or("MOCK_P11_PIN", "123456"));
	snprintf(label, sizeof(label), "%s", env_or("MOCK_P11_LABEL", "mock token"));
	snprintf(reader, sizeof(reader), "%s", env_or("MOCK_P11_READER", ""));
	snprintf(pinpad_input, sizeof(pinpad_input), "%s", env_or("MOCK_P11_PINPAD_INPUT", pin));
	tries_max = tries_left = atoi(env_or("MOCK_P11_TRIES", "3"));
	pinpad = strcmp(env_or("MOCK_P11_PINPAD", "0"), "1") == 0;
	pinpad_ms = atol(env_or("MOCK_P11_PINPAD_MS", "300"));
	pinpad_next = 0;
	logged_in = false;
	initialized = true;
	pthread_mutex_unlock(&lock);
	return CKR_OK;
}

static void
finalize_effects(void)
{
	long ms = atol(env_or("MOCK_P11_FINALIZE_MS", "0"));
	const char *path = getenv("MOCK_P11_FINALIZE_LOG");
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	FILE *f;

	if (ms > 0)
		nanosleep(&ts, NULL);
	if (path != NULL && (f = fopen(path, "a")) != NULL) {
		fputs("C_Finalize\n", f);
		fclose(f);
	}
}

CK_RV
C_Finalize(void *reserved)
{
	size_t i;

	(void)reserved;
	pthread_mutex_lock(&lock);
	for (i = 0; i < OBJECTS_MAX; i++)
		if (objects[i].handle != 0)
			object_free(&objects[i]);
	initialized = logged_in = false;
	open_sessions = 0;
	pthread_mutex_unlock(&lock);
	finalize_effects();
	return CKR_OK;
}

CK_RV
C_GetInfo(CK_INFO *info)
{
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = 2;
	info->cryptokiVersion.minor = 40;
	pad(info->manufacturerID, sizeof(info->manufacturerID), "cardbridge tests");
	pad(info->libraryDescription, sizeof(info->libraryDescription), "cardbridge mock module");
	return CKR_OK;
}

CK_RV
C_GetSlotList(CK_BBOOL token_present, CK_SLOT_ID *list, CK_ULONG *count)
{
	(void)token_present;
	if (list != NULL && *count < 1) {
		*count = 1;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (list != NULL)
		list[0] = SLOT_ID;
	*count = 1;
	return CKR_OK;
}

CK_RV
C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO *info)
{
	if (slot != SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	memset(info, 0, sizeof(*info));
	pad(info->slotDescription, sizeof(info->slotDescription),
	    reader[0] ? reader
	    : pinpad  ? "mock PIN-pad reader"
		      : "mock reader");
	pad(info->manufacturerID, sizeof(info->manufacturerID), "cardbridge tests");
	info->flags = CKF_TOKEN_PRESENT | CKF_HW_SLOT | CKF_REMOVABLE_DEVICE;
	return CKR_OK;
}

CK_RV
C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	if (slot != SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	memset(info, 0, sizeof(*info));
	pad(info->label, sizeof(info->label), label);
	pad(info->manufacturerID, sizeof(info->manufacturerID), "cardbridge tests");
	pad(info->model, sizeof(info->model), "mock-p11");
	pad(info->serialNumber, sizeof(info->serialNumber), "MOCK0001");
	pthread_mutex_lock(&lock);
	info->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
		      CKF_TOKEN_INITIALIZED | (pinpad ? CKF_PROTECTED_AUTHENTICATION_PATH : 0);
	if (tries_left == 0)
		info->flags |= CKF_USER_PIN_LOCKED;
	else if (tries_left == 1)
		info->flags |= CKF_USER_PIN_FINAL_TRY;
	else if (tries_left < tries_max)
		info->flags |= CKF_USER_PIN_COUNT_LOW;
	pthread_mutex_unlock(&lock);
	info->ulMaxSessionCount = info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulMinPinLen = 4;
	info->ulMaxPinLen = 64;
	info->ulTotalPublicMemory = info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	return CKR_OK;
}

static const struct {
	CK_MECHANISM_TYPE type;
	CK_FLAGS flags;
} mechanisms[] = {
    {CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR | CKF_EC_F_P | CKF_EC_NAMEDCURVE},
    {CKM_ECDSA, CKF_SIGN | CKF_VERIFY | CKF_EC_F_P | CKF_EC_NAMEDCURVE},
};

CK_RV
C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
	size_t i, n = sizeof(mechanisms) / sizeof(mechanisms[0]);

	if (slot != SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	if (list != NULL && *count < n) {
		*count = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; list != NULL && i < n; i++)
		list[i] = mechanisms[i].type;
	*count = n;
	return CKR_OK;
}

CK_RV
C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	size_t i;

	if (slot != SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	for (i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++)
		if (mechanisms[i].type == type) {
			info->ulMinKeySize = info->ulMaxKeySize = 256;
			info->flags = mechanisms[i].flags;
			return CKR_OK;
		}
	return CKR_MECHANISM_INVALID;
}

/* --- sessions and login --- */

CK_RV
C_OpenSession(
    CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify, CK_SESSION_HANDLE *session)
{
	(void)app;
	(void)notify;
	if (slot != SLOT_ID)
		return CKR_SLOT_ID_INVALID;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	pthread_mutex_lock(&lock);
	*session = ++next_session;
	open_sessions++;
	pthread_mutex_unlock(&lock);
	return CKR_OK;
}

CK_RV
C_CloseSession(CK_SESSION_HANDLE session)
{
	(void)session;
	pthread_mutex_lock(&lock);
	/* The last session closed logs the application out, as PKCS#11 says. */
	if (open_sessions > 0 && --open_sessions == 0)
		logged_in = false;
	pthread_mutex_unlock(&lock);
	return CKR_OK;
}

CK_RV
C_CloseAllSessions(CK_SLOT_ID slot)
{
	(void)slot;
	pthread_mutex_lock(&lock);
	open_sessions = 0;
	logged_in = false;
	pthread_mutex_unlock(&lock);
	return CKR_OK;
}

CK_RV
C_GetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO *info)
{
	(void)session;
	memset(info, 0, sizeof(*info));
	info->slotID = SLOT_ID;
	info->flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
	info->state = logged_in ? CKS_RW_USER_FUNCTIONS : CKS_RW_PUBLIC_SESSION;
	return CKR_OK;
}

/* The keypad: the next thing the user types, after a while. */
static void
pinpad_type(char *typed, size_t size)
{
	struct timespec wait = {pinpad_ms / 1000, (pinpad_ms % 1000) * 1000000L};
	const char *p;
	size_t i, n;

	nanosleep(&wait, NULL);
	pthread_mutex_lock(&lock);
	p = pinpad_input;
	for (i = 0; i < pinpad_next && strchr(p, ',') != NULL; i++)
		p = strchr(p, ',') + 1;
	pinpad_next++;
	n = strcspn(p, ",");
	snprintf(typed, size, "%.*s", (int)n, p);
	pthread_mutex_unlock(&lock);
}

CK_RV
C_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR *given, CK_ULONG len)
{
	char typed[64];
	CK_RV rv;

	(void)session;
	if (user != CKU_USER)
		return CKR_USER_TYPE_INVALID;
	if (pinpad != (given == NULL))
		return CKR_ARGUMENTS_BAD;
	if (pinpad) {
		pinpad_type(typed, sizeof(typed)); /* without the lock: it takes a while */
		if (strcmp(typed, "cancel") == 0)
			return CKR_FUNCTION_CANCELED;
		given = (CK_UTF8CHAR *)typed;
		len = strlen(typed);
	}
	pthread_mutex_lock(&lock);
	if (logged_in)
		rv = CKR_USER_ALREADY_LOGGED_IN;
	else if (tries_left == 0)
		rv = CKR_PIN_LOCKED;
	else if (len != strlen(pin) || memcmp(given, pin, len) != 0) {
		/* The PIN that locks it is still CKR_PIN_INCORRECT; the flags say the rest. */
		tries_left--;
		rv = CKR_PIN_INCORRECT;
	} else {
		tries_left = tries_max;
		logged_in = true;
		rv = CKR_OK;
	}
	pthread_mutex_unlock(&lock);
	return rv;
}

CK_RV
C_Logout(CK_SESSION_HANDLE session)
{
	CK_RV rv;

	(void)session;
	pthread_mutex_lock(&lock);
	rv = logged_in ? CKR_OK : CKR_USER_NOT_LOGGED_IN;
	logged_in = false;
	pthread_mutex_unlock(&lock);
	return rv;
}

/*
 * A PIN change: the current PIN and the new one, given, or typed on the
 * keypad (two entries of MOCK_P11_PINPAD_INPUT) when both are NULL.
 */
CK_RV
C_SetPIN(CK_SESSION_HANDLE session, CK_UTF8CHAR *old, CK_ULONG old_len, CK_UTF8CHAR *new_pin,
    CK_ULONG new_len)
{
	char typed_old[64], typed_new[64];
	CK_RV rv = CKR_OK;

	(void)session;
	if (pinpad != (old == NULL && new_pin == NULL))
		return CKR_ARGUMENTS_BAD;
	if (pinpad) {
		pinpad_type(typed_old, sizeof(typed_old));
		if (strcmp(typed_old, "cancel") == 0)
			return CKR_FUNCTION_CANCELED;
		pinpad_type(typed_new, sizeof(typed_new));
		old = (CK_UTF8CHAR *)typed_old;
		old_len = strlen(typed_old);
		new_pin = (CK_UTF8CHAR *)typed_new;
		new_len = strlen(typed_new);
	}
	pthread_mutex_lock(&lock);
	if (tries_left == 0)
		rv = CKR_PIN_LOCKED;
	else if (old_len != strlen(pin) || memcmp(old, pin, old_len) != 0) {
		tries_left--;
		rv = CKR_PIN_INCORRECT;
	} else if (new_len < 4 || new_len >= sizeof(pin))
		rv = CKR_PIN_LEN_RANGE;
	else {
		memcpy(pin, new_pin, new_len);
		pin[new_len] = '\0';
		tries_left = tries_max;
	}
	pthread_mutex_unlock(&lock);
	return rv;
}

/* --- objects --- */

CK_RV
C_CreateObject(CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	struct object *o;
	CK_RV rv = CKR_HOST_MEMORY;

	(void)session;
	pthread_mutex_lock(&lock);
	if (!logged_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else if ((o = object_new()) != NULL && (rv = object_take(o, tmpl, n)) == CKR_OK)
		*out = o->handle;
	else if (o != NULL)
		object_free(o);
	pthread_mutex_unlock(&lock);
	return rv;
}

CK_RV
C_DestroyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle)
{
	struct object *o;
	CK_RV rv = CKR_OBJECT_HANDLE_INVALID;

	(void)session;
	pthread_mutex_lock(&lock);
	if ((o = object_get(handle)) != NULL) {
		object_free(o);
		rv = CKR_OK;
	}
	pthread_mutex_unlock(&lock);
	return rv;
}

CK_RV
C_GetAttributeValue(
    CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	struct object *o;
	struct attr *a;
	CK_RV rv = CKR_OK;
	CK_ULONG i;

	(void)session;
	pthread_mutex_lock(&lock);
	if ((o = object_get(handle)) == NULL) {
		pthread_mutex_unlock(&lock);
		return CKR_OBJECT_HANDLE_INVALID;
	}
	for (i = 0; i < n; i++) {
		if ((a = attr_find(o, tmpl[i].type)) == NULL) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
		} else if (tmpl[i].pValue == NULL) {
			tmpl[i].ulValueLen = a->len;
		} else if (tmpl[i].ulValueLen < a->len) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
		} else {
			memcpy(tmpl[i].pValue, a->value, a->len);
			tmpl[i].ulValueLen = a->len;
		}
	}
	pthread_mutex_unlock(&lock);
	return rv;
}

CK_RV
C_SetAttributeValue(
    CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	struct object *o;
	CK_RV rv = CKR_OBJECT_HANDLE_INVALID;

	(void)session;
	pthread_mutex_lock(&lock);
	if ((o = object_get(handle)) != NULL)
		rv = object_take(o, tmpl, n);
	pthread_mutex_unlock(&lock);
	return rv;
}

static bool
object_matches(struct object *o, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	struct attr *a;
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if ((a = attr_find(o, tmpl[i].type)) == NULL || a->len != tmpl[i].ulValueLen ||
		    memcmp(a->value, tmpl[i].pValue, a->len) != 0)
			return false;
	return true;
}

CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	size_t i;

	(void)session;
	pthread_mutex_lock(&lock);
	nfound = found_at = 0;
	for (i = 0; i < OBJECTS_MAX; i++)
		if (objects[i].handle != 0 && object_get(objects[i].handle) != NULL &&
		    object_matches(&objects[i], tmpl, n))
			found[nfound++] = objects[i].handle;
	pthread_mutex_unlock(&lock);
	return CKR_OK;
}

CK_RV
C_FindObjects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count)
{
	(void)session;
	pthread_mutex_lock(&lock);
	for (*count = 0; *count < max && found_at < nfound; (*count)++)
		out[*count] = found[found_at++];
	pthread_mutex_unlock(&lock);
	return CKR_OK;
}

CK_RV
C_FindObjectsFinal(CK_SESSION_HANDLE session)
{
	(void)session;
	return CKR_OK;
}

/* --- keys --- */

/* CKA_EC_POINT: the uncompressed point in a DER OCTET STRING. */
static CK_RV
key_point(EVP_PKEY *pkey, struct object *pub)
{
	CK_BYTE point[2 + 65];
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(
		pkey, OSSL_PKEY_PARAM_PUB_KEY, point + 2, sizeof(point) - 2, &len) != 1 ||
	    len != 65)
		return CKR_FUNCTION_FAILED;
	point[0] = 0x04;
	point[1] = (CK_BYTE)len;
	return attr_set(pub, CKA_EC_POINT, point, len + 2);
}

static CK_RV
key_attributes(struct object *pub, struct object *priv, EVP_PKEY *pkey)
{
	CK_RV rv;

	if ((rv = attr_set_ulong(pub, CKA_CLASS, CKO_PUBLIC_KEY)) != CKR_OK ||
	    (rv = attr_set_ulong(priv, CKA_CLASS, CKO_PRIVATE_KEY)) != CKR_OK ||
	    (rv = attr_set_ulong(pub, CKA_KEY_TYPE, CKK_EC)) != CKR_OK ||
	    (rv = attr_set_ulong(priv, CKA_KEY_TYPE, CKK_EC)) != CKR_OK ||
	    (rv = attr_set(pub, CKA_EC_PARAMS, p256_oid, sizeof(p256_oid))) != CKR_OK ||
	    (rv = attr_set(priv, CKA_EC_PARAMS, p256_oid, sizeof(p256_oid))) != CKR_OK ||
	    (rv = attr_set_bool(priv, CKA_LOCAL, CK_TRUE)) != CKR_OK ||
	    (rv = attr_set_bool(priv, CKA_ALWAYS_SENSITIVE, CK_TRUE)) != CKR_OK ||
	    (rv = attr_set_bool(priv, CKA_NEVER_EXTRACTABLE, CK_TRUE)) != CKR_OK ||
	    (rv = attr_set_bool(priv, CKA_SENSITIVE, CK_TRUE)) != CKR_OK ||
	    (rv = attr_set_bool(priv, CKA_EXTRACTABLE, CK_FALSE)) != CKR_OK ||
	    (rv = attr_set_bool(priv, CKA_PRIVATE, CK_TRUE)) != CKR_OK)
		return rv;
	if (attr_find(pub, CKA_ID) == NULL && (rv = attr_set(pub, CKA_ID, "", 0)) != CKR_OK)
		return rv;
	if (attr_find(priv, CKA_ID) == NULL && (rv = attr_set(priv, CKA_ID, "", 0)) != CKR_OK)
		return rv;
	return key_point(pkey, pub);
}

CK_RV
C_GenerateKeyPair(CK_SESSION_HANDLE session, CK_MECHANISM *mech, CK_ATTRIBUTE *pub_tmpl,
    CK_ULONG npub, CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv, CK_OBJECT_HANDLE *pub_out,
    CK_OBJECT_HANDLE *priv_out)
{
	struct object *pub = NULL, *priv = NULL;
	EVP_PKEY *pkey = NULL;
	CK_RV rv = CKR_HOST_MEMORY;
	CK_ULONG i;

	(void)session;
	if (mech->mechanism != CKM_EC_KEY_PAIR_GEN)
		return CKR_MECHANISM_INVALID;
	for (i = 0; i < npub; i++)
		if (pub_tmpl[i].type == CKA_EC_PARAMS &&
		    (pub_tmpl[i].ulValueLen != sizeof(p256_oid) ||
			memcmp(pub_tmpl[i].pValue, p256_oid, sizeof(p256_oid)) != 0))
			return CKR_CURVE_NOT_SUPPORTED;
	if ((pkey = EVP_EC_gen("P-256")) == NULL)
		return CKR_FUNCTION_FAILED;
	pthread_mutex_lock(&lock);
	if (!logged_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else if ((pub = object_new()) != NULL && (priv = object_new()) != NULL &&
		 (rv = object_take(pub, pub_tmpl, npub)) == CKR_OK &&
		 (rv = object_take(priv, priv_tmpl, npriv)) == CKR_OK &&
		 (rv = key_attributes(pub, priv, pkey)) == CKR_OK) {
		priv->pkey = pkey;
		pkey = NULL; /* transferred */
		*pub_out = pub->handle;
		*priv_out = priv->handle;
		pub = priv = NULL;
	}
	if (pub != NULL)
		object_free(pub);
	if (priv != NULL)
		object_free(priv);
	pthread_mutex_unlock(&lock);
	EVP_PKEY_free(pkey);
	return rv;
}

CK_RV
C_SignInit(CK_SESSION_HANDLE session, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
	struct object *o;
	CK_RV rv = CKR_KEY_HANDLE_INVALID;

	(void)session;
	if (mech->mechanism != CKM_ECDSA)
		return CKR_MECHANISM_INVALID;
	pthread_mutex_lock(&lock);
	if (!logged_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else if ((o = object_get(key)) != NULL && o->pkey != NULL) {
		sign_key = key;
		rv = CKR_OK;
	}
	pthread_mutex_unlock(&lock);
	return rv;
}

/* ECDSA over a digest the caller made; the signature as PKCS#11 wants it, r || s. */
static CK_RV
sign_raw(EVP_PKEY *pkey, const CK_BYTE *digest, CK_ULONG len, CK_BYTE *sig)
{
	unsigned char der[80];
	const unsigned char *p = der;
	size_t der_len = sizeof(der);
	EVP_PKEY_CTX *ctx;
	ECDSA_SIG *es = NULL;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if ((ctx = EVP_PKEY_CTX_new(pkey, NULL)) != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_sign(ctx, der, &der_len, digest, len) == 1 &&
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) != NULL &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32)
		rv = CKR_OK;
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

CK_RV
C_Sign(CK_SESSION_HANDLE session, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig, CK_ULONG *sig_len)
{
	struct object *o;
	CK_RV rv = CKR_OPERATION_NOT_INITIALIZED;

	(void)session;
	if (sig == NULL) {
		*sig_len = 64;
		return CKR_OK;
	}
	if (*sig_len < 64) {
		*sig_len = 64;
		return CKR_BUFFER_TOO_SMALL;
	}
	pthread_mutex_lock(&lock);
	if (sign_key != 0 && (o = object_get(sign_key)) != NULL && o->pkey != NULL &&
	    (rv = sign_raw(o->pkey, data, len, sig)) == CKR_OK)
		*sig_len = 64;
	sign_key = 0;
	pthread_mutex_unlock(&lock);
	return rv;
}

/* --- the rest of PKCS#11 2.40: not supported --- */

/* One stub per function, by hand: clang-format makes a mess of the macro calls. */
/* clang-format off */
#define UNSUPPORTED(name, ...) \
	CK_RV name(__VA_ARGS__) \
	{ \
		return CKR_FUNCTION_NOT_SUPPORTED; \
	}

UNSUPPORTED(C_InitToken, CK_SLOT_ID a, CK_UTF8CHAR *b, CK_ULONG c, CK_UTF8CHAR *d)
UNSUPPORTED(C_InitPIN, CK_SESSION_HANDLE a, CK_UTF8CHAR *b, CK_ULONG c)
UNSUPPORTED(C_GetOperationState, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG *c)
UNSUPPORTED(C_SetOperationState, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_OBJECT_HANDLE d,
    CK_OBJECT_HANDLE e)
UNSUPPORTED(C_CopyObject, CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE *c, CK_ULONG d,
    CK_OBJECT_HANDLE *e)
UNSUPPORTED(C_GetObjectSize, CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ULONG *c)
UNSUPPORTED(C_EncryptInit, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_OBJECT_HANDLE c)
UNSUPPORTED(C_Encrypt, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d, CK_ULONG *e)
UNSUPPORTED(C_EncryptUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d, CK_ULONG *e)
UNSUPPORTED(C_EncryptFinal, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG *c)
UNSUPPORTED(C_DecryptInit, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_OBJECT_HANDLE c)
UNSUPPORTED(C_Decrypt, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d, CK_ULONG *e)
UNSUPPORTED(C_DecryptUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d, CK_ULONG *e)
UNSUPPORTED(C_DecryptFinal, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG *c)
UNSUPPORTED(C_DigestInit, CK_SESSION_HANDLE a, CK_MECHANISM *b)
UNSUPPORTED(C_Digest, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d, CK_ULONG *e)
UNSUPPORTED(C_DigestUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c)
UNSUPPORTED(C_DigestKey, CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b)
UNSUPPORTED(C_DigestFinal, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG *c)
UNSUPPORTED(C_SignUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c)
UNSUPPORTED(C_SignFinal, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG *c)
UNSUPPORTED(C_SignRecoverInit, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_OBJECT_HANDLE c)
UNSUPPORTED(C_SignRecover, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d, CK_ULONG *e)
UNSUPPORTED(C_VerifyInit, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_OBJECT_HANDLE c)
UNSUPPORTED(C_Verify, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d, CK_ULONG e)
UNSUPPORTED(C_VerifyUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c)
UNSUPPORTED(C_VerifyFinal, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c)
UNSUPPORTED(C_VerifyRecoverInit, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_OBJECT_HANDLE c)
UNSUPPORTED(C_VerifyRecover, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d, CK_ULONG *e)
UNSUPPORTED(C_DigestEncryptUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d,
    CK_ULONG *e)
UNSUPPORTED(C_DecryptDigestUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d,
    CK_ULONG *e)
UNSUPPORTED(C_SignEncryptUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d,
    CK_ULONG *e)
UNSUPPORTED(C_DecryptVerifyUpdate, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c, CK_BYTE *d,
    CK_ULONG *e)
UNSUPPORTED(C_GenerateKey, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_ATTRIBUTE *c, CK_ULONG d,
    CK_OBJECT_HANDLE *e)
UNSUPPORTED(C_WrapKey, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_OBJECT_HANDLE c,
    CK_OBJECT_HANDLE d, CK_BYTE *e, CK_ULONG *f)
UNSUPPORTED(C_UnwrapKey, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_OBJECT_HANDLE c, CK_BYTE *d,
    CK_ULONG e, CK_ATTRIBUTE *f, CK_ULONG g, CK_OBJECT_HANDLE *h)
UNSUPPORTED(C_DeriveKey, CK_SESSION_HANDLE a, CK_MECHANISM *b, CK_OBJECT_HANDLE c, CK_ATTRIBUTE *d,
    CK_ULONG e, CK_OBJECT_HANDLE *f)
UNSUPPORTED(C_SeedRandom, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c)
UNSUPPORTED(C_GenerateRandom, CK_SESSION_HANDLE a, CK_BYTE *b, CK_ULONG c)
UNSUPPORTED(C_GetFunctionStatus, CK_SESSION_HANDLE a)
UNSUPPORTED(C_CancelFunction, CK_SESSION_HANDLE a)
UNSUPPORTED(C_WaitForSlotEvent, CK_FLAGS a, CK_SLOT_ID *b, void *c)

/* In the order of struct ck_function_list (PKCS#11 2.40). */
static CK_FUNCTION_LIST functions = {
	{2, 40},
	C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList,
	C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo, C_GetMechanismList,
	C_GetMechanismInfo, C_InitToken, C_InitPIN, C_SetPIN,
	C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo,
	C_GetOperationState, C_SetOperationState, C_Login, C_Logout,
	C_CreateObject, C_CopyObject, C_DestroyObject, C_GetObjectSize,
	C_GetAttributeValue, C_SetAttributeValue, C_FindObjectsInit, C_FindObjects,
	C_FindObjectsFinal, C_EncryptInit, C_Encrypt, C_EncryptUpdate,
	C_EncryptFinal, C_DecryptInit, C_Decrypt, C_DecryptUpdate,
	C_DecryptFinal, C_DigestInit, C_Digest, C_DigestUpdate,
	C_DigestKey, C_DigestFinal, C_SignInit, C_Sign,
	C_SignUpdate, C_SignFinal, C_SignRecoverInit, C_SignRecover,
	C_VerifyInit, C_Verify, C_VerifyUpdate, C_VerifyFinal,
	C_VerifyRecoverInit, C_VerifyRecover, C_DigestEncryptUpdate, C_DecryptDigestUpdate,
	C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey, C_GenerateKeyPair,
	C_WrapKey, C_UnwrapKey, C_DeriveKey, C_SeedRandom,
	C_GenerateRandom, C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent,
};
/* clang-format on */

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST **list)
{
	static CK_FUNCTION_LIST *chosen;

	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	if (chosen == NULL && (chosen = wrap_function_list(&functions)) == NULL)
		return CKR_GENERAL_ERROR;
	*list = chosen;
	return CKR_OK;
}
