/*
 * test-pubkey.c - unit tests of pkcs11/pubkey.c (TAP): the curves it
 * generates on against protocol/methods.c, CKA_EC_PARAMS, reading key
 * objects of the in-memory token of tests/p11-fake.c into EVP_PKEYs, and
 * the CKA_ID that NSS would give a key.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/log.h"
#include "pkcs11/pubkey.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"
#include "tests/p11-fake.h"
#include "tests/tap.h"

static struct request *req;
static struct token token;
static struct token_session session;

/* keys.generate's params.algorithm.curve in protocol/methods.c. */
static const struct proto_field *
curve_field(void)
{
	const struct proto_field *f = proto_method_find("keys.generate", PROTO_M_HELPER)->params;

	while (f->name != NULL && strcmp(f->name, "algorithm") != 0)
		f++;
	for (f = f->fields; f != NULL && f->name != NULL; f++)
		if (strcmp(f->name, "curve") == 0)
			return f;
	return NULL;
}

static void
test_the_curves_are_those_keys_generate_accepts(void)
{
	const struct proto_field *f = curve_field();
	const struct curve *c;
	EC_GROUP *group;
	size_t i, n = 0, known = 0;

	TAP_CHECK(f != NULL && f->choices != NULL);
	for (; f != NULL && f->choices[n] != NULL; n++)
		TAP_CHECK(pubkey_curve(f->choices[n]) != NULL);
	for (i = 0; (c = pubkey_curve_at(i)) != NULL; i++) {
		known++;
		/* Each name is a choice of the table, and its OpenSSL group and size agree. */
		TAP_CHECK(pubkey_curve(c->name) == c);
		TAP_CHECK(OBJ_sn2nid(c->group) == c->nid);
		group = EC_GROUP_new_by_curve_name(c->nid);
		TAP_CHECK(group != NULL && EC_GROUP_order_bits(group) == (int)c->bits);
		EC_GROUP_free(group);
	}
	TAP_CHECK(known == n && n > 0);
	TAP_CHECK(pubkey_curve("P-521") == NULL && pubkey_curve("p-256") == NULL);
}

static void
test_ec_params_are_the_curves_der_oid(void)
{
	static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	uint8_t *der;
	size_t len;

	TAP_CHECK(pubkey_ec_params(pubkey_curve("P-256"), &der, &len) == 0);
	TAP_CHECK(len == sizeof(p256) && memcmp(der, p256, len) == 0);
	OPENSSL_free(der);
}

/* A fresh token holding key's pair; the public key object's handle. */
static CK_OBJECT_HANDLE
token_with(EVP_PKEY *key)
{
	fake_reset();
	EVP_PKEY_up_ref(key);
	fake_key_pair(key, "\x01", 1);
	request_free(req);
	req = request_new();
	fake_token(&token);
	TAP_CHECK(token_session_open(req, &token, false, &session) == 0);
	return fake_object_find(CKO_PUBLIC_KEY)->handle;
}

static void
test_an_ec_public_key_object_reads_back_as_the_key(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-384"), *other = EVP_EC_gen("P-384"), *read = NULL;
	CK_OBJECT_HANDLE pub = token_with(key);
	struct fake_object *o = fake_object_find(CKO_PUBLIC_KEY);
	const uint8_t *wrapped;
	size_t len;
	bool match;

	TAP_CHECK(pubkey_from_object(&session, pub, &read) == 0 && EVP_PKEY_eq(read, key) == 1);
	EVP_PKEY_free(read);
	read = NULL;
	TAP_CHECK(pubkey_object_matches(&session, pub, key, &match) == 0 && match);
	TAP_CHECK(pubkey_object_matches(&session, pub, other, &match) == 0 && !match);
	/* Some modules give the bare point, without its OCTET STRING. */
	wrapped = fake_object_get(o, CKA_EC_POINT, &len);
	TAP_CHECK(wrapped != NULL && wrapped[0] == 0x04 && wrapped[1] == len - 2);
	fake_object_set(o, CKA_EC_POINT, wrapped + 2, len - 2);
	TAP_CHECK(pubkey_from_object(&session, pub, &read) == 0 && EVP_PKEY_eq(read, key) == 1);
	EVP_PKEY_free(read);
	token_session_close(&session);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/*
 * A bare P-256 point 04 X Y whose X starts with 0x3f also reads as a whole
 * DER OCTET STRING (tag 04, length 63): it must still be taken as the point.
 */
static void
test_a_bare_point_that_looks_like_der_is_still_the_point(void)
{
	EVP_PKEY *key = NULL, *read = NULL;
	uint8_t point[65];
	size_t len = 0;
	int tries;

	for (tries = 0; tries < 100000; tries++) {
		EVP_PKEY_free(key);
		key = EVP_EC_gen("P-256");
		if (EVP_PKEY_get_octet_string_param(
			key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point), &len) == 1 &&
		    point[1] == 0x3f)
			break;
	}
	TAP_CHECK(len == sizeof(point) && point[1] == 0x3f);
	token_with(key);
	fake_object_set(fake_object_find(CKO_PUBLIC_KEY), CKA_EC_POINT, point, len);
	TAP_CHECK(
	    pubkey_from_object(&session, fake_object_find(CKO_PUBLIC_KEY)->handle, &read) == 0 &&
	    EVP_PKEY_eq(read, key) == 1);
	EVP_PKEY_free(read);
	token_session_close(&session);
	EVP_PKEY_free(key);
}

static void
test_an_rsa_public_key_object_reads_back_as_the_key(void)
{
	EVP_PKEY *key = EVP_RSA_gen(2048), *read = NULL;
	CK_OBJECT_HANDLE pub = token_with(key);

	TAP_CHECK(pubkey_from_object(&session, pub, &read) == 0 && EVP_PKEY_eq(read, key) == 1);
	EVP_PKEY_free(read);
	token_session_close(&session);
	EVP_PKEY_free(key);
}

static void
test_an_object_without_a_usable_public_key_is_key_not_found(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *read = NULL;
	CK_OBJECT_HANDLE pub = token_with(key);
	struct fake_object *o = fake_object_find(CKO_PUBLIC_KEY);
	CK_KEY_TYPE dsa = CKK_DSA;
	bool match = true;

	fake_object_set(o, CKA_EC_POINT, "\x04\x01", 2);
	TAP_CHECK(pubkey_from_object(&session, pub, &read) == CB_ERR_KEY_NOT_FOUND && read == NULL);
	/* Objects that cannot be read simply do not match. */
	TAP_CHECK(pubkey_object_matches(&session, pub, key, &match) == 0 && !match);
	fake_object_set(o, CKA_KEY_TYPE, &dsa, sizeof(dsa));
	TAP_CHECK(pubkey_from_object(&session, pub, &read) == CB_ERR_KEY_NOT_FOUND);
	/* A failing module is not "no key": that error goes on. */
	fake.get_attribute = CKR_DEVICE_ERROR;
	fake.get_attribute_all = true;
	TAP_CHECK(pubkey_from_object(&session, pub, &read) == CB_ERR_MODULE_ERROR);
	token_session_close(&session);
	EVP_PKEY_free(key);
}

static void
test_the_key_id_is_the_sha1_that_nss_computes(void)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(2048);
	uint8_t point[65], modulus[256], want[SHA_DIGEST_LENGTH], id[SHA_DIGEST_LENGTH];
	BIGNUM *n = NULL;
	size_t len;
	char *pem;

	TAP_CHECK(EVP_PKEY_get_octet_string_param(
		      ec, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point), &len) == 1);
	SHA1(point, len, want);
	TAP_CHECK(pubkey_id(ec, id) == 0 && memcmp(id, want, sizeof(id)) == 0);
	TAP_CHECK(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
	SHA1(modulus, (size_t)BN_bn2bin(n, modulus), want);
	TAP_CHECK(pubkey_id(rsa, id) == 0 && memcmp(id, want, sizeof(id)) == 0);
	TAP_CHECK(
	    pubkey_pem(ec, &pem) == 0 && strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
	free(pem);
	BN_free(n);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

int
main(void)
{
	helper_config.log_level = CB_LOG_ERROR;
	tap_plan(7);
	tap_run("the curves are those keys generate accepts",
	    test_the_curves_are_those_keys_generate_accepts);
	tap_run("ec params are the curves der oid", test_ec_params_are_the_curves_der_oid);
	tap_run("an ec public key object reads back as the key",
	    test_an_ec_public_key_object_reads_back_as_the_key);
	tap_run("a bare point that looks like der is still the point",
	    test_a_bare_point_that_looks_like_der_is_still_the_point);
	tap_run("an rsa public key object reads back as the key",
	    test_an_rsa_public_key_object_reads_back_as_the_key);
	tap_run("an object without a usable public key is key not found",
	    test_an_object_without_a_usable_public_key_is_key_not_found);
	tap_run("the key id is the sha1 that nss computes",
	    test_the_key_id_is_the_sha1_that_nss_computes);
	request_free(req);
	fake_reset();
	return tap_done();
}
