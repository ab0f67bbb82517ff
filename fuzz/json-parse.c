/*
 * json-parse.c - json-c's own tokenizer, for the fuzz targets that check
 * what protocol/ emits or would let through against it.
 *
 * Deliberately not protocol/'s parser: a target that checked protocol/
 * with itself would find nothing.
 */
#include "config.h"

#include <json-c/json.h>

#include "fuzz/fuzz.h"

struct json_object *
fuzz_parse_json(const char *text, size_t len, int depth, int flags)
{
	struct json_tokener *tok;
	struct json_object *obj;

	if ((tok = json_tokener_new_ex(depth)) == NULL)
		abort();
	json_tokener_set_flags(tok, flags);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}
