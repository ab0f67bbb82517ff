/*
 * csr.h - PKCS#10 certificate requests for keys on a token: the subject is
 * checked and built from request parameters, the request is assembled by
 * OpenSSL and its signature is made by the token.
 */
#ifndef CB_PKCS11_CSR_H
#define CB_PKCS11_CSR_H

#include <json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>

struct request;
struct token_session;

/*
 * The subject from params.subject (NULL: an empty subject), which must
 * have passed protocol/methods.c's keys.generate schema: that is where the
 * rules for each value are.  INVALID_PARAMS names a field OpenSSL refuses.
 */
int csr_subject(struct request *req, struct json_object *subject, X509_NAME **out);

/* The i-th subject member csr_subject() knows, in RDN order; NULL past the last. */
const char *csr_subject_key(size_t i);

/*
 * A PEM CSR for the token key pair (priv, pub), signed with SHA-256 on the
 * token and verified with pub before it is returned.
 */
int csr_create(struct token_session *s, CK_OBJECT_HANDLE priv, EVP_PKEY *pub,
    const X509_NAME *subject, char **pem);

#endif /* CB_PKCS11_CSR_H */
