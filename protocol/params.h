/*
 * params.h - declarative checks of JSON-RPC params objects.
 *
 * Each method's params are declared once, in protocol/methods.c, with every
 * rule a value must meet: type, presence, length (in bytes where a token
 * stores the text, in characters where a person reads it), the characters
 * allowed, ranges and the values allowed.  The daemon, the PKCS#11 helper
 * and the fuzzers all check with proto_check_params(), so a value means the
 * same everywhere.  Messages name the field one way only,
 * "params.subject.CN: longer than 64 characters", and never echo a value.
 */
#ifndef CB_PARAMS_H
#define CB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

enum proto_type {
	PROTO_T_STRING,
	PROTO_T_INT,
	PROTO_T_BOOL,
	PROTO_T_OBJECT,
	PROTO_T_ARRAY_OF_STRINGS,
	PROTO_T_ARRAY, /* of anything: only in what the daemon sends */
	PROTO_T_ID,    /* a string or an integer, like a JSON-RPC id */
};

/* What a string may hold (strings are valid UTF-8 once parsed). */
enum proto_syntax {
	PROTO_S_TEXT,	    /* text without control characters (C0, DEL, C1) */
	PROTO_S_PEM,	    /* printable ASCII, spaces, tabs and line breaks */
	PROTO_S_PRINTABLE,  /* X.680 PrintableString */
	PROTO_S_COUNTRY,    /* two ASCII letters (ISO 3166) */
	PROTO_S_EMAIL,	    /* printable ASCII without spaces, exactly one '@' */
	PROTO_S_PKCS11_URI, /* "pkcs11:", valid escapes, no escaped control character */
	PROTO_S_ORIGIN,	    /* a web origin as the allow-list takes it (origin.h) */
	PROTO_S_IDENTIFIER, /* ASCII letters, digits, '.', '-', '_' (method names) */
	PROTO_S_HEX,	    /* an even number of hex digits (CKA_ID, serial numbers) */
};

struct proto_field {
	const char *name;
	enum proto_type type;
	bool required;
	enum proto_syntax syntax;	  /* strings, and each string of an array */
	bool nonempty;			  /* strings: "" is refused */
	size_t max_bytes;		  /* strings: UTF-8 bytes; 0 = no limit of its own */
	size_t max_chars;		  /* strings: characters; 0 = no limit of its own */
	size_t max_items;		  /* arrays: elements; 0 = no limit of its own */
	int64_t min, max;		  /* integers, when min < max */
	const char *const *choices;	  /* strings: the only values allowed, NULL-ended */
	const int64_t *int_choices;	  /* integers: the only values allowed, 0-ended */
	int choice_err;			  /* cb_err for a value outside the choices; 0: params */
	const struct proto_field *fields; /* objects: the members, {NULL}-ended; NULL = any */
};

#define PROTO_PARAMS_WHY_MAX 200

/*
 * Check params (NULL = absent = {}) against schema ({NULL}-ended; NULL = no
 * params).  Returns 0, or a cb_err (CB_ERR_INVALID_PARAMS, or a field's
 * choice_err) with why naming the field and the rule, in printable ASCII.
 */
int proto_check_params(
    struct json_object *params, const struct proto_field *schema, char *why, size_t whylen);

/* One string against one field's string rules; path names it in why. */
int proto_check_string(const struct proto_field *f, const char *path, const char *s, size_t len,
    char *why, size_t whylen);

/* Characters in valid UTF-8 (continuation bytes are not counted). */
size_t proto_utf8_chars(const char *s, size_t len);

/*
 * The longest prefix of s (len bytes of valid UTF-8) that has at most
 * max_bytes bytes and ends on a character boundary.
 */
size_t proto_utf8_cut(const char *s, size_t len, size_t max_bytes);

/* Valid UTF-8 without control characters (C0, DEL, C1). */
bool proto_text_ok(const char *s, size_t len);

#endif /* CB_PARAMS_H */
