/*
 * pubkey.h - public keys between PKCS#11 objects and OpenSSL: the curves
 * we generate on, reading a key object into an EVP_PKEY, the CKA_ID that
 * NSS would give the key, PEM output.
 */
#ifndef CB_PKCS11_PUBKEY_H
#define CB_PKCS11_PUBKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <p11-kit/p11-kit.h>

struct token_session;

struct curve {
	const char *name;  /* as in the protocol: "P-256" */
	const char *group; /* OpenSSL group name */
	int nid;
	unsigned long bits;
};

/*
 * The curves keys.generate offers, which must be those of its row in
 * protocol/methods.c (tests/test-pubkey.c holds them together); NULL for
 * any other name.
 */
const struct curve *pubkey_curve(const char *name);

/* The i-th curve this file knows; NULL past the last. */
const struct curve *pubkey_curve_at(size_t i);

/* DER of the curve's OID, the value of CKA_EC_PARAMS; caller frees. */
int pubkey_ec_params(const struct curve *c, uint8_t **der, size_t *len);

/*
 * Read a public key object, or an RSA private key object that shows its
 * modulus, into an EVP_PKEY.  CB_ERR_KEY_NOT_FOUND when the object has no
 * usable public part (or is of a type we do not know).
 */
int pubkey_from_object(struct token_session *s, CK_OBJECT_HANDLE obj, EVP_PKEY **out);

/* Does obj (as pubkey_from_object() reads it) hold the public key key? */
int pubkey_object_matches(
    struct token_session *s, CK_OBJECT_HANDLE obj, EVP_PKEY *key, bool *match);

/* CKA_ID as NSS makes it: SHA-1 of the RSA modulus or of the raw EC point. */
int pubkey_id(EVP_PKEY *pk, uint8_t id[SHA_DIGEST_LENGTH]);

/* SubjectPublicKeyInfo PEM; caller frees. */
int pubkey_pem(EVP_PKEY *pk, char **pem);

#endif /* CB_PKCS11_PUBKEY_H */
