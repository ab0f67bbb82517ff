/*
 * pem.c - PEM output into a C string, shared by the public key and the
 * certificate request that keys.generate returns.
 *
 * Takes no PKCS#11 or helper state, so that fuzz targets that link csr.c
 * can link it too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>

#include "protocol/cberr.h"
#include "pkcs11/pem.h"

int
pem_string(pem_writer write, const void *obj, char **pem)
{
	BIO *bio;
	char *data;
	long len;
	int r = CB_ERR_ALLOC;

	*pem = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return CB_ERR_ALLOC;
	if (write(bio, obj) == 1 && (len = BIO_get_mem_data(bio, &data)) > 0 &&
	    (*pem = strndup(data, (size_t)len)) != NULL)
		r = 0;
	BIO_free(bio);
	return r;
}
