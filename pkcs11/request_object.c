/*
 * request_object.c - a request as a plain object: making one, freeing it,
 * and the error text that goes back to the page with a failure.
 *
 * Kept apart from request.c, which holds the worker threads, the registry
 * and the answers, so that fuzz targets can link the parsing and checking
 * code (field.c, x509.c, csr.c) with the real request_fail().  Must never
 * depend on threads, a PKCS#11 module or fd 1.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pkcs11/request.h"

struct request *
request_new(void)
{
	struct request *req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->retries_left = -1;
	req->origin = "";
	req->site = "";
	return req;
}

void
request_free(struct request *req)
{
	if (req == NULL)
		return;
	json_object_put(req->root);
	free(req);
}

int
request_fail(struct request *req, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->message, sizeof(req->message), fmt, ap);
	va_end(ap);
	return err;
}
