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
struct session;

/*
 * The subject from params.subject (NULL: an empty subject).  Every value is
 * checked first: UTF-8 without control characters, X.520 length bounds,
 * the string types X.520 requires; INVALID_PARAMS names the field.
 */
int csr_subject(struct request *req, struct json_object *subject, X509_NAME **out);

/*
 * A PEM CSR for the token key pair (priv, pub), signed with SHA-256 on the
 * token and verified with pub before it is returned.
 */
int csr_create(
    struct session *s, CK_OBJECT_HANDLE priv, EVP_PKEY *pub, const X509_NAME *subject, char **pem);

#endif /* CB_PKCS11_CSR_H */
