/*
 * cleanup.c - the half-made key pair of a failed keys.generate: destroyed
 * at once, and checked gone; remembered when the card left before it was
 * (cleanup_journal.c); removed after the next login that writes on the same
 * token (cleanup.h).
 *
 * Nothing here may change how the request ends: the request's message and
 * its "a PKCS#11 call failed" mark are what they were before, whatever the
 * clean-up met.
 * Must never: destroy an object that is not the pair a request of ours
 * made (CKA_ID and public key must match what was remembered), or log
 * "removed" before a search found neither object.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/x509.h>

#include "protocol/cberr.h"
#include "protocol/hex.h"
#include "pkcs11/cleanup.h"
#include "pkcs11/cleanup_journal.h"
#include "pkcs11/field.h"
#include "pkcs11/log.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"

#define PAIR_ID_MAX 64
#define FOUND_MAX 8

/* What identifies a half-made pair on its token. */
struct pair {
	uint8_t id[PAIR_ID_MAX];
	size_t id_len; /* 0: unknown */
	EVP_PKEY *key; /* NULL: unknown */
	char id_hex[2 * PAIR_ID_MAX + 1];
};

/* The request's state the clean-up must leave as it found it. */
struct saved {
	char message[REQUEST_MESSAGE_MAX];
	bool module_failed;
};

static void
save(struct request *req, struct saved *sv)
{
	memcpy(sv->message, req->message, sizeof(sv->message));
	sv->module_failed = req->module_failed;
}

static void
restore(struct request *req, const struct saved *sv)
{
	memcpy(req->message, sv->message, sizeof(req->message));
	req->module_failed = sv->module_failed;
}

static void
pair_name(struct pair *p)
{
	char *hex = p->id_len > 0 ? field_hex(p->id, p->id_len) : NULL;

	snprintf(p->id_hex, sizeof(p->id_hex), "%s", hex != NULL ? hex : "?");
	free(hex);
}

/* Objects of class cls with the pair's CKA_ID; CB_ERR_* when the search fails. */
static int
pair_find(struct token_session *s, const struct pair *p, CK_OBJECT_CLASS cls,
    CK_OBJECT_HANDLE *found, CK_ULONG *count)
{
	return token_session_find_class(s, cls, p->id, p->id_len, found, FOUND_MAX, count);
}

/* Neither object is on the token any more (a search that fails says nothing). */
static bool
pair_gone(struct token_session *s, const struct pair *p)
{
	CK_OBJECT_HANDLE found[FOUND_MAX];
	CK_ULONG npriv = 1, npub = 1;

	return pair_find(s, p, CKO_PRIVATE_KEY, found, &npriv) == 0 &&
	       pair_find(s, p, CKO_PUBLIC_KEY, found, &npub) == 0 && npriv == 0 && npub == 0;
}

/* --- the journal's entries --- */

static void
remember(struct token_session *s, const struct pair *p)
{
	struct json_object *list, *e;
	unsigned char *der = NULL;
	char *key_hex = NULL;
	int len;

	if (p->key != NULL && (len = i2d_PUBKEY(p->key, &der)) > 0)
		key_hex = field_hex(der, (size_t)len);
	OPENSSL_free(der);
	journal_lock();
	list = journal_load();
	if ((e = json_object_new_object()) != NULL &&
	    field_add_string(e, "token", s->token->uri) == 0 &&
	    field_add_string(e, "id", p->id_hex) == 0 &&
	    field_add_string(e, "publicKey", key_hex) == 0 &&
	    json_object_object_add(e, "request", json_object_new_int64((int64_t)s->req->id)) == 0 &&
	    json_object_array_add(list, e) == 0) {
		e = NULL; /* transferred */
		if (journal_save(list) == 0)
			helper_log(CB_LOG_INFO,
			    "request %llu: the key pair (CKA_ID %s) is remembered; it is removed "
			    "after the next login that writes on the token \"%s\"",
			    (unsigned long long)s->req->id, p->id_hex, s->token->label);
	}
	journal_unlock();
	json_object_put(e);
	json_object_put(list);
	free(key_hex);
}

/* An entry's pair; false when it is not one we can act on. */
static bool
pair_from_entry(struct json_object *e, struct pair *p)
{
	struct json_object *v;
	const unsigned char *q;
	uint8_t der[2048];
	size_t der_len = 0;

	memset(p, 0, sizeof(*p));
	if (!json_object_object_get_ex(e, "id", &v) || !json_object_is_type(v, json_type_string) ||
	    !hex_decode(json_object_get_string(v), p->id, sizeof(p->id), &p->id_len) ||
	    p->id_len == 0)
		return false;
	pair_name(p);
	if (json_object_object_get_ex(e, "publicKey", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    hex_decode(json_object_get_string(v), der, sizeof(der), &der_len)) {
		q = der;
		p->key = d2i_PUBKEY(NULL, &q, (long)der_len);
	}
	return true;
}

/* --- right after a failed keys.generate --- */

/* Fill in what the caller did not know, from the objects, while they are there. */
static void
pair_complete(struct token_session *s, struct pair *p, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub,
    EVP_PKEY **own)
{
	uint8_t *value = NULL;
	size_t len = 0;

	if (p->id_len == 0 && token_session_get_attr(s, priv, CKA_ID, &value, &len) == 0 &&
	    len > 0 && len <= sizeof(p->id)) {
		memcpy(p->id, value, len);
		p->id_len = len;
	}
	free(value);
	if (p->key == NULL && pubkey_from_object(s, pub, own) == 0)
		p->key = *own;
	pair_name(p);
}

void
cleanup_key_pair(struct token_session *s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub,
    const uint8_t *id, size_t id_len, EVP_PKEY *key)
{
	struct pair p = {.key = key};
	EVP_PKEY *own = NULL;
	struct saved sv;
	CK_RV rv;

	save(s->req, &sv);
	if (id_len > 0 && id_len <= sizeof(p.id)) {
		memcpy(p.id, id, id_len);
		p.id_len = id_len;
	}
	pair_complete(s, &p, priv, pub, &own);
	helper_log(CB_LOG_DEBUG, "request %llu: removing the half-made key pair (CKA_ID %s)",
	    (unsigned long long)s->req->id, p.id_hex);
	/* The private key first: a public key left alone is harmless, and identifies it. */
	if ((rv = s->funcs->C_DestroyObject(s->handle, priv)) == CKR_OK)
		rv = s->funcs->C_DestroyObject(s->handle, pub);
	if (rv == CKR_OK && (p.id_len == 0 || pair_gone(s, &p))) {
		helper_log(CB_LOG_INFO, "request %llu: removed the half-made key pair (CKA_ID %s)",
		    (unsigned long long)s->req->id, p.id_hex);
	} else {
		helper_log(CB_LOG_WARN,
		    "request %llu: the half-made key pair (CKA_ID %s) is still on the token \"%s\" "
		    "(%s)",
		    (unsigned long long)s->req->id, p.id_hex, s->token->label,
		    rv != CKR_OK ? p11_kit_strerror(rv) : "found after its removal");
		if (p.id_len > 0)
			remember(s, &p);
		else
			helper_log(CB_LOG_WARN,
			    "request %llu: without its CKA_ID it cannot be "
			    "found again; remove it with the card's tools",
			    (unsigned long long)s->req->id);
	}
	EVP_PKEY_free(own);
	restore(s->req, &sv);
}

/* --- after a later login --- */

/* Is obj the pair's (its public key, or a private key shown with its modulus)? */
static bool
pair_owns(struct token_session *s, const struct pair *p, CK_OBJECT_HANDLE obj)
{
	bool match = false;

	return p->key == NULL || (pubkey_object_matches(s, obj, p->key, &match) == 0 && match);
}

/* An ID made from the public key (keygen_set_id) names that key alone. */
static bool
id_is_the_keys(const struct pair *p)
{
	uint8_t id[SHA_DIGEST_LENGTH];

	return p->key != NULL && p->id_len == sizeof(id) && pubkey_id(p->key, id) == 0 &&
	       memcmp(id, p->id, sizeof(id)) == 0;
}

/* Destroy what of the pair is left; 0 when none of it is. */
static int
pair_finish(struct token_session *s, const struct pair *p)
{
	CK_OBJECT_HANDLE privs[FOUND_MAX], pubs[FOUND_MAX];
	CK_ULONG npriv, npub, i;
	bool pub_ours[FOUND_MAX], priv_ours[FOUND_MAX], twin = false, shown = false;
	int r;

	if ((r = pair_find(s, p, CKO_PRIVATE_KEY, privs, &npriv)) != 0 ||
	    (r = pair_find(s, p, CKO_PUBLIC_KEY, pubs, &npub)) != 0)
		return r;
	for (i = 0; i < npub; i++)
		twin = (pub_ours[i] = pair_owns(s, p, pubs[i])) || twin;
	for (i = 0; i < npriv; i++)
		shown = (priv_ours[i] = p->key != NULL && pair_owns(s, p, privs[i])) || shown;
	/* An EC private key shows no public part: its public twin, or its ID, vouches, alone. */
	if (!shown && npriv == 1)
		priv_ours[0] = p->key == NULL || twin || id_is_the_keys(p);
	for (i = 0; i < npriv; i++)
		if (priv_ours[i] && s->funcs->C_DestroyObject(s->handle, privs[i]) != CKR_OK)
			return CB_ERR_MODULE_ERROR;
	for (i = 0; i < npub; i++)
		if (pub_ours[i] && s->funcs->C_DestroyObject(s->handle, pubs[i]) != CKR_OK)
			return CB_ERR_MODULE_ERROR;
	if (npriv + npub > 0 && !pair_gone(s, p))
		helper_log(CB_LOG_WARN,
		    "request %llu: objects with CKA_ID %s that are not the key pair are left alone",
		    (unsigned long long)s->req->id, p->id_hex);
	return 0;
}

void
cleanup_pending(struct token_session *s)
{
	struct json_object *list, *e, *v;
	struct pair p;
	struct saved sv;
	size_t i;
	bool changed = false;

	save(s->req, &sv);
	journal_lock();
	list = journal_load();
	for (i = json_object_array_length(list); i-- > 0;) {
		e = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(e, "token", &v) ||
		    strcmp(json_object_get_string(v), s->token->uri) != 0 ||
		    !pair_from_entry(e, &p))
			continue;
		v = json_object_object_get(e, "request");
		if (pair_finish(s, &p) == 0) {
			helper_log(CB_LOG_INFO,
			    "request %llu: removed the half-made key pair (CKA_ID %s) that request "
			    "%s "
			    "left on the token \"%s\"",
			    (unsigned long long)s->req->id, p.id_hex, json_object_get_string(v),
			    s->token->label);
			json_object_array_del_idx(list, i, 1);
			changed = true;
		} else
			helper_log(CB_LOG_WARN,
			    "request %llu: the half-made key pair (CKA_ID %s) is still on the "
			    "token "
			    "\"%s\"; tried again after the next login",
			    (unsigned long long)s->req->id, p.id_hex, s->token->label);
		EVP_PKEY_free(p.key);
	}
	if (changed)
		(void)journal_save(list); /* journal_save() logs a failure */
	journal_unlock();
	json_object_put(list);
	restore(s->req, &sv);
}
