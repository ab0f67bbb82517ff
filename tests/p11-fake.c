/*
 * p11-fake.c - the in-memory PKCS#11 module of tests/p11-fake.h.
 *
 * Only the functions pkcs11/'s units call on a token are filled in; the
 * others stay NULL, so a unit that calls one crashes the test at once
 * rather than going on with an answer nobody chose.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "tests/p11-fake.h"

#define SESSION 7
#define SLOT 1

struct fake_module fake;
static CK_FUNCTION_LIST funcs;
static struct p11_module module = {.path = "fake", .funcs = &funcs};
static CK_OBJECT_HANDLE found[FAKE_OBJECTS_MAX];
static size_t nfound, found_at;
static struct fake_object *signer;

static void public_attributes(struct fake_object *o, EVP_PKEY *key);

static struct fake_object *
object_of(CK_OBJECT_HANDLE h)
{
	size_t i;

	for (i = 0; i < FAKE_OBJECTS_MAX; i++)
		if (h != 0 && fake.objects[i].handle == h)
			return &fake.objects[i];
	return NULL;
}

static CK_ATTRIBUTE *
attr_of(struct fake_object *o, CK_ATTRIBUTE_TYPE type)
{
	size_t i;

	for (i = 0; o != NULL && i < o->nattrs; i++)
		if (o->attrs[i].type == type)
			return &o->attrs[i];
	return NULL;
}

static CK_RV
fake_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	(void)slot;
	fake.token_infos++;
	*info = fake.info;
	return CKR_OK;
}

static CK_RV
fake_get_info(CK_INFO *info)
{
	if (fake.get_info != CKR_OK)
		return fake.get_info;
	memset(info, ' ', sizeof(*info));
	info->cryptokiVersion.major = 2;
	info->cryptokiVersion.minor = 40;
	info->libraryVersion = fake.library_version;
	info->flags = 0;
	return CKR_OK;
}

static CK_RV
fake_get_slot_list(CK_BBOOL present, CK_SLOT_ID *slots, CK_ULONG *count)
{
	(void)present;
	if (fake.no_slots) {
		*count = 0;
		return CKR_OK;
	}
	if (slots != NULL && *count < 1)
		return CKR_BUFFER_TOO_SMALL;
	if (slots != NULL)
		slots[0] = SLOT;
	*count = 1;
	return CKR_OK;
}

static CK_RV
fake_get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO *info)
{
	(void)slot;
	memset(info, ' ', sizeof(*info));
	memcpy(info->slotDescription, "fake reader", 11);
	info->flags = CKF_TOKEN_PRESENT;
	return CKR_OK;
}

static CK_RV
fake_create_object(
    CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *handle)
{
	struct fake_object *o = fake_object_new();
	CK_ULONG i;

	(void)session;
	for (i = 0; i < n; i++)
		fake_object_set(o, tmpl[i].type, tmpl[i].pValue, tmpl[i].ulValueLen);
	fake.created++;
	*handle = o->handle;
	return CKR_OK;
}

static CK_RV
fake_set_attribute_value(
    CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	struct fake_object *o = object_of(h);
	CK_ULONG i;

	(void)session;
	if (o == NULL)
		return CKR_OBJECT_HANDLE_INVALID;
	for (i = 0; i < n; i++)
		if (fake.set_flags != CKR_OK &&
		    (tmpl[i].type == CKA_SENSITIVE || tmpl[i].type == CKA_EXTRACTABLE))
			return fake.set_flags;
	for (i = 0; i < n; i++)
		fake_object_set(o, tmpl[i].type, tmpl[i].pValue, tmpl[i].ulValueLen);
	return CKR_OK;
}

static CK_RV
fake_destroy_object(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h)
{
	struct fake_object *o = object_of(h);
	size_t i;

	(void)session;
	if (o == NULL)
		return CKR_OBJECT_HANDLE_INVALID;
	if (fake.destroy != CKR_OK)
		return fake.destroy;
	for (i = 0; i < o->nattrs; i++)
		free(o->attrs[i].pValue);
	EVP_PKEY_free(o->key);
	memset(o, 0, sizeof(*o));
	fake.destroyed++;
	return CKR_OK;
}

/* Copy the template's attributes to o, but those the key itself sets. */
static void
attrs_from_template(struct fake_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if (tmpl[i].type != CKA_EC_PARAMS && tmpl[i].type != CKA_CLASS)
			fake_object_set(o, tmpl[i].type, tmpl[i].pValue, tmpl[i].ulValueLen);
}

/* EC P-256 only: that is all the units' tests ask for. */
static CK_RV
fake_generate_key_pair(CK_SESSION_HANDLE session, CK_MECHANISM *mech, CK_ATTRIBUTE *pub_tmpl,
    CK_ULONG npub, CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv, CK_OBJECT_HANDLE *pub,
    CK_OBJECT_HANDLE *priv)
{
	CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY;
	CK_KEY_TYPE type = CKK_EC;
	CK_BBOOL no = CK_FALSE;
	struct fake_object *po, *ko;
	EVP_PKEY *key;

	(void)session;
	if (mech->mechanism != CKM_EC_KEY_PAIR_GEN)
		return CKR_MECHANISM_INVALID;
	if ((key = EVP_EC_gen("P-256")) == NULL)
		return CKR_HOST_MEMORY;
	po = fake_object_new();
	fake_object_set(po, CKA_CLASS, &pub_class, sizeof(pub_class));
	attrs_from_template(po, pub_tmpl, npub);
	public_attributes(po, key);
	ko = fake_object_new();
	fake_object_set(ko, CKA_CLASS, &priv_class, sizeof(priv_class));
	fake_object_set(ko, CKA_KEY_TYPE, &type, sizeof(type));
	attrs_from_template(ko, priv_tmpl, npriv);
	if (fake.not_sensitive)
		fake_object_set(ko, CKA_SENSITIVE, &no, sizeof(no));
	if (fake.leaks_secret) /* not the real scalar: that it comes back is what counts */
		fake_object_set(ko, CKA_VALUE, "0123456789abcdef0123456789abcdef", 32);
	ko->key = key;
	*pub = po->handle;
	*priv = ko->handle;
	return CKR_OK;
}

static CK_RV
fake_open_session(
    CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify, CK_SESSION_HANDLE *session)
{
	(void)slot, (void)flags, (void)app, (void)notify;
	*session = SESSION;
	return CKR_OK;
}

static CK_RV
fake_close_session(CK_SESSION_HANDLE session)
{
	(void)session;
	return CKR_OK;
}

static CK_RV
fake_login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR *pin, CK_ULONG len)
{
	CK_RV rv = CKR_OK;

	(void)session, (void)user, (void)pin, (void)len;
	if (fake.logins < FAKE_SCRIPT_MAX) {
		rv = fake.login[fake.logins];
		if (fake.flags_after[fake.logins] != 0)
			fake.info.flags = fake.flags_after[fake.logins];
	}
	fake.logins++;
	return rv;
}

static CK_RV
fake_logout(CK_SESSION_HANDLE session)
{
	(void)session;
	fake.logouts++;
	return CKR_OK;
}

static CK_RV
fake_get_attribute_value(
    CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	struct fake_object *o = object_of(h);
	CK_ATTRIBUTE *a;
	CK_ULONG i;
	CK_RV rv = CKR_OK;

	(void)session;
	if (o == NULL)
		return CKR_OBJECT_HANDLE_INVALID;
	for (i = 0; i < n; i++) {
		if (fake.get_attribute != CKR_OK &&
		    (fake.get_attribute_all || tmpl[i].type == fake.get_attribute_type))
			return fake.get_attribute;
		if ((a = attr_of(o, tmpl[i].type)) == NULL) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
		} else if (tmpl[i].pValue == NULL) {
			tmpl[i].ulValueLen = a->ulValueLen;
		} else if (tmpl[i].ulValueLen < a->ulValueLen) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
		} else {
			memcpy(tmpl[i].pValue, a->pValue, a->ulValueLen);
			tmpl[i].ulValueLen = a->ulValueLen;
		}
	}
	return rv;
}

static bool
object_matches(struct fake_object *o, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ATTRIBUTE *a;
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if ((a = attr_of(o, tmpl[i].type)) == NULL || a->ulValueLen != tmpl[i].ulValueLen ||
		    memcmp(a->pValue, tmpl[i].pValue, a->ulValueLen) != 0)
			return false;
	return true;
}

static CK_RV
fake_find_objects_init(CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	size_t i;

	(void)session;
	nfound = found_at = 0;
	for (i = 0; i < FAKE_OBJECTS_MAX; i++)
		if (fake.objects[i].handle != 0 && object_matches(&fake.objects[i], tmpl, n))
			found[nfound++] = fake.objects[i].handle;
	return CKR_OK;
}

static CK_RV
fake_find_objects(
    CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *objects, CK_ULONG max, CK_ULONG *count)
{
	(void)session;
	for (*count = 0; *count < max && found_at < nfound; (*count)++)
		objects[*count] = found[found_at++];
	return CKR_OK;
}

static CK_RV
fake_find_objects_final(CK_SESSION_HANDLE session)
{
	(void)session;
	return CKR_OK;
}

static CK_RV
fake_get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	size_t i;

	(void)slot;
	for (i = 0; i < fake.nmechanisms; i++)
		if (fake.mechanisms[i] == type) {
			memset(info, 0, sizeof(*info));
			info->flags = CKF_SIGN;
			return CKR_OK;
		}
	return CKR_MECHANISM_INVALID;
}

static CK_RV
fake_sign_init(CK_SESSION_HANDLE session, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
	(void)session;
	if ((signer = object_of(key)) == NULL || signer->key == NULL)
		return CKR_KEY_HANDLE_INVALID;
	fake.signed_with = mech->mechanism;
	return CKR_OK;
}

/* What a token returns for CKM_ECDSA: r || s, each as wide as the order. */
static CK_RV
ecdsa_raw(const unsigned char *der, size_t der_len, CK_BYTE *sig, CK_ULONG *sig_len)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *e;
	int half = (EVP_PKEY_get_bits(signer->key) + 7) / 8;

	if ((e = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		return CKR_GENERAL_ERROR;
	ECDSA_SIG_get0(e, &r, &s);
	if (*sig_len < (CK_ULONG)half * 2 || BN_bn2binpad(r, sig, half) != half ||
	    BN_bn2binpad(s, sig + half, half) != half) {
		ECDSA_SIG_free(e);
		return CKR_GENERAL_ERROR;
	}
	*sig_len = (CK_ULONG)half * 2;
	ECDSA_SIG_free(e);
	return CKR_OK;
}

/* CKM_ECDSA and CKM_RSA_PKCS sign the data as given, CKM_SHA256_* hash it first. */
static CK_RV
fake_sign(CK_SESSION_HANDLE session, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig, CK_ULONG *sig_len)
{
	unsigned char out[1024];
	size_t out_len = sizeof(out);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	int ok;

	(void)session;
	if (fake.signed_with == CKM_SHA256_RSA_PKCS || fake.signed_with == CKM_ECDSA_SHA256) {
		ok = (md = EVP_MD_CTX_new()) != NULL &&
		     EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, signer->key) == 1 &&
		     EVP_DigestSign(md, out, &out_len, data, len) == 1;
		EVP_MD_CTX_free(md);
	} else {
		ok = (ctx = EVP_PKEY_CTX_new(signer->key, NULL)) != NULL &&
		     EVP_PKEY_sign_init(ctx) == 1 &&
		     (fake.signed_with != CKM_RSA_PKCS ||
			 EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
		     EVP_PKEY_sign(ctx, out, &out_len, data, len) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	if (!ok)
		return CKR_GENERAL_ERROR;
	if (fake.signed_with == CKM_ECDSA || fake.signed_with == CKM_ECDSA_SHA256)
		return ecdsa_raw(out, out_len, sig, sig_len);
	if (*sig_len < out_len)
		return CKR_BUFFER_TOO_SMALL;
	memcpy(sig, out, out_len);
	*sig_len = out_len;
	return CKR_OK;
}

void
fake_reset(void)
{
	size_t i, j;

	for (i = 0; i < FAKE_OBJECTS_MAX; i++) {
		for (j = 0; j < fake.objects[i].nattrs; j++)
			free(fake.objects[i].attrs[j].pValue);
		EVP_PKEY_free(fake.objects[i].key);
	}
	memset(&fake, 0, sizeof(fake));
	fake_text(fake.info.label, sizeof(fake.info.label), "fake token");
	fake_text(fake.info.manufacturerID, sizeof(fake.info.manufacturerID), "fake");
	fake_text(fake.info.model, sizeof(fake.info.model), "fake");
	fake_text(fake.info.serialNumber, sizeof(fake.info.serialNumber), "0001");
	fake.info.flags = CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED;
	fake.info.ulMinPinLen = 4;
	fake.info.ulMaxPinLen = 8;
	funcs = (CK_FUNCTION_LIST){
	    .version = {2, 40},
	    .C_GetInfo = fake_get_info,
	    .C_GetSlotList = fake_get_slot_list,
	    .C_GetSlotInfo = fake_get_slot_info,
	    .C_GetTokenInfo = fake_get_token_info,
	    .C_CreateObject = fake_create_object,
	    .C_SetAttributeValue = fake_set_attribute_value,
	    .C_DestroyObject = fake_destroy_object,
	    .C_GenerateKeyPair = fake_generate_key_pair,
	    .C_OpenSession = fake_open_session,
	    .C_CloseSession = fake_close_session,
	    .C_Login = fake_login,
	    .C_Logout = fake_logout,
	    .C_GetAttributeValue = fake_get_attribute_value,
	    .C_FindObjectsInit = fake_find_objects_init,
	    .C_FindObjects = fake_find_objects,
	    .C_FindObjectsFinal = fake_find_objects_final,
	    .C_GetMechanismInfo = fake_get_mechanism_info,
	    .C_SignInit = fake_sign_init,
	    .C_Sign = fake_sign,
	};
}

void
fake_token(struct token *t)
{
	memset(t, 0, sizeof(*t));
	t->module = &module;
	t->slot = SLOT;
	t->info = fake.info;
	snprintf(t->label, sizeof(t->label), "fake token");
	snprintf(t->serial, sizeof(t->serial), "0001");
}

void
fake_mechanism_add(CK_MECHANISM_TYPE type)
{
	if (fake.nmechanisms == sizeof(fake.mechanisms) / sizeof(fake.mechanisms[0]))
		abort();
	fake.mechanisms[fake.nmechanisms++] = type;
}

struct p11_module *
fake_module(void)
{
	return &module;
}

size_t
module_count(void)
{
	return 1;
}

struct p11_module *
module_at(size_t i)
{
	return i == 0 ? &module : NULL;
}

int
module_reload(struct p11_module *m)
{
	(void)m;
	fake.reloads++;
	return 0;
}

void
fake_text(unsigned char *field, size_t size, const char *text)
{
	memset(field, ' ', size);
	memcpy(field, text, strlen(text) < size ? strlen(text) : size);
}

struct fake_object *
fake_object_new(void)
{
	size_t i;

	for (i = 0; i < FAKE_OBJECTS_MAX; i++)
		if (fake.objects[i].handle == 0) {
			fake.objects[i].handle = 100 + i;
			return &fake.objects[i];
		}
	abort();
}

void
fake_object_set(struct fake_object *o, CK_ATTRIBUTE_TYPE type, const void *value, size_t len)
{
	CK_ATTRIBUTE *a = attr_of(o, type);
	void *copy;

	/* Copied before the old value goes: value may point into it. */
	if ((copy = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(copy, value, len);
	if (a == NULL) {
		if (o->nattrs == FAKE_ATTRS_MAX)
			abort();
		a = &o->attrs[o->nattrs++];
		a->type = type;
	} else
		free(a->pValue);
	a->pValue = copy;
	a->ulValueLen = len;
}

struct fake_object *
fake_object_find(CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE *a;
	size_t i;

	for (i = 0; i < FAKE_OBJECTS_MAX; i++)
		if (fake.objects[i].handle != 0 &&
		    (a = attr_of(&fake.objects[i], CKA_CLASS)) != NULL &&
		    a->ulValueLen == sizeof(cls) && memcmp(a->pValue, &cls, sizeof(cls)) == 0)
			return &fake.objects[i];
	return NULL;
}

const void *
fake_object_get(struct fake_object *o, CK_ATTRIBUTE_TYPE type, size_t *len)
{
	CK_ATTRIBUTE *a = attr_of(o, type);

	*len = a != NULL ? a->ulValueLen : 0;
	return a != NULL ? a->pValue : NULL;
}

/* The public half of key as PKCS#11 attributes on o. */
static void
public_attributes(struct fake_object *o, EVP_PKEY *key)
{
	unsigned char buf[1024], *p = NULL;
	ASN1_OCTET_STRING *os;
	BIGNUM *n = NULL, *e = NULL;
	CK_KEY_TYPE type;
	size_t len;
	int der;

	if (EVP_PKEY_is_a(key, "EC")) {
		type = CKK_EC;
		fake_object_set(o, CKA_KEY_TYPE, &type, sizeof(type));
		if (EVP_PKEY_get_utf8_string_param(
			key, OSSL_PKEY_PARAM_GROUP_NAME, (char *)buf, sizeof(buf), &len) != 1 ||
		    (der = i2d_ASN1_OBJECT(OBJ_nid2obj(OBJ_sn2nid((char *)buf)), &p)) <= 0)
			abort();
		fake_object_set(o, CKA_EC_PARAMS, p, (size_t)der);
		OPENSSL_free(p);
		p = NULL;
		if (EVP_PKEY_get_octet_string_param(
			key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &len) != 1 ||
		    (os = ASN1_OCTET_STRING_new()) == NULL ||
		    ASN1_OCTET_STRING_set(os, buf, (int)len) != 1 ||
		    (der = i2d_ASN1_OCTET_STRING(os, &p)) <= 0)
			abort();
		fake_object_set(o, CKA_EC_POINT, p, (size_t)der);
		ASN1_OCTET_STRING_free(os);
		OPENSSL_free(p);
		return;
	}
	type = CKK_RSA;
	fake_object_set(o, CKA_KEY_TYPE, &type, sizeof(type));
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		abort();
	fake_object_set(o, CKA_MODULUS, buf, (size_t)BN_bn2bin(n, buf));
	fake_object_set(o, CKA_PUBLIC_EXPONENT, buf, (size_t)BN_bn2bin(e, buf));
	BN_free(n);
	BN_free(e);
}

void
fake_key_pair(EVP_PKEY *key, const void *id, size_t id_len)
{
	CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY, priv = CKO_PRIVATE_KEY;
	struct fake_object *o;

	o = fake_object_new();
	fake_object_set(o, CKA_CLASS, &pub, sizeof(pub));
	fake_object_set(o, CKA_ID, id, id_len);
	fake_object_set(o, CKA_LABEL, "fake key", 8);
	public_attributes(o, key);
	o = fake_object_new();
	fake_object_set(o, CKA_CLASS, &priv, sizeof(priv));
	fake_object_set(o, CKA_ID, id, id_len);
	o->key = key;
}

X509 *
fake_certificate(EVP_PKEY *key, const char *cn, long not_before, long not_after)
{
	X509 *x;
	X509_NAME *name;

	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(
		name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234) != 1 ||
	    X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), not_before * 86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), not_after * 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(name);
	return x;
}

char *
fake_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long len;

	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0 || (pem = strndup(data, (size_t)len)) == NULL)
		abort();
	BIO_free(bio);
	return pem;
}
