/*
 * test-keygen.c - unit tests of pkcs11/keygen.c (TAP): keys.generate
 * against the in-memory token of tests/p11-fake.c, which makes EC P-256
 * keys with OpenSSL and signs with them, and the PIN dialogs of
 * tests/pin-stub.c.
 *
 * What is checked is what the page gets (the key's ID, the public key, a
 * CSR that verifies) and what stays on the token when something fails,
 * or when the page left before it could receive the key (issue 14, item
 * 13: keygen.c's cancel check and abandon.c's keys.abandon).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/abandon.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "tests/p11-fake.h"
#include "tests/pin-stub.h"
#include "tests/tap.h"

static struct request *req;
static struct json_object *result;
static bool cancel_next; /* the daemon cancels the next request (its page left) */

/* request_is_cancelled() (the flag cancel sets) is tests/pcsc-stub.c's. */

/* A token that can make EC keys, with no key on it yet. */
static void
ec_token(void)
{
	fake_reset();
	fake_mechanism_add(CKM_EC_KEY_PAIR_GEN);
	fake_mechanism_add(CKM_ECDSA);
	pin_stub_reset("1234", "1234", NULL);
	helper_config.fault = NULL;
}

/* keys.generate of an EC P-256 key for CN=Joe Doe, as the helper's dispatch hands it over. */
static int
generate(void)
{
	const char *text = "{\"token\":\"" FAKE_TOKEN_URI "\","
			   "\"algorithm\":{\"type\":\"EC\",\"curve\":\"P-256\"},"
			   "\"subject\":{\"CN\":\"Joe Doe\"}}";
	char why[PROTO_PARAMS_WHY_MAX];
	int r;

	request_free(req);
	req = request_new();
	req->root = req->params = json_tokener_parse(text);
	req->origin = "https://portal.example";
	req->cancelled = cancel_next;
	cancel_next = false;
	json_object_put(result);
	result = NULL;
	r = proto_method_check(
	    proto_method_find("keys.generate", PROTO_M_HELPER), req->params, why, sizeof(why));
	TAP_CHECK(r == 0);
	return r != 0 ? r : handle_keys_generate(req, &result);
}

static const char *
result_string(const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(result, key, &v) ? json_object_get_string(v) : "";
}

static void
test_keygen_answers_with_the_key_and_a_csr_it_signed(void)
{
	BIO *bio;
	EVP_PKEY *pub;
	X509_REQ *csr;
	struct fake_object *o;
	const void *label;
	size_t len;

	ec_token();
	TAP_CHECK(generate() == 0);
	TAP_CHECK(pin_stub.dialogs == 1);
	/* The key's label (here the subject's CN) tells two requests apart (issue 14, item 6). */
	TAP_CHECK(strcmp(pin_stub.operation[0], "generate an EC P-256 key pair \"Joe Doe\"") == 0);
	/* NSS's CKA_ID: the SHA-1 of the public point, on both objects. */
	TAP_CHECK(strlen(result_string("keyId")) == 40);
	bio = BIO_new_mem_buf(result_string("publicKey"), -1);
	TAP_CHECK((pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL);
	BIO_free(bio);
	bio = BIO_new_mem_buf(result_string("csr"), -1);
	TAP_CHECK((csr = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) != NULL);
	BIO_free(bio);
	TAP_CHECK(csr != NULL && pub != NULL && X509_REQ_verify(csr, pub) == 1);
	/* Without a label the key is named after the subject's CN. */
	TAP_CHECK((o = fake_object_find(CKO_PRIVATE_KEY)) != NULL);
	label = fake_object_get(o, CKA_LABEL, &len);
	TAP_CHECK(label != NULL && len == 7 && memcmp(label, "Joe Doe", 7) == 0);
	TAP_CHECK(fake_object_get(o, CKA_ID, &len) != NULL && len == 20);
	X509_REQ_free(csr);
	EVP_PKEY_free(pub);
}

/*
 * CKA_SENSITIVE cannot be read back (a card pulled right after keygen):
 * the page gets that read error, not "the token did not make the private
 * key sensitive", and the half-made pair is removed.
 */
static void
test_an_unreadable_sensitive_flag_is_reported_as_the_read_error(void)
{
	ec_token();
	fake.get_attribute = CKR_DEVICE_ERROR;
	fake.get_attribute_type = CKA_SENSITIVE;
	TAP_CHECK(generate() == CB_ERR_MODULE_ERROR);
	TAP_CHECK(strncmp(req->message, "reading an object: ", 19) == 0);
	TAP_CHECK(fake.destroyed == 2);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) == NULL);
}

/* The member "keyAttributes" of the result: which of its booleans are true. */
static bool
key_attribute(const char *name)
{
	struct json_object *attrs, *v;

	return json_object_object_get_ex(result, "keyAttributes", &attrs) &&
	       json_object_object_get_ex(attrs, name, &v) && json_object_get_boolean(v);
}

static void
test_keygen_reports_the_key_attributes_the_token_reads_back(void)
{
	ec_token();
	TAP_CHECK(generate() == 0);
	TAP_CHECK(key_attribute("sensitive") && !key_attribute("extractable"));
	TAP_CHECK(!key_attribute("secretReadable"));
}

/*
 * OpenSC before 0.24 on a PKCS#15 card: the key reads CKA_SENSITIVE false,
 * the flag cannot be set, but the module withholds the secret parts.  The
 * key is kept, and the page is told what the module said.
 */
static void
test_a_key_that_reads_not_sensitive_but_withholds_its_secret_is_kept(void)
{
	ec_token();
	fake.not_sensitive = true;
	fake.set_flags = CKR_ATTRIBUTE_READ_ONLY;
	TAP_CHECK(generate() == 0);
	TAP_CHECK(fake.destroyed == 0 && fake_object_find(CKO_PRIVATE_KEY) != NULL);
	TAP_CHECK(!key_attribute("sensitive") && !key_attribute("secretReadable"));
}

/* A module that lets the flag be set again is asked to, once. */
static void
test_a_key_that_reads_not_sensitive_is_made_sensitive_where_the_module_allows(void)
{
	ec_token();
	fake.not_sensitive = true;
	TAP_CHECK(generate() == 0);
	TAP_CHECK(key_attribute("sensitive") && !key_attribute("extractable"));
}

static void
test_a_module_that_hands_out_the_private_value_is_refused_and_the_pair_removed(void)
{
	ec_token();
	fake.not_sensitive = true;
	fake.leaks_secret = true;
	fake.set_flags = CKR_ATTRIBUTE_READ_ONLY;
	TAP_CHECK(generate() == CB_ERR_MODULE_ERROR);
	TAP_CHECK(strcmp(req->message,
		      "the token hands out the private key: its secret parts can be read") == 0);
	TAP_CHECK(result == NULL);
	TAP_CHECK(fake.destroyed == 2);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) == NULL);
	TAP_CHECK(fake_object_find(CKO_PUBLIC_KEY) == NULL);
}

/* Flags that look right do not spare the probe: the material decides. */
static void
test_a_key_that_reads_sensitive_but_hands_out_its_value_is_refused(void)
{
	ec_token();
	fake.leaks_secret = true;
	TAP_CHECK(generate() == CB_ERR_MODULE_ERROR);
	TAP_CHECK(fake.destroyed == 2);
}

/*
 * OpenSC 0.23 on an IsoApplet card makes EC keys but signs only with
 * ECDSA-SHA1: refused before any dialog, saying why, and never an
 * ecdsa-with-SHA1 CSR.
 */
static void
test_ec_on_a_token_that_signs_only_with_sha1_is_refused_before_any_dialog(void)
{
	ec_token();
	fake.nmechanisms = 0;
	fake_mechanism_add(CKM_EC_KEY_PAIR_GEN);
	fake_mechanism_add(CKM_ECDSA_SHA1);
	TAP_CHECK(generate() == CB_ERR_UNSUPPORTED_ALGORITHM);
	TAP_CHECK(strstr(req->message, "using SHA-256") != NULL);
	TAP_CHECK(pin_stub.dialogs == 0 && fake_object_find(CKO_PRIVATE_KEY) == NULL);
}

/*
 * OpenSC's OpenPGP card: the admin PIN generates, the module is reloaded,
 * the user PIN signs; a failure after that leaves the key in its slot (it
 * cannot be deleted) and the message says which slot.
 */
static void
test_an_openpgp_card_keeps_a_failed_key_and_says_where(void)
{
	ec_token();
	fake_text(fake.info.manufacturerID, sizeof(fake.info.manufacturerID), "OpenPGP project");
	fake_text(fake.info.model, sizeof(fake.info.model), "PKCS#15 emulated");
	helper_config.fault = "after-keygen";
	TAP_CHECK(generate() == CB_ERR_INTERNAL);
	TAP_CHECK(
	    strcmp(req->message, "fault injected after key generation; the new key stays "
				 "in key slot 03 (OpenSC cannot delete keys on this card)") == 0);
	TAP_CHECK(pin_stub.dialogs == 2 && fake.reloads == 1 && fake.destroyed == 0);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) != NULL);
	helper_config.fault = NULL;
}

/*
 * The page left after the PIN was typed (the stub answers the PIN even
 * though the request is cancelled): the pair is made, then removed before
 * the logout, and nobody is told of a CSR.
 */
static void
test_a_key_made_after_the_page_left_is_removed(void)
{
	ec_token();
	cancel_next = true;
	TAP_CHECK(generate() == CB_ERR_USER_CANCELLED);
	TAP_CHECK(strcmp(req->message, "the page left before receiving the new key pair") == 0);
	TAP_CHECK(result == NULL && fake.destroyed == 2);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) == NULL);
	TAP_CHECK(fake_object_find(CKO_PUBLIC_KEY) == NULL);
}

/* keys.abandon with these params; its answer. */
static int
abandon(const char *key_id, const char *public_pem)
{
	struct request *a = request_new();
	struct json_object *out = NULL;
	int r;

	a->root = a->params = json_object_new_object();
	json_object_object_add(a->params, "keyId", json_object_new_string(key_id));
	json_object_object_add(a->params, "publicKey", json_object_new_string(public_pem));
	r = handle_keys_abandon(a, &out);
	json_object_put(out);
	request_free(a);
	return r;
}

/*
 * The answer crossed the page's leaving: keys.abandon removes the pair,
 * after a PIN, but only one the helper made itself, matched by key ID and
 * public key both.
 */
static void
test_keys_abandon_removes_only_a_pair_the_helper_made(void)
{
	char key_id[64], public_pem[512];

	abandon_forget_all();
	ec_token();
	TAP_CHECK(generate() == 0);
	snprintf(key_id, sizeof(key_id), "%s", result_string("keyId"));
	snprintf(public_pem, sizeof(public_pem), "%s", result_string("publicKey"));
	TAP_CHECK(abandon("00112233", public_pem) == CB_ERR_KEY_NOT_FOUND);
	TAP_CHECK(abandon(key_id, "-----BEGIN PUBLIC KEY-----") == CB_ERR_KEY_NOT_FOUND);
	TAP_CHECK(fake.destroyed == 0 && fake_object_find(CKO_PRIVATE_KEY) != NULL);
	TAP_CHECK(abandon(key_id, public_pem) == 0);
	TAP_CHECK(pin_stub.dialogs == 2 && fake.destroyed == 2);
	TAP_CHECK(strcmp(pin_stub.operation[1], "remove the new EC P-256 key pair it never "
						"received (the page closed first)") == 0);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) == NULL);
	TAP_CHECK(fake_object_find(CKO_PUBLIC_KEY) == NULL);
	/* Once only: the pair is forgotten with it. */
	TAP_CHECK(abandon(key_id, public_pem) == CB_ERR_KEY_NOT_FOUND);
}

int
main(void)
{
	helper_config.log_level = CB_LOG_ERROR;
	tap_plan(11);
	tap_run("keygen answers with the key and a csr it signed",
	    test_keygen_answers_with_the_key_and_a_csr_it_signed);
	tap_run("keygen reports the key attributes the token reads back",
	    test_keygen_reports_the_key_attributes_the_token_reads_back);
	tap_run("an unreadable sensitive flag is reported as the read error",
	    test_an_unreadable_sensitive_flag_is_reported_as_the_read_error);
	tap_run("a key that reads not sensitive but withholds its secret is kept",
	    test_a_key_that_reads_not_sensitive_but_withholds_its_secret_is_kept);
	tap_run("a key that reads not sensitive is made sensitive where the module allows",
	    test_a_key_that_reads_not_sensitive_is_made_sensitive_where_the_module_allows);
	tap_run("a module that hands out the private value is refused and the pair removed",
	    test_a_module_that_hands_out_the_private_value_is_refused_and_the_pair_removed);
	tap_run("a key that reads sensitive but hands out its value is refused",
	    test_a_key_that_reads_sensitive_but_hands_out_its_value_is_refused);
	tap_run("ec on a token that signs only with sha1 is refused before any dialog",
	    test_ec_on_a_token_that_signs_only_with_sha1_is_refused_before_any_dialog);
	tap_run("an openpgp card keeps a failed key and says where",
	    test_an_openpgp_card_keeps_a_failed_key_and_says_where);
	tap_run("a key made after the page left is removed",
	    test_a_key_made_after_the_page_left_is_removed);
	tap_run("keys.abandon removes only a pair the helper made",
	    test_keys_abandon_removes_only_a_pair_the_helper_made);
	abandon_forget_all();
	json_object_put(result);
	request_free(req);
	fake_reset();
	return tap_done();
}
