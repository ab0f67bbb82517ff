/*
 * jsonrpc.h - JSON-RPC 2.0 messages as C structs, parsed and emitted.
 *
 * Pure code: no I/O, no lws, no PKCS#11, no OpenSSL.  Every input byte is
 * untrusted page content; every failure is a specific cb_err.
 */
#ifndef CB_JSONRPC_H
#define CB_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

struct proto_limits {
	size_t max_message; /* bytes of one message */
	int max_depth;	    /* JSON nesting */
};

#define PROTO_DEFAULT_MAX_MESSAGE (256 * 1024)
#define PROTO_DEFAULT_MAX_DEPTH 16
#define PROTO_MAX_METHOD 64
#define PROTO_MAX_ID_STRING 128

/* A request id is a string, an integer, or absent (notification). */
enum proto_id_kind { PROTO_ID_NONE, PROTO_ID_NULL, PROTO_ID_INT, PROTO_ID_STRING };

struct proto_id {
	enum proto_id_kind kind;
	int64_t num;
	char *str;
};

struct proto_request {
	struct proto_id id;
	char *method;
	struct json_object *params; /* object, or NULL when absent */
	int64_t received_ms;	    /* when the daemon read it (its monotonic clock); not parsed */
};

/* What to tell the client when parsing fails. */
struct proto_failure {
	int err;	    /* cb_err */
	struct proto_id id; /* the request's id if it could be read */
	char detail[160];   /* names the offending field; never echoes values */
};

/*
 * Parse one WebSocket text message.  On success returns 0 and *out.
 * On failure returns a cb_err and fills *fail (id is PROTO_ID_NULL when the
 * id could not be read, as JSON-RPC 2.0 asks).
 */
int proto_parse_request(const char *text, size_t len, const struct proto_limits *lim,
    struct proto_request **out, struct proto_failure *fail);
void proto_request_free(struct proto_request *req);

/*
 * Parse text as one JSON object, as strictly as a request (valid UTF-8,
 * strict JSON, no duplicate keys, nothing after the value, at most
 * max_depth deep):
 * for the daemon <-> helper link, where a message that fails this means
 * the peer is broken.  NULL with *fail filled otherwise.
 */
struct json_object *proto_parse_object(
    const char *text, size_t len, int max_depth, struct proto_failure *fail);
void proto_failure_clear(struct proto_failure *fail);

int proto_id_copy(struct proto_id *dst, const struct proto_id *src);
void proto_id_clear(struct proto_id *id);

/*
 * Emitters: return malloc'd NUL-terminated JSON text, or NULL on allocation
 * failure.  proto_emit_result takes ownership of result.
 */
char *proto_emit_result(const struct proto_id *id, struct json_object *result);
char *proto_emit_error(const struct proto_id *id, int err, const char *detail, int retries_left);
/* Like proto_emit_error with extra members merged into error.data (owned). */
char *proto_emit_error_data(
    const struct proto_id *id, int err, const char *detail, struct json_object *data);
/* {"jsonrpc":"2.0","method":"event","params":params}; takes ownership. */
char *proto_emit_event(struct json_object *params);
/*
 * {"jsonrpc":"2.0","method":"progress","params":{"id":id,"stage":...,
 * "elapsedMs":elapsed_ms,"pin":...}} from the helper's report {stage, pin}
 * (borrowed, already checked against proto_progress_link_fields).  NULL
 * for a request without an id, which never gets progress.
 */
char *proto_emit_progress(
    const struct proto_id *id, struct json_object *report, int64_t elapsed_ms);

/*
 * Strict checks json-c does not make (json_strict.c): duplicate object keys
 * give CB_ERR_INVALID_REQUEST; single-quoted strings, NaN and Infinity,
 * which json-c's strict mode lets through, give CB_ERR_PARSE.
 */
int proto_check_duplicate_keys(const char *text, size_t len, char *where, size_t wherelen);

#endif /* CB_JSONRPC_H */
