/*
 * pem.h - an OpenSSL object as a PEM text in a C string, for the answers
 * the helper sends (keys.generate's publicKey and csr).
 */
#ifndef CB_PKCS11_PEM_H
#define CB_PKCS11_PEM_H

#include <openssl/bio.h>

/*
 * Writes obj to bio as one PEM block; 1 on success, as OpenSSL's
 * PEM_write_bio_*() functions, which each caller wraps in one of these.
 */
typedef int (*pem_writer)(BIO *bio, const void *obj);

/* obj as write() puts it in PEM; caller frees. */
int pem_string(pem_writer write, const void *obj, char **pem);

#endif /* CB_PKCS11_PEM_H */
