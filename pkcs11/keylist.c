/*
 * keylist.c - keys.list: the keys on one token, one entry per CKA_ID (a
 * key pair's private and public key share it), with what the token shows
 * without a login: label, algorithm, which halves are visible and how many
 * certificates carry the same ID.
 *
 * No PIN is asked: private keys that the token hides until a login are
 * found through their public key (keys.generate always makes both).
 * Must never: log in, or change the token.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/objects.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"

/* Does a and b's CKA_ID agree (both without one counts as different)? */
static bool
same_id(const struct object_info *a, const struct object_info *b)
{
	return a->id_hex != NULL && b->id_hex != NULL && strcmp(a->id_hex, b->id_hex) == 0;
}

/* The entry of keys with o's CKA_ID in keys, or NULL. */
static struct json_object *
entry_of(struct json_object *keys, const struct object_info *o)
{
	size_t i, n = json_object_array_length(keys);
	const char *id;

	for (i = 0; o->id_hex != NULL && i < n; i++) {
		id = json_object_get_string(
		    json_object_object_get(json_object_array_get_idx(keys, i), "keyId"));
		if (id != NULL && strcmp(id, o->id_hex) == 0)
			return json_object_array_get_idx(keys, i);
	}
	return NULL;
}

static int
certificates_of(const struct object_list *all, const struct object_info *o)
{
	size_t i;
	int n = 0;

	for (i = 0; i < all->n; i++)
		n += all->items[i].cls == CKO_CERTIFICATE && same_id(&all->items[i], o);
	return n;
}

/* A new entry for key o, or what o adds to the entry of its ID. */
static int
add_key(struct json_object *keys, const struct object_list *all, const struct object_info *o,
    const char *uri)
{
	const char *half = o->cls == CKO_PRIVATE_KEY ? "privateKey" : "publicKey";
	struct json_object *e = entry_of(keys, o);

	if (e != NULL) {
		json_object_object_add(e, half, json_object_new_boolean(true));
		if (json_object_object_get(e, "label") == NULL && o->label != NULL)
			field_add_string(e, "label", o->label);
		if (json_object_object_get(e, "algorithm") == NULL && o->algorithm[0])
			field_add_string(e, "algorithm", o->algorithm);
		return 0;
	}
	if ((e = json_object_new_object()) == NULL || field_add_string(e, "token", uri) != 0 ||
	    field_add_string(e, "keyId", o->id_hex) != 0 ||
	    field_add_string(e, "label", o->label) != 0 ||
	    field_add_string(e, "algorithm", o->algorithm[0] ? o->algorithm : NULL) != 0 ||
	    json_object_object_add(
		e, "privateKey", json_object_new_boolean(o->cls == CKO_PRIVATE_KEY)) != 0 ||
	    json_object_object_add(
		e, "publicKey", json_object_new_boolean(o->cls == CKO_PUBLIC_KEY)) != 0 ||
	    json_object_object_add(
		e, "certificates", json_object_new_int(certificates_of(all, o))) != 0 ||
	    json_object_array_add(keys, e) != 0) {
		json_object_put(e);
		return CB_ERR_ALLOC;
	}
	return 0;
}

int
handle_keys_list(struct request *req, struct json_object **result)
{
	struct object_query q = {
	    .classes = OBJECT_PRIVATE_KEY | OBJECT_PUBLIC_KEY | OBJECT_CERTIFICATE};
	struct object_list all = {NULL, 0};
	struct json_object *obj = NULL, *keys;
	struct token_session s = {.open = false};
	struct token t;
	size_t i;
	int r;

	if ((r = token_find(req, proto_param_string(req->params, "token"), &t)) != 0)
		return r;
	if ((r = token_session_open(req, &t, false, &s)) != 0 ||
	    (r = objects_find(&s, &q, &all)) != 0)
		goto out;
	r = CB_ERR_ALLOC;
	if ((obj = json_object_new_object()) == NULL || (keys = json_object_new_array()) == NULL)
		goto out;
	if (json_object_object_add(obj, "keys", keys) != 0) {
		json_object_put(keys);
		goto out;
	}
	for (i = 0; i < all.n; i++)
		if (all.items[i].cls != CKO_CERTIFICATE &&
		    add_key(keys, &all, &all.items[i], t.uri) != 0)
			goto out;
	*result = obj;
	obj = NULL;
	r = 0;
out:
	json_object_put(obj);
	objects_clear(&all);
	token_session_close(&s);
	if (r != 0)
		r = token_check_removed(req, &t, r);
	token_clear(&t);
	return r;
}
