/*
 * errors.c - the table that ties enum cb_err to JSON-RPC codes and reasons.
 *
 * This table is the wire contract of doc/PROTOCOL.md ("Error reasons"):
 * cb-contract writes that section, and the JS client's reason list, from it.
 * Codes in -32000..-32099 are the JSON-RPC "server error" range; each
 * application reason has its own code so that a client may switch on either.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "protocol/cberr.h"

struct err_row {
	int err;
	int rpc_code;
	const char *reason;
	const char *text;    /* error.message when the code has nothing better */
	const char *meaning; /* doc/PROTOCOL.md, "Error reasons"; NULL: internal only */
};

static const struct err_row err_table[] = {
    {CB_OK, 0, "OK", "success", NULL},
    {CB_ERR_PARSE, -32700, "PARSE_ERROR", "message is not valid JSON",
	"the message is not valid JSON (answered with `id: null`)"},
    {CB_ERR_INVALID_REQUEST, -32600, "INVALID_REQUEST", "not a valid JSON-RPC 2.0 request",
	"not a JSON-RPC 2.0 request: batch, wrong `jsonrpc`, bad `id`, duplicate keys, unknown "
	"member"},
    {CB_ERR_METHOD_NOT_FOUND, -32601, "METHOD_NOT_FOUND", "method not found", "no such method"},
    {CB_ERR_INVALID_PARAMS, -32602, "INVALID_PARAMS", "invalid params",
	"params missing, unknown, of the wrong type or value; the message names the field as "
	"`params.PATH: RULE` (e.g. `params.subject.CN: longer than 64 characters`) or the "
	"problem (e.g. `params.certificate: expired on ...`)"},
    {CB_ERR_INTERNAL, -32603, "INTERNAL_ERROR", "internal error",
	"a bug or resource exhaustion in the helper"},
    {CB_ERR_ORIGIN_NOT_ALLOWED, -32001, "ORIGIN_NOT_ALLOWED", "origin not allowed",
	"the user or administrator did not allow this origin"},
    {CB_ERR_BUSY, -32002, "BUSY", "busy, try again later",
	"too many requests in flight, or another cardbridge dialog stayed open (30 s, or the "
	"prompt timeout if shorter)"},
    {CB_ERR_TOO_LARGE, -32003, "TOO_LARGE", "message or field too large",
	"message or field too large"},
    {CB_ERR_USER_CANCELLED, -32004, "USER_CANCELLED", "cancelled by the user",
	"the user cancelled the PIN or confirmation dialog, or the page disconnected; "
	"`data.retriesLeft` when a wrong PIN came first and the token tells"},
    {CB_ERR_PIN_INCORRECT, -32005, "PIN_INCORRECT", "PIN incorrect",
	"a wrong PIN three times in one request (the dialog asks again after each); "
	"`data.retriesLeft` when the token tells"},
    {CB_ERR_PIN_LOCKED, -32006, "PIN_LOCKED", "PIN locked",
	"the PIN is blocked (`data.retriesLeft`: 0); no dialog is shown; the user can unblock "
	"it with `pins.unblock` where the token's `manage.canUnblockPin` says so, else with the "
	"card's own tools"},
    {CB_ERR_TOKEN_NOT_PRESENT, -32007, "TOKEN_NOT_PRESENT", "token not present",
	"no token matches `token`, or it was removed"},
    {CB_ERR_CARD_REMOVED, -32008, "CARD_REMOVED", "card removed during the operation",
	"the card was removed during the operation"},
    {CB_ERR_KEY_NOT_FOUND, -32009, "KEY_NOT_FOUND", "no matching private key on the token",
	"no private key on the token matches the certificate, or nothing on the token has the "
	"`keyId` (or serial number and issuer) given"},
    {CB_ERR_SLOT_OCCUPIED, -32010, "SLOT_OCCUPIED", "key slot already holds a key",
	"the token keeps keys (and their certificates) in fixed slots and the slot is taken; "
	"see [OpenPGP cards](#openpgp-cards)"},
    {CB_ERR_UNSUPPORTED_ALGORITHM, -32011, "UNSUPPORTED_ALGORITHM",
	"algorithm not supported by the token",
	"the token, or cardbridge, cannot generate that key type or size"},
    {CB_ERR_TOKEN_WRITE_PROTECTED, -32012, "TOKEN_WRITE_PROTECTED", "token is write-protected",
	"the token is read-only"},
    {CB_ERR_MODULE_ERROR, -32013, "MODULE_ERROR", "PKCS#11 module error",
	"the PKCS#11 module or the helper failed; retrying may work"},
    {CB_ERR_TIMEOUT, -32014, "TIMEOUT", "operation timed out",
	"the token or the dialog did not answer in time"},
    {CB_ERR_TOO_DEEP, -32015, "TOO_DEEP", "JSON nesting too deep",
	"JSON nested deeper than the limit"},
    {CB_ERR_PIN_INVALID, -32016, "PIN_INVALID", "PIN has an invalid length or characters",
	"the PIN typed has a length or characters the token refuses"},
    {CB_ERR_NOT_SUPPORTED, -32017, "NOT_SUPPORTED", "the token cannot do this",
	"the token, its PKCS#11 module or cardbridge cannot do this management operation, or "
	"not in the token's present state; the message says why (the token's `manage.why` "
	"says it before the call)"},
    {CB_ERR_SERVICE_STOPPED, -32018, "SERVICE_STOPPED",
	"the smart-card service stopped during the operation",
	"the smart-card service (pcscd) stopped during the operation, or while the PIN dialog "
	"was open; the card was not removed; retrying may work once the service runs again"},
    {CB_ERR_KEY_HAS_CERTIFICATE, -32019, "KEY_HAS_CERTIFICATE", "the key already has a certificate",
	"the key of the certificate already has another certificate on the token; nothing was "
	"written (`certificates.install` with `add`: store it next to the other, after a dialog "
	"that says so)"},
    {CB_ERR_ALLOC, -32603, "INTERNAL_ERROR", "out of memory", NULL},
    {CB_ERR_SYSTEM, -32603, "INTERNAL_ERROR", "system error", NULL},
    {CB_ERR_CONFIG, -32603, "INTERNAL_ERROR", "configuration error", NULL},
    {CB_ERR_IPC, -32603, "INTERNAL_ERROR", "malformed helper message", NULL},
    {CB_ERR_AGAIN, -32603, "INTERNAL_ERROR", "incomplete input", NULL},
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

bool
cb_err_doc(size_t i, int *err, int *rpc_code, const char **reason, const char **meaning)
{
	size_t row, seen = 0;

	for (row = 0; row < sizeof(err_table) / sizeof(err_table[0]); row++) {
		if (err_table[row].meaning == NULL)
			continue;
		if (seen++ == i) {
			*err = err_table[row].err;
			*rpc_code = err_table[row].rpc_code;
			*reason = err_table[row].reason;
			*meaning = err_table[row].meaning;
			return true;
		}
	}
	return false;
}
