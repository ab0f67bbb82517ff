/*
 * certlist.c - certificates.list: the X.509 certificates on one token or on
 * every present token, without asking for a PIN.
 *
 * Listing is read-only and does not own the token, so it is not held up by
 * a PIN dialog of another request; it takes its turn at the module, and
 * shows what a session that is not logged in shows, even while another
 * request is logged in (token_session.c).
 * Must never: log in, or fail a whole listing because one object or one
 * token of many is unreadable (those are skipped and logged).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "protocol/params.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/request.h"
#include "pkcs11/token_session.h"
#include "pkcs11/token.h"
#include "pkcs11/x509.h"

/*
 * Without a login most tokens hide private key objects (CKA_PRIVATE), and
 * we do not ask for a PIN just to list.  So: true when a private key with
 * the certificate's CKA_ID is visible, or when a public key object with that
 * CKA_ID holds the certificate's public key (keys.generate always makes the
 * pair, and tokens keep them together).  A token that keeps only a hidden
 * private key with no public key object shows false here.
 */
static int
has_private_key(struct token_session *s, const uint8_t *id, size_t id_len, X509 *x, bool *has)
{
	CK_OBJECT_HANDLE *objects = NULL, found;
	CK_ULONG count, i;
	int r;

	*has = false;
	if (id_len == 0)
		return 0;
	if ((r = token_session_find_class(s, CKO_PRIVATE_KEY, id, id_len, &found, 1, &count)) != 0)
		return r;
	if (count > 0) {
		*has = true;
		return 0;
	}
	if ((r = token_session_find_class_all(s, CKO_PUBLIC_KEY, id, id_len, &objects, &count)) !=
	    0)
		return r;
	for (i = 0; i < count && !*has && r == 0; i++)
		r = pubkey_object_matches(s, objects[i], X509_get0_pubkey(x), has);
	free(objects);
	return r;
}

static int
entry_add_times(struct json_object *entry, X509 *x)
{
	char when[32];

	x509_time_iso(X509_get0_notBefore(x), when, sizeof(when));
	if (field_add_string(entry, "notBefore", when) != 0)
		return CB_ERR_ALLOC;
	x509_time_iso(X509_get0_notAfter(x), when, sizeof(when));
	return field_add_string(entry, "notAfter", when);
}

/* The entry for one certificate object; NULL *out for objects we skip. */
static int
list_entry(struct token_session *s, CK_OBJECT_HANDLE obj, struct json_object **out)
{
	uint8_t *value = NULL, *id = NULL, *label = NULL;
	size_t value_len, id_len = 0, label_len;
	const unsigned char *p;
	struct json_object *entry = NULL;
	char *id_hex = NULL;
	X509 *x = NULL;
	bool has;
	int r;

	*out = NULL;
	if ((r = token_session_get_attr(s, obj, CKA_VALUE, &value, &value_len)) != 0 ||
	    (r = token_session_get_attr(s, obj, CKA_ID, &id, &id_len)) != 0 ||
	    (r = token_session_get_attr(s, obj, CKA_LABEL, &label, &label_len)) != 0)
		goto out;
	p = value;
	if (value == NULL || (x = d2i_X509(NULL, &p, (long)value_len)) == NULL ||
	    p != value + value_len) {
		/* Not X.509: skipped, as the header says, and said; d2i's errors go too. */
		helper_log(CB_LOG_DEBUG, "token %s: certificate object %lu is not X.509; skipped",
		    s->token->label, (unsigned long)obj);
		ERR_clear_error();
		goto out;
	}
	if ((r = has_private_key(s, id, id_len, x, &has)) != 0)
		goto out;
	r = CB_ERR_ALLOC;
	if (id_len > 0 && (id_hex = field_hex(id, id_len)) == NULL)
		goto out;
	if ((entry = x509_summary(x, NULL)) == NULL ||
	    field_add_string(entry, "token", s->token->uri) != 0 ||
	    entry_add_times(entry, x) != 0 || field_add_string(entry, "keyId", id_hex) != 0 ||
	    field_add_string(entry, "label",
		label != NULL && proto_text_ok((char *)label, strlen((char *)label)) ? (char *)label
										     : NULL) != 0)
		goto out;
	json_object_object_add(entry, "hasPrivateKey", json_object_new_boolean(has));
	*out = entry;
	entry = NULL;
	r = 0;
out:
	json_object_put(entry);
	X509_free(x);
	free(value);
	free(id);
	free(label);
	free(id_hex);
	return r;
}

static int
list_token(struct request *req, struct token *t, struct json_object *array)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE type = CKC_X_509;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
	};
	CK_OBJECT_HANDLE *objects = NULL;
	struct json_object *entry;
	struct token_session s;
	CK_ULONG count, i;
	int r;

	if ((r = token_session_open(req, t, false, &s)) != 0)
		return r;
	if ((r = token_session_find_all(&s, tmpl, 2, &objects, &count)) != 0)
		goto out;
	for (i = 0; i < count; i++) {
		if ((r = list_entry(&s, objects[i], &entry)) != 0)
			goto out;
		if (entry != NULL)
			json_object_array_add(array, entry);
	}
out:
	token_session_close(&s);
	free(objects);
	return r;
}

int
handle_certificates_list(struct request *req, struct json_object **result)
{
	struct json_object *obj = NULL, *array;
	struct token *list = NULL, one;
	const char *uri;
	size_t i, n = 0;
	int r;

	memset(&one, 0, sizeof(one));
	uri = proto_param_string(req->params, "token"); /* checked by protocol/methods.c */
	r = CB_ERR_ALLOC;
	if ((obj = json_object_new_object()) == NULL || (array = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(obj, "certificates", array);
	if (uri != NULL) {
		if ((r = token_find(req, uri, &one)) != 0 ||
		    (r = list_token(req, &one, array)) != 0)
			goto out;
	} else {
		if ((r = token_list(req, &list, &n)) != 0)
			goto out;
		for (i = 0; i < n; i++)
			if (list_token(req, &list[i], array) != 0) {
				helper_log(
				    CB_LOG_WARN, "token %s: %s", list[i].label, req->message);
				req->message[0] = '\0';
			}
	}
	*result = obj;
	obj = NULL;
	r = 0;
out:
	json_object_put(obj);
	token_list_free(list, n);
	token_clear(&one);
	return r;
}
