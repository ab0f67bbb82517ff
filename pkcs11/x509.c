/*
 * x509.c - reading certificates handed to us by a page, and the text forms
 * we report them in.
 *
 * Input is untrusted: a PEM block must be exactly one CERTIFICATE, base64
 * must be strict, and the DER must decode to an X.509 certificate with
 * nothing after it.  Messages name the parameter and the problem but never
 * echo the input.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "protocol/params.h"
#include "protocol/cberr.h"
#include "pkcs11/field.h"
#include "pkcs11/request.h"
#include "pkcs11/x509.h"

/* Does x encode to exactly these bytes? */
static bool
x509_is_der(X509 *x, const uint8_t *der, size_t len)
{
	unsigned char *enc = NULL;
	int n = i2d_X509(x, &enc);
	bool same = n > 0 && (size_t)n == len && memcmp(enc, der, len) == 0;

	OPENSSL_free(enc);
	return same;
}

/*
 * RFC 5280 4.1.1.2: signatureAlgorithm must equal tbsCertificate.signature.
 * The outer one is not signed; a certificate where they differ is broken
 * or tampered with, and verifiers refuse it: do not store it on a token.
 */
static bool
x509_sigalgs_agree(const X509 *x)
{
	const X509_ALGOR *outer;

	X509_get0_signature(NULL, &outer, x);
	return outer != NULL && X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(x)) == 0;
}

static int
x509_from_der(struct request *req, const char *field, const uint8_t *der, size_t len, X509 **out)
{
	const unsigned char *p = der;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.%s: not an X.509 certificate (corrupt or truncated)", field);
	if (p != der + len) {
		X509_free(x);
		return request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.%s: trailing data after the certificate", field);
	}
	if (X509_get0_pubkey(x) == NULL) {
		X509_free(x);
		return request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.%s: the certificate's public key cannot be read", field);
	}
	if (!x509_sigalgs_agree(x)) {
		X509_free(x);
		return request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.%s: the certificate names two different signature algorithms", field);
	}
	/*
	 * The token stores OpenSSL's encoding of what it parsed; d2i_X509 takes
	 * BER oddities outside the signed part that it would write differently
	 * (or unreadably).  Only DER that encodes back to itself is accepted.
	 */
	if (!x509_is_der(x, der, len)) {
		X509_free(x);
		return request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.%s: the certificate is not DER-encoded", field);
	}
	*out = x;
	return 0;
}

/* Only white space may follow the END line of the one PEM block. */
static bool
pem_tail_is_blank(const char *text)
{
	static const char end[] = "-----END CERTIFICATE-----";
	const char *p = strstr(text, end);

	if (p == NULL)
		return true; /* PEM_read_bio has refused it already */
	for (p += sizeof(end) - 1; *p; p++)
		if (!isspace((unsigned char)*p))
			return false;
	return true;
}

static int
x509_from_pem(struct request *req, const char *field, const char *text, X509 **out)
{
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL, *extra = NULL;
	char *name2 = NULL, *header2 = NULL;
	long len = 0, len2 = 0;
	BIO *bio;
	int r;

	if ((bio = BIO_new_mem_buf(text, -1)) == NULL)
		return CB_ERR_ALLOC;
	if (PEM_read_bio(bio, &name, &header, &der, &len) != 1 ||
	    strcmp(name, "CERTIFICATE") != 0) {
		r = request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.%s: not a PEM CERTIFICATE block (corrupt or truncated)", field);
		goto out;
	}
	if (PEM_read_bio(bio, &name2, &header2, &extra, &len2) == 1) {
		r = request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.%s: holds more than one PEM block; give CA certificates in "
		    "chain",
		    field);
		goto out;
	}
	if (!pem_tail_is_blank(text)) {
		r = request_fail(req, CB_ERR_INVALID_PARAMS,
		    "params.%s: text after the END CERTIFICATE line", field);
		goto out;
	}
	r = x509_from_der(req, field, der, (size_t)len, out);
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	OPENSSL_free(name2);
	OPENSSL_free(header2);
	OPENSSL_free(extra);
	BIO_free(bio);
	return r;
}

/* Strict base64 (whitespace allowed between groups) to bytes; -1 if invalid. */
static long
base64_decode(const char *text, uint8_t *out, size_t out_size)
{
	size_t n = 0, pad = 0, i;
	char *clean, *eq;
	int len;

	if ((clean = malloc(strlen(text) + 1)) == NULL)
		return -1;
	for (i = 0; text[i] != '\0'; i++) {
		if (isspace((unsigned char)text[i]))
			continue;
		if (!isalnum((unsigned char)text[i]) && strchr("+/=", text[i]) == NULL)
			break;
		clean[n++] = text[i];
	}
	clean[n] = '\0';
	eq = strchr(clean, '=');
	if (text[i] != '\0' || n == 0 || n % 4 != 0 || n / 4 * 3 > out_size ||
	    (eq != NULL && (eq < clean + n - 2 || clean[n - 1] != '='))) {
		free(clean);
		return -1;
	}
	pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
	len = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)n);
	free(clean);
	return len < 0 ? -1 : (long)len - (long)pad;
}

int
x509_parse(struct request *req, const char *field, const char *text, X509 **out)
{
	const char *start = text;
	uint8_t *der;
	long len;
	int r;

	*out = NULL;
	while (isspace((unsigned char)*start))
		start++;
	if (strncmp(start, "-----BEGIN", 10) == 0) {
		r = x509_from_pem(req, field, start, out);
		ERR_clear_error();
		return r;
	}
	if ((der = malloc(strlen(start) / 4 * 3 + 3)) == NULL)
		return CB_ERR_ALLOC;
	if ((len = base64_decode(start, der, strlen(start) / 4 * 3 + 3)) <= 0)
		r = request_fail(
		    req, CB_ERR_INVALID_PARAMS, "params.%s: neither PEM nor base64 DER", field);
	else
		r = x509_from_der(req, field, der, (size_t)len, out);
	free(der);
	ERR_clear_error();
	return r;
}

bool
x509_expired(X509 *x)
{
	return X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
}

void
x509_time_iso(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "unknown");
}

char *
x509_name_text(const X509_NAME *name)
{
	BIO *bio;
	char *data, *text = NULL;
	long len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	/* RFC 2253 order and escaping, but UTF-8 kept as is (no \XX escapes). */
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(bio, &data);
		text = strndup(len > 0 ? data : "", len > 0 ? (size_t)len : 0);
		if (text != NULL)
			field_sanitize(text);
	}
	BIO_free(bio);
	return text;
}

char *
x509_common_name(const X509_NAME *name)
{
	const ASN1_STRING *value;
	unsigned char *utf8 = NULL;
	char *cn = NULL;
	int i, len;

	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return NULL;
	value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if ((len = ASN1_STRING_to_UTF8(&utf8, value)) < 0)
		return NULL;
	if (proto_text_ok((const char *)utf8, (size_t)len) && len > 0)
		cn = strndup((const char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return cn;
}

static char *
serial_hex(X509 *x)
{
	BIGNUM *bn;
	char *hex, *copy = NULL;
	size_t i;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL)
		return NULL;
	if ((hex = BN_bn2hex(bn)) != NULL && (copy = strdup(hex)) != NULL)
		for (i = 0; copy[i] != '\0'; i++)
			copy[i] = (char)tolower((unsigned char)copy[i]);
	OPENSSL_free(hex);
	BN_free(bn);
	return copy;
}

struct json_object *
x509_summary(X509 *x, const char *key_id)
{
	struct json_object *obj;
	char *subject, *issuer, *serial;
	bool ok;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	subject = x509_name_text(X509_get_subject_name(x));
	issuer = x509_name_text(X509_get_issuer_name(x));
	serial = serial_hex(x);
	ok = subject != NULL && issuer != NULL && serial != NULL &&
	     field_add_string(obj, "subject", subject) == 0 &&
	     field_add_string(obj, "issuer", issuer) == 0 &&
	     field_add_string(obj, "serial", serial) == 0 &&
	     (key_id == NULL || field_add_string(obj, "keyId", key_id) == 0);
	free(subject);
	free(issuer);
	free(serial);
	if (!ok) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}
