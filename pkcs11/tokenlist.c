/*
 * tokenlist.c - tokens.list: every present token, what it is, its PINs'
 * state and what can be managed on it (token_manage.c), the key types it
 * can make, and the tokensChanged event when
 * the set of tokens differs from what the last tokens.list saw.
 *
 * The key types offered are those keys.generate accepts (the choices of
 * params.algorithm in protocol/methods.c) that the token supports, so a
 * page is never offered what it would be refused.  Reads without a lock,
 * like token.c: a tokens.list must not wait behind another request's PIN
 * dialog.  Module by ATR (claim.c) decides which tokens are listed, and
 * the cards that wait for a module that does not serve them are listed in
 * "waitingCards", with why.
 * Must never: log in, or list a token whose card another module claims.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/claim.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_capabilities.h"
#include "pkcs11/token_manage.h"

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char *seen_uris; /* {seen_lock} the URIs of the last tokens.list, one a line */

/* The member name of keys.generate's params.algorithm in protocol/methods.c. */
static const struct proto_field *
algorithm_field(const char *name)
{
	const struct proto_method *m = proto_method_find("keys.generate", PROTO_M_HELPER);
	const struct proto_field *f;

	for (f = m != NULL ? m->params : NULL; f != NULL && f->name != NULL; f++)
		if (strcmp(f->name, "algorithm") == 0)
			break;
	for (f = f != NULL ? f->fields : NULL; f != NULL && f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* The RSA sizes keys.generate accepts that t supports. */
static int
rsa_sizes(const struct token *t, struct json_object *list)
{
	const struct proto_field *bits = algorithm_field("bits");
	const int64_t *v;

	for (v = bits != NULL ? bits->int_choices : NULL; v != NULL && *v != 0; v++)
		if (token_supports_rsa(t, (unsigned long)*v) &&
		    json_object_array_add(list, json_object_new_int64(*v)) != 0)
			return CB_ERR_ALLOC;
	return 0;
}

/* The curves keys.generate accepts that t supports. */
static int
ec_curves(const struct token *t, struct json_object *list)
{
	const struct proto_field *curve = algorithm_field("curve");
	const struct curve *c;
	const char *const *name;

	for (name = curve != NULL ? curve->choices : NULL; name != NULL && *name != NULL; name++)
		if ((c = pubkey_curve(*name)) != NULL && token_supports_ec(t, c->bits) &&
		    json_object_array_add(list, json_object_new_string(c->name)) != 0)
			return CB_ERR_ALLOC;
	return 0;
}

/* {"type": type, member: [...]} added to types, unless fill() found nothing. */
static int
key_type_add(struct json_object *types, const struct token *t, const char *type, const char *member,
    int (*fill)(const struct token *t, struct json_object *list))
{
	struct json_object *list, *entry = NULL;
	int r = CB_ERR_ALLOC;

	if ((list = json_object_new_array()) == NULL || fill(t, list) != 0)
		goto out;
	if (json_object_array_length(list) == 0) {
		r = 0;
		goto out;
	}
	if ((entry = json_object_new_object()) == NULL ||
	    field_add_string(entry, "type", type) != 0 ||
	    json_object_object_add(entry, member, json_object_get(list)) != 0 ||
	    json_object_array_add(types, entry) != 0)
		goto out;
	entry = NULL; /* transferred */
	r = 0;
out:
	json_object_put(entry);
	json_object_put(list);
	return r;
}

static struct json_object *
key_types_json(const struct token *t)
{
	struct json_object *types;

	if ((types = json_object_new_array()) == NULL)
		return NULL;
	if (key_type_add(types, t, "RSA", "bits", rsa_sizes) != 0 ||
	    key_type_add(types, t, "EC", "curves", ec_curves) != 0) {
		json_object_put(types);
		return NULL;
	}
	return types;
}

static struct json_object *
token_flags_json(const CK_TOKEN_INFO *info)
{
	static const struct {
		const char *name;
		CK_FLAGS flag;
	} flags[] = {
	    {"loginRequired", CKF_LOGIN_REQUIRED},
	    {"protectedAuthPath", CKF_PROTECTED_AUTHENTICATION_PATH},
	    {"pinCountLow", CKF_USER_PIN_COUNT_LOW},
	    {"pinFinalTry", CKF_USER_PIN_FINAL_TRY},
	    {"pinLocked", CKF_USER_PIN_LOCKED},
	    {"writeProtected", CKF_WRITE_PROTECTED},
	};
	struct json_object *obj;
	size_t i;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (json_object_object_add(obj, flags[i].name,
			json_object_new_boolean((info->flags & flags[i].flag) != 0)) != 0) {
			json_object_put(obj);
			return NULL;
		}
	return obj;
}

static struct json_object *
token_json(const struct token *t)
{
	struct json_object *obj, *flags, *types, *pins, *manage;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	flags = token_flags_json(&t->info);
	types = key_types_json(t);
	pins = token_pins_json(t);
	manage = token_manage_json(t);
	if (field_add_string(obj, "uri", t->uri) != 0 ||
	    field_add_string(obj, "reader", t->reader) != 0 ||
	    field_add_string(obj, "label", t->label) != 0 ||
	    field_add_string(obj, "manufacturer", t->manufacturer) != 0 ||
	    field_add_string(obj, "model", t->model) != 0 ||
	    field_add_string(obj, "serial", t->serial) != 0 || flags == NULL || types == NULL ||
	    json_object_object_add(obj, "flags", json_object_get(flags)) != 0 ||
	    json_object_object_add(obj, "keyTypes", json_object_get(types)) != 0 || pins == NULL ||
	    json_object_object_add(obj, "pins", json_object_get(pins)) != 0 || manage == NULL ||
	    json_object_object_add(obj, "manage", json_object_get(manage)) != 0) {
		json_object_put(obj);
		obj = NULL;
	}
	json_object_put(flags);
	json_object_put(types);
	json_object_put(pins);
	json_object_put(manage);
	return obj;
}

/* True when the set of tokens differs from what the last tokens.list saw. */
static bool
tokens_changed(const struct token *list, size_t n)
{
	size_t i, len = 1;
	char *now;
	bool changed;

	for (i = 0; i < n; i++)
		len += strlen(list[i].uri) + 1;
	/* Out of memory: no event now, and the next tokens.list compares again. */
	if ((now = calloc(1, len)) == NULL)
		return false;
	for (i = 0; i < n; i++) {
		strcat(now, list[i].uri);
		strcat(now, "\n");
	}
	pthread_mutex_lock(&seen_lock);
	changed = seen_uris != NULL && strcmp(seen_uris, now) != 0;
	free(seen_uris);
	seen_uris = now;
	pthread_mutex_unlock(&seen_lock);
	return changed;
}

/* "waitingCards", only when a card waits for a module (module by ATR). */
static int
add_waiting(struct json_object *obj, const struct claim *c, const struct token *list, size_t n)
{
	struct json_object *waiting;
	int r;

	if ((waiting = json_object_new_array()) == NULL)
		return CB_ERR_ALLOC;
	if ((r = claim_waiting_json(c, list, n, waiting)) == 0 &&
	    json_object_array_length(waiting) > 0 &&
	    json_object_object_add(obj, "waitingCards", json_object_get(waiting)) != 0)
		r = CB_ERR_ALLOC;
	json_object_put(waiting);
	return r;
}

int
handle_tokens_list(struct request *req, struct json_object **result)
{
	struct json_object *obj = NULL, *array, *entry;
	struct token *list = NULL;
	size_t i, n = 0;
	struct claim c;
	int r;

	claim_begin(&c);
	if ((r = token_list_claimed(req, &c, &list, &n)) != 0)
		goto out;
	r = CB_ERR_ALLOC;
	if ((obj = json_object_new_object()) == NULL || (array = json_object_new_array()) == NULL)
		goto out;
	if (json_object_object_add(obj, "tokens", array) != 0) {
		json_object_put(array);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((entry = token_json(&list[i])) == NULL)
			goto out;
		if (json_object_array_add(array, entry) != 0) {
			json_object_put(entry);
			goto out;
		}
	}
	if ((r = add_waiting(obj, &c, list, n)) != 0)
		goto out;
	if (tokens_changed(list, n))
		helper_send_event("tokensChanged");
	*result = obj;
	obj = NULL;
	r = 0;
out:
	json_object_put(obj);
	token_list_free(list, n);
	return r;
}
