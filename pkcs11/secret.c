/*
 * secret.c - struct secret on the OpenSSL secure heap.
 *
 * The secure heap is a fixed mlocked arena with guard pages, kept out of
 * core dumps (the helper also turns those off).  If it cannot be set up we
 * still run, because OPENSSL_secure_malloc() then falls back to malloc(),
 * but we say so in the log: wiping still happens in secret_free().
 *
 * Must never: print, log or copy a secret's bytes anywhere else.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "protocol/cberr.h"
#include "pkcs11/log.h"
#include "pkcs11/secret.h"

/*
 * 16 concurrent dialogs, each with a PIN of at most a few hundred bytes and
 * a libassuan context of a few KiB (its line buffers); a power of two.
 */
#define SECRET_HEAP_SIZE (256 * 1024)
#define SECRET_HEAP_MIN 32

int
secret_init(void)
{
	int r;

	if (CRYPTO_secure_malloc_initialized())
		return 0;
	r = CRYPTO_secure_malloc_init(SECRET_HEAP_SIZE, SECRET_HEAP_MIN);
	if (r == 0) {
		helper_log(CB_LOG_WARN, "secure heap unavailable; PINs live in ordinary memory");
		return CB_ERR_SYSTEM;
	}
	if (r == 2)
		helper_log(CB_LOG_WARN, "secure heap is not fully locked in memory");
	return 0;
}

struct secret *
secret_new(size_t cap)
{
	struct secret *s;

	if ((s = OPENSSL_secure_zalloc(sizeof(*s))) == NULL)
		return NULL;
	if ((s->data = OPENSSL_secure_zalloc(cap + 1)) == NULL) {
		OPENSSL_secure_clear_free(s, sizeof(*s));
		return NULL;
	}
	s->cap = cap;
	return s;
}

int
secret_append(struct secret *s, const void *data, size_t n)
{
	if (n > s->cap - s->len)
		return CB_ERR_TOO_LARGE;
	memcpy(s->data + s->len, data, n);
	s->len += n;
	s->data[s->len] = '\0';
	return 0;
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s->data, s->cap + 1);
	OPENSSL_secure_free(s->data);
	OPENSSL_cleanse(s, sizeof(*s));
	OPENSSL_secure_free(s);
}

void *
secret_heap_malloc(size_t n)
{
	return OPENSSL_secure_malloc(n);
}

void
secret_heap_free(void *ptr)
{
	if (ptr == NULL)
		return;
	/* Outside the arena only when the secure heap could not be set up. */
	if (CRYPTO_secure_allocated(ptr))
		OPENSSL_secure_clear_free(ptr, CRYPTO_secure_actual_size(ptr));
	else
		OPENSSL_secure_free(ptr);
}

void *
secret_heap_realloc(void *ptr, size_t n)
{
	size_t old;
	void *p;

	if (ptr == NULL)
		return secret_heap_malloc(n);
	if (n == 0) {
		secret_heap_free(ptr);
		return NULL;
	}
	if (!CRYPTO_secure_allocated(ptr))
		return OPENSSL_realloc(ptr, n);
	if ((p = OPENSSL_secure_malloc(n)) == NULL)
		return NULL;
	old = CRYPTO_secure_actual_size(ptr);
	memcpy(p, ptr, old < n ? old : n);
	secret_heap_free(ptr);
	return p;
}
