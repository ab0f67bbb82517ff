/*
 * abandon.h - key pairs whose CSR the page never received (it left after
 * the PIN was typed): the helper remembers each key pair it generated for
 * a while, and keys.abandon removes one of those, never any other.
 */
#ifndef CB_PKCS11_ABANDON_H
#define CB_PKCS11_ABANDON_H

#include <stddef.h>
#include <stdint.h>

struct request;

/* Entries kept (the oldest goes first) and for how long, seconds. */
#define ABANDON_REMEMBER_MAX 16
#define ABANDON_REMEMBER_S 600

/*
 * keygen.c, on success: the pair with CKA_ID id on the token at uri, made
 * for the page of request made_for (its origin and site, for the dialog),
 * whose public key is public_pem; words name it in a dialog
 * ("EC P-256").  Any worker thread.
 */
void abandon_remember(const char *uri, const struct request *made_for, const uint8_t *id,
    size_t id_len, const char *public_pem, const char *words);

/* Forget everything (at exit, and between unit tests). */
void abandon_forget_all(void);

#endif /* CB_PKCS11_ABANDON_H */
