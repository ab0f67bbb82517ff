/*
 * token.c - enumerate tokens, name them with RFC 7512 URIs (p11-kit formats
 * and parses them), find one by URI, tell what it can do, lock it, and map
 * CK_RV to cb_err (the only place that does).
 *
 * Reading slot and token information takes no lock: p11-kit initialises
 * modules with CKF_OS_LOCKING_OK, and a tokens.list must not wait behind a
 * PIN dialog on another request.  Logins and writes take token_lock().
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/uri.h>

#include "protocol/cberr.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"

#define SLOTS_MAX 64
/* How long to wait, in 100 ms steps, for a pulled card to disappear from the slot list. */
#define REMOVED_POLLS 10

int
p11_error(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return 0;
	case CKR_PIN_INCORRECT:
		return CB_ERR_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return CB_ERR_PIN_LOCKED;
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		return CB_ERR_PIN_INVALID;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SLOT_ID_INVALID:
	case CKR_TOKEN_NOT_RECOGNIZED:
		return CB_ERR_TOKEN_NOT_PRESENT;
	case CKR_DEVICE_REMOVED:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
		return CB_ERR_CARD_REMOVED;
	case CKR_TOKEN_WRITE_PROTECTED:
		return CB_ERR_TOKEN_WRITE_PROTECTED;
	case CKR_MECHANISM_INVALID:
	case CKR_KEY_SIZE_RANGE:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_CURVE_NOT_SUPPORTED:
		return CB_ERR_UNSUPPORTED_ALGORITHM;
	case CKR_FUNCTION_CANCELED:
		return CB_ERR_USER_CANCELLED;
	default:
		return CB_ERR_MODULE_ERROR;
	}
}

int
p11_fail(struct request *req, CK_RV rv, const char *what)
{
	const char *text = p11_kit_strerror(rv);

	helper_log(CB_LOG_DEBUG, "%s: CK_RV 0x%lx", what, (unsigned long)rv);
	return request_fail(req, p11_error(rv), "%s: %s", what,
	    text != NULL && *text != '\0' ? text : "PKCS#11 error");
}

/* --- token information and URIs --- */

static void
token_copy_strings(struct token *t)
{
	field_trim_copy(t->reader, sizeof(t->reader), t->slot_info.slotDescription,
	    sizeof(t->slot_info.slotDescription));
	field_trim_copy(t->label, sizeof(t->label), t->info.label, sizeof(t->info.label));
	field_trim_copy(t->manufacturer, sizeof(t->manufacturer), t->info.manufacturerID,
	    sizeof(t->info.manufacturerID));
	field_trim_copy(t->model, sizeof(t->model), t->info.model, sizeof(t->info.model));
	field_trim_copy(
	    t->serial, sizeof(t->serial), t->info.serialNumber, sizeof(t->info.serialNumber));
}

static int
token_format_uri(struct token *t)
{
	P11KitUri *uri;
	int r = CB_ERR_ALLOC;

	if ((uri = p11_kit_uri_new()) == NULL)
		return CB_ERR_ALLOC;
	memcpy(p11_kit_uri_get_token_info(uri), &t->info, sizeof(t->info));
	if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_TOKEN, &t->uri) == P11_KIT_URI_OK)
		r = 0;
	p11_kit_uri_free(uri);
	return r;
}

/* Fill t for slot of module m; CB_ERR_TOKEN_NOT_PRESENT for empty or blank slots. */
static int
token_load(struct request *req, struct p11_module *m, CK_SLOT_ID slot, struct token *t)
{
	CK_RV rv;

	memset(t, 0, sizeof(*t));
	t->module = m;
	t->slot = slot;
	if ((rv = m->funcs->C_GetSlotInfo(slot, &t->slot_info)) != CKR_OK ||
	    (rv = m->funcs->C_GetTokenInfo(slot, &t->info)) != CKR_OK)
		return p11_fail(req, rv, "reading the token information");
	/* A blank token has no PIN and no label a page could show: not listed. */
	if (!(t->info.flags & CKF_TOKEN_INITIALIZED))
		return CB_ERR_TOKEN_NOT_PRESENT;
	token_copy_strings(t);
	return token_format_uri(t);
}

void
token_clear(struct token *t)
{
	if (t == NULL)
		return;
	free(t->uri);
	t->uri = NULL;
}

void
token_list_free(struct token *list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++)
		token_clear(&list[i]);
	free(list);
}

/* Append the tokens of module m to list (room for SLOTS_MAX per module). */
static int
token_list_module(struct request *req, struct p11_module *m, struct token *list, size_t *n)
{
	CK_SLOT_ID slots[SLOTS_MAX];
	CK_ULONG count = 0, i;
	CK_RV rv;
	int r;

	/* The sizing call makes modules like OpenSC notice new readers. */
	if ((rv = m->funcs->C_GetSlotList(CK_TRUE, NULL, &count)) != CKR_OK)
		return p11_fail(req, rv, "listing the slots");
	count = SLOTS_MAX;
	if ((rv = m->funcs->C_GetSlotList(CK_TRUE, slots, &count)) != CKR_OK)
		return p11_fail(req, rv, "listing the slots");
	for (i = 0; i < count; i++) {
		r = token_load(req, m, slots[i], &list[*n]);
		if (r == 0)
			(*n)++;
		else if (r != CB_ERR_TOKEN_NOT_PRESENT && r != CB_ERR_CARD_REMOVED)
			helper_log(CB_LOG_WARN, "module %s slot %lu: %s", m->path,
			    (unsigned long)slots[i], req->message);
		req->message[0] = '\0';
	}
	return 0;
}

int
token_list(struct request *req, struct token **out, size_t *n)
{
	struct token *list;
	size_t i, count = 0;

	*out = NULL;
	*n = 0;
	if ((list = calloc(module_count() * SLOTS_MAX + 1, sizeof(*list))) == NULL)
		return CB_ERR_ALLOC;
	for (i = 0; i < module_count(); i++) {
		if (module_at(i)->funcs == NULL)
			continue;
		if (token_list_module(req, module_at(i), list, &count) != 0) {
			helper_log(CB_LOG_WARN, "module %s: %s", module_at(i)->path, req->message);
			req->message[0] = '\0';
		}
	}
	*out = list;
	*n = count;
	return 0;
}

static bool
uri_matches(P11KitUri *uri, struct token *t)
{
	CK_INFO info;

	if (t->module->funcs->C_GetInfo(&info) != CKR_OK)
		return false;
	return p11_kit_uri_match_token_info(uri, &t->info) &&
	       p11_kit_uri_match_slot_info(uri, &t->slot_info) &&
	       p11_kit_uri_match_module_info(uri, &info);
}

static int
token_parse_uri(struct request *req, const char *text, P11KitUri **out)
{
	P11KitUri *uri;
	int type =
	    P11_KIT_URI_FOR_TOKEN | P11_KIT_URI_FOR_SLOT | P11_KIT_URI_FOR_MODULE_WITH_VERSION;

	if ((uri = p11_kit_uri_new()) == NULL)
		return CB_ERR_ALLOC;
	if (p11_kit_uri_parse(text, type, uri) != P11_KIT_URI_OK) {
		p11_kit_uri_free(uri);
		return request_fail(req, CB_ERR_INVALID_PARAMS, "params.token: not a pkcs11: URI");
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		p11_kit_uri_free(uri);
		return request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.token: not a token URI (has object or unknown attributes)");
	}
	*out = uri;
	return 0;
}

int
token_find(struct request *req, const char *text, struct token *out)
{
	struct token *list = NULL;
	P11KitUri *uri = NULL;
	size_t i, n = 0, match = 0, found = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = token_parse_uri(req, text, &uri)) != 0 || (r = token_list(req, &list, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (uri_matches(uri, &list[i])) {
			match = i;
			found++;
		}
	if (found == 0) {
		r = request_fail(req, CB_ERR_TOKEN_NOT_PRESENT, "no such token is present");
		goto out;
	}
	if (found > 1) {
		r = request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.token: matches %zu tokens; name one", found);
		goto out;
	}
	*out = list[match];
	list[match].uri = NULL; /* transferred */
	r = 0;
out:
	token_list_free(list, n);
	p11_kit_uri_free(uri);
	return r;
}

int
token_refresh(struct request *req, struct token *t)
{
	CK_RV rv;

	if ((rv = t->module->funcs->C_GetTokenInfo(t->slot, &t->info)) != CKR_OK)
		return p11_fail(req, rv, "reading the token information");
	return 0;
}

/* --- capabilities --- */

static bool
mechanism_info(const struct token *t, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	return t->module->funcs->C_GetMechanismInfo(t->slot, type, info) == CKR_OK;
}

bool
token_has_mechanism(const struct token *t, CK_MECHANISM_TYPE type, CK_FLAGS flags)
{
	CK_MECHANISM_INFO info;

	return mechanism_info(t, type, &info) && (info.flags & flags) == flags;
}

/* ulMin/MaxKeySize of 0 means the module did not say: take it as no limit. */
static bool
size_in_range(const CK_MECHANISM_INFO *info, unsigned long bits)
{
	if (info->ulMaxKeySize == 0)
		return true;
	return bits >= info->ulMinKeySize && bits <= info->ulMaxKeySize;
}

bool
token_supports_rsa(const struct token *t, unsigned long bits)
{
	CK_MECHANISM_INFO info;

	if (!mechanism_info(t, CKM_RSA_PKCS_KEY_PAIR_GEN, &info) || !size_in_range(&info, bits))
		return false;
	return token_has_mechanism(t, CKM_SHA256_RSA_PKCS, CKF_SIGN) ||
	       token_has_mechanism(t, CKM_RSA_PKCS, CKF_SIGN);
}

bool
token_supports_ec(const struct token *t, unsigned long bits)
{
	CK_MECHANISM_INFO info;

	if (!mechanism_info(t, CKM_EC_KEY_PAIR_GEN, &info) || !size_in_range(&info, bits))
		return false;
	return mechanism_info(t, CKM_ECDSA, &info) && (info.flags & CKF_SIGN) &&
	       size_in_range(&info, bits);
}

/*
 * OpenSC's PKCS#15 emulation of an OpenPGP card, recognised by what the
 * token reports (OpenSC fills in these two fields for this card only), not
 * by its label, which a user can choose on other tokens.  Its rules, as
 * OpenSC 0.23 implements them:
 *   - keys and certificates are written with the admin PIN (PW3, CKU_SO);
 *   - keys live in three fixed slots, CKA_ID 01 signature, 02 decryption,
 *     03 authentication; one PKCS#11 token per user PIN: "... (User PIN
 *     (sig))" shows key 01, "... (User PIN)" keys 02 and 03;
 *   - a key or certificate over an ID in use fails ("Non unique object
 *     ID"), and C_DestroyObject answers CKR_OK without touching the card,
 *     so nothing can be replaced or deleted through PKCS#11;
 *   - after C_GenerateKeyPair the module's own objects for the new key are
 *     wrong (garbage CKA_EC_POINT, C_Sign -> CKR_ARGUMENTS_BAD) until the
 *     module reads the card again.
 */
bool
token_is_openpgp_card(const struct token *t)
{
	return strcmp(t->manufacturer, "OpenPGP project") == 0 &&
	       strcmp(t->model, "PKCS#15 emulated") == 0;
}

/*
 * Which PIN writes keys and certificates: the admin PIN (CKU_SO) on
 * OpenSC's OpenPGP emulation, the user PIN everywhere else.  The PIN that
 * signs with a key is always the user PIN.
 */
CK_USER_TYPE
token_user_for_writing(const struct token *t)
{
	return token_is_openpgp_card(t) ? CKU_SO : CKU_USER;
}

/*
 * The slot a new key goes to on a fixed-slot token.  A portal key needs a
 * CSR, so it must be able to sign: slot 01 (signature) on the token of the
 * signature PIN, slot 03 (authentication, INTERNAL AUTHENTICATE) on the
 * token of the other user PIN.  Slot 02 (decryption) is never chosen: its
 * key cannot sign its own certificate request.  OpenSC names the signature
 * PIN's token "<card> (User PIN (sig))".
 */
bool
token_fixed_key_slot(const struct token *t, CK_BYTE *id, CK_ULONG *id_len)
{
	if (!token_is_openpgp_card(t))
		return false;
	id[0] = strstr(t->label, "(sig)") != NULL ? 0x01 : 0x03;
	*id_len = 1;
	return true;
}

/* Is slot still listed with a token whose serial and label are t's? */
static bool
token_still_present(const struct token *t)
{
	CK_SLOT_ID slots[SLOTS_MAX];
	CK_ULONG count = SLOTS_MAX, i;
	CK_TOKEN_INFO info;

	/* The sizing call first: it makes OpenSC look at the readers again. */
	if (t->module->funcs->C_GetSlotList(CK_TRUE, NULL, &count) != CKR_OK)
		return false;
	count = SLOTS_MAX;
	if (t->module->funcs->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK)
		return false;
	for (i = 0; i < count; i++)
		if (slots[i] == t->slot)
			break;
	if (i == count || t->module->funcs->C_GetTokenInfo(t->slot, &info) != CKR_OK)
		return false;
	return memcmp(info.serialNumber, t->info.serialNumber, sizeof(info.serialNumber)) == 0 &&
	       memcmp(info.label, t->info.label, sizeof(info.label)) == 0;
}

int
token_check_removed(struct request *req, const struct token *t, int err)
{
	struct timespec pause = {0, 100 * 1000 * 1000};
	int i;

	if (err != CB_ERR_MODULE_ERROR && err != CB_ERR_TOKEN_NOT_PRESENT &&
	    err != CB_ERR_CARD_REMOVED)
		return err;
	/* pcscd polls some readers (vpcd) every 400 ms: give it time to notice. */
	for (i = 0; i < REMOVED_POLLS; i++) {
		if (!token_still_present(t)) {
			helper_log(CB_LOG_INFO, "request %llu: the token \"%s\" was removed",
			    (unsigned long long)req->id, t->label);
			return request_fail(
			    req, CB_ERR_CARD_REMOVED, "the card was removed during the operation");
		}
		if (err == CB_ERR_CARD_REMOVED)
			break; /* the module said so, but the card is back already */
		nanosleep(&pause, NULL);
	}
	return err;
}

/* --- per-slot locks --- */

struct slot_lock {
	CK_FUNCTION_LIST *funcs;
	CK_SLOT_ID slot;
	pthread_mutex_t lock;
	struct slot_lock *next;
};

static pthread_mutex_t slot_locks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot_lock *slot_locks; /* {slot_locks_lock}; entries live for ever */

static pthread_mutex_t *
slot_mutex(const struct token *t)
{
	struct slot_lock *l;

	pthread_mutex_lock(&slot_locks_lock);
	for (l = slot_locks; l != NULL; l = l->next)
		if (l->funcs == t->module->funcs && l->slot == t->slot)
			break;
	if (l == NULL && (l = calloc(1, sizeof(*l))) != NULL) {
		l->funcs = t->module->funcs;
		l->slot = t->slot;
		pthread_mutex_init(&l->lock, NULL);
		l->next = slot_locks;
		slot_locks = l;
	}
	pthread_mutex_unlock(&slot_locks_lock);
	if (l == NULL) {
		helper_log(CB_LOG_ERROR, "out of memory for a slot lock");
		abort();
	}
	return &l->lock;
}

void
token_lock(const struct token *t)
{
	pthread_mutex_lock(slot_mutex(t));
}

void
token_unlock(const struct token *t)
{
	pthread_mutex_unlock(slot_mutex(t));
}

/* --- tokens.list --- */

static const unsigned long rsa_bits[] = {2048, 3072, 4096};
static const struct {
	const char *name;
	unsigned long bits;
} ec_curves[] = {{"P-256", 256}, {"P-384", 384}};

static struct json_object *
key_types_json(const struct token *t)
{
	struct json_object *types, *entry, *list;
	size_t i;

	if ((types = json_object_new_array()) == NULL)
		return NULL;
	if ((list = json_object_new_array()) != NULL) {
		for (i = 0; i < sizeof(rsa_bits) / sizeof(rsa_bits[0]); i++)
			if (token_supports_rsa(t, rsa_bits[i]))
				json_object_array_add(
				    list, json_object_new_int64((int64_t)rsa_bits[i]));
		if (json_object_array_length(list) > 0 &&
		    (entry = json_object_new_object()) != NULL) {
			field_add_string(entry, "type", "RSA");
			json_object_object_add(entry, "bits", json_object_get(list));
			json_object_array_add(types, entry);
		}
		json_object_put(list);
	}
	if ((list = json_object_new_array()) != NULL) {
		for (i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
			if (token_supports_ec(t, ec_curves[i].bits))
				json_object_array_add(
				    list, json_object_new_string(ec_curves[i].name));
		if (json_object_array_length(list) > 0 &&
		    (entry = json_object_new_object()) != NULL) {
			field_add_string(entry, "type", "EC");
			json_object_object_add(entry, "curves", json_object_get(list));
			json_object_array_add(types, entry);
		}
		json_object_put(list);
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
		json_object_object_add(obj, flags[i].name,
		    json_object_new_boolean((info->flags & flags[i].flag) != 0));
	return obj;
}

static struct json_object *
token_json(const struct token *t)
{
	struct json_object *obj, *flags, *types;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	flags = token_flags_json(&t->info);
	types = key_types_json(t);
	if (field_add_string(obj, "uri", t->uri) != 0 ||
	    field_add_string(obj, "reader", t->reader) != 0 ||
	    field_add_string(obj, "label", t->label) != 0 ||
	    field_add_string(obj, "manufacturer", t->manufacturer) != 0 ||
	    field_add_string(obj, "model", t->model) != 0 ||
	    field_add_string(obj, "serial", t->serial) != 0 || flags == NULL || types == NULL) {
		json_object_put(flags);
		json_object_put(types);
		json_object_put(obj);
		return NULL;
	}
	json_object_object_add(obj, "flags", flags);
	json_object_object_add(obj, "keyTypes", types);
	/* For the daemon's module-by-ATR choice; it strips this before a page sees it. */
	if (t->module != NULL)
		json_object_object_add(obj, "module",
		    json_object_new_string(t->module->real ? t->module->real : t->module->path));
	return obj;
}

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char *seen_uris; /* {seen_lock} the URIs of the last tokens.list, one a line */

/* True when the set of tokens differs from what the last tokens.list saw. */
static bool
tokens_changed(const struct token *list, size_t n)
{
	size_t i, len = 1;
	char *now;
	bool changed;

	for (i = 0; i < n; i++)
		len += strlen(list[i].uri) + 1;
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

int
handle_tokens_list(struct request *req, struct json_object **result)
{
	struct json_object *obj = NULL, *array, *entry;
	struct token *list = NULL;
	size_t i, n = 0;
	int r;

	if ((r = token_list(req, &list, &n)) != 0)
		goto out;
	r = CB_ERR_ALLOC;
	if ((obj = json_object_new_object()) == NULL || (array = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(obj, "tokens", array);
	for (i = 0; i < n; i++) {
		if ((entry = token_json(&list[i])) == NULL)
			goto out;
		json_object_array_add(array, entry);
	}
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
