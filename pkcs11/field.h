/*
 * field.h - strict reading of request parameters and small JSON builders.
 *
 * The daemon has already checked the shape of params, but the helper never
 * trusts its input: every value it uses is read through these functions,
 * which fail with CB_ERR_INVALID_PARAMS and a message naming the field.
 */
#ifndef CB_PKCS11_FIELD_H
#define CB_PKCS11_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json.h>

struct request;

/*
 * Look up key in obj.  key may be a dotted path ("subject.CN"): its last
 * part is looked up in obj and the whole path appears in messages.  A missing key gives *out NULL
 * and 0 when !required. Wrong types, embedded NULs and strings longer than max bytes fail.
 */
int field_string(struct request *req, struct json_object *obj, const char *key, bool required,
    size_t max, const char **out);
int field_bool(struct request *req, struct json_object *obj, const char *key, bool *out);
int field_int(struct request *req, struct json_object *obj, const char *key, int64_t *out);
int field_object(struct request *req, struct json_object *obj, const char *key, bool required,
    struct json_object **out);
int field_array(
    struct request *req, struct json_object *obj, const char *key, struct json_object **out);

/* Replace each byte of invalid UTF-8 and each control character with '?'. */
void field_sanitize(char *s);

/* Lowercase hex of n bytes; caller frees; NULL on allocation failure. */
char *field_hex(const uint8_t *data, size_t n);

/* Copy a PKCS#11 space-padded fixed-size field into a trimmed, sanitized C string. */
void field_trim_copy(char *dst, size_t dstsize, const unsigned char *src, size_t srclen);

/* json_object_object_add() of a string, or of JSON null when value is NULL. */
int field_add_string(struct json_object *obj, const char *key, const char *value);

#endif /* CB_PKCS11_FIELD_H */
