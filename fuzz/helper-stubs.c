/*
 * helper-stubs.c - the token functions pkcs11/csr.c takes from the rest of
 * cardbridge-pkcs11-helper, for fuzz targets that link the parsing and
 * checking files alone (request_fail() comes from the real
 * pkcs11/request_object.c).
 *
 * They abort: a fuzz target must never reach code that would talk to a
 * PKCS#11 module, and if csr_create() were called it would be a bug in
 * the target.
 */
#include "config.h"

#include <stdlib.h>

#include "pkcs11/p11_error.h"
#include "pkcs11/request.h"
#include "pkcs11/token_capabilities.h"

int
p11_fail(struct request *req, CK_RV rv, const char *what)
{
	(void)req, (void)rv, (void)what;
	abort();
}

bool
token_has_mechanism(const struct token *t, CK_MECHANISM_TYPE type, CK_FLAGS flags)
{
	(void)t, (void)type, (void)flags;
	abort();
}
