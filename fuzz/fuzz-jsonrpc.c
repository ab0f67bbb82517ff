/*
 * fuzz-jsonrpc.c - one WebSocket text message from a page, through all that
 * the daemon does with it before a handler runs.
 *
 * proto_parse_request() with the daemon's default limits, the lookup in
 * protocol/methods.c (page and control rows), proto_method_check(), the error or
 * result the daemon would send back, and the frame it would send to the
 * helper.  Also proto_check_duplicate_keys() on the raw bytes, which it
 * must survive even though the daemon only calls it on text json-c took.
 *
 * Properties checked beyond "no crash, no leak, no UB":
 *  - every reply is strict JSON and valid UTF-8 (a text frame that is not
 *    makes the browser drop the connection) and carries the request's id;
 *  - error details hold printable ASCII only (they reach logs);
 *  - an accepted request, serialised again by json-c, is accepted again
 *    and reads back equal (parser and serialiser agree);
 *  - params that pass their schema reach the helper intact: the frame
 *    the daemon builds fits the IPC limit, the helper's own parser reads
 *    back equal params, and the helper's check of its row accepts them.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz/fuzz.h"
#include "protocol/cberr.h"
#include "protocol/ipc.h"
#include "protocol/jsonrpc.h"
#include "protocol/origin.h"
#include "protocol/methods.h"

/* RFC 3629, written apart from protocol/jsonrpc.c's so that they check each other. */
static bool
utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			n = 1, cp = s[i] & 0x1f, min = 0x80;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 2, cp = s[i] & 0x0f, min = 0x800;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 3, cp = s[i] & 0x07, min = 0x10000;
		else
			return false;
		if (i + n >= len)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool
id_matches(struct json_object *jid, const struct proto_id *id)
{
	switch (id->kind) {
	case PROTO_ID_INT:
		return json_object_is_type(jid, json_type_int) &&
		       json_object_get_int64(jid) == id->num;
	case PROTO_ID_STRING:
		return json_object_is_type(jid, json_type_string) &&
		       strcmp(json_object_get_string(jid), id->str) == 0;
	default:
		return jid == NULL;
	}
}

/* A reply the daemon would send: strict JSON, UTF-8, with the request's id. */
static void
check_reply(char *text, const struct proto_id *id, bool error)
{
	struct json_object *reply, *jid, *member;

	FUZZ_CHECK(text != NULL);
	FUZZ_CHECK(utf8_ok((const unsigned char *)text, strlen(text)));
	reply = fuzz_parse_json(
	    text, strlen(text), 64, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	FUZZ_CHECK(reply != NULL && json_object_is_type(reply, json_type_object));
	FUZZ_CHECK(json_object_object_get_ex(reply, "id", &jid) && id_matches(jid, id));
	FUZZ_CHECK(json_object_object_get_ex(reply, error ? "error" : "result", &member));
	json_object_put(reply);
	free(text);
}

static void
check_failure(const struct proto_failure *fail)
{
	FUZZ_CHECK(fail->err < 0);
	FUZZ_CHECK(fuzz_printable(fail->detail));
	FUZZ_CHECK(fail->id.kind != PROTO_ID_NONE);
	check_reply(proto_emit_error(&fail->id, fail->err, fail->detail, -1), &fail->id, true);
}

/* The request as a page could have sent it, from what we parsed. */
static char *
serialise(const struct proto_request *req)
{
	struct json_object *msg = json_object_new_object(), *jid = NULL;
	char *text;

	json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
	if (req->id.kind == PROTO_ID_INT)
		jid = json_object_new_int64(req->id.num);
	else if (req->id.kind == PROTO_ID_STRING)
		jid = json_object_new_string(req->id.str);
	if (req->id.kind != PROTO_ID_NONE)
		json_object_object_add(msg, "id", jid);
	json_object_object_add(msg, "method", json_object_new_string(req->method));
	if (req->params != NULL)
		json_object_object_add(msg, "params", json_object_get(req->params));
	text = strdup(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
	json_object_put(msg);
	return text;
}

static void
check_reparse(const struct proto_request *req)
{
	/* Serialising may lengthen the text: json-c writes "/" as "\/". */
	struct proto_limits lim = {4 * PROTO_DEFAULT_MAX_MESSAGE, PROTO_DEFAULT_MAX_DEPTH};
	struct proto_request *again = NULL;
	struct proto_failure fail;
	char *text = serialise(req);

	FUZZ_CHECK(text != NULL);
	FUZZ_CHECK(proto_parse_request(text, strlen(text), &lim, &again, &fail) == 0);
	FUZZ_CHECK(strcmp(again->method, req->method) == 0);
	FUZZ_CHECK(again->id.kind == req->id.kind && again->id.num == req->id.num);
	FUZZ_CHECK(req->id.kind != PROTO_ID_STRING || strcmp(again->id.str, req->id.str) == 0);
	FUZZ_CHECK(json_object_equal(again->params, req->params));
	proto_request_free(again);
	free(text);
}

/*
 * What daemon/p11client.c build_request() sends and pkcs11/helper.c
 * proto_parse_object() + request_envelope() read back.
 */
static void
check_helper_frame(const struct proto_method *m, struct json_object *params)
{
	struct json_object *msg = json_object_new_object(), *back, *bparams;
	struct proto_failure fail;
	char why[PROTO_PARAMS_WHY_MAX];
	const char *method = m->name;
	uint8_t *frame;
	size_t flen;
	const char *text;

	json_object_object_add(msg, "id", json_object_new_int64(1));
	json_object_object_add(msg, "method", json_object_new_string(method));
	json_object_object_add(msg, "origin", json_object_new_string("https://portal.example"));
	json_object_object_add(
	    msg, "params", params ? json_object_get(params) : json_object_new_object());
	text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	FUZZ_CHECK(ipc_frame_encode(text, strlen(text), &frame, &flen) == 0);
	free(frame);
	back = proto_parse_object(text, strlen(text), 16, &fail);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(json_object_object_get_ex(back, "params", &bparams));
	FUZZ_CHECK(params ? json_object_equal(bparams, params)
			  : json_object_is_type(bparams, json_type_object));
	FUZZ_CHECK(proto_method_check(
		       proto_method_find(method, PROTO_M_HELPER), bparams, why, sizeof(why)) == 0);
	json_object_put(back);
	json_object_put(msg);
}

static void
dispatch(struct proto_request *req)
{
	const struct proto_method *m;
	char why[PROTO_PARAMS_WHY_MAX];
	int r;

	if ((m = proto_method_find(req->method, PROTO_M_PAGE | PROTO_M_CONTROL)) == NULL) {
		check_reply(
		    proto_emit_error(&req->id, CB_ERR_METHOD_NOT_FOUND, "method not found", -1),
		    &req->id, true);
		return;
	}
	if ((r = proto_method_check(m, req->params, why, sizeof(why))) != 0) {
		FUZZ_CHECK(r == CB_ERR_INVALID_PARAMS || r == CB_ERR_UNSUPPORTED_ALGORITHM);
		FUZZ_CHECK(strncmp(why, "params", 6) == 0 && fuzz_printable(why));
		check_reply(proto_emit_error(&req->id, r, why, -1), &req->id, true);
		return;
	}
	if (m->flags & PROTO_M_HELPER)
		check_helper_frame(m, req->params);
	/* Echo params as a result: the emitter on every string a schema lets through. */
	check_reply(proto_emit_result(&req->id,
			req->params ? json_object_get(req->params) : json_object_new_object()),
	    &req->id, false);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_limits lim = {PROTO_DEFAULT_MAX_MESSAGE, PROTO_DEFAULT_MAX_DEPTH};
	struct proto_request *req = NULL;
	struct json_object *obj;
	struct proto_failure fail;
	char where[96];
	int r;

	r = proto_check_duplicate_keys((const char *)data, size, where, sizeof(where));
	FUZZ_CHECK(r == 0 || r == CB_ERR_PARSE || r == CB_ERR_INVALID_REQUEST);
	FUZZ_CHECK(strlen(where) < sizeof(where));

	/* The daemon <-> helper link's parser: only objects, details printable. */
	if ((obj = proto_parse_object((const char *)data, size, PROTO_DEFAULT_MAX_DEPTH, &fail)) ==
	    NULL)
		check_failure(&fail);
	FUZZ_CHECK(obj == NULL || json_object_is_type(obj, json_type_object));

	if (proto_parse_request((const char *)data, size, &lim, &req, &fail) != 0) {
		FUZZ_CHECK(req == NULL);
		check_failure(&fail);
		proto_failure_clear(&fail);
		json_object_put(obj);
		return 0;
	}
	/* A request the daemon takes is a message the link takes. */
	FUZZ_CHECK(obj != NULL);
	json_object_put(obj);
	FUZZ_CHECK(req != NULL && req->method != NULL);
	FUZZ_CHECK(req->params == NULL || json_object_is_type(req->params, json_type_object));
	check_reparse(req);
	dispatch(req);
	proto_request_free(req);
	return 0;
}
