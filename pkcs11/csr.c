/*
 * csr.c - build a PKCS#10 request with OpenSSL and have the token sign it.
 *
 * OpenSSL never sees the private key: we encode the CertificationRequestInfo
 * (i2d_re_X509_REQ_tbs), the token signs it (CKM_SHA256_RSA_PKCS, or
 * CKM_RSA_PKCS over a DigestInfo, or CKM_ECDSA over the SHA-256 hash, or
 * CKM_ECDSA_SHA256), we attach the signature and check it with the public
 * key read from the token.  A CSR that does not verify is never returned.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/csr.h"
#include "pkcs11/field.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/pem.h"
#include "pkcs11/request.h"
#include "pkcs11/token_session.h"
#include "pkcs11/token.h"
#include "pkcs11/token_capabilities.h"

#define SIGNATURE_MAX 1024

/*
 * Where each subject member of keys.generate goes, in the order the RDNs
 * appear in the subject.  protocol/methods.c holds what each may contain.
 */
static const struct subject_rdn {
	const char *key;
	int nid;
} subject_rdns[] = {
    {"C", NID_countryName},
    {"ST", NID_stateOrProvinceName},
    {"L", NID_localityName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"CN", NID_commonName},
    {"SN", NID_surname},
    {"GN", NID_givenName},
    {"serialNumber", NID_serialNumber},
    {"emailAddress", NID_pkcs9_emailAddress},
};

const char *
csr_subject_key(size_t i)
{
	return i < sizeof(subject_rdns) / sizeof(subject_rdns[0]) ? subject_rdns[i].key : NULL;
}

int
csr_subject(struct request *req, struct json_object *subject, X509_NAME **out)
{
	X509_NAME *name;
	const char *value;
	char country[3];
	size_t i;
	int r = CB_ERR_ALLOC;

	*out = NULL;
	if ((name = X509_NAME_new()) == NULL)
		return CB_ERR_ALLOC;
	for (i = 0; subject != NULL && i < sizeof(subject_rdns) / sizeof(subject_rdns[0]); i++) {
		if ((value = proto_param_string(subject, subject_rdns[i].key)) == NULL)
			continue;
		if (subject_rdns[i].nid == NID_countryName) {
			country[0] = (char)toupper((unsigned char)value[0]);
			country[1] = (char)toupper((unsigned char)value[1]);
			country[2] = '\0';
			value = country;
		}
		if (X509_NAME_add_entry_by_NID(name, subject_rdns[i].nid, MBSTRING_UTF8,
			(const unsigned char *)value, -1, -1, 0) != 1) {
			r = request_fail(req, CB_ERR_INVALID_PARAMS, "params.subject.%s: refused",
			    subject_rdns[i].key);
			goto out;
		}
	}
	*out = name;
	name = NULL;
	r = 0;
out:
	X509_NAME_free(name);
	return r;
}

/* raw r||s from CKM_ECDSA as the DER ECDSA-Sig-Value X.509 wants. */
static int
ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t **der, size_t *der_len)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = NULL;
	int n, ret = CB_ERR_MODULE_ERROR;

	if (len == 0 || len % 2 != 0)
		goto out;
	if ((r = BN_bin2bn(raw, (int)(len / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL)) == NULL ||
	    (sig = ECDSA_SIG_new()) == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		ret = CB_ERR_ALLOC;
		goto out;
	}
	r = s = NULL; /* transferred */
	if ((n = i2d_ECDSA_SIG(sig, &p)) <= 0)
		goto out;
	*der = p;
	*der_len = (size_t)n;
	ret = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ret;
}

/* What the token signs and with which mechanism, for a SHA-256 signature on tbs. */
static void
sign_input(struct token_session *s, bool rsa, const uint8_t *tbs, size_t tbs_len, uint8_t *buf,
    CK_MECHANISM_TYPE *mech, const uint8_t **data, size_t *data_len)
{
	/* DER DigestInfo prefix for SHA-256 (RFC 8017, section 9.2, note 1). */
	static const uint8_t sha256_prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
	    0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

	/* A token without raw ECDSA may still hash for us (token_supports_ec). */
	if ((rsa && token_has_mechanism(s->token, CKM_SHA256_RSA_PKCS, CKF_SIGN)) ||
	    (!rsa && !token_has_mechanism(s->token, CKM_ECDSA, CKF_SIGN) &&
		token_has_mechanism(s->token, CKM_ECDSA_SHA256, CKF_SIGN))) {
		*mech = rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA_SHA256;
		*data = tbs;
		*data_len = tbs_len;
		return;
	}
	memcpy(buf, sha256_prefix, sizeof(sha256_prefix));
	SHA256(tbs, tbs_len, buf + sizeof(sha256_prefix));
	*mech = rsa ? CKM_RSA_PKCS : CKM_ECDSA;
	*data = rsa ? buf : buf + sizeof(sha256_prefix);
	*data_len = rsa ? sizeof(sha256_prefix) + SHA256_DIGEST_LENGTH : SHA256_DIGEST_LENGTH;
}

static int
sign_on_token(struct token_session *s, CK_OBJECT_HANDLE priv, bool rsa, const uint8_t *tbs,
    size_t tbs_len, uint8_t **sig, size_t *sig_len)
{
	uint8_t input[64], raw[SIGNATURE_MAX];
	CK_MECHANISM mech = {0, NULL, 0};
	CK_ULONG raw_len = sizeof(raw);
	const uint8_t *data;
	size_t data_len;
	CK_RV rv;

	sign_input(s, rsa, tbs, tbs_len, input, &mech.mechanism, &data, &data_len);
	if ((rv = s->funcs->C_SignInit(s->handle, &mech, priv)) != CKR_OK ||
	    (rv = s->funcs->C_Sign(s->handle, (CK_BYTE_PTR)data, data_len, raw, &raw_len)) !=
		CKR_OK)
		return p11_fail(s->req, rv, "signing the certificate request");
	if (!rsa)
		return ecdsa_raw_to_der(raw, raw_len, sig, sig_len);
	if ((*sig = OPENSSL_malloc(raw_len)) == NULL)
		return CB_ERR_ALLOC;
	memcpy(*sig, raw, raw_len);
	*sig_len = raw_len;
	return 0;
}

static int
csr_set_signature(X509_REQ *x, const uint8_t *sig, size_t sig_len)
{
	ASN1_BIT_STRING *bits;

	if ((bits = ASN1_BIT_STRING_new()) == NULL ||
	    ASN1_BIT_STRING_set(bits, (unsigned char *)sig, (int)sig_len) != 1) {
		ASN1_BIT_STRING_free(bits);
		return CB_ERR_ALLOC;
	}
	/* No unused bits: otherwise trailing zero bits of the signature get trimmed. */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(x, bits);
	return 0;
}

/* The unsigned request: version, subject, key and the algorithm we will sign with. */
static int
csr_prepare(EVP_PKEY *pub, const X509_NAME *subject, bool rsa, X509_REQ **out)
{
	X509_ALGOR *alg = NULL;
	X509_REQ *x;
	int r = CB_ERR_ALLOC;

	if ((x = X509_REQ_new()) == NULL || (alg = X509_ALGOR_new()) == NULL)
		goto out;
	/* RSA's parameters are an explicit NULL, which takes an allocation that may fail. */
	if (X509_ALGOR_set0(alg,
		OBJ_nid2obj(rsa ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256),
		rsa ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) != 1 ||
	    X509_REQ_set_version(x, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(x, subject) != 1 || X509_REQ_set_pubkey(x, pub) != 1 ||
	    X509_REQ_set1_signature_algo(x, alg) != 1)
		goto out;
	*out = x;
	x = NULL;
	r = 0;
out:
	X509_ALGOR_free(alg);
	X509_REQ_free(x);
	return r;
}

static int
csr_write_pem(BIO *bio, const void *x)
{
	return PEM_write_bio_X509_REQ(bio, x);
}

int
csr_create(struct token_session *s, CK_OBJECT_HANDLE priv, EVP_PKEY *pub, const X509_NAME *subject,
    char **pem)
{
	bool rsa = EVP_PKEY_is_a(pub, "RSA");
	uint8_t *tbs = NULL, *sig = NULL;
	size_t sig_len = 0;
	X509_REQ *x = NULL;
	int tbs_len, r;

	*pem = NULL;
	if ((r = csr_prepare(pub, subject, rsa, &x)) != 0)
		goto out;
	if ((tbs_len = i2d_re_X509_REQ_tbs(x, &tbs)) <= 0) {
		r = CB_ERR_INTERNAL;
		goto out;
	}
	if ((r = sign_on_token(s, priv, rsa, tbs, (size_t)tbs_len, &sig, &sig_len)) != 0 ||
	    (r = csr_set_signature(x, sig, sig_len)) != 0)
		goto out;
	if (X509_REQ_verify(x, pub) != 1) {
		r = request_fail(s->req, CB_ERR_MODULE_ERROR,
		    "the token's signature on the certificate request does not verify");
		goto out;
	}
	r = pem_string(csr_write_pem, x, pem);
out:
	OPENSSL_free(tbs);
	OPENSSL_free(sig);
	X509_REQ_free(x);
	return r;
}
