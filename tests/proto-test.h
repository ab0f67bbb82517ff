/*
 * proto-test.h - what the unit tests of protocol/ share: the table their
 * main() runs, parsing a request as a page would send it, and reading
 * emitted JSON back strictly.
 *
 * Test code only; every function is static inline so that a test file that
 * uses a few of them carries no unused code.  A check that only one file
 * needs stays in that file.
 */
#ifndef CB_PROTO_TEST_H
#define CB_PROTO_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/jsonrpc.h"
#include "tests/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- requests ---------------------------------------------------------- */

/* A request with the two members every test needs, then more members. */
#define REQ(more) "{\"jsonrpc\":\"2.0\",\"method\":\"tokens.list\"" more "}"

/* The limits the daemon uses for a page's messages. */
static inline const struct proto_limits *
default_limits(void)
{
	static const struct proto_limits limits = {
	    PROTO_DEFAULT_MAX_MESSAGE, PROTO_DEFAULT_MAX_DEPTH};

	return &limits;
}

/*
 * Parse len bytes.  Returns the cb_err, or 1 if the result breaks the
 * contract (a request returned with an error, or none with success).
 */
static inline int
parse_len(const char *text, size_t len, const struct proto_limits *lim, struct proto_request **out,
    struct proto_failure *fail)
{
	int r = proto_parse_request(text, len, lim, out, fail);

	if ((r == 0) != (*out != NULL))
		return 1;
	if (r != 0 && fail->err != r)
		return 1;
	return r;
}

static inline int
parse(const char *text, struct proto_request **out, struct proto_failure *fail)
{
	return parse_len(text, strlen(text), default_limits(), out, fail);
}

/* The cb_err text (len bytes) is refused with; 0 if accepted. */
static inline int
refusal_len(const char *text, size_t len)
{
	struct proto_request *req = NULL;
	struct proto_failure fail;
	int r;

	r = parse_len(text, len, default_limits(), &req, &fail);
	proto_request_free(req);
	proto_failure_clear(&fail);
	return r;
}

/* For string literals, which may hold NUL bytes. */
#define REFUSAL(lit) refusal_len(lit, sizeof(lit) - 1)

/* Is the failure's id the JSON-RPC null id? */
static inline bool
failure_id_is_null(const struct proto_failure *fail)
{
	return fail->id.kind == PROTO_ID_NULL && fail->id.str == NULL;
}

/* Does s hold only printable ASCII (safe for logs and any text frame)? */
static inline bool
printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* --- reading JSON back --------------------------------------------------- */

/* Parse emitted text back, strictly; NULL unless it is one JSON object. */
static inline struct json_object *
reparse(const char *text)
{
	struct json_tokener *tok;
	struct json_object *obj;
	char where[96];
	size_t len;

	if (text == NULL || (tok = json_tokener_new()) == NULL)
		return NULL;
	len = strlen(text);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(obj, json_type_object) ||
	    proto_check_duplicate_keys(text, len, where, sizeof(where)) != 0) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* The member at a dotted path ("error.data.reason"), or NULL. */
static inline struct json_object *
dig(struct json_object *obj, const char *path)
{
	char name[64];
	const char *dot;
	size_t n;

	while (obj != NULL && *path) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		if (!json_object_object_get_ex(obj, name, &obj))
			return NULL;
		path += n + (dot != NULL);
	}
	return obj;
}

static inline bool
string_at(struct json_object *obj, const char *path, const char *want)
{
	struct json_object *v = dig(obj, path);

	return json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), want) == 0;
}

static inline bool
int_at(struct json_object *obj, const char *path, int64_t want)
{
	struct json_object *v = dig(obj, path);

	return json_object_is_type(v, json_type_int) && json_object_get_int64(v) == want;
}

#endif /* CB_PROTO_TEST_H */
