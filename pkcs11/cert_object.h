/*
 * cert_object.h - the key a certificate belongs to, and the certificate
 * object next to it (cert_object.c).
 */
#ifndef CB_PKCS11_CERT_OBJECT_H
#define CB_PKCS11_CERT_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <p11-kit/p11-kit.h>

struct token_session;

/*
 * The CKA_ID and label of a key object (public, or an RSA private key that
 * shows its modulus) whose public key is key; *id NULL if there is none.
 * The label is best effort (*label NULL when it cannot be read).
 */
int cert_find_key(
    struct token_session *s, EVP_PKEY *key, uint8_t **id, size_t *id_len, char **label);

/*
 * Write x to the token as a CKO_CERTIFICATE under CKA_ID id, labelled
 * label; authority: with CKA_CERTIFICATE_CATEGORY "authority".  *rv is the
 * module's answer, for the caller to tell a refusal from a card that left.
 */
int cert_object_create(struct token_session *s, X509 *x, const char *label, const uint8_t *id,
    size_t id_len, bool authority, CK_RV *rv);

#endif /* CB_PKCS11_CERT_OBJECT_H */
