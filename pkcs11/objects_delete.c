/*
 * objects_delete.c - keys.delete and certificates.delete: what the user
 * chose goes from the token, after a dialog that names each object (key
 * type, label, ID; a certificate's subject, issuer and serial number) and
 * the PIN.
 *
 * A key is its private key and its public key, both with the CKA_ID
 * given; its certificates go only when asked (withCertificates).  A
 * certificate is named by its key's CKA_ID (every certificate with that
 * ID) or by its serial number and issuer.  Nothing is touched before the
 * user confirmed and typed the PIN; then the objects are found again with
 * the login (private keys show only then), each is destroyed, and a last
 * search checks that none is left.
 * Must never: destroy an object the query does not match (no wildcard: an
 * ID or a serial number and issuer is required), or delete on a token that
 * token_manage.c says cannot (OpenSC answers CKR_OK on OpenPGP cards and
 * deletes nothing).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/hex.h"
#include "protocol/methods.h"
#include "common/i18n.h"
#include "pkcs11/dialog.h"
#include "pkcs11/dialog_words.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/login.h"
#include "pkcs11/objects.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_manage.h"
#include "pkcs11/token_session.h"

#define KEY_ID_MAX (PROTO_KEY_ID_MAX_HEX / 2)
/* Objects named one by one in the confirmation; the rest are counted. */
#define LINES_SHOWN 6

struct deletion {
	struct request *req;
	bool keys; /* keys.delete, else certificates.delete */
	struct token token;
	struct token_session session;
	struct object_query query;
	uint8_t id[KEY_ID_MAX];
	struct object_list seen; /* what the confirmation names */
	char operation[400];
};

static int
parse_hex(struct deletion *del, const char *hex, uint8_t *out, size_t *len)
{
	size_t i, n = strlen(hex) / 2;

	/* protocol/methods.c checked it; the helper trusts no one. */
	if (n == 0 || n > KEY_ID_MAX || strlen(hex) % 2 != 0)
		return request_fail(del->req, CB_ERR_INVALID_PARAMS, "params.keyId: not an ID");
	for (i = 0; i < n; i++) {
		if (hex_value(hex[2 * i]) < 0 || hex_value(hex[2 * i + 1]) < 0)
			return request_fail(
			    del->req, CB_ERR_INVALID_PARAMS, "params.keyId: not an ID");
		out[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
	}
	*len = n;
	return 0;
}

/* The query from params (their shape passed protocol/methods.c). */
static int
deletion_query(struct deletion *del)
{
	struct json_object *params = del->req->params, *with;
	const char *key_id = proto_param_string(params, "keyId");
	int r;

	if (key_id != NULL) {
		if ((r = parse_hex(del, key_id, del->id, &del->query.id_len)) != 0)
			return r;
		del->query.id = del->id;
	}
	if (!del->keys) {
		del->query.classes = OBJECT_CERTIFICATE;
		del->query.serial = proto_param_string(params, "serial");
		del->query.issuer = proto_param_string(params, "issuer");
		if (key_id == NULL && (del->query.serial == NULL || del->query.issuer == NULL))
			return request_fail(del->req, CB_ERR_INVALID_PARAMS,
			    "params.keyId: missing (or serial and issuer)");
		return 0;
	}
	del->query.classes = OBJECT_PRIVATE_KEY | OBJECT_PUBLIC_KEY;
	if (json_object_object_get_ex(params, "withCertificates", &with) &&
	    json_object_get_boolean(with))
		del->query.classes |= OBJECT_CERTIFICATE;
	return 0;
}

/* The public key of private key o, if it goes too: they are then one line. */
static bool
has_pair(const struct object_list *l, const struct object_info *o, CK_OBJECT_CLASS other)
{
	size_t i;

	for (i = 0; o->id_hex != NULL && i < l->n; i++)
		if (l->items[i].cls == other && l->items[i].id_hex != NULL &&
		    strcmp(l->items[i].id_hex, o->id_hex) == 0)
			return true;
	return false;
}

/*
 * One line per thing that goes: a key pair is one line (keys.delete: the
 * private key may be hidden until the login, and goes with its public key
 * all the same), a certificate one.  Returns how many; the first alone in
 * first, for the PIN dialog.
 */
static size_t
deletion_lines(const struct deletion *del, char *buf, size_t size, char *first, size_t first_size)
{
	const struct object_list *l = &del->seen;
	char line[512];
	size_t i, lines = 0, len = 0;
	bool pair;

	buf[0] = first[0] = '\0';
	for (i = 0; i < l->n; i++) {
		const struct object_info *o = &l->items[i];

		if (o->cls == CKO_PUBLIC_KEY && has_pair(l, o, CKO_PRIVATE_KEY))
			continue; /* said with its private key */
		pair = o->cls != CKO_CERTIFICATE &&
		       (del->keys ||
			   has_pair(
			       l, o, o->cls == CKO_PRIVATE_KEY ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY));
		object_words(o, pair, line, sizeof(line));
		if (lines++ == 0)
			snprintf(first, first_size, "%s", line);
		if (lines <= LINES_SHOWN && len < size)
			len += (size_t)snprintf(
			    buf + len, size - len, "%s\xe2\x80\xa2 %s", len ? "\n" : "", line);
	}
	if (lines > LINES_SHOWN && len < size)
		snprintf(buf + len, size - len, "\n%s",
		    /* TRANSLATORS: after the list of objects to be deleted. */
		    P_("and %lu more", "and %lu more", (unsigned long)(lines - LINES_SHOWN)));
	return lines;
}

/* The confirmation; USER_CANCELLED unless the user pressed Delete. */
static int
deletion_confirm(struct deletion *del)
{
	char desc[DIALOG_TEXT_MAX], lines[DIALOG_TEXT_MAX], first[512], origin[DIALOG_NAME_SIZE],
	    site[DIALOG_NAME_SIZE + 32], label[TOKEN_TEXT_SIZE], serial[TOKEN_TEXT_SIZE];
	enum dialog_answer answer;
	unsigned long more;
	size_t len;
	int r;

	more = (unsigned long)deletion_lines(del, lines, sizeof(lines), first, sizeof(first)) - 1;
	dialog_origin(origin, sizeof(origin), del->req);
	dialog_site_line(site, sizeof(site), del->req);
	dialog_shown(del->token.label, TOKEN_TEXT_CHARS, label, sizeof(label));
	dialog_shown(del->token.serial, TOKEN_TEXT_CHARS, serial, sizeof(serial));
	len = (size_t)snprintf(desc, sizeof(desc), "%s", site);
	snprintf(desc + len, sizeof(desc) - len,
	    /* TRANSLATORS: the origin, the token's label and serial number, then the list. */
	    _("%s asks to delete from the token \"%s\" (serial number %s):\n\n%s\n\nThis cannot be "
	      "undone."),
	    origin, label, serial[0] ? serial : _("unknown"), lines);
	/* TRANSLATORS: "_" marks the access key (Alt+letter). */
	if ((r = dialog_question(del->req, desc, _("_Delete"), NULL, _("_Cancel"), &answer)) != 0)
		return r;
	if (answer != DIALOG_ANSWER_OK)
		return request_fail(
		    del->req, CB_ERR_USER_CANCELLED, "the user did not confirm the deletion");
	/* The PIN dialog's words: the first thing, and how many more. */
	snprintf(del->operation, sizeof(del->operation), _("delete %s"), first);
	len = strlen(del->operation);
	if (more > 0)
		snprintf(del->operation + len, sizeof(del->operation) - len,
		    P_(" and %lu other object", " and %lu other objects", more), more);
	return 0;
}

/* Destroy every object of class cls in l; *done counts those destroyed. */
static int
destroy_class(struct deletion *del, const struct object_list *l, CK_OBJECT_CLASS cls, size_t *done)
{
	struct token_session *s = &del->session;
	CK_RV rv;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->items[i].cls != cls)
			continue;
		if ((rv = s->funcs->C_DestroyObject(s->handle, l->items[i].handle)) != CKR_OK) {
			p11_fail(del->req, rv, "deleting");
			return request_fail(del->req, p11_error(rv),
			    "deleting the %s failed (%s); %zu of the %zu objects were deleted",
			    object_kind(cls), p11_kit_strerror(rv), *done, l->n);
		}
		(*done)++;
	}
	return 0;
}

/* Logged in: find them again (private keys show now), destroy them, look again. */
static int
deletion_run(struct deletion *del, struct json_object **deleted)
{
	static const CK_OBJECT_CLASS order[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE};
	struct object_list now = {NULL, 0}, left = {NULL, 0};
	struct json_object *a = NULL, *entry;
	size_t i, done = 0;
	int r;

	if ((r = objects_find(&del->session, &del->query, &now)) != 0)
		goto out;
	r = CB_ERR_ALLOC;
	if ((a = json_object_new_array()) == NULL)
		goto out;
	for (i = 0; i < now.n; i++)
		if ((entry = object_json(&now.items[i])) == NULL ||
		    json_object_array_add(a, entry) != 0)
			goto out;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if ((r = destroy_class(del, &now, order[i], &done)) != 0)
			goto out;
	if ((r = objects_find(&del->session, &del->query, &left)) != 0)
		goto out;
	if (left.n > 0) {
		r = request_fail(del->req, CB_ERR_MODULE_ERROR,
		    "the token still shows %zu of the %zu objects after deleting them", left.n,
		    now.n);
		goto out;
	}
	helper_log(CB_LOG_INFO, "request %llu: deleted %zu object(s)",
	    (unsigned long long)del->req->id, done);
	*deleted = a;
	a = NULL;
out:
	json_object_put(a);
	objects_clear(&now);
	objects_clear(&left);
	return r;
}

/* Before any dialog: the token can delete, and something matches. */
static int
deletion_check(struct deletion *del)
{
	struct token_manage m;
	size_t i;

	token_manage_facts(&del->token, &m);
	if (!m.can[TOKEN_OP_DELETE_OBJECTS])
		return request_fail(
		    del->req, CB_ERR_NOT_SUPPORTED, "%s", m.why[TOKEN_OP_DELETE_OBJECTS]);
	for (i = 0; i < del->seen.n; i++)
		if (!del->keys || del->seen.items[i].cls != CKO_CERTIFICATE)
			return 0;
	return request_fail(del->req, CB_ERR_KEY_NOT_FOUND,
	    del->keys ? "no key with this ID is on the token"
		      : "no certificate on the token matches");
}

static int
handle_delete(struct request *req, bool keys, struct json_object **result)
{
	struct deletion del = {.req = req, .keys = keys};
	struct json_object *deleted = NULL, *obj;
	int r;

	if ((r = deletion_query(&del)) != 0 ||
	    (r = token_find(req, proto_param_string(req->params, "token"), &del.token)) != 0)
		return r;
	if ((r = token_session_open(req, &del.token, true, &del.session)) != 0 ||
	    (r = objects_find(&del.session, &del.query, &del.seen)) != 0 ||
	    (r = deletion_check(&del)) != 0 || (r = deletion_confirm(&del)) != 0 ||
	    (r = login_to_write(&del.session, del.operation)) != 0 ||
	    (r = deletion_run(&del, &deleted)) != 0)
		goto out;
	r = CB_ERR_ALLOC;
	if ((obj = json_object_new_object()) == NULL ||
	    field_add_string(obj, "token", del.token.uri) != 0 ||
	    json_object_object_add(obj, "deleted", deleted) != 0) {
		json_object_put(obj);
		json_object_put(deleted);
		goto out;
	}
	*result = obj;
	r = 0;
out:
	objects_clear(&del.seen);
	token_session_close(&del.session);
	if (r != 0)
		r = token_check_removed(req, &del.token, r);
	token_clear(&del.token);
	return r;
}

int
handle_keys_delete(struct request *req, struct json_object **result)
{
	return handle_delete(req, true, result);
}

int
handle_certificates_delete(struct request *req, struct json_object **result)
{
	return handle_delete(req, false, result);
}
