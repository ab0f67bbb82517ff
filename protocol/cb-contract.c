/*
 * cb-contract - print the contract of protocol/methods.c and protocol/errors.c
 * in the forms the rest of the tree needs, so that nothing copies it:
 *
 *   cb-contract json         everything, for tests/test-contract.py, which
 *                            holds doc/PROTOCOL.md and clients/js/ to it
 *   cb-contract js           clients/js/contract.js, the JS client's reasons,
 *                            timeouts, methods, card events and notifications
 *   cb-contract reasons-md   the "Error reasons" table of doc/PROTOCOL.md
 *
 * A build tool: never installed, no I/O but stdout.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"

static const char *
type_name(enum proto_type t)
{
	switch (t) {
	case PROTO_T_STRING:
		return "string";
	case PROTO_T_INT:
		return "integer";
	case PROTO_T_BOOL:
		return "boolean";
	case PROTO_T_OBJECT:
		return "object";
	case PROTO_T_ARRAY_OF_STRINGS:
		return "array of strings";
	case PROTO_T_ARRAY:
		return "array";
	case PROTO_T_ID:
		return "id";
	}
	return "?";
}

static const char *
syntax_name(enum proto_syntax s)
{
	switch (s) {
	case PROTO_S_TEXT:
		return "text";
	case PROTO_S_PEM:
		return "pem";
	case PROTO_S_PRINTABLE:
		return "printable";
	case PROTO_S_COUNTRY:
		return "country";
	case PROTO_S_EMAIL:
		return "email";
	case PROTO_S_PKCS11_URI:
		return "pkcs11-uri";
	case PROTO_S_ORIGIN:
		return "origin";
	case PROTO_S_IDENTIFIER:
		return "identifier";
	case PROTO_S_HEX:
		return "hex";
	}
	return "?";
}

static void
add_size(struct json_object *o, const char *key, size_t v)
{
	if (v != 0)
		json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static struct json_object *
fields_json(const struct proto_field *fields)
{
	struct json_object *a = json_object_new_array(), *o, *c;
	const struct proto_field *f;
	size_t i;

	for (f = fields; f != NULL && f->name != NULL; f++) {
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(f->name));
		json_object_object_add(o, "type", json_object_new_string(type_name(f->type)));
		json_object_object_add(o, "required", json_object_new_boolean(f->required));
		if (f->type == PROTO_T_STRING || f->type == PROTO_T_ARRAY_OF_STRINGS)
			json_object_object_add(
			    o, "syntax", json_object_new_string(syntax_name(f->syntax)));
		if (f->nonempty)
			json_object_object_add(o, "nonempty", json_object_new_boolean(true));
		add_size(o, "maxBytes", f->max_bytes);
		add_size(o, "maxChars", f->max_chars);
		add_size(o, "maxItems", f->max_items);
		if (f->min < f->max) {
			json_object_object_add(o, "min", json_object_new_int64(f->min));
			json_object_object_add(o, "max", json_object_new_int64(f->max));
		}
		if (f->choices != NULL || f->int_choices != NULL) {
			c = json_object_new_array();
			for (i = 0; f->choices != NULL && f->choices[i] != NULL; i++)
				json_object_array_add(c, json_object_new_string(f->choices[i]));
			for (i = 0; f->int_choices != NULL && f->int_choices[i] != 0; i++)
				json_object_array_add(c, json_object_new_int64(f->int_choices[i]));
			json_object_object_add(o, "choices", c);
			if (f->choice_err)
				json_object_object_add(o, "choiceReason",
				    json_object_new_string(cb_err_reason(f->choice_err)));
		}
		if (f->type == PROTO_T_OBJECT && f->fields != NULL)
			json_object_object_add(o, "fields", fields_json(f->fields));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *
reasons_json(const int *reasons)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; reasons[i] != 0; i++)
		json_object_array_add(a, json_object_new_string(cb_err_reason(reasons[i])));
	return a;
}

static struct json_object *
method_json(const struct proto_method *m)
{
	static const struct {
		unsigned flag;
		const char *name;
	} flags[] = {
	    {PROTO_M_PAGE, "page"},
	    {PROTO_M_CONTROL, "control"},
	    {PROTO_M_HELPER, "helper"},
	    {PROTO_M_CONSENT, "consent"},
	    {PROTO_M_CHANGES_TOKEN, "changesToken"},
	    {PROTO_M_DIALOG, "dialog"},
	    {PROTO_M_INLINE, "inline"},
	};
	static const char *const budgets[] = {"none", "fixed", "prompt", "operation"};
	struct json_object *o = json_object_new_object(), *f = json_object_new_array();
	size_t i;

	json_object_object_add(o, "name", json_object_new_string(m->name));
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (m->flags & flags[i].flag)
			json_object_array_add(f, json_object_new_string(flags[i].name));
	json_object_object_add(o, "flags", f);
	json_object_object_add(o, "budget", json_object_new_string(budgets[m->budget]));
	json_object_object_add(o, "timeoutSeconds", json_object_new_int(m->timeout_s));
	json_object_object_add(
	    o, "clientTimeoutMs", json_object_new_int64(proto_method_client_timeout_ms(m)));
	json_object_object_add(o, "params", fields_json(m->params));
	json_object_object_add(o, "reasons", reasons_json(m->reasons));
	return o;
}

static struct json_object *
contract_json(void)
{
	struct json_object *root = json_object_new_object(), *a, *o, *t;
	const struct proto_notification *n;
	const struct proto_method *m;
	const char *reason, *meaning;
	int err, code;
	size_t i;

	a = json_object_new_array();
	for (m = proto_methods; m->name != NULL; m++)
		json_object_array_add(a, method_json(m));
	json_object_object_add(root, "methods", a);
	json_object_object_add(root, "commonReasons", reasons_json(proto_common_reasons));
	a = json_object_new_array();
	for (i = 0; cb_err_doc(i, &err, &code, &reason, &meaning); i++) {
		o = json_object_new_object();
		json_object_object_add(o, "code", json_object_new_int(code));
		json_object_object_add(o, "reason", json_object_new_string(reason));
		json_object_object_add(o, "meaning", json_object_new_string(meaning));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "reasons", a);
	a = json_object_new_array();
	for (n = proto_notifications; n->name != NULL; n++) {
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(n->name));
		json_object_object_add(o, "typeMember", json_object_new_string(n->type_member));
		t = json_object_new_array();
		for (i = 0; n->types[i] != NULL; i++)
			json_object_array_add(t, json_object_new_string(n->types[i]));
		json_object_object_add(o, "types", t);
		json_object_object_add(o, "params", fields_json(n->params));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "notifications", a);
	return root;
}

/* A JS string literal; the table holds ASCII without quotes or backslashes. */
static void
print_js_strings(const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		printf("%s'%s'", i ? ", " : "", list[i]);
}

static void
print_js(void)
{
	const struct proto_notification *n;
	const struct proto_method *m;
	const char *reason, *meaning;
	int err, code;
	size_t i;

	printf("// contract.js - generated by protocol/cb-contract from protocol/methods.c and\n"
	       "// protocol/errors.c at build time: do not edit, edit the table.\n\n");
	printf("/** The cardbridge release this client comes with. */\n"
	       "export const VERSION = '%s';\n\n",
	    PACKAGE_VERSION);
	printf("/** Protocol error codes (doc/PROTOCOL.md) and their stable reasons. */\n"
	       "export const PROTOCOL_REASONS = Object.freeze({\n");
	for (i = 0; cb_err_doc(i, &err, &code, &reason, &meaning); i++)
		printf("\t[%d]: '%s',\n", code, reason);
	printf("});\n\n");
	printf("/** Default per-method request timeouts (ms): a little above the helper's own. */\n"
	       "export const DEFAULT_TIMEOUTS = Object.freeze({\n");
	for (m = proto_methods; m->name != NULL; m++)
		if (m->flags & PROTO_M_PAGE)
			printf("\t'%s': %ld,\n", m->name, proto_method_client_timeout_ms(m));
	printf("\tdefault: %ld,\n});\n\n",
	    (long)(PROTO_DEFAULT_TIMEOUT_S + PROTO_CLIENT_GRACE_S) * 1000L);
	printf("/** The methods a page may call. */\nexport const METHODS = Object.freeze([");
	for (i = 0, m = proto_methods; m->name != NULL; m++)
		if (m->flags & PROTO_M_PAGE)
			printf("%s'%s'", i++ ? ", " : "", m->name);
	printf("]);\n");
	for (n = proto_notifications; n->name != NULL; n++) {
		if (strcmp(n->name, "event") == 0) {
			printf("\n/** The card events (notifications \"event\", member type). */\n"
			       "export const CARD_EVENTS = Object.freeze([");
			print_js_strings(n->types);
			printf("]);\n");
		} else if (strcmp(n->name, "progress") == 0) {
			printf("\n/** The stages of a request, in order (notifications "
			       "\"progress\"). */\n"
			       "export const PROGRESS_STAGES = Object.freeze([");
			print_js_strings(n->types);
			printf("]);\n");
		}
	}
}

static void
print_reasons_md(void)
{
	const char *reason, *meaning;
	int err, code;
	size_t i;

	printf("Any request may fail with ");
	for (i = 0; proto_common_reasons[i] != 0; i++)
		printf("%s`%s`",
		    i == 0			       ? ""
		    : proto_common_reasons[i + 1] == 0 ? " or "
						       : ", ",
		    cb_err_reason(proto_common_reasons[i]));
	printf("; each method lists the others it may fail with.\n\n");
	printf("| code | reason | meaning |\n| --- | --- | --- |\n");
	for (i = 0; cb_err_doc(i, &err, &code, &reason, &meaning); i++)
		printf("| %d | `%s` | %s |\n", code, reason, meaning);
}

int
main(int argc, char **argv)
{
	struct json_object *root;

	if (argc == 2 && strcmp(argv[1], "json") == 0) {
		root = contract_json();
		printf("%s\n", json_object_to_json_string_ext(
				   root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	} else if (argc == 2 && strcmp(argv[1], "js") == 0)
		print_js();
	else if (argc == 2 && strcmp(argv[1], "reasons-md") == 0)
		print_reasons_md();
	else {
		fprintf(stderr, "usage: cb-contract json | js | reasons-md\n");
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
