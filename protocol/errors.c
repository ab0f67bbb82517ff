/*
 * errors.c - the table that ties enum cb_err to JSON-RPC codes and reasons.
 *
 * This table is the wire contract of doc/PROTOCOL.md ("Error reasons").
 * Codes in -32000..-32099 are the JSON-RPC "server error" range; each
 * application reason has its own code so that a client may switch on either.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "protocol/cberr.h"

struct err_row {
	int err;
	int rpc_code;
	const char *reason;
	const char *text;
};

static const struct err_row err_table[] = {
    {CB_OK, 0, "OK", "success"},
    {CB_ERR_PARSE, -32700, "PARSE_ERROR", "message is not valid JSON"},
    {CB_ERR_INVALID_REQUEST, -32600, "INVALID_REQUEST", "not a valid JSON-RPC 2.0 request"},
    {CB_ERR_METHOD_NOT_FOUND, -32601, "METHOD_NOT_FOUND", "method not found"},
    {CB_ERR_INVALID_PARAMS, -32602, "INVALID_PARAMS", "invalid params"},
    {CB_ERR_INTERNAL, -32603, "INTERNAL_ERROR", "internal error"},
    {CB_ERR_ORIGIN_NOT_ALLOWED, -32001, "ORIGIN_NOT_ALLOWED", "origin not allowed"},
    {CB_ERR_BUSY, -32002, "BUSY", "busy, try again later"},
    {CB_ERR_TOO_LARGE, -32003, "TOO_LARGE", "message or field too large"},
    {CB_ERR_USER_CANCELLED, -32004, "USER_CANCELLED", "cancelled by the user"},
    {CB_ERR_PIN_INCORRECT, -32005, "PIN_INCORRECT", "PIN incorrect"},
    {CB_ERR_PIN_LOCKED, -32006, "PIN_LOCKED", "PIN locked"},
    {CB_ERR_TOKEN_NOT_PRESENT, -32007, "TOKEN_NOT_PRESENT", "token not present"},
    {CB_ERR_CARD_REMOVED, -32008, "CARD_REMOVED", "card removed during the operation"},
    {CB_ERR_KEY_NOT_FOUND, -32009, "KEY_NOT_FOUND", "no matching private key on the token"},
    {CB_ERR_SLOT_OCCUPIED, -32010, "SLOT_OCCUPIED", "key slot already holds a key"},
    {CB_ERR_UNSUPPORTED_ALGORITHM, -32011, "UNSUPPORTED_ALGORITHM",
	"algorithm not supported by the token"},
    {CB_ERR_TOKEN_WRITE_PROTECTED, -32012, "TOKEN_WRITE_PROTECTED", "token is write-protected"},
    {CB_ERR_MODULE_ERROR, -32013, "MODULE_ERROR", "PKCS#11 module error"},
    {CB_ERR_TIMEOUT, -32014, "TIMEOUT", "operation timed out"},
    {CB_ERR_TOO_DEEP, -32015, "TOO_DEEP", "JSON nesting too deep"},
    {CB_ERR_PIN_INVALID, -32016, "PIN_INVALID", "PIN has an invalid length or characters"},
    {CB_ERR_ALLOC, -32603, "INTERNAL_ERROR", "out of memory"},
    {CB_ERR_SYSTEM, -32603, "INTERNAL_ERROR", "system error"},
    {CB_ERR_CONFIG, -32603, "INTERNAL_ERROR", "configuration error"},
    {CB_ERR_IPC, -32603, "INTERNAL_ERROR", "malformed helper message"},
    {CB_ERR_AGAIN, -32603, "INTERNAL_ERROR", "incomplete input"},
};

static const struct err_row *
err_lookup(int err)
{
	size_t i;

	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].err == err)
			return &err_table[i];
	return &err_table[5]; /* CB_ERR_INTERNAL */
}

const char *
cb_err_str(int err)
{
	return err_lookup(err)->text;
}

const char *
cb_err_reason(int err)
{
	return err_lookup(err)->reason;
}

int
cb_err_rpc_code(int err)
{
	return err_lookup(err)->rpc_code;
}

int
cb_err_from_reason(const char *reason)
{
	size_t i;

	if (reason == NULL)
		return CB_ERR_INTERNAL;
	/* Only the application reasons may come from the helper. */
	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].err <= CB_ERR_INVALID_PARAMS && err_table[i].err > CB_ERR_ALLOC &&
		    strcmp(err_table[i].reason, reason) == 0)
			return err_table[i].err;
	return CB_ERR_INTERNAL;
}
