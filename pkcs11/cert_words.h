/*
 * cert_words.h - the words of certificates.install's PIN dialog, and how
 * dialogs name a certificate (cert_words.c).
 */
#ifndef CB_PKCS11_CERT_WORDS_H
#define CB_PKCS11_CERT_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

/*
 * What follows "<origin> asks to" in the PIN dialog, translated: "store
 * the certificate for Joe Doe issued by Demo CA, and the CA certificate
 * Demo Root CA"; "add the certificate ... to a key that already has a
 * certificate" (add); or, when leaf is on the token already, "store the CA
 * certificate Demo Root CA for the certificate of Joe Doe".  chain: the n
 * CA certificates that will be written.
 */
void cert_install_words(
    X509 *leaf, bool leaf_present, bool add, X509 *const *chain, size_t n, char *buf, size_t size);

/*
 * A certificate's subject or issuer as dialogs name it: its common name,
 * else the whole name; made safe and cut to max_chars (protocol/display.c).
 */
void cert_name_shown(const X509_NAME *name, size_t max_chars, char *buf, size_t size);

#endif /* CB_PKCS11_CERT_WORDS_H */
