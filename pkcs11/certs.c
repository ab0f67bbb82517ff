/*
 * certs.c - certificates.install: an issued certificate onto the token,
 * next to its key (certificates.list is in certlist.c).
 *
 * Install finds the token key that the certificate belongs to by comparing
 * public keys (public key objects need no login), writes nothing when the
 * certificate is already there (and then asks for no PIN), and otherwise
 * logs in, checks that the private key with that CKA_ID really exists and
 * writes a CKO_CERTIFICATE carrying the key's CKA_ID.  A key that has a
 * certificate already gets no second one unless the page says "add" (and
 * the dialog says so too).  CA certificates from the chain go in as
 * authority certificates where the token takes them, and only those that
 * are issuers on the certificate's path (chain.c): the PIN dialog names
 * every certificate it will write.  A write that failed may have completed
 * (a card pulled after it took the certificate): the card is read again
 * once it is back (cert_check.c).
 * Must never: write anything when no key matches the certificate, or a
 * certificate the dialog did not name, or tell a page nothing was stored
 * when that is not known.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "protocol/params.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "common/i18n.h"
#include "pkcs11/card.h"
#include "pkcs11/cert_check.h"
#include "pkcs11/cert_object.h"
#include "pkcs11/chain.h"
#include "pkcs11/cert_words.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/login.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/request.h"
#include "pkcs11/token_session.h"
#include "pkcs11/token.h"
#include "pkcs11/token_capabilities.h"
#include "pkcs11/x509.h"

/* How long a write whose card was pulled waits for the card to be back. */
#define CARD_BACK_MS 30000

struct install {
	struct request *req;
	const char *uri;
	const char *label;
	bool allow_expired;
	bool add; /* next to a certificate the key has already */
	X509 *cert;
	X509 *chain[PROTO_CHAIN_MAX];
	size_t nchain;
	bool on_path[PROTO_CHAIN_MAX]; /* chain[i] issued cert, or one of its issuers */
	bool has_other;		       /* the key has another certificate already */
	struct token token;	       /* where the key is */
	char operation[768];	       /* for the PIN dialog */
	uint8_t *key_id;
	size_t key_id_len;
	char *key_id_hex;
	char *key_label;
	struct json_object *installed, *present, *not_stored;
	bool leaf_present;	     /* on the token before: not written */
	bool write[PROTO_CHAIN_MAX]; /* chain certificates to write */
	bool writing;		     /* a write was sent: the card may hold it */
};

/* --- finding things on a token --- */

/*
 * By default a key gets no second certificate (a page could add one for a
 * key that other tools made, under another name): KEY_HAS_CERTIFICATE,
 * unless the page asked to add one and the dialog says so.
 */
static int
install_check_other(struct install *in, struct token_session *s)
{
	bool has;
	int r;

	if ((r = cert_key_has_other(s, in->cert, in->key_id, in->key_id_len, &has)) != 0)
		return r;
	in->has_other = in->has_other || has;
	if (!has || in->add)
		return 0;
	return request_fail(in->req, CB_ERR_KEY_HAS_CERTIFICATE,
	    "the key already has another certificate on this token; set add to store this one "
	    "next to it");
}

/* --- certificates.install --- */

/* Which chain certificates are issuers on the certificate's path (chain.c). */
static void
install_path(struct install *in)
{
	size_t order[PROTO_CHAIN_MAX], k, i;

	k = chain_path(in->cert, in->chain, in->nchain, order);
	for (i = 0; i < k; i++)
		in->on_path[order[i]] = true;
}

/* params passed protocol/methods.c in the helper's dispatch. */
static int
install_params(struct install *in)
{
	struct json_object *params = in->req->params, *chain = NULL, *allow;
	char field[32];
	size_t i;
	int r;

	in->uri = proto_param_string(params, "token");
	in->label = proto_param_string(params, "label");
	if (json_object_object_get_ex(params, "allowExpired", &allow))
		in->allow_expired = json_object_get_boolean(allow);
	if (json_object_object_get_ex(params, "add", &allow))
		in->add = json_object_get_boolean(allow);
	if ((r = x509_parse(in->req, "certificate", proto_param_string(params, "certificate"),
		 &in->cert)) != 0)
		return r;
	json_object_object_get_ex(params, "chain", &chain);
	for (i = 0; chain != NULL && i < json_object_array_length(chain); i++) {
		snprintf(field, sizeof(field), "chain[%zu]", i);
		if ((r = x509_parse(in->req, field,
			 json_object_get_string(json_object_array_get_idx(chain, i)),
			 &in->chain[in->nchain])) != 0)
			return r;
		in->nchain++;
	}
	install_path(in);
	return 0;
}

static int
install_check_dates(struct install *in)
{
	char when[32];

	if (in->allow_expired)
		return 0;
	if (X509_cmp_current_time(X509_get0_notBefore(in->cert)) > 0) {
		x509_time_iso(X509_get0_notBefore(in->cert), when, sizeof(when));
		return request_fail(in->req, CB_ERR_INVALID_PARAMS,
		    "params.certificate: not valid before %s (allowExpired is not set)", when);
	}
	if (!x509_expired(in->cert))
		return 0;
	x509_time_iso(X509_get0_notAfter(in->cert), when, sizeof(when));
	return request_fail(in->req, CB_ERR_INVALID_PARAMS,
	    "params.certificate: expired on %s (allowExpired is not set)", when);
}

/* Look for the certificate's key on t; on success in->key_id is set. */
static int
install_key_on(struct install *in, struct token *t)
{
	struct token_session s;
	int r;

	if ((r = token_session_open(in->req, t, false, &s)) != 0)
		return r;
	r = cert_find_key(
	    &s, X509_get0_pubkey(in->cert), &in->key_id, &in->key_id_len, &in->key_label);
	token_session_close(&s);
	return r;
}

static int
install_find_key(struct install *in)
{
	struct token *list = NULL;
	size_t i, n = 0;
	int r;

	if (in->uri != NULL) {
		if ((r = token_find(in->req, in->uri, &in->token)) != 0 ||
		    (r = install_key_on(in, &in->token)) != 0)
			return r;
		if (in->key_id == NULL)
			return request_fail(in->req, CB_ERR_KEY_NOT_FOUND,
			    "no key on this token matches the certificate");
		return 0;
	}
	if ((r = token_list(in->req, &list, &n)) != 0)
		return r;
	for (i = 0; i < n && in->key_id == NULL; i++) {
		if ((r = install_key_on(in, &list[i])) != 0) {
			helper_log(CB_LOG_WARN, "token %s: %s", list[i].label, in->req->message);
			in->req->message[0] = '\0';
		}
		if (in->key_id != NULL) {
			in->token = list[i];
			list[i].uri = NULL; /* transferred */
			card_bind(in->req, &in->token);
		}
	}
	token_list_free(list, n);
	if (in->key_id == NULL)
		return request_fail(in->req, CB_ERR_KEY_NOT_FOUND,
		    "no key on any present token matches the certificate");
	return 0;
}

static int
add_entry(struct json_object *array, X509 *x, const char *key_id)
{
	struct json_object *entry;

	if ((entry = x509_summary(x, key_id)) == NULL)
		return CB_ERR_ALLOC;
	json_object_array_add(array, entry);
	return 0;
}

static int
add_not_stored(struct install *in, X509 *x, const char *reason)
{
	struct json_object *entry;
	char *subject;

	int r = CB_ERR_ALLOC;

	/* Out of memory is an error: a page must not read "subject": null. */
	if ((entry = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	if ((subject = x509_name_text(X509_get_subject_name(x))) != NULL &&
	    field_add_string(entry, "subject", subject) == 0 &&
	    field_add_string(entry, "reason", reason) == 0 &&
	    json_object_array_add(in->not_stored, entry) == 0) {
		entry = NULL; /* transferred */
		r = 0;
	}
	json_object_put(entry);
	free(subject);
	return r;
}

/* The label of the certificate object: the page's, the key's, the CN, or a word. */
static char *
install_label(struct install *in, X509 *x, bool leaf)
{
	char *cn;

	if (leaf && in->label != NULL)
		return strdup(in->label);
	if (leaf && in->key_label != NULL && in->key_label[0] != '\0' &&
	    proto_text_ok(in->key_label, strlen(in->key_label)))
		return strdup(in->key_label);
	if ((cn = x509_common_name(X509_get_subject_name(x))) != NULL)
		return cn;
	return strdup(leaf ? "Certificate" : "CA certificate");
}

/* Which chain certificates need writing; the others are reported now. */
static int
install_sort_chain(struct install *in, struct token_session *s, bool *write)
{
	bool present;
	size_t i;
	int r;

	for (i = 0; i < in->nchain; i++) {
		write[i] = false;
		if (token_is_openpgp_card(&in->token))
			/* OpenSC would put it in a key's certificate slot. */
			r = add_not_stored(
			    in, in->chain[i], "the card has no room for CA certificates");
		else if (X509_cmp(in->chain[i], in->cert) == 0)
			r = add_not_stored(in, in->chain[i], "same as the certificate");
		else if (X509_check_ca(in->chain[i]) == 0)
			r = add_not_stored(in, in->chain[i], "not a CA certificate");
		else if (!in->allow_expired && x509_expired(in->chain[i]))
			r = add_not_stored(in, in->chain[i], "expired");
		else if (!in->on_path[i])
			r = add_not_stored(
			    in, in->chain[i], "not an issuer on the certificate's path");
		else if ((r = cert_present(s, in->chain[i], &present)) == 0 && present)
			r = add_entry(in->present, in->chain[i], NULL);
		else
			write[i] = r == 0;
		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * A CA certificate the token refuses goes to notStored, not to an error.
 * It is stored under the CKA_ID its own key would have (NSS's SHA-1 of the
 * public key; for other key types RFC 5280's key identifier), never without
 * one: OpenSC's PKCS#15 layer gives a
 * certificate without an ID the first one no other certificate has (45,
 * 46, ...), which on a PKCS#15 card is the ID of a user's key, and the CA
 * certificate then passes for that key's certificate.
 */
static int
install_authority(struct install *in, struct token_session *s, X509 *x)
{
	uint8_t id[SHA_DIGEST_LENGTH];
	unsigned int id_len = sizeof(id);
	char *label, reason[160];
	CK_RV rv = CKR_OK;
	int r;

	if (pubkey_id(X509_get0_pubkey(x), id) != 0 &&
	    X509_pubkey_digest(x, EVP_sha1(), id, &id_len) != 1)
		return CB_ERR_ALLOC;
	if ((label = install_label(in, x, false)) == NULL)
		return CB_ERR_ALLOC;
	in->writing = true;
	r = cert_object_create(s, x, label, id, sizeof(id), true, &rv);
	free(label);
	if (r == 0)
		return add_entry(in->installed, x, NULL);
	if (r == CB_ERR_CARD_REMOVED || r == CB_ERR_TOKEN_NOT_PRESENT || r == CB_ERR_ALLOC)
		return r;
	snprintf(reason, sizeof(reason), "the token refused it: %s", p11_kit_strerror(rv));
	in->req->message[0] = '\0';
	return add_not_stored(in, x, reason);
}

/* After login: the private key must be there before anything is written. */
static int
install_check_private_key(struct install *in, struct token_session *s, bool leaf_present)
{
	CK_OBJECT_HANDLE found;
	CK_ULONG count;
	int r;

	if ((r = token_session_find_class(
		 s, CKO_PRIVATE_KEY, in->key_id, in->key_id_len, &found, 1, &count)) != 0)
		return r;
	if (count == 0)
		return request_fail(in->req, CB_ERR_KEY_NOT_FOUND,
		    "the token has no private key for the certificate");
	/* What only the login shows: a certificate marked private. */
	return leaf_present ? 0 : install_check_other(in, s);
}

static int
install_leaf(struct install *in, struct token_session *s)
{
	CK_RV rv;
	char *label;
	int r;

	if ((label = install_label(in, in->cert, true)) == NULL)
		return CB_ERR_ALLOC;
	in->writing = true;
	r = cert_object_create(s, in->cert, label, in->key_id, in->key_id_len, false, &rv);
	free(label);
	if (r == 0)
		r = add_entry(in->installed, in->cert, in->key_id_hex);
	return r;
}

/* The PIN dialog's words (cert_words.c): every certificate it will write. */
static void
install_words(struct install *in, bool leaf_present, const bool *write)
{
	X509 *chain[PROTO_CHAIN_MAX];
	size_t i, n = 0;

	for (i = 0; i < in->nchain; i++)
		if (write[i])
			chain[n++] = in->chain[i];
	cert_install_words(
	    in->cert, leaf_present, in->has_other, chain, n, in->operation, sizeof(in->operation));
}

/* OpenPGP cards: one certificate per key slot, and OpenSC cannot replace it. */
static int
install_check_slot(struct install *in, struct token_session *s, bool leaf_present)
{
	CK_OBJECT_HANDLE found;
	CK_ULONG count;
	int r;

	if (leaf_present || !token_is_openpgp_card(&in->token))
		return 0;
	if ((r = token_session_find_class(
		 s, CKO_CERTIFICATE, in->key_id, in->key_id_len, &found, 1, &count)) != 0)
		return r;
	if (count == 0)
		return 0;
	return request_fail(in->req, CB_ERR_SLOT_OCCUPIED,
	    "the card already holds another certificate for this key, and OpenSC cannot replace "
	    "certificates on this card");
}

static int
install_write(struct install *in)
{
	bool read_only = (in->token.info.flags & CKF_WRITE_PROTECTED) != 0;
	bool *write = in->write, leaf_present, any = false;
	struct token_session s;
	size_t i;
	int r;

	/* A write-protected token can still say "already present". */
	if ((r = token_session_open(in->req, &in->token, !read_only, &s)) != 0)
		return r;
	if ((r = cert_present(&s, in->cert, &leaf_present)) != 0 ||
	    (r = install_sort_chain(in, &s, write)) != 0)
		goto out;
	in->leaf_present = leaf_present;
	for (i = 0; i < in->nchain; i++)
		any = any || write[i];
	if ((r = install_check_slot(in, &s, leaf_present)) != 0 ||
	    (!leaf_present && (r = install_check_other(in, &s)) != 0))
		goto out;
	if (leaf_present && (r = add_entry(in->present, in->cert, in->key_id_hex)) != 0)
		goto out;
	if (leaf_present && !any)
		goto out; /* nothing to write: no PIN needed */
	if (read_only) {
		r = request_fail(
		    in->req, CB_ERR_TOKEN_WRITE_PROTECTED, "this token is write-protected");
		goto out;
	}
	install_words(in, leaf_present, write);
	if ((r = login_to_write(&s, in->operation)) != 0 ||
	    (r = install_check_private_key(in, &s, leaf_present)) != 0)
		goto out;
	if (!leaf_present && (r = install_leaf(in, &s)) != 0)
		goto out;
	for (i = 0; i < in->nchain && r == 0; i++)
		if (write[i])
			r = install_authority(in, &s, in->chain[i]);
out:
	token_session_close(&s);
	return r;
}

/* Append to the page's message (a failure's, or the default text for err). */
static void
install_say(struct install *in, int err, const char *more)
{
	size_t n;

	if (in->req->message[0] == '\0')
		snprintf(in->req->message, sizeof(in->req->message), "%s", cb_err_str(err));
	n = strlen(in->req->message);
	snprintf(in->req->message + n, sizeof(in->req->message) - n, "; %s", more);
}

static int install_result(struct install *in, struct json_object **result);

/*
 * A write failed after it was sent: read what the token holds now (once
 * the card is back, if it left).  Stored after all: the result, as if the
 * write had said so.  Not stored: err, saying so.  Cannot tell: err with
 * data.maybeStored.
 */
static int
install_recheck(struct install *in, int err, struct json_object **result)
{
	X509 *certs[PROTO_CHAIN_MAX + 1];
	bool present[PROTO_CHAIN_MAX + 1];
	size_t i, n = 0, k = 0;
	int r = 0;

	if (!in->leaf_present)
		certs[n++] = in->cert;
	for (i = 0; i < in->nchain; i++)
		if (in->write[i])
			certs[n++] = in->chain[i];
	if (cert_check_written(in->req, &in->token, err, certs, n, present,
		helper_config.card_back_ms > 0 ? helper_config.card_back_ms : CARD_BACK_MS) != 0) {
		in->req->maybe_stored = true;
		install_say(in, err,
		    "the certificate may have been stored: list the card's certificates when it is "
		    "back");
		return err;
	}
	if (!in->leaf_present && !present[0]) {
		install_say(in, err, "the certificate was not stored");
		return err;
	}
	helper_log(CB_LOG_INFO, "request %llu: the certificate was stored before the write failed",
	    (unsigned long long)in->req->id);
	json_object_put(in->installed);
	if ((in->installed = json_object_new_array()) == NULL)
		return CB_ERR_ALLOC;
	if (!in->leaf_present)
		r = add_entry(in->installed, certs[k++], in->key_id_hex);
	for (i = 0; i < in->nchain && r == 0; i++) {
		if (!in->write[i])
			continue;
		if (present[k++])
			r = add_entry(in->installed, in->chain[i], NULL);
		else
			r = add_not_stored(
			    in, in->chain[i], "the card was removed before it was stored");
	}
	in->req->message[0] = '\0';
	return r != 0 ? r : install_result(in, result);
}

static int
install_result(struct install *in, struct json_object **result)
{
	struct json_object *obj;

	if ((obj = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	if (field_add_string(obj, "token", in->token.uri) != 0 ||
	    field_add_string(obj, "keyId", in->key_id_hex) != 0 ||
	    json_object_object_add(obj, "installed", json_object_get(in->installed)) != 0 ||
	    json_object_object_add(obj, "alreadyPresent", json_object_get(in->present)) != 0 ||
	    json_object_object_add(obj, "notStored", json_object_get(in->not_stored)) != 0) {
		json_object_put(obj);
		return CB_ERR_ALLOC;
	}
	*result = obj;
	return 0;
}

int
handle_certificates_install(struct request *req, struct json_object **result)
{
	struct install in;
	size_t i;
	int r;

	memset(&in, 0, sizeof(in));
	in.req = req;
	if ((in.installed = json_object_new_array()) == NULL ||
	    (in.present = json_object_new_array()) == NULL ||
	    (in.not_stored = json_object_new_array()) == NULL) {
		r = CB_ERR_ALLOC;
		goto out;
	}
	if ((r = install_params(&in)) != 0 || (r = install_check_dates(&in)) != 0 ||
	    (r = install_find_key(&in)) != 0)
		goto out;
	if ((in.key_id_hex = field_hex(in.key_id, in.key_id_len)) == NULL) {
		r = CB_ERR_ALLOC;
		goto out;
	}
	if ((r = install_write(&in)) != 0)
		goto out;
	r = install_result(&in, result);
out:
	if (r != 0 && in.token.module != NULL)
		r = token_check_removed(req, &in.token, r);
	if (in.writing && (r == CB_ERR_CARD_REMOVED || r == CB_ERR_SERVICE_STOPPED ||
			      r == CB_ERR_MODULE_ERROR || r == CB_ERR_TOKEN_NOT_PRESENT))
		r = install_recheck(&in, r, result);
	X509_free(in.cert);
	for (i = 0; i < in.nchain; i++)
		X509_free(in.chain[i]);
	json_object_put(in.installed);
	json_object_put(in.present);
	json_object_put(in.not_stored);
	token_clear(&in.token);
	free(in.key_id);
	free(in.key_id_hex);
	free(in.key_label);
	return r;
}
