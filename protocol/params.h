/*
 * params.h - declarative checks of JSON-RPC params objects.
 *
 * Each method declares its fields next to its handler; proto_check_params()
 * rejects unknown fields, wrong types, missing required fields, strings that
 * are too long or contain NUL/control characters, naming the field.
 */
#ifndef CB_PARAMS_H
#define CB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

enum proto_type {
	PROTO_T_STRING,
	PROTO_T_INT,
	PROTO_T_BOOL,
	PROTO_T_OBJECT,
	PROTO_T_ARRAY_OF_STRINGS,
};

struct proto_field {
	const char *name;
	enum proto_type type;
	bool required;
	size_t max;			  /* strings: bytes; arrays: elements; 0 = no limit */
	const struct proto_field *fields; /* PROTO_T_OBJECT: its schema, NULL = any */
};

/* The schema ends with a row whose name is NULL. */
int proto_check_params(
    struct json_object *params, const struct proto_field *schema, char *why, size_t whylen);

#endif /* CB_PARAMS_H */
