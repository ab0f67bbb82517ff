/*
 * chain.h - which CA certificates sent with a certificate are issuers on
 * its path (chain.c): only those go onto a token with it.
 */
#ifndef CB_PKCS11_CHAIN_H
#define CB_PKCS11_CHAIN_H

#include <stddef.h>

#include <openssl/x509.h>

/*
 * The path from leaf upwards through chain[0..n-1]: order[0] is the index
 * of the certificate that issued leaf, order[1] of the one that issued
 * that, and so on; returns how many (at most n).  Each step is a CA
 * certificate whose subject is the issuer's name and whose key verifies
 * the signature below it; none is used twice, a copy of leaf is never its
 * own issuer, and the path ends at a self-signed certificate or where no
 * issuer is found.  Pure: no token, no I/O.
 */
size_t chain_path(X509 *leaf, X509 *const *chain, size_t n, size_t *order);

/* Did issuer sign subject: its CA, its name and key (no dates, no policy)? */
int chain_issued(X509 *issuer, X509 *subject);

#endif /* CB_PKCS11_CHAIN_H */
