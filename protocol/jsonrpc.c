/*
 * jsonrpc.c - parse JSON-RPC 2.0 requests and emit responses and events.
 *
 * Input is a browser's text frame: hostile until proven otherwise.  We use
 * json-c in strict mode with a depth cap, then check what json-c does not
 * (duplicate keys, exact member set, id and method shape).  Error details
 * name fields but never echo values, so nothing a page sends is reflected
 * into logs or other pages.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/jsonrpc.h"
#include "protocol/utf8.h"

/* Integers beyond 2^53 lose precision in JavaScript: refuse them as ids. */
#define PROTO_MAX_SAFE_INT 9007199254740991LL

static int
fail_with(struct proto_failure *fail, int err, const char *what, const char *arg)
{
	char *p;

	fail->err = err;
	snprintf(fail->detail, sizeof(fail->detail), "%s%s", what, arg ? arg : "");
	/* arg may be a key from the page: no log injection, no cut UTF-8 in a text frame. */
	for (p = fail->detail; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return err;
}

void
proto_id_clear(struct proto_id *id)
{
	free(id->str);
	memset(id, 0, sizeof(*id));
	id->kind = PROTO_ID_NONE;
}

int
proto_id_copy(struct proto_id *dst, const struct proto_id *src)
{
	*dst = *src;
	dst->str = NULL;
	if (src->kind == PROTO_ID_STRING && (dst->str = strdup(src->str)) == NULL)
		return CB_ERR_ALLOC;
	return 0;
}

void
proto_failure_clear(struct proto_failure *fail)
{
	proto_id_clear(&fail->id);
	fail->err = 0;
	fail->detail[0] = '\0';
}

void
proto_request_free(struct proto_request *req)
{
	if (req == NULL)
		return;
	proto_id_clear(&req->id);
	free(req->method);
	json_object_put(req->params);
	free(req);
}

static int
parse_id(struct json_object *jid, struct proto_id *id)
{
	const char *s;
	int64_t v;

	/* JSON null: JSON-RPC 2.0 discourages it, PROTOCOL.md does not allow it. */
	if (jid == NULL)
		return CB_ERR_INVALID_REQUEST;
	switch (json_object_get_type(jid)) {
	case json_type_int:
		v = json_object_get_int64(jid);
		if (v > PROTO_MAX_SAFE_INT || v < -PROTO_MAX_SAFE_INT)
			return CB_ERR_INVALID_REQUEST;
		id->kind = PROTO_ID_INT;
		id->num = v;
		return 0;
	case json_type_string:
		s = json_object_get_string(jid);
		if ((size_t)json_object_get_string_len(jid) != strlen(s) ||
		    strlen(s) > PROTO_MAX_ID_STRING)
			return CB_ERR_INVALID_REQUEST;
		if ((id->str = strdup(s)) == NULL)
			return CB_ERR_ALLOC;
		id->kind = PROTO_ID_STRING;
		return 0;
	default:
		return CB_ERR_INVALID_REQUEST;
	}
}

static bool
method_name_ok(const char *m, size_t len)
{
	size_t i;

	if (len == 0 || len > PROTO_MAX_METHOD || strncmp(m, "rpc.", 4) == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)m[i]) && m[i] != '.' && m[i] != '_')
			return false;
	return true;
}

/* The text is not NUL-terminated: never use str*() on it. */
static bool
all_blank(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
			return false;
	return true;
}

/*
 * How deeply arrays and objects nest in text that json-c has accepted.
 * json-c counts a value inside a container as one more level, so that its
 * limit refuses {"a":1} at depth 1 but takes [] there; the limit we
 * document counts containers, whatever they hold.
 */
static int
container_depth(const char *text, size_t len)
{
	int depth = 0, deepest = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (text[i] == '"') {
			for (i++; i < len && text[i] != '"'; i++)
				if (text[i] == '\\')
					i++;
		} else if (text[i] == '{' || text[i] == '[') {
			if (++depth > deepest)
				deepest = depth;
		} else if (text[i] == '}' || text[i] == ']')
			depth--;
	}
	return deepest;
}

static struct json_object *
tokenize(const char *text, size_t len, int depth, struct proto_failure *fail)
{
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	size_t end;

	if (!utf8_valid(text, len)) {
		fail_with(fail, CB_ERR_PARSE, "invalid JSON: ", "invalid UTF-8");
		return NULL;
	}
	/* One more for json-c: it counts the innermost value as a level. */
	if ((tok = json_tokener_new_ex(depth + 1)) == NULL) {
		fail_with(fail, CB_ERR_ALLOC, "out of memory", NULL);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	/*
	 * A bare number or literal ("42", "true") is complete only once json-c
	 * sees what follows it: end the input explicitly, so that such a message
	 * is a well-formed value that is not a request, not a parse error.
	 */
	if (jerr == json_tokener_continue && end == len && !all_blank(text, len)) {
		root = json_tokener_parse_ex(tok, "", 1);
		if ((jerr = json_tokener_get_error(tok)) != json_tokener_success)
			jerr = json_tokener_continue; /* truncated: "unexpected end of input" */
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_success && container_depth(text, end) > depth) {
		json_object_put(root);
		jerr = json_tokener_error_depth;
	}
	if (jerr == json_tokener_error_depth) {
		fail_with(fail, CB_ERR_TOO_DEEP, "JSON nesting too deep", NULL);
		snprintf(
		    fail->detail, sizeof(fail->detail), "JSON nesting exceeds %d levels", depth);
		return NULL;
	}
	if (jerr != json_tokener_success) {
		fail_with(fail, CB_ERR_PARSE, "invalid JSON: ",
		    jerr == json_tokener_continue ? "unexpected end of input"
						  : json_tokener_error_desc(jerr));
		json_object_put(root);
		return NULL;
	}
	/* strchr() would also find the NUL that ends its set. */
	while (end < len && text[end] != '\0' && strchr(" \t\r\n", text[end]) != NULL)
		end++;
	if (end != len) {
		fail_with(fail, CB_ERR_PARSE, "invalid JSON: ", "trailing data after the value");
		json_object_put(root);
		return NULL;
	}
	/* A top-level null parses to no object at all: not a failure to hide. */
	if (root == NULL)
		fail_with(fail, CB_ERR_INVALID_REQUEST, "request must be a JSON object", NULL);
	return root;
}

struct json_object *
proto_parse_object(const char *text, size_t len, int max_depth, struct proto_failure *fail)
{
	struct json_object *root;
	char where[96];
	int r;

	memset(fail, 0, sizeof(*fail));
	fail->id.kind = PROTO_ID_NULL;
	if ((root = tokenize(text, len, max_depth, fail)) == NULL)
		return NULL;
	if ((r = proto_check_duplicate_keys(text, len, where, sizeof(where))) != 0) {
		json_object_put(root);
		if (r != CB_ERR_PARSE)
			r = CB_ERR_INVALID_REQUEST;
		fail_with(fail, r, r == CB_ERR_PARSE ? "invalid JSON: " : "duplicate key ", where);
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		fail_with(fail, CB_ERR_INVALID_REQUEST, "message must be a JSON object", NULL);
		return NULL;
	}
	return root;
}

static int
check_members(struct json_object *root, struct proto_failure *fail)
{
	json_object_object_foreach(root, key, val)
	{
		(void)val;
		if (strcmp(key, "jsonrpc") != 0 && strcmp(key, "method") != 0 &&
		    strcmp(key, "params") != 0 && strcmp(key, "id") != 0)
			return fail_with(
			    fail, CB_ERR_INVALID_REQUEST, "unknown member in request: ", key);
	}
	return 0;
}

static int
check_envelope(struct json_object *root, struct proto_request *req, struct proto_failure *fail)
{
	struct json_object *v, *jid = NULL;
	int r;

	if (json_object_object_get_ex(root, "id", &jid)) {
		if ((r = parse_id(jid, &req->id)) != 0)
			return fail_with(fail, r,
			    "id must be a string of at most 128 bytes "
			    "or an integer within +-2^53",
			    NULL);
		if ((r = proto_id_copy(&fail->id, &req->id)) != 0)
			return fail_with(fail, r, "out of memory", NULL);
	}
	if ((r = check_members(root, fail)) != 0)
		return r;
	if (!json_object_object_get_ex(root, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) != 3 ||
	    strcmp(json_object_get_string(v), "2.0") != 0)
		return fail_with(fail, CB_ERR_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"", NULL);
	if (!json_object_object_get_ex(root, "method", &v) ||
	    !json_object_is_type(v, json_type_string))
		return fail_with(fail, CB_ERR_INVALID_REQUEST, "\"method\" must be a string", NULL);
	if (!method_name_ok(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
		return fail_with(fail, CB_ERR_METHOD_NOT_FOUND, "method name is not valid", NULL);
	if ((req->method = strdup(json_object_get_string(v))) == NULL)
		return fail_with(fail, CB_ERR_ALLOC, "out of memory", NULL);
	if (json_object_object_get_ex(root, "params", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return fail_with(fail, CB_ERR_INVALID_PARAMS,
			    "\"params\" must be an object (by-name parameters)", NULL);
		req->params = json_object_get(v);
	}
	return 0;
}

int
proto_parse_request(const char *text, size_t len, const struct proto_limits *lim,
    struct proto_request **out, struct proto_failure *fail)
{
	struct proto_request *req = NULL;
	struct json_object *root = NULL;
	char where[96];
	int r;

	*out = NULL;
	memset(fail, 0, sizeof(*fail));
	fail->id.kind = PROTO_ID_NULL;
	if (len > lim->max_message) {
		snprintf(fail->detail, sizeof(fail->detail),
		    "message of %zu bytes exceeds the limit of %zu", len, lim->max_message);
		return fail->err = CB_ERR_TOO_LARGE;
	}
	if ((root = tokenize(text, len, lim->max_depth, fail)) == NULL) {
		r = fail->err;
		goto out;
	}
	if ((r = proto_check_duplicate_keys(text, len, where, sizeof(where))) != 0) {
		if (r != CB_ERR_PARSE)
			r = CB_ERR_INVALID_REQUEST;
		fail_with(fail, r, r == CB_ERR_PARSE ? "invalid JSON: " : "duplicate key ", where);
		goto out;
	}
	if (json_object_is_type(root, json_type_array)) {
		r = fail_with(
		    fail, CB_ERR_INVALID_REQUEST, "batch requests are not supported", NULL);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		r = fail_with(fail, CB_ERR_INVALID_REQUEST, "request must be a JSON object", NULL);
		goto out;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		r = fail_with(fail, CB_ERR_ALLOC, "out of memory", NULL);
		goto out;
	}
	req->id.kind = PROTO_ID_NONE;
	if ((r = check_envelope(root, req, fail)) != 0)
		goto out;
	/* check_envelope() copied a string id into fail; callers clear it only on failure. */
	proto_failure_clear(fail);
	*out = req;
	req = NULL;
	r = 0;
out:
	proto_request_free(req);
	json_object_put(root);
	return r;
}

static struct json_object *
id_to_json(const struct proto_id *id)
{
	if (id == NULL)
		return NULL;
	switch (id->kind) {
	case PROTO_ID_INT:
		return json_object_new_int64(id->num);
	case PROTO_ID_STRING:
		return json_object_new_string(id->str);
	default:
		return NULL;
	}
}

static char *
emit(struct json_object *msg)
{
	char *text = NULL;
	const char *s;

	if (msg == NULL)
		return NULL;
	s = json_object_to_json_string_ext(
	    msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL)
		text = strdup(s);
	json_object_put(msg);
	return text;
}

static struct json_object *
envelope(const struct proto_id *id)
{
	struct json_object *msg;

	if ((msg = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(msg, "id", id_to_json(id));
	return msg;
}

char *
proto_emit_result(const struct proto_id *id, struct json_object *result)
{
	struct json_object *msg;

	if ((msg = envelope(id)) == NULL) {
		json_object_put(result);
		return NULL;
	}
	json_object_object_add(msg, "result", result); /* transferred */
	return emit(msg);
}

char *
proto_emit_error_data(
    const struct proto_id *id, int err, const char *detail, struct json_object *data)
{
	struct json_object *msg = NULL, *error = NULL;

	if (data == NULL)
		data = json_object_new_object();
	if (data == NULL || (msg = envelope(id)) == NULL ||
	    (error = json_object_new_object()) == NULL) {
		json_object_put(msg);
		json_object_put(data);
		return NULL;
	}
	json_object_object_add(error, "code", json_object_new_int(cb_err_rpc_code(err)));
	json_object_object_add(
	    error, "message", json_object_new_string(detail && *detail ? detail : cb_err_str(err)));
	json_object_object_add(data, "reason", json_object_new_string(cb_err_reason(err)));
	json_object_object_add(error, "data", data); /* transferred */
	json_object_object_add(msg, "error", error); /* transferred */
	return emit(msg);
}

char *
proto_emit_error(const struct proto_id *id, int err, const char *detail, int retries_left)
{
	struct json_object *data;

	if ((data = json_object_new_object()) == NULL)
		return NULL;
	if (retries_left >= 0)
		json_object_object_add(data, "retriesLeft", json_object_new_int(retries_left));
	return proto_emit_error_data(id, err, detail, data);
}

static char *
emit_notification(const char *method, struct json_object *params)
{
	struct json_object *msg;

	if (params == NULL || (msg = json_object_new_object()) == NULL) {
		json_object_put(params);
		return NULL;
	}
	json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(msg, "method", json_object_new_string(method));
	json_object_object_add(msg, "params", params); /* transferred */
	return emit(msg);
}

char *
proto_emit_event(struct json_object *params)
{
	return emit_notification("event", params);
}

char *
proto_emit_progress(const struct proto_id *id, struct json_object *report, int64_t elapsed_ms)
{
	struct json_object *params, *v;

	/* A notification's progress would answer a request that wants none. */
	if (id->kind != PROTO_ID_INT && id->kind != PROTO_ID_STRING)
		return NULL;
	if ((params = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(params, "id", id_to_json(id));
	if (json_object_object_get_ex(report, "stage", &v))
		json_object_object_add(params, "stage", json_object_get(v));
	json_object_object_add(params, "elapsedMs", json_object_new_int64(elapsed_ms));
	if (json_object_object_get_ex(report, "pin", &v))
		json_object_object_add(params, "pin", json_object_get(v));
	return emit_notification("progress", params);
}
