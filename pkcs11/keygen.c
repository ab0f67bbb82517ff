/*
 * keygen.c - keys.generate: a key pair generated ON the token, its CKA_ID
 * set as NSS would (or the slot's, on fixed-slot tokens), and a CSR for it
 * signed ON the token.
 *
 * Order matters: every parameter is checked before the token is touched,
 * the token's abilities and PIN state before the PIN is asked for, and once
 * the key pair exists any failure destroys both new objects, so that
 * nothing half-made stays on the token.  The private key is created
 * sensitive and not extractable; what the module then reports, and whether
 * it really withholds the key's secret parts, is keyattrs.c's to find out
 * (and goes back to the page as keyAttributes).
 *
 * OpenPGP cards through OpenSC (token_capabilities.c) differ: the admin
 * PIN generates and the user PIN signs the CSR (two dialogs), the key goes
 * to the token's fixed slot, the module is reloaded between the two
 * because its view of the new key is wrong until then, and a key cannot be
 * deleted again: a failure after the key was made leaves it in its slot,
 * and says so.
 * Must never: replace or delete a key that was on the token before.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "common/i18n.h"
#include "pkcs11/abandon.h"
#include "pkcs11/cleanup.h"
#include "pkcs11/csr.h"
#include "pkcs11/dialog_words.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/keyattrs.h"
#include "pkcs11/log.h"
#include "pkcs11/login.h"
#include "pkcs11/module.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/progress.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/request.h"
#include "pkcs11/token_session.h"
#include "pkcs11/token.h"
#include "pkcs11/token_capabilities.h"

#define DEFAULT_LABEL "cardbridge key"
#define TEMPLATE_MAX 12
/* Longest CKA_ID a token may choose itself that we report. */
#define KEY_ID_MAX 64

struct keygen {
	struct request *req;
	const char *uri;
	const char *label;
	char default_label[PROTO_LABEL_MAX_BYTES + 1]; /* the subject's CN */
	bool overwrite;
	bool rsa;
	unsigned long bits;	   /* RSA modulus or EC field size */
	const struct curve *curve; /* EC only */
	X509_NAME *subject;
	const char *cn;		  /* the subject's CN, from the params; NULL if none */
	char algorithm_words[32]; /* "RSA 2048", "EC P-256" */
	char operation[512];	  /* for the PIN dialogs; room for translations */
	char sign_operation[512];
	struct token token;
	struct token_session session;
	bool fixed_slot; /* the token chooses the place by CKA_ID (in id) */
	bool openpgp;	 /* OpenSC's OpenPGP card: reload after keygen, no undo */
	bool made;	 /* pub and priv exist and are ours to destroy */
	CK_OBJECT_HANDLE pub, priv;
	struct key_attributes attrs; /* of priv, as its module reports them */
	CK_BYTE id[KEY_ID_MAX];
	CK_ULONG id_len;
	EVP_PKEY *pkey;
	char *public_pem;
	char *csr_pem;
};

/* algorithm passed protocol/methods.c: RSA with a size it lists, or EC with a curve. */
static int
keygen_algorithm(struct keygen *k, struct json_object *alg)
{
	struct json_object *bits;

	if (strcmp(proto_param_string(alg, "type"), "RSA") == 0) {
		json_object_object_get_ex(alg, "bits", &bits);
		k->rsa = true;
		k->bits = (unsigned long)json_object_get_int64(bits);
		snprintf(k->algorithm_words, sizeof(k->algorithm_words), "RSA %lu", k->bits);
		return 0;
	}
	if ((k->curve = pubkey_curve(proto_param_string(alg, "curve"))) == NULL)
		return request_fail(k->req, CB_ERR_UNSUPPORTED_ALGORITHM,
		    "params.algorithm.curve: not a curve this helper knows");
	k->bits = k->curve->bits;
	snprintf(k->algorithm_words, sizeof(k->algorithm_words), "EC %s", k->curve->name);
	return 0;
}

/*
 * Every parameter, before the token is touched; the helper's dispatch has
 * checked them against protocol/methods.c already.  Without a label the
 * key is named after the subject's CN, cut to what a token stores.
 */
static int
keygen_params(struct keygen *k)
{
	struct json_object *params = k->req->params, *alg, *subject = NULL, *overwrite;
	const char *cn;
	size_t n;
	int r;

	k->uri = proto_param_string(params, "token");
	k->label = proto_param_string(params, "label");
	json_object_object_get_ex(params, "algorithm", &alg);
	json_object_object_get_ex(params, "subject", &subject);
	if (json_object_object_get_ex(params, "overwrite", &overwrite))
		k->overwrite = json_object_get_boolean(overwrite);
	if ((r = keygen_algorithm(k, alg)) != 0 ||
	    (r = csr_subject(k->req, subject, &k->subject)) != 0)
		return r;
	k->cn = cn = proto_param_string(subject, "CN");
	if (k->label == NULL && cn != NULL) {
		n = proto_utf8_cut(cn, strlen(cn), sizeof(k->default_label) - 1);
		memcpy(k->default_label, cn, n);
		k->default_label[n] = '\0';
		k->label = k->default_label;
	}
	if (k->label == NULL)
		k->label = DEFAULT_LABEL;
	return 0;
}

/*
 * The dialogs' words, translated: "generate an RSA 2048 key pair "Joe's
 * key" for Joe Doe [in key slot 01]"; they follow "<origin> asks to" in
 * the PIN dialog.  The label and the subject's CN tell two requests of one
 * page apart (the CN is left out when it is the label); both went through
 * protocol/display.c, being the page's.
 */
static void
keygen_words(struct keygen *k)
{
	char label[DIALOG_FIELD_SIZE], cn[DIALOG_FIELD_SIZE];
	bool for_cn = k->cn != NULL && strcmp(k->cn, k->label) != 0;

	dialog_shown(k->label, DIALOG_FIELD_CHARS, label, sizeof(label));
	dialog_shown(k->cn, DIALOG_FIELD_CHARS, cn, sizeof(cn));
	if (k->fixed_slot && for_cn)
		snprintf(k->operation, sizeof(k->operation),
		    /* TRANSLATORS: the algorithm, the key's label, the subject's name, the card's
		       key slot (01 or 03). */
		    _("generate an %s key pair \"%s\" for %s in key slot %02x"), k->algorithm_words,
		    label, cn, k->id[0]);
	else if (k->fixed_slot)
		snprintf(k->operation, sizeof(k->operation),
		    _("generate an %s key pair \"%s\" in key slot %02x"), k->algorithm_words, label,
		    k->id[0]);
	else if (for_cn)
		snprintf(k->operation, sizeof(k->operation),
		    /* TRANSLATORS: the algorithm ("RSA 2048", "EC P-256"), the key's label, the
		       subject's name. */
		    _("generate an %s key pair \"%s\" for %s"), k->algorithm_words, label, cn);
	else
		snprintf(k->operation, sizeof(k->operation), _("generate an %s key pair \"%s\""),
		    k->algorithm_words, label);
	if (k->fixed_slot)
		snprintf(k->sign_operation, sizeof(k->sign_operation),
		    _("sign the certificate request for the new %s key \"%s\" in key slot %02x"),
		    k->algorithm_words, label, k->id[0]);
	else
		snprintf(k->sign_operation, sizeof(k->sign_operation),
		    _("sign the certificate request for the new %s key \"%s\""), k->algorithm_words,
		    label);
}

/* The token must do what was asked, and its PINs work, before we ask for one. */
static int
keygen_check_token(struct keygen *k)
{
	CK_USER_TYPE writer = token_user_for_writing(&k->token);
	int r;

	k->fixed_slot = token_fixed_key_slot(&k->token, k->id, &k->id_len);
	k->openpgp = token_is_openpgp_card(&k->token);
	keygen_words(k);
	if (!k->rsa && !token_supports_ec(&k->token, k->bits) &&
	    token_generates_ec(&k->token, k->bits))
		return request_fail(k->req, CB_ERR_UNSUPPORTED_ALGORITHM,
		    "this token cannot sign with an %s key using SHA-256 (its module offers ECDSA "
		    "with SHA-1 only), so it cannot sign the certificate request; choose RSA",
		    k->algorithm_words);
	if (k->rsa ? !token_supports_rsa(&k->token, k->bits)
		   : !token_supports_ec(&k->token, k->bits))
		return request_fail(k->req, CB_ERR_UNSUPPORTED_ALGORITHM,
		    "this token cannot generate an %s key pair", k->algorithm_words);
	if (k->token.info.flags & CKF_WRITE_PROTECTED)
		return request_fail(
		    k->req, CB_ERR_TOKEN_WRITE_PROTECTED, "this token is write-protected");
	/* The user PIN signs the CSR: a locked one would leave a key without a CSR. */
	if ((r = login_check_pin(k->req, &k->token, writer)) != 0 ||
	    (writer != CKU_USER && (r = login_check_pin(k->req, &k->token, CKU_USER)) != 0))
		return r;
	return 0;
}

static int
slot_occupied(struct keygen *k, bool *occupied)
{
	CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
	CK_OBJECT_HANDLE found;
	CK_ULONG count;
	size_t i;
	int r;

	*occupied = false;
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]) && !*occupied; i++) {
		if ((r = token_session_find_class(
			 &k->session, classes[i], k->id, k->id_len, &found, 1, &count)) != 0)
			return r;
		*occupied = count > 0;
	}
	return 0;
}

/*
 * Fixed-slot tokens: a key already in the slot stays.  OpenSC cannot
 * replace or delete a key on an OpenPGP card (token_capabilities.c), so
 * "overwrite" can only be answered with an explanation, before any dialog:
 * asking the user to confirm a destruction that cannot happen would
 * mislead them.  Called
 * before the login (public objects) and again after it (private ones).
 */
static int
keygen_check_slot(struct keygen *k)
{
	bool occupied;
	int r;

	if (!k->fixed_slot)
		return 0;
	if ((r = slot_occupied(k, &occupied)) != 0 || !occupied)
		return r;
	if (!k->overwrite)
		return request_fail(k->req, CB_ERR_SLOT_OCCUPIED,
		    "key slot %02x of this card already holds a key", k->id[0]);
	return request_fail(k->req, CB_ERR_SLOT_OCCUPIED,
	    "key slot %02x of this card already holds a key, and OpenSC cannot replace or delete "
	    "keys on this card; erase the card's keys with its own tools first",
	    k->id[0]);
}

static void
attr_add(CK_ATTRIBUTE *tmpl, CK_ULONG *n, CK_ATTRIBUTE_TYPE type, const void *value, size_t len)
{
	tmpl[*n].type = type;
	tmpl[*n].pValue = (void *)value;
	tmpl[*n].ulValueLen = (CK_ULONG)len;
	(*n)++;
}

static int
keygen_generate(struct keygen *k)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static CK_BYTE exponent[] = {0x01, 0x00, 0x01};
	CK_ATTRIBUTE pub[TEMPLATE_MAX], priv[TEMPLATE_MAX];
	CK_ULONG npub = 0, npriv = 0, bits = k->bits;
	CK_MECHANISM mech = {k->rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
	uint8_t *ec_params = NULL;
	size_t ec_params_len = 0;
	CK_RV rv;
	int r;

	if (!k->rsa && (r = pubkey_ec_params(k->curve, &ec_params, &ec_params_len)) != 0)
		return r;
	attr_add(pub, &npub, CKA_TOKEN, &yes, sizeof(yes));
	attr_add(pub, &npub, CKA_PRIVATE, &no, sizeof(no));
	attr_add(pub, &npub, CKA_VERIFY, &yes, sizeof(yes));
	attr_add(pub, &npub, CKA_LABEL, k->label, strlen(k->label));
	attr_add(priv, &npriv, CKA_TOKEN, &yes, sizeof(yes));
	attr_add(priv, &npriv, CKA_PRIVATE, &yes, sizeof(yes));
	attr_add(priv, &npriv, CKA_SENSITIVE, &yes, sizeof(yes));
	attr_add(priv, &npriv, CKA_EXTRACTABLE, &no, sizeof(no));
	attr_add(priv, &npriv, CKA_SIGN, &yes, sizeof(yes));
	attr_add(priv, &npriv, CKA_LABEL, k->label, strlen(k->label));
	if (k->rsa) {
		attr_add(pub, &npub, CKA_ENCRYPT, &yes, sizeof(yes));
		attr_add(pub, &npub, CKA_MODULUS_BITS, &bits, sizeof(bits));
		attr_add(pub, &npub, CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent));
		attr_add(priv, &npriv, CKA_DECRYPT, &yes, sizeof(yes));
	} else {
		attr_add(pub, &npub, CKA_EC_PARAMS, ec_params, ec_params_len);
		attr_add(priv, &npriv, CKA_DERIVE, &yes, sizeof(yes));
	}
	if (k->fixed_slot) { /* the id chooses the slot */
		attr_add(pub, &npub, CKA_ID, k->id, k->id_len);
		attr_add(priv, &npriv, CKA_ID, k->id, k->id_len);
	}
	progress_report(k->req, PROGRESS_GENERATING_KEY, PROGRESS_PIN_NONE);
	rv = k->session.funcs->C_GenerateKeyPair(
	    k->session.handle, &mech, pub, npub, priv, npriv, &k->pub, &k->priv);
	OPENSSL_free(ec_params);
	if (rv != CKR_OK)
		return p11_fail(k->req, rv, "generating the key pair");
	k->made = true;
	return 0;
}

/* Use the CKA_ID the token chose, or give both objects the NSS-style one. */
static int
keygen_set_id(struct keygen *k)
{
	CK_ATTRIBUTE attr = {CKA_ID, k->id, 0};
	uint8_t *token_id = NULL;
	size_t len;
	CK_RV rv;
	int r;

	if ((r = token_session_get_attr(&k->session, k->priv, CKA_ID, &token_id, &len)) != 0)
		return r;
	if (len > 0 && len <= sizeof(k->id)) {
		memcpy(k->id, token_id, len);
		k->id_len = len;
		free(token_id);
		return 0;
	}
	free(token_id);
	if ((r = pubkey_id(k->pkey, k->id)) != 0)
		return r;
	k->id_len = attr.ulValueLen = SHA_DIGEST_LENGTH;
	if ((rv = k->session.funcs->C_SetAttributeValue(k->session.handle, k->priv, &attr, 1)) !=
		CKR_OK ||
	    (rv = k->session.funcs->C_SetAttributeValue(k->session.handle, k->pub, &attr, 1)) !=
		CKR_OK)
		return p11_fail(k->req, rv, "setting the key's ID");
	return 0;
}

/* After C_GenerateKeyPair: check and name the new key pair. */
static int
keygen_inspect(struct keygen *k)
{
	int r;

	if ((r = keyattrs_inspect(&k->session, k->priv, k->rsa, &k->attrs)) != 0)
		return r;
	if ((r = pubkey_from_object(&k->session, k->pub, &k->pkey)) != 0)
		return request_fail(k->req, r == CB_ERR_KEY_NOT_FOUND ? CB_ERR_MODULE_ERROR : r,
		    "cannot read the new public key from the token");
	return keygen_set_id(k);
}

/* The CSR, signed by the new key; the user PIN is asked for unless it wrote the key. */
static int
keygen_certify(struct keygen *k)
{
	int r;

	if ((r = login_as(&k->session, CKU_USER, k->sign_operation)) != 0)
		return r;
	if (helper_fault("after-keygen"))
		return request_fail(k->req, CB_ERR_INTERNAL, "fault injected after key generation");
	progress_report(k->req, PROGRESS_SIGNING_REQUEST, PROGRESS_PIN_NONE);
	if ((r = csr_create(&k->session, k->priv, k->pkey, k->subject, &k->csr_pem)) != 0)
		return r;
	return pubkey_pem(k->pkey, &k->public_pem);
}

/* One object of class cls with the new key's CKA_ID, or MODULE_ERROR. */
static int
keygen_find(struct keygen *k, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *obj)
{
	CK_ULONG count;
	int r;

	if ((r = token_session_find_class(&k->session, cls, k->id, k->id_len, obj, 1, &count)) != 0)
		return r;
	if (count == 0)
		return request_fail(k->req, CB_ERR_MODULE_ERROR,
		    "the new key is not visible on the token after a reload");
	return 0;
}

/*
 * OpenSC's objects for a key it just generated are broken
 * (token_capabilities.c): end the session, have the module read the card
 * again, and find the token and the new key afresh.  The user PIN is then
 * asked for on the new session.
 */
static int
keygen_reopen(struct keygen *k)
{
	int r;

	token_session_close(&k->session);
	if ((r = module_reload(k->token.module)) != 0)
		return request_fail(
		    k->req, r, "the token module failed after the key was generated");
	token_clear(&k->token);
	if ((r = token_find(k->req, k->uri, &k->token)) != 0)
		return r == CB_ERR_TOKEN_NOT_PRESENT
			   ? request_fail(k->req, CB_ERR_CARD_REMOVED,
				 "the card was removed during the operation")
			   : r;
	if ((r = token_session_open(k->req, &k->token, true, &k->session)) != 0 ||
	    (r = login_as(&k->session, CKU_USER, k->sign_operation)) != 0 ||
	    (r = keygen_find(k, CKO_PRIVATE_KEY, &k->priv)) != 0)
		return r;
	return keygen_find(k, CKO_PUBLIC_KEY, &k->pub);
}

/* A failure after the key pair was made: remove it where the token can. */
static void
keygen_undo(struct keygen *k, int err)
{
	size_t n;

	if (k->openpgp) {
		/* The failure's own text first; the default one when it set none. */
		if (k->req->message[0] == '\0')
			snprintf(k->req->message, sizeof(k->req->message), "%s", cb_err_str(err));
		n = strlen(k->req->message);
		snprintf(k->req->message + n, sizeof(k->req->message) - n,
		    "; the new key stays in key slot %02x (OpenSC cannot delete keys on this card)",
		    k->id[0]);
		helper_log(CB_LOG_WARN, "request %llu: the new key stays in key slot %02x",
		    (unsigned long long)k->req->id, k->id[0]);
		return;
	}
	if (!k->session.open)
		return;
	/* Checked gone, or remembered and removed after the next login (cleanup.c). */
	cleanup_key_pair(&k->session, k->priv, k->pub, k->id, k->id_len, k->pkey);
}

static int
keygen_result(struct keygen *k, struct json_object **result)
{
	struct json_object *obj;
	char *hex;
	int r = CB_ERR_ALLOC;

	if ((hex = field_hex(k->id, k->id_len)) == NULL)
		return CB_ERR_ALLOC;
	if ((obj = json_object_new_object()) != NULL && field_add_string(obj, "keyId", hex) == 0 &&
	    field_add_string(obj, "publicKey", k->public_pem) == 0 &&
	    field_add_string(obj, "csr", k->csr_pem) == 0 &&
	    keyattrs_add_json(obj, &k->attrs) == 0) {
		*result = obj;
		obj = NULL;
		r = 0;
	}
	json_object_put(obj);
	free(hex);
	return r;
}

static int
keygen_on_token(struct keygen *k)
{
	int r;

	if ((r = token_session_open(k->req, &k->token, true, &k->session)) != 0)
		return r;
	if ((r = keygen_check_slot(k)) != 0 ||
	    (r = login_to_write(&k->session, k->operation)) != 0 ||
	    (r = keygen_check_slot(k)) != 0 || (r = keygen_generate(k)) != 0)
		goto out;
	if (k->openpgp && (r = keygen_reopen(k)) != 0)
		goto out;
	if ((r = keygen_inspect(k)) != 0)
		goto out;
	if ((r = keygen_certify(k)) != 0)
		goto out;
	helper_fault_pause("pause-after-keygen");
	/*
	 * The page left (the daemon cancelled) after the PIN was typed: nobody
	 * can receive this CSR, so the pair goes, while we are still logged in.
	 * (A cancel that comes after this is the daemon's to handle: keys.abandon;
	 * the "ignore-cancel" fault makes every cancel come that late.)
	 */
	if (request_is_cancelled(k->req) && !helper_fault("ignore-cancel"))
		r = request_fail(k->req, CB_ERR_USER_CANCELLED,
		    "the page left before receiving the new key pair");
out:
	if (r != 0 && k->made)
		keygen_undo(k, r);
	token_session_close(&k->session);
	return r;
}

int
handle_keys_generate(struct request *req, struct json_object **result)
{
	struct keygen k;
	int r;

	memset(&k, 0, sizeof(k));
	k.req = req;
	if ((r = keygen_params(&k)) != 0 || (r = token_find(req, k.uri, &k.token)) != 0 ||
	    (r = keygen_check_token(&k)) != 0 || (r = keygen_on_token(&k)) != 0)
		goto out;
	if ((r = keygen_result(&k, result)) != 0)
		goto out;
	/* Should the answer not reach the page after all, keys.abandon may remove it. */
	if (!k.openpgp)
		abandon_remember(k.uri, req, k.id, k.id_len, k.public_pem, k.algorithm_words);
out:
	if (r != 0 && k.token.module != NULL)
		r = token_check_removed(req, &k.token, r);
	X509_NAME_free(k.subject);
	EVP_PKEY_free(k.pkey);
	free(k.public_pem);
	free(k.csr_pem);
	token_clear(&k.token);
	return r;
}
