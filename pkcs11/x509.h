/*
 * x509.h - certificates from request text (PEM or base64 DER), and how we
 * describe them to the daemon (RFC 2253 names, hex serials, ISO 8601 UTC).
 */
#ifndef CB_PKCS11_X509_H
#define CB_PKCS11_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json.h>
#include <openssl/x509.h>

struct request;

/*
 * One certificate from text: a single PEM CERTIFICATE block or base64 DER.
 * field names the parameter in messages ("certificate", "chain[2]").
 * INVALID_PARAMS says what is wrong: not PEM/base64, not X.509, trailing data.
 */
int x509_parse(struct request *req, const char *field, const char *text, X509 **out);

/* True when the certificate's notAfter is in the past. */
bool x509_expired(X509 *x);

/* "2031-01-01T00:00:00Z"; buf must hold 32 bytes. */
void x509_time_iso(const ASN1_TIME *t, char *buf, size_t size);

/* {"subject","issuer","serial"} plus "keyId" when key_id is not NULL. */
struct json_object *x509_summary(X509 *x, const char *key_id);

/* Subject as RFC 2253 text (UTF-8); caller frees. */
char *x509_name_text(const X509_NAME *name);

/* The commonName of name, or NULL; caller frees. */
char *x509_common_name(const X509_NAME *name);

#endif /* CB_PKCS11_X509_H */
