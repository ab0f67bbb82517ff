/*
 * cert_check.h - is a certificate on a token: before certificates.install
 * writes it (already there: nothing to write), and after a write failed,
 * when the write may have completed all the same (cert_check.c).
 */
#ifndef CB_PKCS11_CERT_CHECK_H
#define CB_PKCS11_CERT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

struct request;
struct token;
struct token_session;

/* Is this exact certificate (its DER) on the token s is open on? */
int cert_present(struct token_session *s, X509 *x, bool *present);

/*
 * Does the token hold a certificate other than x for x's key: one under
 * the key's CKA_ID (key_id), or one for the same public key?
 */
int cert_key_has_other(
    struct token_session *s, X509 *x, const uint8_t *key_id, size_t key_id_len, bool *has);

/*
 * A write of certs to t failed with err: which of them are on t now.  When
 * the card left (or pcscd stopped), wait up to back_ms for the same card,
 * then look; otherwise look at once.  0 when *present[] tells; else why
 * not (the card did not come back, or cannot be read), req's message kept.
 */
int cert_check_written(struct request *req, struct token *t, int err, X509 *const *certs, size_t n,
    bool *present, int back_ms);

#endif /* CB_PKCS11_CERT_CHECK_H */
