/*
 * p11_error.h - the one mapping from a PKCS#11 CK_RV to enum cb_err, and
 * the message a failed PKCS#11 call leaves for the page.
 */
#ifndef CB_PKCS11_P11_ERROR_H
#define CB_PKCS11_P11_ERROR_H

#include <p11-kit/p11-kit.h>

struct request;

/* The cb_err for rv: 0 for CKR_OK, MODULE_ERROR for what has no better name. */
int p11_error(CK_RV rv);

/* p11_error(rv) with the message "<what>: <p11-kit's text for rv>" on req. */
int p11_fail(struct request *req, CK_RV rv, const char *what);

#endif /* CB_PKCS11_P11_ERROR_H */
