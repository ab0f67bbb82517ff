/*
 * keys.c - the private key operations of the virtual card, on OpenSSL 3
 * EVP only: key generation from OpenPGP algorithm attributes (C1-C3), the
 * public key DO 7F49, PKCS#1 v1.5 and ECDSA signatures, RSA and ECDH
 * deciphering, and DER (de)serialisation for the state file.
 *
 * Inputs are what the host sent: lengths are checked here before OpenSSL
 * sees them, and errors come back as enum vcard_err for the caller to turn
 * into a status word. Nothing here knows about PINs or APDUs.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "vcard.h"

struct keys_curve {
	uint8_t oid[8];
	size_t oid_len;
	const char *name;
};

static const struct keys_curve keys_curves[] = {
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, 8, "P-256"},
    {{0x2b, 0x81, 0x04, 0x00, 0x22}, 5, "P-384"},
    {{0x2b, 0x81, 0x04, 0x00, 0x23}, 5, "P-521"},
};

static const struct keys_curve *
keys_find_curve(const uint8_t *oid, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys_curves); i++)
		if (keys_curves[i].oid_len == len && memcmp(keys_curves[i].oid, oid, len) == 0)
			return &keys_curves[i];
	return NULL;
}

/* EC attributes: algorithm id, OID, optionally an import format byte. */
static const struct keys_curve *
keys_attr_curve(const uint8_t *attr, size_t len)
{
	const struct keys_curve *c = keys_find_curve(attr + 1, len - 1);

	if (c == NULL && len > 2 && (attr[len - 1] == 0x00 || attr[len - 1] == 0xff))
		c = keys_find_curve(attr + 1, len - 2);
	return c;
}

static unsigned int
keys_attr_rsa_bits(const uint8_t *attr)
{
	return (unsigned int)attr[1] << 8 | attr[2];
}

bool
keys_attr_supported(const uint8_t *attr, size_t len)
{
	unsigned int bits;

	if (len < 2)
		return false;
	switch (attr[0]) {
	case 0x01: /* RSA: bits(2) exponent bits(2) [format(1)] */
		if (len < 5 || len > 6 || (len == 6 && attr[5] > 3))
			return false;
		bits = keys_attr_rsa_bits(attr);
		if (bits != 2048 && bits != 3072 && bits != 4096)
			return false;
		return ((unsigned int)attr[3] << 8 | attr[4]) >= 17;
	case 0x12: /* ECDH */
	case 0x13: /* ECDSA */
		return keys_attr_curve(attr, len) != NULL;
	default:
		return false;
	}
}

int
keys_generate(const uint8_t *attr, size_t attr_len, EVP_PKEY **out)
{
	const struct keys_curve *curve;
	EVP_PKEY *pkey;

	if (!keys_attr_supported(attr, attr_len))
		return VCARD_ERR_UNSUPPORTED;
	if (attr[0] == 0x01) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)keys_attr_rsa_bits(attr));
	} else {
		curve = keys_attr_curve(attr, attr_len);
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve->name);
	}
	if (pkey == NULL)
		return VCARD_ERR_CRYPTO;
	*out = pkey;
	return VCARD_OK;
}

bool
keys_is_rsa(EVP_PKEY *pkey)
{
	return EVP_PKEY_is_a(pkey, "RSA");
}

static int
keys_put_bn(EVP_PKEY *pkey, const char *param, unsigned int tag, struct vcard_buf *out)
{
	uint8_t bytes[1024];
	BIGNUM *bn = NULL;
	int n, r;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn)) {
		r = VCARD_ERR_CRYPTO;
		goto out;
	}
	n = BN_num_bytes(bn);
	if (n > (int)sizeof(bytes)) {
		r = VCARD_ERR_UNSUPPORTED;
		goto out;
	}
	BN_bn2bin(bn, bytes);
	buf_put_tlv(out, tag, bytes, (size_t)n);
	r = VCARD_OK;
out:
	BN_free(bn);
	return r;
}

/* 7F49: 81 modulus, 82 exponent for RSA; 86 uncompressed point for EC. */
int
keys_public_do(EVP_PKEY *pkey, struct vcard_buf *out)
{
	struct vcard_buf inner = {.len = 0};
	uint8_t point[256];
	size_t point_len = 0;
	int r;

	if (keys_is_rsa(pkey)) {
		if ((r = keys_put_bn(pkey, OSSL_PKEY_PARAM_RSA_N, 0x81, &inner)) != VCARD_OK)
			return r;
		if ((r = keys_put_bn(pkey, OSSL_PKEY_PARAM_RSA_E, 0x82, &inner)) != VCARD_OK)
			return r;
	} else {
		if (!EVP_PKEY_get_octet_string_param(
			pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point), &point_len))
			return VCARD_ERR_CRYPTO;
		buf_put_tlv(&inner, 0x86, point, point_len);
	}
	buf_put_tlv(out, 0x7f49, inner.data, inner.len);
	return VCARD_OK;
}

/* ECDSA gives DER; the OpenPGP card answers r || s, each the order's size. */
static int
keys_der_to_raw(EVP_PKEY *pkey, const uint8_t *der, size_t der_len, struct vcard_buf *out)
{
	const unsigned char *p = der;
	const BIGNUM *r_bn, *s_bn;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	uint8_t raw[2 * 66];
	int size = (EVP_PKEY_get_bits(pkey) + 7) / 8;
	int r;

	if (sig == NULL || size <= 0 || size > 66) {
		r = VCARD_ERR_CRYPTO;
		goto out;
	}
	ECDSA_SIG_get0(sig, &r_bn, &s_bn);
	if (BN_bn2binpad(r_bn, raw, size) < 0 || BN_bn2binpad(s_bn, raw + size, size) < 0) {
		r = VCARD_ERR_CRYPTO;
		goto out;
	}
	buf_put(out, raw, 2 * (size_t)size);
	r = VCARD_OK;
out:
	ECDSA_SIG_free(sig);
	return r;
}

/*
 * PSO:CDS and INTERNAL AUTHENTICATE. RSA: the input (a DigestInfo) gets
 * PKCS#1 v1.5 type 1 padding, no hashing. ECDSA: the input is the hash.
 */
int
keys_sign(EVP_PKEY *pkey, const uint8_t *in, size_t in_len, struct vcard_buf *out)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);
	bool rsa = keys_is_rsa(pkey);
	int r;

	if (in_len == 0 || (rsa && in_len + 11 > (size_t)EVP_PKEY_get_size(pkey)) ||
	    (!rsa && in_len > 64)) {
		r = VCARD_ERR_UNSUPPORTED;
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) <= 0 ||
	    (rsa && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) ||
	    EVP_PKEY_sign(ctx, sig, &sig_len, in, in_len) <= 0) {
		r = VCARD_ERR_CRYPTO;
		goto out;
	}
	if (rsa) {
		buf_put(out, sig, sig_len);
		r = VCARD_OK;
	} else {
		r = keys_der_to_raw(pkey, sig, sig_len, out);
	}
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* Find the value of tag in a BER-TLV list; NULL when absent or malformed. */
static const uint8_t *
keys_tlv_find(const uint8_t *p, size_t len, unsigned int tag, size_t *value_len)
{
	size_t i = 0, n;
	unsigned int t;

	while (i < len) {
		t = p[i++];
		if ((t & 0x1f) == 0x1f) {
			if (i >= len)
				return NULL;
			t = t << 8 | p[i++];
		}
		if (i >= len)
			return NULL;
		n = p[i++];
		if (n == 0x81 || n == 0x82) {
			size_t k = n - 0x80;

			if (len - i < k)
				return NULL;
			n = k == 1 ? p[i] : (size_t)p[i] << 8 | p[i + 1];
			i += k;
		} else if (n > 0x80) {
			return NULL;
		}
		if (len - i < n)
			return NULL;
		if (t == tag) {
			*value_len = n;
			return p + i;
		}
		i += n;
	}
	return NULL;
}

static int
keys_ecdh(EVP_PKEY *pkey, const uint8_t *in, size_t in_len, struct vcard_buf *out)
{
	const uint8_t *a6, *pk, *point;
	size_t a6_len, pk_len, point_len, secret_len;
	char group[64];
	uint8_t secret[132];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;
	int r = VCARD_ERR_UNSUPPORTED;

	if ((a6 = keys_tlv_find(in, in_len, 0xa6, &a6_len)) == NULL ||
	    (pk = keys_tlv_find(a6, a6_len, 0x7f49, &pk_len)) == NULL ||
	    (point = keys_tlv_find(pk, pk_len, 0x86, &point_len)) == NULL)
		goto out;
	if (!EVP_PKEY_get_utf8_string_param(
		pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, point_len);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	EVP_PKEY_CTX_free(ctx);
	secret_len = sizeof(secret);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
	    EVP_PKEY_derive(ctx, secret, &secret_len) <= 0)
		goto out;
	buf_put(out, secret, secret_len);
	OPENSSL_cleanse(secret, sizeof(secret));
	r = VCARD_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}

/*
 * PSO:DECIPHER. RSA: 00 (padding indicator) || cryptogram, PKCS#1 v1.5.
 * ECDH: A6 { 7F49 { 86 point } }, answered with the shared secret.
 */
int
keys_decipher(EVP_PKEY *pkey, const uint8_t *in, size_t in_len, struct vcard_buf *out)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t plain[1024];
	size_t plain_len = sizeof(plain);
	int r;

	if (!keys_is_rsa(pkey))
		return keys_ecdh(pkey, in, in_len, out);
	if (in_len != 1 + (size_t)EVP_PKEY_get_size(pkey) || in[0] != 0x00) {
		r = VCARD_ERR_UNSUPPORTED;
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_decrypt(ctx, plain, &plain_len, in + 1, in_len - 1) <= 0) {
		r = VCARD_ERR_UNSUPPORTED;
		goto out;
	}
	buf_put(out, plain, plain_len);
	r = VCARD_OK;
out:
	OPENSSL_cleanse(plain, sizeof(plain));
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

int
keys_to_der(EVP_PKEY *pkey, uint8_t **der, size_t *der_len)
{
	unsigned char *p = NULL;
	int n = i2d_PrivateKey(pkey, &p);

	if (n <= 0)
		return VCARD_ERR_CRYPTO;
	*der = p;
	*der_len = (size_t)n;
	return VCARD_OK;
}

int
keys_from_der(const uint8_t *der, size_t der_len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, (long)der_len);

	if (pkey == NULL)
		return VCARD_ERR_STATE_FORMAT;
	*out = pkey;
	return VCARD_OK;
}
