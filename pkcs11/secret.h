/*
 * secret.h - a PIN held in the OpenSSL secure heap (mlocked, wiped on free).
 *
 * A struct secret is the only place a PIN may live in the helper.  It is
 * allocated with OPENSSL_secure_malloc() and released only by secret_free(),
 * which wipes it first.  Never copy its bytes into ordinary memory, never
 * log them, never hand them to anything but C_Login(), C_SetPIN() and
 * C_InitPIN() (pins.c).
 */
#ifndef CB_PKCS11_SECRET_H
#define CB_PKCS11_SECRET_H

#include <stddef.h>

struct secret {
	char *data; /* NUL-terminated, in the secure heap */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes usable, without the NUL */
};

/* Set up the secure heap; call once in main() before any thread starts. */
int secret_init(void);

/* An empty secret that can hold up to cap bytes; NULL on allocation failure. */
struct secret *secret_new(size_t cap);

/* Append n bytes; CB_ERR_TOO_LARGE (and nothing appended) past the capacity. */
int secret_append(struct secret *s, const void *data, size_t n);

/* Wipe and release; NULL-safe. */
void secret_free(struct secret *s);

/*
 * malloc/realloc/free on the secure heap, for a library whose own buffers
 * see a PIN (libassuan reads the GETPIN data line into its line buffer):
 * those buffers are then mlocked too and wiped when freed.
 */
void *secret_heap_malloc(size_t n);
void *secret_heap_realloc(void *ptr, size_t n);
void secret_heap_free(void *ptr);

#endif /* CB_PKCS11_SECRET_H */
