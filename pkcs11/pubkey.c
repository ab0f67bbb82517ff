/*
 * pubkey.c - public keys read from the token, as OpenSSL 3 EVP_PKEYs.
 *
 * The token is the authority on its keys: everything we report or put in
 * a CSR is built from the attributes read back from the token, never from
 * what we asked it to generate.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "protocol/cberr.h"
#include "pkcs11/pem.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/token_session.h"

#define EC_POINT_MAX 160

static const struct curve curves[] = {
    {"P-256", "prime256v1", NID_X9_62_prime256v1, 256},
    {"P-384", "secp384r1", NID_secp384r1, 384},
};

const struct curve *
pubkey_curve(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(curves[i].name, name) == 0)
			return &curves[i];
	return NULL;
}

const struct curve *
pubkey_curve_at(size_t i)
{
	return i < sizeof(curves) / sizeof(curves[0]) ? &curves[i] : NULL;
}

int
pubkey_ec_params(const struct curve *c, uint8_t **der, size_t *len)
{
	ASN1_OBJECT *oid;
	unsigned char *p = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if ((oid = OBJ_nid2obj(c->nid)) == NULL || (n = i2d_ASN1_OBJECT(oid, &p)) <= 0)
		return CB_ERR_INTERNAL;
	*der = p;
	*len = (size_t)n;
	return 0;
}

static int
pkey_from_params(const char *type, OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx;
	int r = CB_ERR_KEY_NOT_FOUND;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		return CB_ERR_ALLOC;
	if (EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
		r = 0;
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int
rsa_from_parts(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	int r = CB_ERR_ALLOC;

	if ((bn_n = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	r = pkey_from_params("RSA", params, out);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return r;
}

static int
rsa_from_object(struct token_session *s, CK_OBJECT_HANDLE obj, EVP_PKEY **out)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nlen, elen;
	int r;

	if ((r = token_session_get_attr(s, obj, CKA_MODULUS, &n, &nlen)) != 0 ||
	    (r = token_session_get_attr(s, obj, CKA_PUBLIC_EXPONENT, &e, &elen)) != 0)
		goto out;
	r = CB_ERR_KEY_NOT_FOUND;
	if (nlen == 0 || elen == 0)
		goto out;
	r = rsa_from_parts(n, nlen, e, elen, out);
out:
	free(n);
	free(e);
	return r;
}

/* CKA_EC_POINT is a DER OCTET STRING; some modules give the bare point. */
static int
ec_point_unwrap(
    const uint8_t *value, size_t len, size_t field_bytes, uint8_t *point, size_t *point_len)
{
	const unsigned char *p = value;
	ASN1_OCTET_STRING *os = NULL;
	int r = CB_ERR_KEY_NOT_FOUND;

	/*
	 * A bare uncompressed point (04 X Y) has exactly this length, which no
	 * wrapped point has; without this check one whose X begins with the
	 * byte that makes "04 X0 ..." a whole OCTET STRING (1 in 256) would be
	 * unwrapped into garbage.
	 */
	if (len != 2 * field_bytes + 1 || value[0] != 0x04) {
		os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
		if (os != NULL && p == value + len) {
			value = ASN1_STRING_get0_data(os);
			len = (size_t)ASN1_STRING_length(os);
		}
	}
	if (len > 0 && len <= EC_POINT_MAX) {
		memcpy(point, value, len);
		*point_len = len;
		r = 0;
	}
	ASN1_OCTET_STRING_free(os);
	return r;
}

/* OpenSSL's group name for the DER OID in CKA_EC_PARAMS, and its field size; NULL if unknown. */
static const char *
ec_group_name(const uint8_t *der, size_t len, size_t *field_bytes)
{
	const unsigned char *p = der;
	ASN1_OBJECT *oid;
	EC_GROUP *group = NULL;
	int nid = NID_undef;

	if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)len)) != NULL && p == der + len)
		nid = OBJ_obj2nid(oid);
	ASN1_OBJECT_free(oid);
	if (nid == NID_undef || (group = EC_GROUP_new_by_curve_name(nid)) == NULL)
		return NULL;
	*field_bytes = ((size_t)EC_GROUP_get_degree(group) + 7) / 8;
	EC_GROUP_free(group);
	return OBJ_nid2sn(nid);
}

static int
ec_from_object(struct token_session *s, CK_OBJECT_HANDLE obj, EVP_PKEY **out)
{
	uint8_t *params = NULL, *value = NULL, point[EC_POINT_MAX];
	size_t params_len, value_len, point_len, field_bytes = 0;
	const char *group;
	OSSL_PARAM ossl[3];
	int r;

	if ((r = token_session_get_attr(s, obj, CKA_EC_PARAMS, &params, &params_len)) != 0 ||
	    (r = token_session_get_attr(s, obj, CKA_EC_POINT, &value, &value_len)) != 0)
		goto out;
	r = CB_ERR_KEY_NOT_FOUND;
	if (value == NULL || (group = ec_group_name(params, params_len, &field_bytes)) == NULL ||
	    ec_point_unwrap(value, value_len, field_bytes, point, &point_len) != 0)
		goto out;
	ossl[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	ossl[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, point_len);
	ossl[2] = OSSL_PARAM_construct_end();
	r = pkey_from_params("EC", ossl, out);
out:
	free(params);
	free(value);
	return r;
}

int
pubkey_from_object(struct token_session *s, CK_OBJECT_HANDLE obj, EVP_PKEY **out)
{
	uint8_t *type = NULL;
	size_t len;
	CK_KEY_TYPE key_type;
	int r;

	*out = NULL;
	if ((r = token_session_get_attr(s, obj, CKA_KEY_TYPE, &type, &len)) != 0)
		return r;
	if (len != sizeof(key_type)) {
		free(type);
		return CB_ERR_KEY_NOT_FOUND;
	}
	memcpy(&key_type, type, sizeof(key_type));
	free(type);
	if (key_type == CKK_RSA)
		return rsa_from_object(s, obj, out);
	if (key_type == CKK_EC)
		return ec_from_object(s, obj, out);
	return CB_ERR_KEY_NOT_FOUND;
}

int
pubkey_object_matches(struct token_session *s, CK_OBJECT_HANDLE obj, EVP_PKEY *key, bool *match)
{
	EVP_PKEY *pk = NULL;
	int r;

	*match = false;
	r = pubkey_from_object(s, obj, &pk);
	if (r == CB_ERR_KEY_NOT_FOUND)
		return 0; /* objects we cannot read simply do not match */
	if (r == 0)
		*match = EVP_PKEY_eq(pk, key) == 1;
	EVP_PKEY_free(pk);
	return r;
}

int
pubkey_id(EVP_PKEY *pk, uint8_t id[SHA_DIGEST_LENGTH])
{
	uint8_t buf[1024];
	BIGNUM *n = NULL;
	size_t len = 0;
	int r = CB_ERR_INTERNAL;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    BN_num_bytes(n) > (int)sizeof(buf))
			goto out;
		len = (size_t)BN_bn2bin(n, buf);
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_octet_string_param(
			pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &len) != 1)
			goto out;
	} else {
		goto out;
	}
	SHA1(buf, len, id);
	r = 0;
out:
	BN_free(n);
	return r;
}

static int
pubkey_write_pem(BIO *bio, const void *pk)
{
	return PEM_write_bio_PUBKEY(bio, pk);
}

int
pubkey_pem(EVP_PKEY *pk, char **pem)
{
	return pem_string(pubkey_write_pem, pk, pem);
}
