/*
 * params.c - check a params object against a method's declared schema.
 *
 * The daemon checks here before anything is sent to the helper, and the
 * helper checks again here, with the same table, before a handler runs.
 * Messages name the field as "params.PATH: RULE" and never quote a value
 * (which may be long or hold anything); unknown keys, which come from the
 * page, are cut and made printable ASCII.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/hex.h"
#include "protocol/origin.h"
#include "protocol/params.h"
#include "protocol/utf8.h"

#define PATH_MAX_BYTES 96
#define UNKNOWN_KEY_SHOWN 40

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
	case PROTO_T_ARRAY:
		return "an array";
	case PROTO_T_ID:
		return "a string or an integer";
	}
	return "?";
}

static int __attribute__((format(printf, 5, 6)))
refuse(int err, char *why, size_t whylen, const char *path, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (whylen == 0)
		return err;
	n = (size_t)snprintf(why, whylen, "%s: ", path);
	if (n < whylen) {
		va_start(ap, fmt);
		vsnprintf(why + n, whylen - n, fmt, ap);
		va_end(ap);
	}
	return err;
}

size_t
proto_utf8_chars(const char *s, size_t len)
{
	size_t i, count = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

size_t
proto_utf8_cut(const char *s, size_t len, size_t max_bytes)
{
	if (len <= max_bytes)
		return len;
	len = max_bytes;
	/* Back off continuation bytes to the start of the character cut in two. */
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

bool
proto_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = utf8_next(p + i, len - i, &cp)) == 0 || utf8_is_control(cp))
			return false;
		i += n;
	}
	return true;
}

static bool
pem_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 || c >= 0x7f) && c != '\t' && c != '\r' && c != '\n')
			return false;
	}
	return true;
}

static bool
printable_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(" '()+,-./:=?", s[i]) == NULL)
			return false;
	return true;
}

static bool
email_ok(const char *s, size_t len)
{
	size_t i, at = 0;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
		at += s[i] == '@';
	}
	return at == 1;
}

/* Whole bytes in hex: an even number of digits, either case. */
static bool
hex_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (hex_value(s[i]) < 0)
			return false;
	return len % 2 == 0;
}

static bool
identifier_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(".-_", s[i]) == NULL)
			return false;
	return true;
}

/* RFC 7512 syntax as far as it matters before p11-kit reads the URI. */
static const char *
pkcs11_uri_problem(const char *s, size_t len)
{
	size_t i;
	int hi, lo, c;

	if (len < 7 || strncmp(s, "pkcs11:", 7) != 0)
		return "not a pkcs11: URI";
	for (i = 7; i < len; i++) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return "not a pkcs11: URI";
		if (s[i] != '%')
			continue;
		if (i + 2 >= len || (hi = hex_value(s[i + 1])) < 0 ||
		    (lo = hex_value(s[i + 2])) < 0)
			return "not a pkcs11: URI";
		c = hi << 4 | lo;
		if (c < 0x20 || c == 0x7f)
			return "a control character (%00-%1F, %7F) in the URI";
		i += 2;
	}
	return NULL;
}

static int
check_syntax(const struct proto_field *f, const char *path, const char *s, size_t len, char *why,
    size_t whylen)
{
	struct origin o;
	const char *problem = NULL;

	switch (f->syntax) {
	case PROTO_S_TEXT:
		if (!proto_text_ok(s, len))
			problem = "contains control characters";
		break;
	case PROTO_S_PEM:
		if (!pem_ok(s, len))
			problem = "contains characters PEM or base64 cannot hold";
		break;
	case PROTO_S_PRINTABLE:
		if (!printable_ok(s, len))
			problem = "has characters a PrintableString cannot hold";
		break;
	case PROTO_S_COUNTRY:
		if (len != 2 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]))
			problem = "must be two letters";
		break;
	case PROTO_S_EMAIL:
		if (!email_ok(s, len))
			problem = "not an e-mail address";
		break;
	case PROTO_S_PKCS11_URI:
		problem = pkcs11_uri_problem(s, len);
		break;
	case PROTO_S_ORIGIN:
		if (origin_parse(s, &o, &problem) == 0 && origin_is_acceptable(&o, &problem))
			problem = NULL;
		break;
	case PROTO_S_IDENTIFIER:
		if (!identifier_ok(s, len))
			problem = "may hold only letters, digits, '.', '-' and '_'";
		break;
	case PROTO_S_HEX:
		if (!hex_ok(s, len))
			problem = "not whole bytes in hex";
		break;
	}
	if (problem != NULL)
		return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path, "%s", problem);
	return 0;
}

static int
check_string_choice(
    const struct proto_field *f, const char *path, const char *s, char *why, size_t whylen)
{
	char list[160] = "";
	size_t i, n = 0;

	for (i = 0; f->choices[i] != NULL; i++)
		if (strcmp(f->choices[i], s) == 0)
			return 0;
	for (i = 0; f->choices[i] != NULL && n < sizeof(list); i++)
		n += (size_t)snprintf(
		    list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "", f->choices[i]);
	return refuse(f->choice_err ? f->choice_err : CB_ERR_INVALID_PARAMS, why, whylen, path,
	    "must be one of %s", list);
}

int
proto_check_string(const struct proto_field *f, const char *path, const char *s, size_t len,
    char *why, size_t whylen)
{
	int r;

	/* Before any str*(): a NUL would hide the rest of the value. */
	if (memchr(s, '\0', len) != NULL)
		return refuse(
		    CB_ERR_INVALID_PARAMS, why, whylen, path, "contains control characters");
	if (!utf8_valid(s, len))
		return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path, "not valid UTF-8");
	if (f->max_bytes && len > f->max_bytes)
		return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path, "longer than %zu bytes",
		    f->max_bytes);
	if (len == 0 && f->nonempty)
		return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path, "empty");
	if ((r = check_syntax(f, path, s, len, why, whylen)) != 0)
		return r;
	if (f->max_chars && proto_utf8_chars(s, len) > f->max_chars)
		return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path,
		    "longer than %zu characters", f->max_chars);
	if (f->choices != NULL)
		return check_string_choice(f, path, s, why, whylen);
	return 0;
}

static int
check_int(const struct proto_field *f, const char *path, int64_t v, char *why, size_t whylen)
{
	char list[120] = "";
	size_t i, n = 0;

	if (f->min < f->max && (v < f->min || v > f->max))
		return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path,
		    "must be from %" PRId64 " to %" PRId64, f->min, f->max);
	if (f->int_choices == NULL)
		return 0;
	for (i = 0; f->int_choices[i] != 0; i++)
		if (f->int_choices[i] == v)
			return 0;
	for (i = 0; f->int_choices[i] != 0 && n < sizeof(list); i++)
		n += (size_t)snprintf(
		    list + n, sizeof(list) - n, "%s%" PRId64, i ? ", " : "", f->int_choices[i]);
	return refuse(f->choice_err ? f->choice_err : CB_ERR_INVALID_PARAMS, why, whylen, path,
	    "must be one of %s", list);
}

static int check_object(struct json_object *obj, const struct proto_field *schema,
    const char *prefix, char *why, size_t whylen);

static int
check_array(
    struct json_object *v, const struct proto_field *f, const char *path, char *why, size_t whylen)
{
	struct json_object *e;
	char item[PATH_MAX_BYTES + 24];
	size_t i, n = json_object_array_length(v);
	int r;

	if (f->max_items && n > f->max_items)
		return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path, "more than %zu elements",
		    f->max_items);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		if (!json_object_is_type(e, json_type_string))
			return refuse(CB_ERR_INVALID_PARAMS, why, whylen, item, "must be a string");
		if ((r = proto_check_string(f, item, json_object_get_string(e),
			 (size_t)json_object_get_string_len(e), why, whylen)) != 0)
			return r;
	}
	return 0;
}

static int
check_value(
    struct json_object *v, const struct proto_field *f, const char *path, char *why, size_t whylen)
{
	switch (f->type) {
	case PROTO_T_STRING:
		if (!json_object_is_type(v, json_type_string))
			break;
		return proto_check_string(f, path, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), why, whylen);
	case PROTO_T_INT:
		if (!json_object_is_type(v, json_type_int))
			break;
		return check_int(f, path, json_object_get_int64(v), why, whylen);
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
		return check_array(v, f, path, why, whylen);
	case PROTO_T_ARRAY:
		if (!json_object_is_type(v, json_type_array))
			break;
		return 0;
	case PROTO_T_ID:
		if (!json_object_is_type(v, json_type_string) &&
		    !json_object_is_type(v, json_type_int))
			break;
		return 0;
	}
	return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path, "must be %s", type_name(f->type));
}

/* prefix.key with the key made printable and short: it comes from the page. */
static void
unknown_path(char *out, size_t outlen, const char *prefix, const char *key)
{
	char shown[UNKNOWN_KEY_SHOWN + 1];
	size_t i;

	for (i = 0; key[i] != '\0' && i < UNKNOWN_KEY_SHOWN; i++)
		shown[i] =
		    (unsigned char)key[i] < 0x20 || (unsigned char)key[i] >= 0x7f ? '?' : key[i];
	shown[i] = '\0';
	snprintf(out, outlen, "%s.%s", prefix, shown);
}

static int
check_object(struct json_object *obj, const struct proto_field *schema, const char *prefix,
    char *why, size_t whylen)
{
	const struct proto_field *f;
	struct json_object *v;
	char path[PATH_MAX_BYTES];
	int r;

	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		for (f = schema; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL) {
			unknown_path(path, sizeof(path), prefix, key);
			return refuse(
			    CB_ERR_INVALID_PARAMS, why, whylen, path, "unknown parameter");
		}
	}
	for (f = schema; f->name != NULL; f++) {
		snprintf(path, sizeof(path), "%s.%s", prefix, f->name);
		if (!json_object_object_get_ex(obj, f->name, &v)) {
			if (f->required)
				return refuse(CB_ERR_INVALID_PARAMS, why, whylen, path, "missing");
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
	static const struct proto_field none[] = {{NULL}};
	struct json_object *empty = NULL;
	int r;

	if (whylen)
		why[0] = '\0';
	if (schema == NULL)
		schema = none;
	if (params == NULL)
		params = empty = json_object_new_object();
	if (params == NULL)
		return CB_ERR_ALLOC;
	if (!json_object_is_type(params, json_type_object))
		r = refuse(CB_ERR_INVALID_PARAMS, why, whylen, "params", "must be an object");
	else
		r = check_object(params, schema, "params", why, whylen);
	json_object_put(empty);
	return r;
}
