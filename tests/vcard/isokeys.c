/*
 * isokeys.c - the key pairs of the IsoApplet personality on OpenSSL 3:
 * RSA 2048 with exponent 65537 (the only RSA size of API 00.06), EC keys
 * on the curve whose explicit parameters the host sends (prime 81, A 82,
 * B 83, generator 84, order 85, cofactor 87, as OpenSC 0.23 sends them),
 * the public key answer 7F49 in the applet's layout, and ECDSA over the
 * SHA-1 of the data (the applet's Signature.ALG_ECDSA_SHA), DER encoded.
 *
 * A Java Card builds the curve from the parameters it is given; this card
 * looks for an OpenSSL named curve with exactly those parameters instead,
 * so a curve OpenSSL does not know is refused (6A81, like a card without
 * it). Inputs are host data: every length is checked before use. Nothing
 * here knows about PINs or APDUs.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "vcard.h"

#define ISOKEYS_MAX_FIELD 66 /* bytes: P-521 */

/* The prime-field curves a Java Card may have, by field size. */
static const int isokeys_nids[] = {
    NID_X9_62_prime192v1,
    NID_secp224r1,
    NID_X9_62_prime256v1,
    NID_secp384r1,
    NID_secp521r1,
    NID_brainpoolP192r1,
    NID_brainpoolP224r1,
    NID_brainpoolP256r1,
    NID_brainpoolP320r1,
    NID_brainpoolP384r1,
    NID_brainpoolP512r1,
    NID_secp192k1,
    NID_secp224k1,
    NID_secp256k1,
};

/* A curve's parameters as the applet writes them: fixed-width fields. */
struct isokeys_curve {
	size_t field; /* bytes */
	uint8_t p[ISOKEYS_MAX_FIELD], a[ISOKEYS_MAX_FIELD], b[ISOKEYS_MAX_FIELD];
	uint8_t g[1 + 2 * ISOKEYS_MAX_FIELD], order[ISOKEYS_MAX_FIELD], cofactor[2];
};

/* getEcFpFieldLength: the applet derives the field from the prime's length. */
static bool
isokeys_field_supported(size_t prime_len)
{
	switch (prime_len) {
	case 24:
	case 28:
	case 32:
	case 40:
	case 48:
	case 64:
	case 66:
		return true;
	default:
		return false;
	}
}

static int
isokeys_curve_of_group(const EC_GROUP *group, struct isokeys_curve *c)
{
	BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new();
	const BIGNUM *h = EC_GROUP_get0_cofactor(group);
	int r = VCARD_ERR_CRYPTO;

	memset(c, 0, sizeof(*c));
	c->field = ((size_t)EC_GROUP_get_degree(group) + 7) / 8;
	if (p == NULL || a == NULL || b == NULL || h == NULL || c->field > ISOKEYS_MAX_FIELD ||
	    !EC_GROUP_get_curve(group, p, a, b, NULL))
		goto out;
	if (BN_bn2binpad(p, c->p, (int)c->field) < 0 || BN_bn2binpad(a, c->a, (int)c->field) < 0 ||
	    BN_bn2binpad(b, c->b, (int)c->field) < 0 ||
	    BN_bn2binpad(EC_GROUP_get0_order(group), c->order, (int)c->field) < 0 ||
	    BN_bn2binpad(h, c->cofactor, 2) < 0)
		goto out;
	if (EC_POINT_point2oct(group, EC_GROUP_get0_generator(group), POINT_CONVERSION_UNCOMPRESSED,
		c->g, 1 + 2 * c->field, NULL) != 1 + 2 * c->field)
		goto out;
	r = VCARD_OK;
out:
	BN_free(p);
	BN_free(a);
	BN_free(b);
	return r;
}

/* A host-sent parameter equals ours as a number (leading zeros aside). */
static bool
isokeys_same(const uint8_t *params, size_t len, uint8_t tag, const uint8_t *ours, size_t ours_len)
{
	const uint8_t *v;
	size_t vlen;

	if ((v = iso_tlv_find(params, len, tag, &vlen)) == NULL)
		return false;
	while (vlen > 0 && v[0] == 0) {
		v++;
		vlen--;
	}
	while (ours_len > 0 && ours[0] == 0) {
		ours++;
		ours_len--;
	}
	return vlen == ours_len && memcmp(v, ours, vlen) == 0;
}

static bool
isokeys_matches(const uint8_t *params, size_t len, const struct isokeys_curve *c)
{
	return isokeys_same(params, len, 0x81, c->p, c->field) &&
	       isokeys_same(params, len, 0x82, c->a, c->field) &&
	       isokeys_same(params, len, 0x83, c->b, c->field) &&
	       isokeys_same(params, len, 0x84, c->g, 1 + 2 * c->field) &&
	       isokeys_same(params, len, 0x85, c->order, c->field) &&
	       isokeys_same(params, len, 0x87, c->cofactor, 2);
}

/* The named curve with these explicit parameters, NID_undef if none. */
static int
isokeys_find_curve(const uint8_t *params, size_t len)
{
	struct isokeys_curve c;
	EC_GROUP *group;
	size_t i;
	int nid = NID_undef;

	for (i = 0; i < ARRAY_SIZE(isokeys_nids) && nid == NID_undef; i++) {
		if ((group = EC_GROUP_new_by_curve_name(isokeys_nids[i])) == NULL)
			continue;
		if (isokeys_curve_of_group(group, &c) == VCARD_OK &&
		    isokeys_matches(params, len, &c))
			nid = isokeys_nids[i];
		EC_GROUP_free(group);
	}
	return nid;
}

int
isokeys_generate_rsa(EVP_PKEY **out)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	if (pkey == NULL)
		return VCARD_ERR_CRYPTO;
	*out = pkey;
	return VCARD_OK;
}

/*
 * EC key generation from the GENERATE data. VCARD_ERR_UNSUPPORTED: a
 * field size or curve this card does not have (the applet's 6A81);
 * VCARD_ERR_STATE_FORMAT stands for parameters missing or malformed (6984).
 */
int
isokeys_generate_ec(const uint8_t *params, size_t len, EVP_PKEY **out)
{
	const uint8_t *prime;
	size_t prime_len, k_len;
	EVP_PKEY *pkey;
	int nid;

	if ((prime = iso_tlv_find(params, len, 0x81, &prime_len)) == NULL)
		return VCARD_ERR_STATE_FORMAT;
	if (!isokeys_field_supported(prime_len))
		return VCARD_ERR_UNSUPPORTED;
	if (iso_tlv_find(params, len, 0x82, &k_len) == NULL ||
	    iso_tlv_find(params, len, 0x83, &k_len) == NULL ||
	    iso_tlv_find(params, len, 0x84, &k_len) == NULL ||
	    iso_tlv_find(params, len, 0x85, &k_len) == NULL ||
	    iso_tlv_find(params, len, 0x87, &k_len) == NULL || (k_len != 1 && k_len != 2))
		return VCARD_ERR_STATE_FORMAT;
	if ((nid = isokeys_find_curve(params, len)) == NID_undef)
		return VCARD_ERR_UNSUPPORTED;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", OBJ_nid2sn(nid));
	if (pkey == NULL)
		return VCARD_ERR_CRYPTO;
	*out = pkey;
	return VCARD_OK;
}

static int
isokeys_rsa_public(EVP_PKEY *pkey, struct vcard_buf *out)
{
	struct vcard_buf inner = {.len = 0};
	uint8_t n[256], e[3];
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	int r = VCARD_ERR_CRYPTO;

	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e) ||
	    BN_bn2binpad(bn_n, n, sizeof(n)) < 0 || BN_bn2binpad(bn_e, e, sizeof(e)) < 0)
		goto out;
	buf_put_tlv(&inner, 0x81, n, sizeof(n));
	buf_put_tlv(&inner, 0x82, e, sizeof(e));
	buf_put_tlv(out, 0x7f49, inner.data, inner.len);
	r = VCARD_OK;
out:
	BN_free(bn_n);
	BN_free(bn_e);
	return r;
}

static int
isokeys_ec_public(EVP_PKEY *pkey, struct vcard_buf *out)
{
	struct vcard_buf inner = {.len = 0};
	struct isokeys_curve c;
	uint8_t w[1 + 2 * ISOKEYS_MAX_FIELD];
	char name[64];
	size_t w_len;
	EC_GROUP *group = NULL;
	int r = VCARD_ERR_CRYPTO;

	if (!EVP_PKEY_get_utf8_string_param(
		pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL) ||
	    (group = EC_GROUP_new_by_curve_name(OBJ_sn2nid(name))) == NULL ||
	    isokeys_curve_of_group(group, &c) != VCARD_OK ||
	    !EVP_PKEY_get_octet_string_param(
		pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, w, sizeof(w), &w_len) ||
	    w_len != 1 + 2 * c.field)
		goto out;
	buf_put_tlv(&inner, 0x81, c.p, c.field);
	buf_put_tlv(&inner, 0x82, c.a, c.field);
	buf_put_tlv(&inner, 0x83, c.b, c.field);
	buf_put_tlv(&inner, 0x84, c.g, 1 + 2 * c.field);
	buf_put_tlv(&inner, 0x85, c.order, c.field);
	buf_put_tlv(&inner, 0x86, w, w_len);
	buf_put_tlv(&inner, 0x87, c.cofactor, 2);
	buf_put_tlv(out, 0x7f49, inner.data, inner.len);
	r = VCARD_OK;
out:
	EC_GROUP_free(group);
	return r;
}

/* 7F49 as the applet answers GENERATE ASYMMETRIC KEY PAIR. */
int
isokeys_public_do(EVP_PKEY *pkey, struct vcard_buf *out)
{
	if (keys_is_rsa(pkey))
		return isokeys_rsa_public(pkey, out);
	return isokeys_ec_public(pkey, out);
}

/* Signature.ALG_ECDSA_SHA: SHA-1 over the data on the card, DER out. */
int
isokeys_sign_ecdsa_sha1(EVP_PKEY *pkey, const uint8_t *in, size_t in_len, struct vcard_buf *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[160];
	size_t sig_len = sizeof(sig);
	int r = VCARD_ERR_CRYPTO;

	if (ctx == NULL || EVP_DigestSignInit_ex(ctx, NULL, "SHA1", NULL, NULL, pkey, NULL) <= 0 ||
	    EVP_DigestSign(ctx, sig, &sig_len, in, in_len) <= 0)
		goto out;
	buf_put(out, sig, sig_len);
	r = VCARD_OK;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}
