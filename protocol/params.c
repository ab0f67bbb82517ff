/*
 * params.c - check a params object against a method's declared schema.
 *
 * The daemon checks shape here before anything is sent to the helper; the
 * helper still checks the values it uses.  Messages name the field and the
 * rule, never the value.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/params.h"

static const char *
type_name(enum proto_type t)
{
	switch (t) {
	case PROTO_T_STRING:
		return "a string";
	case PROTO_T_INT:
		return "an integer";
	case PROTO_T_BOOL:
		return "a boolean";
	case PROTO_T_OBJECT:
		return "an object";
	case PROTO_T_ARRAY_OF_STRINGS:
		return "an array of strings";
	}
	return "?";
}

/* Strings must be free of NUL and C0 control characters other than newline/tab. */
static bool
string_ok(struct json_object *v)
{
	const char *s = json_object_get_string(v);
	size_t i, len = (size_t)json_object_get_string_len(v);

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static int
check_string(
    struct json_object *v, const struct proto_field *f, const char *path, char *why, size_t whylen)
{
	if (!string_ok(v)) {
		snprintf(why, whylen, "\"%s\" contains control characters", path);
		return CB_ERR_INVALID_PARAMS;
	}
	if (f->max && (size_t)json_object_get_string_len(v) > f->max) {
		snprintf(why, whylen, "\"%s\" is longer than %zu bytes", path, f->max);
		return CB_ERR_INVALID_PARAMS;
	}
	return 0;
}

static int check_object(struct json_object *obj, const struct proto_field *schema,
    const char *prefix, char *why, size_t whylen);

static int
check_value(
    struct json_object *v, const struct proto_field *f, const char *path, char *why, size_t whylen)
{
	size_t i, n;

	switch (f->type) {
	case PROTO_T_STRING:
		if (!json_object_is_type(v, json_type_string))
			break;
		return check_string(v, f, path, why, whylen);
	case PROTO_T_INT:
		if (!json_object_is_type(v, json_type_int))
			break;
		return 0;
	case PROTO_T_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			break;
		return 0;
	case PROTO_T_OBJECT:
		if (!json_object_is_type(v, json_type_object))
			break;
		return f->fields ? check_object(v, f->fields, path, why, whylen) : 0;
	case PROTO_T_ARRAY_OF_STRINGS:
		if (!json_object_is_type(v, json_type_array))
			break;
		n = json_object_array_length(v);
		if (f->max && n > f->max) {
			snprintf(why, whylen, "\"%s\" has more than %zu elements", path, f->max);
			return CB_ERR_INVALID_PARAMS;
		}
		for (i = 0; i < n; i++)
			if (!json_object_is_type(
				json_object_array_get_idx(v, i), json_type_string)) {
				snprintf(why, whylen, "\"%s[%zu]\" must be a string", path, i);
				return CB_ERR_INVALID_PARAMS;
			} else if (!string_ok(json_object_array_get_idx(v, i))) {
				snprintf(why, whylen, "\"%s[%zu]\" contains control characters",
				    path, i);
				return CB_ERR_INVALID_PARAMS;
			}
		return 0;
	}
	snprintf(why, whylen, "\"%s\" must be %s", path, type_name(f->type));
	return CB_ERR_INVALID_PARAMS;
}

static int
check_object(struct json_object *obj, const struct proto_field *schema, const char *prefix,
    char *why, size_t whylen)
{
	const struct proto_field *f;
	struct json_object *v;
	char path[128];
	int r;

	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		for (f = schema; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL) {
			snprintf(why, whylen, "unknown parameter \"%s%s%.40s\"", prefix,
			    *prefix ? "." : "", key);
			return CB_ERR_INVALID_PARAMS;
		}
	}
	for (f = schema; f->name != NULL; f++) {
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", f->name);
		if (!json_object_object_get_ex(obj, f->name, &v)) {
			if (f->required) {
				snprintf(why, whylen, "missing parameter \"%s\"", path);
				return CB_ERR_INVALID_PARAMS;
			}
			continue;
		}
		if ((r = check_value(v, f, path, why, whylen)) != 0)
			return r;
	}
	return 0;
}

int
proto_check_params(
    struct json_object *params, const struct proto_field *schema, char *why, size_t whylen)
{
	static const struct proto_field none[] = {{NULL, 0, false, 0, NULL}};
	struct json_object *empty = NULL;
	char *p;
	int r;

	if (whylen)
		why[0] = '\0';
	if (schema == NULL)
		schema = none;
	if (params == NULL)
		params = empty = json_object_new_object();
	if (params == NULL)
		return CB_ERR_ALLOC;
	r = check_object(params, schema, "", why, whylen);
	json_object_put(empty);
	/* Unknown keys come from the page: no log injection, no cut UTF-8. */
	for (p = why; whylen && *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return r;
}
