/*
 * fuzz-certificate.c - params.certificate and params.chain[i] of
 * certificates.install, from text to everything the helper computes from
 * a certificate before it looks for a token.
 *
 * pkcs11/x509.c's x509_parse() (PEM or strict base64 DER, exactly one
 * certificate, nothing after it), then what pkcs11/certs.c does with the
 * result without a token: the expiry check and its ISO date, the summary
 * and labels that go back to the page, the CA and "same as the
 * certificate" checks on chain entries, and the DER it would store
 * (CKA_VALUE, CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER).  certs.c's
 * install_params() is static and shares its file with token I/O, so this
 * target drives x509_parse() directly (see doc/TESTING.md).
 *
 * Input: byte 0 picks the form.  0x00: the rest is DER, sent as one line
 * of base64; 0x01: the rest is DER, sent as a PEM block; anything else:
 * the whole input is the parameter text itself.  The DER forms let the
 * fuzzer mutate the ASN.1 directly instead of its base64.
 *
 * Properties: a refusal is INVALID_PARAMS with a message that names the
 * parameter and holds printable ASCII only (never the input); an accepted
 * certificate has a public key, and what would be stored is the very DER
 * given and reads back as itself; every text derived from it for the page
 * (subject, issuer, serial, CN, dates) is valid UTF-8 without control
 * characters.
 */
#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "fuzz/fuzz.h"
#include "protocol/params.h"
#include "protocol/methods.h"
#include "protocol/cberr.h"
#include "pkcs11/field.h"
#include "pkcs11/request.h"
#include "pkcs11/x509.h"

#define FORM_BASE64 0x00
#define FORM_PEM 0x01

/* Base64 of der in lines of width characters (0: one line), NUL-terminated. */
static char *
base64(const uint8_t *der, size_t len, size_t width, const char *head, const char *tail)
{
	size_t chunk = width ? width / 4 * 3 : len ? len : 1, cap, o, i, n;
	char *text;

	/* Every chunk but the last is a multiple of 3 bytes: no padding inside. */
	cap = strlen(head) + strlen(tail) + (len + 2) / 3 * 4 + len / chunk + 2;
	if ((text = malloc(cap)) == NULL)
		return NULL;
	o = (size_t)snprintf(text, cap, "%s", head);
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		o += (size_t)EVP_EncodeBlock((unsigned char *)text + o, der + i, (int)n);
		if (width)
			text[o++] = '\n';
	}
	snprintf(text + o, cap - o, "%s", tail);
	return text;
}

/* The parameter text, or NULL when the params check would refuse it first. */
static char *
param_text(const uint8_t *data, size_t size, const uint8_t **der, size_t *der_len)
{
	char *text;

	*der = size > 0 && (data[0] == FORM_BASE64 || data[0] == FORM_PEM) ? data + 1 : NULL;
	*der_len = *der ? size - 1 : 0;
	if (size > 0 && data[0] == FORM_BASE64)
		return base64(data + 1, size - 1, 0, "", "");
	if (size > 0 && data[0] == FORM_PEM)
		return base64(data + 1, size - 1, 64, "-----BEGIN CERTIFICATE-----\n",
		    "-----END CERTIFICATE-----\n");
	if (size > PROTO_CERTIFICATE_MAX || memchr(data, '\0', size) != NULL)
		return NULL;
	if ((text = malloc(size + 1)) == NULL)
		return NULL;
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

static void
check_page_text(const char *s)
{
	FUZZ_CHECK(s != NULL && proto_text_ok(s, strlen(s)));
}

/* What certificates.install reports: summary, labels, dates. */
static void
check_report(X509 *x)
{
	struct json_object *summary, *v;
	char when[32];
	char *cn;
	const char *keys[] = {"subject", "issuer", "serial"};
	size_t i;

	(void)x509_expired(x);
	x509_time_iso(X509_get0_notAfter(x), when, sizeof(when));
	FUZZ_CHECK(strlen(when) < sizeof(when) && fuzz_printable(when));
	x509_time_iso(X509_get0_notBefore(x), when, sizeof(when));
	FUZZ_CHECK(strlen(when) < sizeof(when) && fuzz_printable(when));
	if ((summary = x509_summary(x, "0a1b")) != NULL) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			FUZZ_CHECK(json_object_object_get_ex(summary, keys[i], &v));
			check_page_text(json_object_get_string(v));
		}
		json_object_put(summary);
	}
	if ((cn = x509_common_name(X509_get_subject_name(x))) != NULL) {
		FUZZ_CHECK(cn[0] != '\0');
		check_page_text(cn);
		free(cn);
	}
}

/*
 * The attributes cert_create() would store, and the chain checks.  It
 * stores i2d_X509(), OpenSSL's re-encoding: x509_parse() takes only DER
 * that encodes back to itself (finding C1 in doc/TESTING.md), so what is
 * stored is exactly what the page sent and reads back as itself.
 */
static void
check_store(X509 *x, const uint8_t *der, size_t der_len)
{
	unsigned char *value = NULL, *subject = NULL, *issuer = NULL, *serial = NULL, *again = NULL;
	const unsigned char *p;
	int value_len;
	X509 *back;

	value_len = i2d_X509(x, &value);
	(void)i2d_X509_NAME(X509_get_subject_name(x), &subject);
	(void)i2d_X509_NAME(X509_get_issuer_name(x), &issuer);
	(void)i2d_ASN1_INTEGER(X509_get_serialNumber(x), &serial);
	FUZZ_CHECK(value_len > 0);
	FUZZ_CHECK(
	    der == NULL || ((size_t)value_len == der_len && memcmp(value, der, der_len) == 0));
	p = value;
	FUZZ_CHECK((back = d2i_X509(NULL, &p, value_len)) != NULL && p == value + value_len);
	FUZZ_CHECK(i2d_X509(back, &again) == value_len && memcmp(again, value, value_len) == 0);
	OPENSSL_free(again);
	X509_free(back);
	OPENSSL_free(value);
	OPENSSL_free(subject);
	OPENSSL_free(issuer);
	OPENSSL_free(serial);
	FUZZ_CHECK(X509_cmp(x, x) == 0);
	(void)X509_check_ca(x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	const uint8_t *der;
	size_t der_len;
	X509 *x = NULL;
	char *text;
	int r;

	if ((text = param_text(data, size, &der, &der_len)) == NULL)
		return 0;
	memset(&req, 0, sizeof(req));
	r = x509_parse(&req, "chain[3]", text, &x);
	if (r != 0) {
		FUZZ_CHECK(x == NULL);
		FUZZ_CHECK(r == CB_ERR_INVALID_PARAMS || r == CB_ERR_ALLOC);
		FUZZ_CHECK(r != CB_ERR_INVALID_PARAMS ||
			   strncmp(req.message, "params.chain[3]: ", 17) == 0);
		FUZZ_CHECK(fuzz_printable(req.message));
	} else {
		FUZZ_CHECK(x != NULL && X509_get0_pubkey(x) != NULL);
		check_report(x);
		check_store(x, der, der_len);
		X509_free(x);
	}
	ERR_clear_error();
	free(text);
	return 0;
}
