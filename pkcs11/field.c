/*
 * field.c - strict accessors for request parameters, text checks, hex.
 *
 * Error messages name the parameter ("params.label: ...") so that a portal
 * developer can see what was wrong; they never echo the value, which may be
 * long or contain anything.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/utf8.h"
#include "pkcs11/field.h"
#include "pkcs11/request.h"

static int
field_get(struct request *req, struct json_object *obj, const char *key, bool required,
    enum json_type type, const char *type_name, struct json_object **out)
{
	struct json_object *value = NULL;
	const char *name = strrchr(key, '.');

	/* key may be a path for messages ("algorithm.bits"); look up its last part. */
	name = name != NULL ? name + 1 : key;
	*out = NULL;
	if (obj == NULL || !json_object_object_get_ex(obj, name, &value) || value == NULL) {
		if (required)
			return request_fail(req, CB_ERR_INVALID_PARAMS, "params.%s: missing", key);
		return 0;
	}
	if (!json_object_is_type(value, type))
		return request_fail(
		    req, CB_ERR_INVALID_PARAMS, "params.%s: must be %s", key, type_name);
	*out = value;
	return 0;
}

int
field_string(struct request *req, struct json_object *obj, const char *key, bool required,
    size_t max, const char **out)
{
	struct json_object *value;
	const char *s;
	size_t len;
	int r;

	*out = NULL;
	if ((r = field_get(req, obj, key, required, json_type_string, "a string", &value)) != 0 ||
	    value == NULL)
		return r;
	s = json_object_get_string(value);
	len = (size_t)json_object_get_string_len(value);
	if (strlen(s) != len)
		return request_fail(req, CB_ERR_INVALID_PARAMS, "params.%s: contains NUL", key);
	if (len > max)
		return request_fail(
		    req, CB_ERR_INVALID_PARAMS, "params.%s: longer than %zu bytes", key, max);
	*out = s;
	return 0;
}

int
field_bool(struct request *req, struct json_object *obj, const char *key, bool *out)
{
	struct json_object *value;
	int r;

	*out = false;
	if ((r = field_get(req, obj, key, false, json_type_boolean, "a boolean", &value)) != 0)
		return r;
	if (value != NULL)
		*out = json_object_get_boolean(value);
	return 0;
}

int
field_int(struct request *req, struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *value;
	int r;

	*out = 0;
	if ((r = field_get(req, obj, key, true, json_type_int, "an integer", &value)) != 0)
		return r;
	*out = json_object_get_int64(value);
	return 0;
}

int
field_object(struct request *req, struct json_object *obj, const char *key, bool required,
    struct json_object **out)
{
	return field_get(req, obj, key, required, json_type_object, "an object", out);
}

int
field_array(struct request *req, struct json_object *obj, const char *key, struct json_object **out)
{
	return field_get(req, obj, key, false, json_type_array, "an array", out);
}

void
field_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, n, len = strlen(s);
	uint32_t cp;

	while (i < len) {
		n = utf8_next(p + i, len - i, &cp);
		if (n == 0 || utf8_is_control(cp)) {
			p[i++] = '?';
			continue;
		}
		i += n;
	}
}

char *
field_hex(const uint8_t *data, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *hex;
	size_t i;

	if ((hex = malloc(n * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		hex[i * 2] = digits[data[i] >> 4];
		hex[i * 2 + 1] = digits[data[i] & 0x0f];
	}
	hex[n * 2] = '\0';
	return hex;
}

void
field_trim_copy(char *dst, size_t dstsize, const unsigned char *src, size_t srclen)
{
	size_t len = srclen;

	/* PKCS#11 pads with spaces; some modules pad with NULs instead. */
	if (memchr(src, '\0', srclen) != NULL)
		len = strnlen((const char *)src, srclen);
	while (len > 0 && src[len - 1] == ' ')
		len--;
	if (len >= dstsize)
		len = dstsize - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	/* Modules are not all careful about UTF-8; our JSON must be. */
	field_sanitize(dst);
}

int
field_add_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *v = NULL;

	if (value != NULL && (v = json_object_new_string(value)) == NULL)
		return CB_ERR_ALLOC;
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return CB_ERR_ALLOC;
	}
	return 0;
}
