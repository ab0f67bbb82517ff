/*
 * cberr.h - the one project-wide error type (after OpenSSH's ssherr.h).
 *
 * Every failure inside cardbridge is a negative enum cb_err.  Each one maps,
 * in protocol/errors.c only, to the JSON-RPC code and the stable
 * error.data.reason string that doc/PROTOCOL.md promises to portal
 * developers.  Nothing else may invent a reason string.
 */
#ifndef CB_ERR_H
#define CB_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum cb_err {
	CB_OK = 0,
	/* JSON-RPC 2.0 standard errors */
	CB_ERR_PARSE = -1,	      /* -32700 PARSE_ERROR */
	CB_ERR_INVALID_REQUEST = -2,  /* -32600 INVALID_REQUEST */
	CB_ERR_METHOD_NOT_FOUND = -3, /* -32601 METHOD_NOT_FOUND */
	CB_ERR_INVALID_PARAMS = -4,   /* -32602 INVALID_PARAMS */
	CB_ERR_INTERNAL = -5,	      /* -32603 INTERNAL_ERROR */
	/* application errors, reason strings in doc/PROTOCOL.md */
	CB_ERR_ORIGIN_NOT_ALLOWED = -10,
	CB_ERR_BUSY = -11,
	CB_ERR_TOO_LARGE = -12,
	CB_ERR_USER_CANCELLED = -13,
	CB_ERR_PIN_INCORRECT = -14,
	CB_ERR_PIN_LOCKED = -15,
	CB_ERR_TOKEN_NOT_PRESENT = -16,
	CB_ERR_CARD_REMOVED = -17,
	CB_ERR_KEY_NOT_FOUND = -18,
	CB_ERR_SLOT_OCCUPIED = -19,
	CB_ERR_UNSUPPORTED_ALGORITHM = -20,
	CB_ERR_TOKEN_WRITE_PROTECTED = -21,
	CB_ERR_MODULE_ERROR = -22,
	CB_ERR_TIMEOUT = -23,
	CB_ERR_TOO_DEEP = -24,
	CB_ERR_PIN_INVALID = -25,
	CB_ERR_NOT_SUPPORTED = -26,
	CB_ERR_SERVICE_STOPPED = -27,
	CB_ERR_KEY_HAS_CERTIFICATE = -28,
	/* internal-only conditions: reach a page as INTERNAL_ERROR */
	CB_ERR_ALLOC = -40,
	CB_ERR_SYSTEM = -41, /* errno is meaningful */
	CB_ERR_CONFIG = -42,
	CB_ERR_IPC = -43,   /* malformed daemon<->helper message */
	CB_ERR_AGAIN = -44, /* need more input */
};

/* Human-readable text for logs; never NULL. */
const char *cb_err_str(int err);

/* The stable reason string sent as error.data.reason; never NULL. */
const char *cb_err_reason(int err);

/* The JSON-RPC error.code for err. */
int cb_err_rpc_code(int err);

/* Reverse of cb_err_reason() for messages from the helper; CB_ERR_INTERNAL if unknown. */
int cb_err_from_reason(const char *reason);

/*
 * The i-th reason a page may see, for documentation (cb-contract): its
 * cb_err, JSON-RPC code, reason and meaning.  False past the last.
 */
bool cb_err_doc(size_t i, int *err, int *rpc_code, const char **reason, const char **meaning);

#endif /* CB_ERR_H */
