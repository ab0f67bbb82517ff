/*
 * p11-fake.h - a PKCS#11 module in memory for the C unit tests of pkcs11/:
 * one token whose answers a test sets up (PIN flags, what C_Login says,
 * the objects and their attributes, what C_Sign does), so that a unit can
 * be driven through the paths a real token rarely takes.
 *
 * It is also the only module loaded: this file provides module.c's
 * module_count(), module_at() and module_reload() for the units that ask
 * (link it instead of pkcs11/module.c).
 *
 * Test equipment: single-threaded, never installed, never loaded by p11-kit.
 */
#ifndef CB_TESTS_P11_FAKE_H
#define CB_TESTS_P11_FAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>

#include "pkcs11/module.h"
#include "pkcs11/token.h"

#define FAKE_OBJECTS_MAX 8
#define FAKE_ATTRS_MAX 12
#define FAKE_SCRIPT_MAX 8

struct fake_object {
	CK_OBJECT_HANDLE handle; /* 0: unused */
	CK_ATTRIBUTE attrs[FAKE_ATTRS_MAX];
	size_t nattrs;
	EVP_PKEY *key; /* C_Sign signs with it (private key objects) */
};

struct fake_module {
	CK_TOKEN_INFO info;		       /* what C_GetTokenInfo answers */
	CK_RV login[FAKE_SCRIPT_MAX];	       /* what each C_Login answers in turn; then CKR_OK */
	CK_FLAGS flags_after[FAKE_SCRIPT_MAX]; /* info.flags after each C_Login */
	bool no_slots;			       /* C_GetSlotList finds no token */
	CK_RV get_info;			       /* what C_GetInfo answers */
	CK_VERSION library_version;	       /* C_GetInfo's libraryVersion */
	CK_RV get_attribute;		       /* CKR_OK, or what C_GetAttributeValue says ... */
	bool get_attribute_all;		       /* ... for every attribute, or ... */
	CK_ATTRIBUTE_TYPE get_attribute_type;  /* ... for this one only */
	CK_MECHANISM_TYPE mechanisms[4];       /* with CKF_SIGN (CKM_RSA_PKCS_KEY_PAIR_GEN is 0) */
	size_t nmechanisms;
	struct fake_object objects[FAKE_OBJECTS_MAX];
	int logins, logouts, created; /* C_Login, C_Logout, C_CreateObject calls */
	int destroyed, reloads;	      /* C_DestroyObject and module_reload() calls */
	int token_infos;	      /* C_GetTokenInfo calls (an APDU on some cards) */
	bool not_sensitive;	      /* C_GenerateKeyPair makes CKA_SENSITIVE false */
	bool leaks_secret;	      /* ... and the private key hands out CKA_VALUE */
	CK_RV set_flags; /* C_SetAttributeValue of CKA_SENSITIVE/_EXTRACTABLE: CKR_OK sets them */
	CK_MECHANISM_TYPE signed_with; /* the last C_SignInit's mechanism */
	/* Not CKR_OK: what C_DestroyObject answers, destroying nothing (a pulled card). */
	CK_RV destroy;
};

extern struct fake_module fake;

/* Forget everything: an initialised token with a label, no objects, logins answer CKR_OK. */
void fake_reset(void);

/* t is the fake token (t->module is a struct p11_module whose funcs are the fake's). */
void fake_token(struct token *t);

/* The token can use mechanism type (CKF_SIGN, no limit on key sizes). */
void fake_mechanism_add(CK_MECHANISM_TYPE type);

/* The module the fake token is in (for a test's module_at()). */
struct p11_module *fake_module(void);

/* Copy text into a PKCS#11 fixed-size field, padded with spaces. */
void fake_text(unsigned char *field, size_t size, const char *text);

/* The URI that names the fake token. */
#define FAKE_TOKEN_URI "pkcs11:token=fake%20token"

/* A new object, and its attributes (copied; setting one again replaces it). */
struct fake_object *fake_object_new(void);
void fake_object_set(struct fake_object *o, CK_ATTRIBUTE_TYPE type, const void *value, size_t len);

/* The first object of class cls, or NULL. */
struct fake_object *fake_object_find(CK_OBJECT_CLASS cls);

/* The value of o's attribute type, or NULL (then *len is 0). */
const void *fake_object_get(struct fake_object *o, CK_ATTRIBUTE_TYPE type, size_t *len);

/*
 * A key pair on the fake token with CKA_ID id (id_len bytes): the public key
 * object holds key's public half (CKA_EC_PARAMS/CKA_EC_POINT or
 * CKA_MODULUS/CKA_PUBLIC_EXPONENT), the private key object signs with key
 * (taken over).
 */
void fake_key_pair(EVP_PKEY *key, const void *id, size_t id_len);

/* A certificate for key, signed by itself, valid from not_before to not_after days from now. */
X509 *fake_certificate(EVP_PKEY *key, const char *cn, long not_before, long not_after);

/* x as a PEM text (caller frees). */
char *fake_pem(X509 *x);

#endif /* CB_TESTS_P11_FAKE_H */
