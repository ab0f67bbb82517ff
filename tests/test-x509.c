/*
 * test-x509.c - unit tests of pkcs11/x509.c (TAP): certificates from the
 * page's text (PEM, or base64 DER), what is refused and how the refusal is
 * worded, and the texts the helper reports certificates by.
 *
 * Certificates are made here with OpenSSL (tests/p11-fake.c), never
 * checked in.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "protocol/cberr.h"
#include "protocol/params.h"
#include "pkcs11/request.h"
#include "pkcs11/x509.h"
#include "tests/p11-fake.h"
#include "tests/tap.h"

static EVP_PKEY *key;
static X509 *cert;
static struct request *req;

/* x509_parse() of text as params.field; the certificate is freed, the result kept. */
static int
parse(const char *field, const char *text)
{
	X509 *x = NULL;
	int r;

	memset(req->message, 0, sizeof(req->message));
	r = x509_parse(req, field, text, &x);
	TAP_CHECK((r == 0) == (x != NULL));
	X509_free(x);
	return r;
}

/* der (len bytes) as base64, with a line break every width characters (0: none). */
static char *
base64(const unsigned char *der, size_t len, size_t width)
{
	char *text = malloc(len * 2 + 16), *line = malloc(len * 2 + 16);
	size_t i, n = 0, total = (size_t)EVP_EncodeBlock((unsigned char *)line, der, (int)len);

	for (i = 0; i < total; i++) {
		text[n++] = line[i];
		if (width > 0 && (i + 1) % width == 0)
			text[n++] = '\n';
	}
	text[n] = '\0';
	free(line);
	return text;
}

static void
test_pem_and_base64_der_are_taken(void)
{
	unsigned char *der = NULL;
	char *pem = fake_pem(cert), *b64, *padded;
	int len = i2d_X509(cert, &der);

	TAP_CHECK(parse("certificate", pem) == 0);
	padded = malloc(strlen(pem) + 8);
	sprintf(padded, "\n  %s\n\n", pem);
	TAP_CHECK(parse("certificate", padded) == 0);
	b64 = base64(der, (size_t)len, 0);
	TAP_CHECK(parse("certificate", b64) == 0);
	free(b64);
	b64 = base64(der, (size_t)len, 64);
	TAP_CHECK(parse("certificate", b64) == 0);
	free(b64);
	free(padded);
	free(pem);
	OPENSSL_free(der);
}

static void
test_text_after_the_pem_block_is_refused(void)
{
	char *pem = fake_pem(cert), *two = malloc(strlen(pem) * 2 + 16);

	sprintf(two, "%sinjected", pem);
	TAP_CHECK(parse("certificate", two) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(
	    strcmp(req->message, "params.certificate: text after the END CERTIFICATE line") == 0);
	sprintf(two, "%s%s", pem, pem);
	TAP_CHECK(parse("chain[2]", two) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.chain[2]: holds more than one PEM block; give CA "
				       "certificates in chain") == 0);
	free(two);
	free(pem);
}

static void
test_other_pem_blocks_and_bad_base64_are_refused(void)
{
	TAP_CHECK(parse("certificate", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC "
				       "KEY-----\n") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.certificate: not a PEM CERTIFICATE block (corrupt "
				       "or truncated)") == 0);
	TAP_CHECK(parse("certificate", "not base64!") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message, "params.certificate: neither PEM nor base64 DER") == 0);
	TAP_CHECK(parse("certificate", "QUJD=A==") == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(parse("certificate", "") == CB_ERR_INVALID_PARAMS);
}

static void
test_der_with_trailing_bytes_or_cut_short_is_refused(void)
{
	unsigned char *der = NULL, *longer;
	int len = i2d_X509(cert, &der);
	char *b64;

	longer = malloc((size_t)len + 1);
	memcpy(longer, der, (size_t)len);
	longer[len] = 0;
	b64 = base64(longer, (size_t)len + 1, 0);
	TAP_CHECK(parse("certificate", b64) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(
	    strcmp(req->message, "params.certificate: trailing data after the certificate") == 0);
	free(b64);
	b64 = base64(der, (size_t)len - 3, 0);
	TAP_CHECK(parse("certificate", b64) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strcmp(req->message,
		      "params.certificate: not an X.509 certificate (corrupt or truncated)") == 0);
	free(b64);
	free(longer);
	OPENSSL_free(der);
}

/* The outer length in 3 bytes instead of 2: BER, which is stored as other bytes. */
static void
test_ber_that_is_not_der_is_refused(void)
{
	unsigned char *der = NULL, *ber;
	int len = i2d_X509(cert, &der);
	char *b64;

	TAP_CHECK(der[0] == 0x30 && der[1] == 0x82);
	ber = malloc((size_t)len + 1);
	ber[0] = 0x30;
	ber[1] = 0x83;
	ber[2] = 0x00;
	memcpy(ber + 3, der + 2, (size_t)len - 2);
	b64 = base64(ber, (size_t)len + 1, 0);
	TAP_CHECK(parse("certificate", b64) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(proto_text_ok(req->message, strlen(req->message)) &&
		  strncmp(req->message, "params.certificate: ", 20) == 0);
	free(b64);
	free(ber);
	OPENSSL_free(der);
}

static void
test_expiry_and_times(void)
{
	X509 *old = fake_certificate(key, "Old", -30, -1);
	ASN1_TIME *t = ASN1_TIME_set(NULL, 1924992000); /* 2031-01-01 */
	char when[32];

	TAP_CHECK(x509_expired(old) && !x509_expired(cert));
	x509_time_iso(t, when, sizeof(when));
	TAP_CHECK(strcmp(when, "2031-01-01T00:00:00Z") == 0);
	x509_time_iso(NULL, when, sizeof(when));
	TAP_CHECK(strcmp(when, "unknown") == 0);
	ASN1_TIME_free(t);
	X509_free(old);
}

static void
test_the_summary_has_subject_issuer_serial_and_key_id(void)
{
	struct json_object *s = x509_summary(cert, "0a1b"), *v;

	TAP_CHECK(s != NULL);
	TAP_CHECK(json_object_object_get_ex(s, "subject", &v) &&
		  strcmp(json_object_get_string(v), "CN=Joe Doe") == 0);
	TAP_CHECK(json_object_object_get_ex(s, "issuer", &v) &&
		  strcmp(json_object_get_string(v), "CN=Joe Doe") == 0);
	TAP_CHECK(json_object_object_get_ex(s, "serial", &v) &&
		  strcmp(json_object_get_string(v), "1234") == 0);
	TAP_CHECK(json_object_object_get_ex(s, "keyId", &v) &&
		  strcmp(json_object_get_string(v), "0a1b") == 0);
	json_object_put(s);
	s = x509_summary(cert, NULL);
	TAP_CHECK(s != NULL && !json_object_object_get_ex(s, "keyId", NULL));
	json_object_put(s);
}

/* A name with these (field, value) pairs in this order. */
static X509_NAME *
name_of(const char *const *pairs)
{
	X509_NAME *n = X509_NAME_new();

	for (; pairs[0] != NULL; pairs += 2)
		X509_NAME_add_entry_by_txt(
		    n, pairs[0], MBSTRING_UTF8, (const unsigned char *)pairs[1], -1, -1, 0);
	return n;
}

static void
test_names_are_rfc2253_text_with_utf8_kept_and_controls_escaped(void)
{
	static const char *const plain[] = {"C", "PL", "O", "Firma", "CN", "\xc5\x81ukasz", NULL};
	static const char *const odd[] = {"CN", "Doe, Joe\x01+x", NULL};
	X509_NAME *n = name_of(plain);
	char *text;

	TAP_CHECK((text = x509_name_text(n)) != NULL &&
		  strcmp(text, "CN=\xc5\x81ukasz,O=Firma,C=PL") == 0);
	free(text);
	X509_NAME_free(n);
	n = name_of(odd);
	TAP_CHECK((text = x509_name_text(n)) != NULL && proto_text_ok(text, strlen(text)));
	TAP_CHECK(text != NULL && strstr(text, "Doe\\, Joe") != NULL);
	free(text);
	X509_NAME_free(n);
}

static void
test_the_common_name_is_given_only_when_it_is_text(void)
{
	static const char *const with[] = {"O", "Org", "CN", "Joe Doe", NULL};
	static const char *const without[] = {"O", "Org", NULL};
	static const char *const control[] = {"CN", "Joe\x1b[2J", NULL};
	X509_NAME *n;
	char *cn;

	n = name_of(with);
	TAP_CHECK((cn = x509_common_name(n)) != NULL && strcmp(cn, "Joe Doe") == 0);
	free(cn);
	X509_NAME_free(n);
	n = name_of(without);
	TAP_CHECK(x509_common_name(n) == NULL);
	X509_NAME_free(n);
	n = name_of(control);
	TAP_CHECK(x509_common_name(n) == NULL);
	X509_NAME_free(n);
}

int
main(void)
{
	key = EVP_EC_gen("P-256");
	cert = fake_certificate(key, "Joe Doe", -1, 365);
	req = request_new();
	tap_plan(9);
	tap_run("pem and base64 der are taken", test_pem_and_base64_der_are_taken);
	tap_run("text after the pem block is refused", test_text_after_the_pem_block_is_refused);
	tap_run("other pem blocks and bad base64 are refused",
	    test_other_pem_blocks_and_bad_base64_are_refused);
	tap_run("der with trailing bytes or cut short is refused",
	    test_der_with_trailing_bytes_or_cut_short_is_refused);
	tap_run("ber that is not der is refused", test_ber_that_is_not_der_is_refused);
	tap_run("expiry and times", test_expiry_and_times);
	tap_run("the summary has subject issuer serial and key id",
	    test_the_summary_has_subject_issuer_serial_and_key_id);
	tap_run("names are rfc2253 text with utf8 kept and controls escaped",
	    test_names_are_rfc2253_text_with_utf8_kept_and_controls_escaped);
	tap_run("the common name is given only when it is text",
	    test_the_common_name_is_given_only_when_it_is_text);
	request_free(req);
	X509_free(cert);
	EVP_PKEY_free(key);
	return tap_done();
}
