/*
 * methods.c - the table of methods and notifications (methods.h): the wire
 * contract of doc/PROTOCOL.md and doc/HELPER-IPC.md, in code.
 *
 * Limits: text a person reads (subject fields, labels) is counted in
 * characters, X.520 upper bounds as OpenSSL's string table has them, with
 * givenName and surname held to 64 like CN, which is what cards and dialogs
 * can show; text a token stores (CKA_LABEL) is counted in bytes too,
 * 255 being the longest label OpenSC's PKCS#15 layer takes.
 * Must never: hold anything but data and pure checks.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "protocol/methods.h"
#include "protocol/origin.h"

/* --- params -------------------------------------------------------------- */

#define TOKEN_FIELD(req)                                                                           \
	{                                                                                          \
		.name = "token", .type = PROTO_T_STRING, .required = (req),                        \
		.syntax = PROTO_S_PKCS11_URI, .max_bytes = PROTO_TOKEN_URI_MAX                     \
	}

#define LABEL_FIELD                                                                                \
	{                                                                                          \
		.name = "label", .type = PROTO_T_STRING, .syntax = PROTO_S_TEXT, .nonempty = true, \
		.max_bytes = PROTO_LABEL_MAX_BYTES, .max_chars = PROTO_LABEL_MAX_CHARS             \
	}

#define SUBJECT_TEXT(key, chars)                                                                   \
	{                                                                                          \
		.name = (key), .type = PROTO_T_STRING, .syntax = PROTO_S_TEXT, .nonempty = true,   \
		.max_chars = (chars)                                                               \
	}

/* In the order the RDNs appear in a subject (pkcs11/csr.c keeps that order). */
static const struct proto_field subject_fields[] = {
    {.name = "C", .type = PROTO_T_STRING, .syntax = PROTO_S_COUNTRY, .nonempty = true},
    SUBJECT_TEXT("ST", 128),
    SUBJECT_TEXT("L", 128),
    SUBJECT_TEXT("O", 64),
    SUBJECT_TEXT("OU", 64),
    SUBJECT_TEXT("CN", PROTO_CN_MAX_CHARS),
    SUBJECT_TEXT("SN", 64),
    SUBJECT_TEXT("GN", 64),
    {.name = "serialNumber",
	.type = PROTO_T_STRING,
	.syntax = PROTO_S_PRINTABLE,
	.nonempty = true,
	.max_chars = 64},
    {.name = "emailAddress",
	.type = PROTO_T_STRING,
	.syntax = PROTO_S_EMAIL,
	.nonempty = true,
	.max_chars = 128},
    {NULL},
};

static const char *const algorithm_types[] = {"RSA", "EC", NULL};
static const char *const curves[] = {"P-256", "P-384", NULL};
static const int64_t rsa_bits[] = {2048, 3072, 4096, 0};

static const struct proto_field algorithm_fields[] = {
    {.name = "type",
	.type = PROTO_T_STRING,
	.required = true,
	.choices = algorithm_types,
	.choice_err = CB_ERR_UNSUPPORTED_ALGORITHM},
    {.name = "bits",
	.type = PROTO_T_INT,
	.int_choices = rsa_bits,
	.choice_err = CB_ERR_UNSUPPORTED_ALGORITHM},
    {.name = "curve",
	.type = PROTO_T_STRING,
	.choices = curves,
	.choice_err = CB_ERR_UNSUPPORTED_ALGORITHM},
    {NULL},
};

static const struct proto_field keys_generate_params[] = {
    TOKEN_FIELD(true),
    {.name = "algorithm", .type = PROTO_T_OBJECT, .required = true, .fields = algorithm_fields},
    LABEL_FIELD,
    {.name = "subject", .type = PROTO_T_OBJECT, .fields = subject_fields},
    {.name = "overwrite", .type = PROTO_T_BOOL},
    {NULL},
};

static const struct proto_field certificates_install_params[] = {
    TOKEN_FIELD(false),
    {.name = "certificate",
	.type = PROTO_T_STRING,
	.required = true,
	.syntax = PROTO_S_PEM,
	.max_bytes = PROTO_CERTIFICATE_MAX},
    {.name = "chain",
	.type = PROTO_T_ARRAY_OF_STRINGS,
	.syntax = PROTO_S_PEM,
	.max_bytes = PROTO_CERTIFICATE_MAX,
	.max_items = PROTO_CHAIN_MAX},
    LABEL_FIELD,
    {.name = "allowExpired", .type = PROTO_T_BOOL},
    {.name = "add", .type = PROTO_T_BOOL},
    {NULL},
};

static const struct proto_field token_required_params[] = {
    TOKEN_FIELD(true),
    {NULL},
};

#define KEY_ID_FIELD(req)                                                                          \
	{                                                                                          \
		.name = "keyId", .type = PROTO_T_STRING, .required = (req), .syntax = PROTO_S_HEX, \
		.nonempty = true, .max_bytes = PROTO_KEY_ID_MAX_HEX                                \
	}

static const char *const pin_kinds_changed[] = {"user", "so", NULL};

static const struct proto_field pins_change_params[] = {
    TOKEN_FIELD(true),
    {.name = "which", .type = PROTO_T_STRING, .choices = pin_kinds_changed},
    {NULL},
};

static const struct proto_field keys_delete_params[] = {
    TOKEN_FIELD(true),
    KEY_ID_FIELD(true),
    {.name = "withCertificates", .type = PROTO_T_BOOL},
    {NULL},
};

static const struct proto_field certificates_delete_params[] = {
    TOKEN_FIELD(true),
    KEY_ID_FIELD(false),
    {.name = "serial",
	.type = PROTO_T_STRING,
	.syntax = PROTO_S_HEX,
	.nonempty = true,
	.max_bytes = PROTO_SERIAL_MAX_HEX},
    {.name = "issuer",
	.type = PROTO_T_STRING,
	.syntax = PROTO_S_TEXT,
	.nonempty = true,
	.max_bytes = PROTO_ISSUER_MAX},
    {NULL},
};

static const struct proto_field token_optional_params[] = {
    TOKEN_FIELD(false),
    {NULL},
};

static const struct proto_field no_params[] = {
    {NULL},
};

static const struct proto_field origin_params[] = {
    {.name = "origin",
	.type = PROTO_T_STRING,
	.required = true,
	.syntax = PROTO_S_ORIGIN,
	.max_bytes = ORIGIN_MAX - 1},
    {NULL},
};

/* The daemon's card watcher saw the card leave a reader (doc/HELPER-IPC.md). */
static const struct proto_field card_removed_params[] = {
    {.name = "reader",
	.type = PROTO_T_STRING,
	.required = true,
	.nonempty = true,
	.max_bytes = 127},
    {.name = "events", .type = PROTO_T_INT, .min = 0, .max = 65535},
    {.name = "serviceStopped", .type = PROTO_T_BOOL},
    {NULL},
};

/* A key pair the helper made whose CSR the page never received (keys.abandon). */
static const struct proto_field keys_abandon_params[] = {
    {.name = "keyId",
	.type = PROTO_T_STRING,
	.required = true,
	.syntax = PROTO_S_IDENTIFIER,
	.nonempty = true,
	.max_bytes = 128},
    {.name = "publicKey",
	.type = PROTO_T_STRING,
	.required = true,
	.syntax = PROTO_S_PEM,
	.max_bytes = PROTO_CERTIFICATE_MAX},
    {NULL},
};

static const struct proto_field cancel_params[] = {
    {.name = "id", .type = PROTO_T_INT, .required = true, .min = 0, .max = INT64_MAX},
    {NULL},
};

/* RSA keys have a size and EC keys a curve, and neither the other. */
static int
check_keys_generate(struct json_object *params, char *why, size_t whylen)
{
	struct json_object *alg, *type;
	bool rsa, has_bits, has_curve;
	const char *missing = NULL, *extra = NULL;

	if (!json_object_object_get_ex(params, "algorithm", &alg) ||
	    !json_object_object_get_ex(alg, "type", &type))
		return 0; /* the schema has refused it already */
	rsa = strcmp(json_object_get_string(type), "RSA") == 0;
	has_bits = json_object_object_get_ex(alg, "bits", NULL);
	has_curve = json_object_object_get_ex(alg, "curve", NULL);
	if (rsa && !has_bits)
		missing = "params.algorithm.bits";
	else if (!rsa && !has_curve)
		missing = "params.algorithm.curve";
	else if (rsa && has_curve)
		extra = "params.algorithm.curve: only for EC keys";
	else if (!rsa && has_bits)
		extra = "params.algorithm.bits: only for RSA keys";
	if (missing != NULL)
		snprintf(why, whylen, "%s: missing", missing);
	else if (extra != NULL)
		snprintf(why, whylen, "%s", extra);
	return missing || extra ? CB_ERR_INVALID_PARAMS : 0;
}

/* Which certificates: those of one key, or one by its serial number and issuer. */
static int
check_certificates_delete(struct json_object *params, char *why, size_t whylen)
{
	bool key_id = json_object_object_get_ex(params, "keyId", NULL);
	bool serial = json_object_object_get_ex(params, "serial", NULL);
	bool issuer = json_object_object_get_ex(params, "issuer", NULL);

	if (key_id && (serial || issuer))
		snprintf(why, whylen, "params.keyId: not with serial and issuer");
	else if (!key_id && !serial && !issuer)
		snprintf(why, whylen, "params.keyId: missing (or serial and issuer)");
	else if (!key_id && !serial)
		snprintf(why, whylen, "params.serial: missing (with issuer)");
	else if (!key_id && !issuer)
		snprintf(why, whylen, "params.issuer: missing (with serial)");
	else
		return 0;
	return CB_ERR_INVALID_PARAMS;
}

/* --- reasons ------------------------------------------------------------- */

const int proto_common_reasons[] = {
    CB_ERR_PARSE,
    CB_ERR_INVALID_REQUEST,
    CB_ERR_METHOD_NOT_FOUND,
    CB_ERR_INTERNAL,
    CB_ERR_TOO_LARGE,
    CB_ERR_TOO_DEEP,
    0,
};

static const int no_reasons[] = {0};

static const int tokens_list_reasons[] = {
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_BUSY,
    CB_ERR_TIMEOUT,
    CB_ERR_MODULE_ERROR,
    0,
};

static const int consent_reasons[] = {
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_TIMEOUT,
    0,
};

static const int keys_generate_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_USER_CANCELLED,
    CB_ERR_PIN_INCORRECT,
    CB_ERR_PIN_LOCKED,
    CB_ERR_PIN_INVALID,
    CB_ERR_TOKEN_NOT_PRESENT,
    CB_ERR_UNSUPPORTED_ALGORITHM,
    CB_ERR_SLOT_OCCUPIED,
    CB_ERR_TOKEN_WRITE_PROTECTED,
    CB_ERR_CARD_REMOVED,
    CB_ERR_SERVICE_STOPPED,
    CB_ERR_TIMEOUT,
    CB_ERR_BUSY,
    CB_ERR_MODULE_ERROR,
    0,
};

static const int certificates_install_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_KEY_NOT_FOUND,
    CB_ERR_KEY_HAS_CERTIFICATE,
    CB_ERR_SLOT_OCCUPIED,
    CB_ERR_USER_CANCELLED,
    CB_ERR_PIN_INCORRECT,
    CB_ERR_PIN_LOCKED,
    CB_ERR_PIN_INVALID,
    CB_ERR_TOKEN_NOT_PRESENT,
    CB_ERR_TOKEN_WRITE_PROTECTED,
    CB_ERR_CARD_REMOVED,
    CB_ERR_SERVICE_STOPPED,
    CB_ERR_TIMEOUT,
    CB_ERR_BUSY,
    CB_ERR_MODULE_ERROR,
    0,
};

static const int certificates_list_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_TOKEN_NOT_PRESENT,
    CB_ERR_CARD_REMOVED,
    CB_ERR_SERVICE_STOPPED,
    CB_ERR_TIMEOUT,
    CB_ERR_BUSY,
    CB_ERR_MODULE_ERROR,
    0,
};

/* Every management operation: its dialogs, its PINs, and tokens that cannot. */
static const int pins_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_NOT_SUPPORTED,
    CB_ERR_USER_CANCELLED,
    CB_ERR_PIN_INCORRECT,
    CB_ERR_PIN_LOCKED,
    CB_ERR_PIN_INVALID,
    CB_ERR_TOKEN_NOT_PRESENT,
    CB_ERR_TOKEN_WRITE_PROTECTED,
    CB_ERR_CARD_REMOVED,
    CB_ERR_SERVICE_STOPPED,
    CB_ERR_TIMEOUT,
    CB_ERR_BUSY,
    CB_ERR_MODULE_ERROR,
    0,
};

static const int delete_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    CB_ERR_ORIGIN_NOT_ALLOWED,
    CB_ERR_NOT_SUPPORTED,
    CB_ERR_KEY_NOT_FOUND,
    CB_ERR_USER_CANCELLED,
    CB_ERR_PIN_INCORRECT,
    CB_ERR_PIN_LOCKED,
    CB_ERR_PIN_INVALID,
    CB_ERR_TOKEN_NOT_PRESENT,
    CB_ERR_TOKEN_WRITE_PROTECTED,
    CB_ERR_CARD_REMOVED,
    CB_ERR_SERVICE_STOPPED,
    CB_ERR_TIMEOUT,
    CB_ERR_BUSY,
    CB_ERR_MODULE_ERROR,
    0,
};

static const int control_tokens_reasons[] = {
    CB_ERR_BUSY,
    CB_ERR_TIMEOUT,
    CB_ERR_MODULE_ERROR,
    0,
};

static const int origin_change_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    0,
};

static const int card_removed_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    0,
};

static const int cancel_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    0,
};

static const int keys_abandon_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    CB_ERR_KEY_NOT_FOUND,
    CB_ERR_USER_CANCELLED,
    CB_ERR_PIN_INCORRECT,
    CB_ERR_PIN_LOCKED,
    CB_ERR_PIN_INVALID,
    CB_ERR_TOKEN_NOT_PRESENT,
    CB_ERR_CARD_REMOVED,
    CB_ERR_SERVICE_STOPPED,
    CB_ERR_TIMEOUT,
    CB_ERR_BUSY,
    CB_ERR_MODULE_ERROR,
    0,
};

static const int origin_confirm_reasons[] = {
    CB_ERR_INVALID_PARAMS,
    CB_ERR_USER_CANCELLED,
    CB_ERR_TIMEOUT,
    CB_ERR_BUSY,
    0,
};

/* --- the table ----------------------------------------------------------- */

/* A management operation: a page or the cardbridge tool, dialogs, a changed token. */
#define PROTO_M_MANAGE                                                                             \
	(PROTO_M_PAGE | PROTO_M_CONTROL | PROTO_M_HELPER | PROTO_M_CONSENT |                       \
	    PROTO_M_CHANGES_TOKEN | PROTO_M_DIALOG)

const struct proto_method proto_methods[] = {
    /* The page port (doc/PROTOCOL.md). */
    {"system.hello", PROTO_M_PAGE, PROTO_BUDGET_NONE, 0, no_params, NULL, no_reasons},
    {"tokens.list", PROTO_M_PAGE | PROTO_M_HELPER | PROTO_M_CONSENT, PROTO_BUDGET_FIXED,
	PROTO_DEFAULT_TIMEOUT_S, no_params, NULL, tokens_list_reasons},
    {"keys.generate",
	PROTO_M_PAGE | PROTO_M_HELPER | PROTO_M_CONSENT | PROTO_M_CHANGES_TOKEN | PROTO_M_DIALOG,
	PROTO_BUDGET_OPERATION, PROTO_DEFAULT_OPERATION_TIMEOUT_S, keys_generate_params,
	check_keys_generate, keys_generate_reasons},
    {"certificates.install",
	PROTO_M_PAGE | PROTO_M_HELPER | PROTO_M_CONSENT | PROTO_M_CHANGES_TOKEN | PROTO_M_DIALOG,
	PROTO_BUDGET_FIXED, 300, certificates_install_params, NULL, certificates_install_reasons},
    {"certificates.list", PROTO_M_PAGE | PROTO_M_CONTROL | PROTO_M_HELPER | PROTO_M_CONSENT,
	PROTO_BUDGET_FIXED, PROTO_DEFAULT_TIMEOUT_S, token_optional_params, NULL,
	certificates_list_reasons},
    /* Card management (issue 13): pages and the cardbridge tool alike. */
    {"keys.list", PROTO_M_PAGE | PROTO_M_CONTROL | PROTO_M_HELPER | PROTO_M_CONSENT,
	PROTO_BUDGET_FIXED, PROTO_DEFAULT_TIMEOUT_S, token_required_params, NULL,
	certificates_list_reasons},
    {"pins.change", PROTO_M_MANAGE, PROTO_BUDGET_FIXED, 600, pins_change_params, NULL,
	pins_reasons},
    {"pins.unblock", PROTO_M_MANAGE, PROTO_BUDGET_FIXED, 600, token_required_params, NULL,
	pins_reasons},
    {"pins.initialize", PROTO_M_MANAGE, PROTO_BUDGET_FIXED, 600, token_required_params, NULL,
	pins_reasons},
    {"keys.delete", PROTO_M_MANAGE, PROTO_BUDGET_FIXED, 600, keys_delete_params, NULL,
	delete_reasons},
    {"certificates.delete", PROTO_M_MANAGE, PROTO_BUDGET_FIXED, 600, certificates_delete_params,
	check_certificates_delete, delete_reasons},
    {"events.subscribe", PROTO_M_PAGE | PROTO_M_CONSENT, PROTO_BUDGET_NONE, 0, no_params, NULL,
	consent_reasons},
    {"events.unsubscribe", PROTO_M_PAGE | PROTO_M_CONSENT, PROTO_BUDGET_NONE, 0, no_params, NULL,
	consent_reasons},
    /* The control socket (doc/cardbridged.8). */
    {"control.status", PROTO_M_CONTROL, PROTO_BUDGET_NONE, 0, no_params, NULL, no_reasons},
    /* Waits for the same refresh as tokens.list, and a little longer. */
    {"control.tokens", PROTO_M_CONTROL, PROTO_BUDGET_FIXED, PROTO_DEFAULT_TIMEOUT_S + 10, no_params,
	NULL, control_tokens_reasons},
    {"control.origins.list", PROTO_M_CONTROL, PROTO_BUDGET_NONE, 0, no_params, NULL, no_reasons},
    {"control.origins.allow", PROTO_M_CONTROL, PROTO_BUDGET_NONE, 0, origin_params, NULL,
	origin_change_reasons},
    {"control.origins.revoke", PROTO_M_CONTROL, PROTO_BUDGET_NONE, 0, origin_params, NULL,
	origin_change_reasons},
    /* Only on the daemon-helper link (doc/HELPER-IPC.md). */
    {"hello", PROTO_M_HELPER | PROTO_M_INLINE, PROTO_BUDGET_FIXED, 30, no_params, NULL, no_reasons},
    {"cancel", PROTO_M_HELPER | PROTO_M_INLINE, PROTO_BUDGET_FIXED, 30, cancel_params, NULL,
	cancel_reasons},
    {"origin.confirm", PROTO_M_HELPER | PROTO_M_DIALOG, PROTO_BUDGET_PROMPT, 30, no_params, NULL,
	origin_confirm_reasons},
    {"card.removed", PROTO_M_HELPER | PROTO_M_INLINE, PROTO_BUDGET_FIXED, 30, card_removed_params,
	NULL, card_removed_reasons},
    /* The daemon could not deliver a keys.generate result: remove that pair (a PIN dialog). */
    {"keys.abandon", PROTO_M_HELPER | PROTO_M_CHANGES_TOKEN | PROTO_M_DIALOG, PROTO_BUDGET_PROMPT,
	60, keys_abandon_params, NULL, keys_abandon_reasons},
    {NULL},
};

/* --- notifications ------------------------------------------------------- */

static const char *const event_types[] = {
    "readerAdded", "readerRemoved", "cardInserted", "cardRemoved", "tokensChanged", NULL};

static const struct proto_field event_params[] = {
    {.name = "type", .type = PROTO_T_STRING, .required = true, .choices = event_types},
    {.name = "reader", .type = PROTO_T_STRING},
    {.name = "atr", .type = PROTO_T_STRING},
    {.name = "tokens", .type = PROTO_T_ARRAY},
    {.name = "waitingCards", .type = PROTO_T_ARRAY},
    {NULL},
};

/* In the order a request goes through them; pkcs11/ reports them. */
static const char *const progress_stages[] = {"waitingForDialog", "waitingForPin",
    "waitingForPinPad", "pinAccepted", "generatingKey", "signingRequest", "writingCertificate",
    NULL};
static const char *const pin_kinds[] = {"user", "admin", "puk", NULL};

static const struct proto_field progress_params[] = {
    {.name = "id", .type = PROTO_T_ID, .required = true},
    {.name = "stage", .type = PROTO_T_STRING, .required = true, .choices = progress_stages},
    {.name = "elapsedMs", .type = PROTO_T_INT, .required = true, .min = 0, .max = INT64_MAX},
    {.name = "pin", .type = PROTO_T_STRING, .choices = pin_kinds},
    {NULL},
};

const struct proto_notification proto_notifications[] = {
    {"event", "type", event_types, event_params},
    {"progress", "stage", progress_stages, progress_params},
    {NULL},
};

/* The helper's report on the link: the page's params less what the daemon adds. */
const struct proto_field proto_progress_link_fields[] = {
    {.name = "stage", .type = PROTO_T_STRING, .required = true, .choices = progress_stages},
    {.name = "pin", .type = PROTO_T_STRING, .choices = pin_kinds},
    {NULL},
};

/* --- lookups ------------------------------------------------------------- */

const struct proto_method *
proto_method_find(const char *name, unsigned port)
{
	const struct proto_method *m;

	for (m = proto_methods; name != NULL && m->name != NULL; m++)
		if ((m->flags & port) && strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

int
proto_method_check(
    const struct proto_method *m, struct json_object *params, char *why, size_t whylen)
{
	int r;

	if ((r = proto_check_params(params, m->params, why, whylen)) != 0)
		return r;
	return m->check != NULL && params != NULL ? m->check(params, why, whylen) : 0;
}

long
proto_method_client_timeout_ms(const struct proto_method *m)
{
	long s = m->timeout_s;

	if (m->budget == PROTO_BUDGET_PROMPT)
		s += PROTO_DEFAULT_PROMPT_TIMEOUT;
	/* The way there and back, and the daemon's own answer to a late helper. */
	return (s + PROTO_CLIENT_GRACE_S) * 1000L;
}

/* The i-th name of a table of bindings (see methods.h). */
static const char *
binding_name(const char *const *first, size_t stride, size_t i)
{
	return *(const char *const *)((const char *)first + i * stride);
}

size_t
proto_binding_index(const char *const *first, size_t n, size_t stride, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcmp(binding_name(first, stride, i), name) == 0)
			return i;
	return n;
}

const char *
proto_bindings_check(const char *const *first, size_t n, size_t stride, unsigned port)
{
	const struct proto_method *m;
	size_t i, bound;

	for (i = 0; i < n; i++)
		if (proto_method_find(binding_name(first, stride, i), port) == NULL)
			return binding_name(first, stride, i);
	for (m = proto_methods; m->name != NULL; m++) {
		if (!(m->flags & port))
			continue;
		for (i = 0, bound = 0; i < n; i++)
			bound += strcmp(binding_name(first, stride, i), m->name) == 0;
		if (bound != 1)
			return m->name;
	}
	return NULL;
}

const char *
proto_param_string(struct json_object *params, const char *name)
{
	struct json_object *v;

	if (params == NULL || !json_object_object_get_ex(params, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
