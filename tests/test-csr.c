/*
 * test-csr.c - unit tests of pkcs11/csr.c (TAP): the subject built from
 * params that passed protocol/methods.c, and certificate requests signed
 * by the in-memory token of tests/p11-fake.c with each mechanism csr.c
 * may choose.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/csr.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"
#include "tests/p11-fake.h"
#include "tests/tap.h"

static struct request *req;

/* keys.generate's params with this subject, checked with the helper's row first. */
static struct json_object *
checked_subject(const char *subject)
{
	char text[1024], why[PROTO_PARAMS_WHY_MAX];
	struct json_object *params, *s;

	snprintf(text, sizeof(text),
	    "{\"token\":\"pkcs11:token=t\",\"algorithm\":{\"type\":\"EC\",\"curve\":\"P-256\"},"
	    "\"subject\":%s}",
	    subject);
	params = json_tokener_parse(text);
	TAP_CHECK(proto_method_check(proto_method_find("keys.generate", PROTO_M_HELPER), params,
		      why, sizeof(why)) == 0);
	s = json_object_get(json_object_object_get(params, "subject"));
	json_object_put(params);
	return s;
}

/* The short names of name's RDNs in order, and their values, as "C=PL,O=Org". */
static char *
rdns(const X509_NAME *name)
{
	static char buf[512];
	const X509_NAME_ENTRY *e;
	unsigned char *utf8;
	int i;

	buf[0] = '\0';
	for (i = 0; i < X509_NAME_entry_count(name); i++) {
		e = X509_NAME_get_entry(name, i);
		if (ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) < 0)
			return NULL;
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s=%s", i ? "," : "",
		    OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))), utf8);
		OPENSSL_free(utf8);
	}
	return buf;
}

static void
test_the_subject_comes_in_rdn_order_whatever_the_json_order(void)
{
	struct json_object *s = checked_subject(
	    "{\"emailAddress\":\"joe@example.org\",\"CN\":\"Joe Doe\",\"serialNumber\":\"PNOPL-1\","
	    "\"GN\":\"Joe\",\"SN\":\"Doe\",\"OU\":\"IT\",\"O\":\"Firma\",\"L\":\"Krak\\u00f3w\","
	    "\"ST\":\"Ma\\u0142opolska\",\"C\":\"PL\"}");
	X509_NAME *name = NULL;

	TAP_CHECK(csr_subject(req, s, &name) == 0 && name != NULL);
	TAP_CHECK(strcmp(rdns(name), "C=PL,ST=Ma\xc5\x82opolska,L=Krak\xc3\xb3w,O=Firma,OU=IT,"
				     "CN=Joe Doe,SN=Doe,GN=Joe,serialNumber=PNOPL-1,"
				     "emailAddress=joe@example.org") == 0);
	X509_NAME_free(name);
	json_object_put(s);
}

static void
test_the_country_is_upper_cased(void)
{
	struct json_object *s = checked_subject("{\"C\":\"pl\",\"CN\":\"x\"}");
	X509_NAME *name = NULL;

	TAP_CHECK(csr_subject(req, s, &name) == 0);
	TAP_CHECK(strcmp(rdns(name), "C=PL,CN=x") == 0);
	X509_NAME_free(name);
	json_object_put(s);
}

static void
test_no_subject_is_an_empty_name(void)
{
	X509_NAME *name = NULL;

	TAP_CHECK(csr_subject(req, NULL, &name) == 0 && name != NULL);
	TAP_CHECK(X509_NAME_entry_count(name) == 0);
	X509_NAME_free(name);
}

/* csr.c and protocol/methods.c know the same subject members, in the same order. */
static void
test_the_subject_members_are_those_of_the_methods_table(void)
{
	const struct proto_method *m = proto_method_find("keys.generate", PROTO_M_HELPER);
	const struct proto_field *f = m->params, *subject = NULL;
	size_t i;

	for (; f->name != NULL; f++)
		if (strcmp(f->name, "subject") == 0)
			subject = f;
	TAP_CHECK(subject != NULL && subject->fields != NULL);
	for (i = 0; subject != NULL && subject->fields[i].name != NULL; i++)
		TAP_CHECK(csr_subject_key(i) != NULL &&
			  strcmp(csr_subject_key(i), subject->fields[i].name) == 0);
	TAP_CHECK(csr_subject_key(i) == NULL);
}

/* A CSR for CN=Joe signed on the fake token by key; *pem is NULL unless it was made. */
static int
create(EVP_PKEY *signer, EVP_PKEY *pub, char **pem)
{
	struct token_session s;
	struct token t;
	X509_NAME *name = X509_NAME_new();
	int r;

	X509_NAME_add_entry_by_txt(
	    name, "CN", MBSTRING_UTF8, (const unsigned char *)"Joe", -1, -1, 0);
	fake_key_pair(signer, "\x01", 1);
	fake_token(&t);
	TAP_CHECK(token_session_open(req, &t, true, &s) == 0);
	r = csr_create(&s, fake_object_find(CKO_PRIVATE_KEY)->handle, pub, name, pem);
	token_session_close(&s);
	X509_NAME_free(name);
	return r;
}

/* pem reads back as a CSR for CN=Joe that key's signature verifies. */
static bool
verifies(const char *pem, EVP_PKEY *key)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509_REQ *x = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	bool ok = x != NULL && X509_REQ_verify(x, key) == 1 &&
		  strcmp(rdns(X509_REQ_get_subject_name(x)), "CN=Joe") == 0;

	X509_REQ_free(x);
	BIO_free(bio);
	return ok;
}

static void
test_an_ec_key_signs_its_request_with_ckm_ecdsa_or_ecdsa_sha256(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char *pem = NULL;

	fake_reset();
	fake_mechanism_add(CKM_ECDSA);
	TAP_CHECK(create(key, key, &pem) == 0);
	TAP_CHECK(fake.signed_with == CKM_ECDSA);
	TAP_CHECK(pem != NULL && verifies(pem, key));
	free(pem);
	/* A token without raw ECDSA hashes for us, if it can with SHA-256. */
	EVP_PKEY_up_ref(key);
	fake_reset();
	fake_mechanism_add(CKM_ECDSA_SHA256);
	TAP_CHECK(create(key, key, &pem) == 0);
	TAP_CHECK(fake.signed_with == CKM_ECDSA_SHA256 && pem != NULL && verifies(pem, key));
	free(pem);
}

static void
test_an_rsa_key_signs_with_sha256_rsa_or_with_a_digest_info(void)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	char *pem = NULL;

	EVP_PKEY_up_ref(key);
	fake_reset();
	fake_mechanism_add(CKM_SHA256_RSA_PKCS);
	fake_mechanism_add(CKM_RSA_PKCS);
	TAP_CHECK(create(key, key, &pem) == 0);
	TAP_CHECK(fake.signed_with == CKM_SHA256_RSA_PKCS && pem != NULL && verifies(pem, key));
	free(pem);
	/* A token without CKM_SHA256_RSA_PKCS gets the DigestInfo to sign with CKM_RSA_PKCS. */
	fake_reset();
	fake_mechanism_add(CKM_RSA_PKCS);
	TAP_CHECK(create(key, key, &pem) == 0);
	TAP_CHECK(fake.signed_with == CKM_RSA_PKCS && pem != NULL && verifies(pem, key));
	free(pem);
}

static void
test_a_request_the_token_signed_with_another_key_is_never_returned(void)
{
	EVP_PKEY *token_key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	char *pem = NULL;

	fake_reset();
	fake_mechanism_add(CKM_ECDSA);
	TAP_CHECK(create(token_key, other, &pem) == CB_ERR_MODULE_ERROR);
	TAP_CHECK(pem == NULL);
	TAP_CHECK(strcmp(req->message,
		      "the token's signature on the certificate request does not verify") == 0);
	EVP_PKEY_free(other);
}

int
main(void)
{
	helper_config.log_level = CB_LOG_ERROR;
	req = request_new();
	tap_plan(7);
	tap_run("the subject comes in rdn order whatever the json order",
	    test_the_subject_comes_in_rdn_order_whatever_the_json_order);
	tap_run("the country is upper cased", test_the_country_is_upper_cased);
	tap_run("no subject is an empty name", test_no_subject_is_an_empty_name);
	tap_run("the subject members are those of the methods table",
	    test_the_subject_members_are_those_of_the_methods_table);
	tap_run("an ec key signs its request with ckm ecdsa or ecdsa sha256",
	    test_an_ec_key_signs_its_request_with_ckm_ecdsa_or_ecdsa_sha256);
	tap_run("an rsa key signs with sha256 rsa or with a digest info",
	    test_an_rsa_key_signs_with_sha256_rsa_or_with_a_digest_info);
	tap_run("a request the token signed with another key is never returned",
	    test_a_request_the_token_signed_with_another_key_is_never_returned);
	request_free(req);
	fake_reset();
	return tap_done();
}
