/*
 * methods.h - the contract of cardbridge in one table: every method and
 * notification of the page port, the control socket and the daemon-helper
 * link, with its params and their rules, who serves it, what it may do,
 * its time budget and the reasons it may fail with.
 *
 * Pure data (methods.c).  cardbridged binds its page and control handlers
 * to these rows, the PKCS#11 helper binds its own, the fuzzers walk the
 * table, and `cb-contract` turns it into the JS client's constants and
 * the JSON that tests/test-contract.py holds doc/PROTOCOL.md and
 * clients/js/cardbridge.d.ts against.  Nothing else may list methods.
 */
#ifndef CB_METHODS_H
#define CB_METHODS_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/params.h"

struct json_object;

/* Where pages find cardbridged: 127.0.0.1 (and [::1]) on this port. */
#define PROTO_DEFAULT_PORT 48801

/* Limits that more than one process (or a buffer) must agree on. */
#define PROTO_TOKEN_URI_MAX 1024	 /* bytes of a token's pkcs11: URI */
#define PROTO_LABEL_MAX_BYTES 255	 /* CKA_LABEL: what OpenSC's PKCS#15 layer stores */
#define PROTO_LABEL_MAX_CHARS 64	 /* ... and what a dialog can show */
#define PROTO_CN_MAX_CHARS 64		 /* X.520 ub-common-name */
#define PROTO_CERTIFICATE_MAX 65536	 /* bytes of one PEM or base64 certificate */
#define PROTO_CHAIN_MAX 16		 /* CA certificates in one certificates.install */
#define PROTO_DEFAULT_PROMPT_TIMEOUT 120 /* seconds a dialog waits for the user */
#define PROTO_DEFAULT_TIMEOUT_S 120	 /* a token read, and a method a client does not know */
#define PROTO_DEFAULT_OPERATION_TIMEOUT_S 600 /* a card operation: keygen takes minutes */
#define PROTO_CLIENT_GRACE_S 10		 /* a client waits this much longer than the daemon */
#define PROTO_KEY_ID_MAX_HEX 128	 /* hex digits of a CKA_ID: 64 bytes */
#define PROTO_SERIAL_MAX_HEX 128	 /* hex digits of a certificate's serial number */
#define PROTO_ISSUER_MAX 2048		 /* bytes of an issuer's name as RFC 2253 text */

enum proto_method_flags {
	PROTO_M_PAGE = 1 << 0,		/* pages may call it over the WebSocket */
	PROTO_M_CONTROL = 1 << 1,	/* the cardbridge tool may call it on the control socket */
	PROTO_M_HELPER = 1 << 2,	/* the PKCS#11 helper serves it (the daemon forwards it) */
	PROTO_M_CONSENT = 1 << 3,	/* an origin nobody allowed is asked about first */
	PROTO_M_CHANGES_TOKEN = 1 << 4, /* may change what a token holds */
	PROTO_M_DIALOG = 1 << 5,	/* may show the user a dialog */
	PROTO_M_INLINE = 1 << 6,	/* the helper answers at once, never touching a token */
};

/* How long the daemon gives a method before it answers TIMEOUT itself. */
enum proto_budget {
	PROTO_BUDGET_NONE,   /* answered at once, never waits */
	PROTO_BUDGET_FIXED,  /* timeout_s, dialogs included */
	PROTO_BUDGET_PROMPT, /* the configured prompt timeout, plus timeout_s */
	/*
	 * The configured operation timeout (cardbridged's operationTimeoutSeconds),
	 * dialogs included; timeout_s is its default, which clients assume.
	 */
	PROTO_BUDGET_OPERATION,
};

struct proto_method {
	const char *name;
	unsigned flags; /* enum proto_method_flags */
	enum proto_budget budget;
	int timeout_s;
	const struct proto_field *params; /* {NULL}-ended */
	/* Rules between fields, after params passed; NULL when there are none. */
	int (*check)(struct json_object *params, char *why, size_t whylen);
	const int *reasons; /* the cb_err it may fail with beyond proto_common_reasons, 0-ended */
};

/*
 * A message the daemon sends without being asked: "event" to subscribed
 * pages, "progress" to the page whose request it is about.
 */
struct proto_notification {
	const char *name;
	const char *type_member;	  /* the params member that says which kind */
	const char *const *types;	  /* its values, NULL-ended */
	const struct proto_field *params; /* every member, for the docs */
};

extern const struct proto_method proto_methods[]; /* ends with a NULL name */
extern const struct proto_notification proto_notifications[];
/*
 * What the helper sends on the link for a request that reached a stage,
 * {"id": N, "progress": {"stage": S, "pin": P}} (doc/HELPER-IPC.md): the
 * members of "progress", with the stages and PIN kinds of the progress row
 * in the same order; the daemon adds the page's id and elapsedMs.
 */
extern const struct proto_field proto_progress_link_fields[];
extern const int proto_common_reasons[]; /* any request may fail with these */

/* The row called name that has one of the flags in port, or NULL. */
const struct proto_method *proto_method_find(const char *name, unsigned port);

/* proto_check_params() with the row's schema, then its cross-field rules. */
int proto_method_check(
    const struct proto_method *m, struct json_object *params, char *why, size_t whylen);

/*
 * How long a client should wait for an answer before it gives up: the
 * method's own budget plus the way there and back, in milliseconds.
 */
long proto_method_client_timeout_ms(const struct proto_method *m);

/*
 * Handler binding: each process lists {method name, handler, ...} for the
 * rows it serves, in a table whose rows begin with `const char *method`.
 * proto_bindings_check() returns NULL when every row of protocol/methods.c
 * with a flag in port has exactly one binding and every binding names such
 * a row, else the offending name; a process checks at start-up and then
 * finds a row's binding with proto_binding_index() (n when there is none).
 */
const char *proto_bindings_check(const char *const *first, size_t n, size_t stride, unsigned port);
size_t proto_binding_index(const char *const *first, size_t n, size_t stride, const char *name);

#define PROTO_BINDINGS_CHECK(table, port)                                                          \
	proto_bindings_check(                                                                      \
	    &(table)[0].method, sizeof(table) / sizeof((table)[0]), sizeof((table)[0]), (port))
#define PROTO_BINDING_INDEX(table, name)                                                           \
	proto_binding_index(                                                                       \
	    &(table)[0].method, sizeof(table) / sizeof((table)[0]), sizeof((table)[0]), (name))

/* The params object's string member name, or NULL when absent. */
const char *proto_param_string(struct json_object *params, const char *name);

#endif /* CB_METHODS_H */
