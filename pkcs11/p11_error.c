/*
 * p11_error.c - the one place that maps a CK_RV to enum cb_err (STYLE.md):
 * every file that calls a PKCS#11 module reports its failures through
 * p11_fail(), so that the page sees the same reason for the same CK_RV
 * whichever operation failed.
 *
 * Must never: call a PKCS#11 module, or put anything but the operation's
 * name and p11-kit's text for the CK_RV in the page's message.
 */
#include "config.h"

#include "protocol/cberr.h"
#include "pkcs11/log.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/request.h"

int
p11_error(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return 0;
	case CKR_PIN_INCORRECT:
		return CB_ERR_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return CB_ERR_PIN_LOCKED;
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		return CB_ERR_PIN_INVALID;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SLOT_ID_INVALID:
	case CKR_TOKEN_NOT_RECOGNIZED:
		return CB_ERR_TOKEN_NOT_PRESENT;
	case CKR_DEVICE_REMOVED:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
		return CB_ERR_CARD_REMOVED;
	case CKR_TOKEN_WRITE_PROTECTED:
		return CB_ERR_TOKEN_WRITE_PROTECTED;
	case CKR_MECHANISM_INVALID:
	case CKR_KEY_SIZE_RANGE:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_CURVE_NOT_SUPPORTED:
		return CB_ERR_UNSUPPORTED_ALGORITHM;
	case CKR_FUNCTION_CANCELED:
		return CB_ERR_USER_CANCELLED;
	default:
		return CB_ERR_MODULE_ERROR;
	}
}

int
p11_fail(struct request *req, CK_RV rv, const char *what)
{
	const char *text = p11_kit_strerror(rv);

	helper_log(CB_LOG_DEBUG, "%s: CK_RV 0x%lx", what, (unsigned long)rv);
	req->module_failed = true; /* token_check_removed() asks PC/SC whether the card left */
	return request_fail(req, p11_error(rv), "%s: %s", what,
	    text != NULL && *text != '\0' ? text : "PKCS#11 error");
}
