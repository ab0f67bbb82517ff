/*
 * helper-stubs.c - the few symbols pkcs11/x509.c, field.c and csr.c take
 * from the rest of cardbridge-pkcs11-helper, for fuzz targets that link
 * those files alone.
 *
 * request_fail() is a copy of pkcs11/request.c's (which also holds the
 * worker threads and the request registry, so it cannot be linked on its
 * own).  The token functions abort: a fuzz target must never reach code
 * that would talk to a PKCS#11 module, and if csr_create() were called it
 * would be a bug in the target.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pkcs11/helper.h"
#include "pkcs11/token.h"

int
request_fail(struct request *req, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->message, sizeof(req->message), fmt, ap);
	va_end(ap);
	return err;
}

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
