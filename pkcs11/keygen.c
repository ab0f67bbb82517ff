/*
 * keygen.c - keys.generate: a key pair generated ON the token, its CKA_ID
 * set as NSS would, and a CSR for it signed ON the token.
 *
 * Order matters: every parameter is checked before the token is touched,
 * the token's abilities before the PIN is asked for, and once the key pair
 * exists any failure destroys both new objects, so that nothing half-made
 * stays on the token.  The private key is created sensitive and not
 * extractable, and we read that back rather than trust the module.
 * Must never: replace an existing key unless the page said "overwrite" and
 * the user confirmed it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "protocol/cberr.h"
#include "pkcs11/csr.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/pin.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/session.h"
#include "pkcs11/token.h"

#define DEFAULT_LABEL "cardbridge key"
#define TEMPLATE_MAX 12
/* Longest CKA_ID a token may choose itself that we report. */
#define KEY_ID_MAX 64

struct keygen {
	struct request *req;
	const char *uri;
	const char *label;
	bool overwrite;
	bool rsa;
	unsigned long bits;	   /* RSA modulus or EC field size */
	const struct curve *curve; /* EC only */
	X509_NAME *subject;
	char operation[64]; /* for the PIN dialog */
	struct token token;
	struct session session;
	bool fixed_slot;	/* the token chooses the place by CKA_ID (in id) */
	bool replace_confirmed; /* the user agreed to replace the key there */
	bool made;		/* pub and priv exist and are ours to destroy */
	CK_OBJECT_HANDLE pub, priv;
	CK_BYTE id[KEY_ID_MAX];
	CK_ULONG id_len;
	EVP_PKEY *pkey;
	char *public_pem;
	char *csr_pem;
};

static int
keygen_algorithm(struct keygen *k, struct json_object *alg)
{
	const char *type, *curve;
	int64_t bits;
	int r;

	if ((r = field_string(k->req, alg, "algorithm.type", true, 16, &type)) != 0)
		return r;
	if (strcmp(type, "RSA") == 0) {
		if ((r = field_int(k->req, alg, "algorithm.bits", &bits)) != 0)
			return r;
		if (bits != 2048 && bits != 3072 && bits != 4096)
			return request_fail(k->req, CB_ERR_UNSUPPORTED_ALGORITHM,
			    "RSA keys must have 2048, 3072 or 4096 bits");
		k->rsa = true;
		k->bits = (unsigned long)bits;
		snprintf(
		    k->operation, sizeof(k->operation), "generate an RSA %lu key pair", k->bits);
		return 0;
	}
	if (strcmp(type, "EC") != 0)
		return request_fail(k->req, CB_ERR_UNSUPPORTED_ALGORITHM,
		    "params.algorithm.type: only \"RSA\" and \"EC\" are supported");
	if ((r = field_string(k->req, alg, "algorithm.curve", true, 16, &curve)) != 0)
		return r;
	if ((k->curve = pubkey_curve(curve)) == NULL)
		return request_fail(k->req, CB_ERR_UNSUPPORTED_ALGORITHM,
		    "EC keys must be on the curve P-256 or P-384");
	k->bits = k->curve->bits;
	snprintf(k->operation, sizeof(k->operation), "generate an EC %s key pair", k->curve->name);
	return 0;
}

/* Every parameter, before the token is touched. */
static int
keygen_params(struct keygen *k)
{
	struct json_object *params = k->req->params, *alg, *subject;
	const char *cn = NULL;
	int r;

	if ((r = field_string(k->req, params, "token", true, FIELD_URI_MAX, &k->uri)) != 0 ||
	    (r = field_object(k->req, params, "algorithm", true, &alg)) != 0 ||
	    (r = keygen_algorithm(k, alg)) != 0 ||
	    (r = field_string(k->req, params, "label", false, FIELD_LABEL_MAX, &k->label)) != 0 ||
	    (r = field_object(k->req, params, "subject", false, &subject)) != 0 ||
	    (r = field_bool(k->req, params, "overwrite", &k->overwrite)) != 0 ||
	    (r = csr_subject(k->req, subject, &k->subject)) != 0)
		return r;
	if (k->label != NULL && (k->label[0] == '\0' || !field_text_ok(k->label, strlen(k->label))))
		return request_fail(k->req, CB_ERR_INVALID_PARAMS,
		    "params.label: must be non-empty text without control characters");
	if (k->label == NULL && subject != NULL)
		field_string(k->req, subject, "subject.CN", false, FIELD_LABEL_MAX, &cn);
	if (k->label == NULL)
		k->label = cn != NULL ? cn : DEFAULT_LABEL;
	return 0;
}

/* The token must do what was asked before we ask for a PIN. */
static int
keygen_check_token(struct keygen *k)
{
	if (k->rsa ? !token_supports_rsa(&k->token, k->bits)
		   : !token_supports_ec(&k->token, k->bits))
		return request_fail(
		    k->req, CB_ERR_UNSUPPORTED_ALGORITHM, "this token cannot %s", k->operation);
	k->fixed_slot = token_fixed_key_slot(&k->token, k->id, &k->id_len);
	if (k->token.info.flags & CKF_WRITE_PROTECTED)
		return request_fail(
		    k->req, CB_ERR_TOKEN_WRITE_PROTECTED, "this token is write-protected");
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
		if ((r = session_find_class(
			 &k->session, classes[i], k->id, k->id_len, &found, 1, &count)) != 0)
			return r;
		*occupied = count > 0;
	}
	return 0;
}

/*
 * Fixed-slot tokens: a key already in the slot is replaced only when the
 * page said "overwrite" and the user said yes.  Called before the login
 * (public objects) and again after it (private ones).
 */
static int
keygen_check_slot(struct keygen *k)
{
	struct pin_prompt prompt = {
	    .operation = k->operation,
	    .token_label = k->token.label,
	    .token_serial = k->token.serial,
	};
	bool occupied;
	int r;

	if (!k->fixed_slot || k->replace_confirmed)
		return 0;
	if ((r = slot_occupied(k, &occupied)) != 0 || !occupied)
		return r;
	if (!k->overwrite)
		return request_fail(
		    k->req, CB_ERR_SLOT_OCCUPIED, "the token's key slot already holds a key");
	if ((r = pin_confirm(k->req, &prompt,
		 "The token keeps keys in fixed slots and this slot already holds a key. "
		 "Replacing it destroys the old key for ever.",
		 "Replace the key")) != 0)
		return r;
	k->replace_confirmed = true;
	return 0;
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
	rv = k->session.funcs->C_GenerateKeyPair(
	    k->session.handle, &mech, pub, npub, priv, npriv, &k->pub, &k->priv);
	OPENSSL_free(ec_params);
	if (rv != CKR_OK)
		return p11_fail(k->req, rv, "generating the key pair");
	k->made = true;
	return 0;
}

static bool
attr_is(struct keygen *k, CK_ATTRIBUTE_TYPE type, CK_BBOOL want)
{
	uint8_t *value = NULL;
	size_t len;
	bool same;

	if (session_get_attr(&k->session, k->priv, type, &value, &len) != 0)
		return false;
	same = len == sizeof(CK_BBOOL) && *(CK_BBOOL *)value == want;
	free(value);
	return same;
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

	if ((r = session_get_attr(&k->session, k->priv, CKA_ID, &token_id, &len)) != 0)
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

/* After C_GenerateKeyPair: check, name, and certify the new key pair. */
static int
keygen_finish(struct keygen *k)
{
	int r;

	if (!attr_is(k, CKA_SENSITIVE, CK_TRUE) || !attr_is(k, CKA_EXTRACTABLE, CK_FALSE))
		return request_fail(k->req, CB_ERR_MODULE_ERROR,
		    "the token did not make the private key sensitive");
	if ((r = pubkey_from_object(&k->session, k->pub, &k->pkey)) != 0)
		return request_fail(k->req, r == CB_ERR_KEY_NOT_FOUND ? CB_ERR_MODULE_ERROR : r,
		    "cannot read the new public key from the token");
	if ((r = keygen_set_id(k)) != 0)
		return r;
	if (helper_fault("after-keygen"))
		return request_fail(k->req, CB_ERR_INTERNAL, "fault injected after key generation");
	if ((r = csr_create(&k->session, k->priv, k->pkey, k->subject, &k->csr_pem)) != 0)
		return r;
	return pubkey_pem(k->pkey, &k->public_pem);
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
	    field_add_string(obj, "csr", k->csr_pem) == 0) {
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

	if ((r = session_open(k->req, &k->token, true, &k->session)) != 0)
		return r;
	if ((r = keygen_check_slot(k)) != 0 ||
	    (r = session_login(&k->session, k->operation)) != 0 ||
	    (r = keygen_check_slot(k)) != 0 || (r = keygen_generate(k)) != 0)
		goto out;
	r = keygen_finish(k);
 out:
	if (r != 0 && k->made) {
		session_destroy(&k->session, k->priv);
		session_destroy(&k->session, k->pub);
		helper_log(CB_LOG_INFO, "request %llu: removed the half-made key pair",
		    (unsigned long long)k->req->id);
	}
	session_close(&k->session);
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
	r = keygen_result(&k, result);
 out:
	X509_NAME_free(k.subject);
	EVP_PKEY_free(k.pkey);
	free(k.public_pem);
	free(k.csr_pem);
	token_clear(&k.token);
	return r;
}
