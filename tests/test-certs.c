/*
 * test-certs.c - unit tests of pkcs11/certs.c (TAP): certificates.install
 * against the in-memory token of tests/p11-fake.c (the one loaded module),
 * with the PIN dialogs of tests/pin-stub.c.
 *
 * The params are what protocol/methods.c lets through (checked here with
 * the helper's row first, as the helper's dispatch does).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "tests/p11-fake.h"
#include "tests/pin-stub.h"
#include "tests/tap.h"

static struct request *req;
static struct json_object *result;

/* certificates.install of x on the fake token, as the helper's dispatch hands it over. */
static int
install(X509 *x)
{
	struct json_object *params = json_object_new_object();
	char *pem = fake_pem(x), why[PROTO_PARAMS_WHY_MAX];
	int r;

	json_object_object_add(params, "token", json_object_new_string(FAKE_TOKEN_URI));
	json_object_object_add(params, "certificate", json_object_new_string(pem));
	free(pem);
	request_free(req);
	req = request_new();
	req->root = params;
	req->params = params;
	json_object_put(result);
	result = NULL;
	r = proto_method_check(
	    proto_method_find("certificates.install", PROTO_M_HELPER), params, why, sizeof(why));
	TAP_CHECK(r == 0);
	return r != 0 ? r : handle_certificates_install(req, &result);
}

/* A fake token with one EC key pair (CKA_ID 01), and a certificate for it. */
static X509 *
token_with_key(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = fake_certificate(key, "Joe Doe", -1, 365);

	fake_reset();
	fake_key_pair(key, "\x01", 1);
	pin_stub_reset("1234", NULL, NULL);
	return x;
}

static void
test_install_writes_the_certificate_next_to_its_key(void)
{
	X509 *x = token_with_key();
	struct json_object *installed, *v;
	struct fake_object *cert;
	const void *id;
	size_t len;

	TAP_CHECK(install(x) == 0);
	TAP_CHECK(pin_stub.dialogs == 1 && fake.created == 1);
	TAP_CHECK(strstr(pin_stub.operation[0], "Joe Doe") != NULL);
	TAP_CHECK((cert = fake_object_find(CKO_CERTIFICATE)) != NULL);
	id = fake_object_get(cert, CKA_ID, &len);
	TAP_CHECK(id != NULL && len == 1 && memcmp(id, "\x01", 1) == 0);
	TAP_CHECK(json_object_object_get_ex(result, "keyId", &v) &&
		  strcmp(json_object_get_string(v), "01") == 0);
	TAP_CHECK(json_object_object_get_ex(result, "installed", &installed) &&
		  json_object_array_length(installed) == 1);
	X509_free(x);
}

static void
test_a_certificate_already_there_needs_no_pin(void)
{
	X509 *x = token_with_key();

	TAP_CHECK(install(x) == 0 && pin_stub.dialogs == 1);
	TAP_CHECK(install(x) == 0);
	TAP_CHECK(pin_stub.dialogs == 1 && fake.created == 1);
	X509_free(x);
}

static void
test_install_rejects_a_certificate_without_a_matching_key(void)
{
	X509 *mine = token_with_key();
	EVP_PKEY *other = EVP_EC_gen("P-256");
	X509 *x = fake_certificate(other, "Someone Else", -1, 365);

	TAP_CHECK(install(x) == CB_ERR_KEY_NOT_FOUND);
	TAP_CHECK(strcmp(req->message, "no key on this token matches the certificate") == 0);
	TAP_CHECK(pin_stub.dialogs == 0 && fake.created == 0);
	X509_free(x);
	X509_free(mine);
	EVP_PKEY_free(other);
}

/*
 * The key is on the token but its CKA_ID cannot be read: the page learns
 * that, not "no key matches" (which told the user to find another card).
 */
static void
test_an_unreadable_key_id_is_reported_as_such_not_as_no_matching_key(void)
{
	X509 *x = token_with_key();

	fake.get_attribute = CKR_DEVICE_ERROR;
	fake.get_attribute_type = CKA_ID;
	TAP_CHECK(install(x) == CB_ERR_MODULE_ERROR);
	TAP_CHECK(strncmp(req->message, "reading an object: ", 19) == 0);
	TAP_CHECK(pin_stub.dialogs == 0 && fake.created == 0);
	X509_free(x);
}

static void
test_an_unreadable_key_label_does_not_stop_the_install(void)
{
	X509 *x = token_with_key();
	struct fake_object *cert;
	const void *label;
	size_t len;

	fake.get_attribute = CKR_DEVICE_ERROR;
	fake.get_attribute_type = CKA_LABEL;
	TAP_CHECK(install(x) == 0);
	TAP_CHECK(req->message[0] == '\0');
	TAP_CHECK((cert = fake_object_find(CKO_CERTIFICATE)) != NULL);
	/* Without the key's label the certificate is named after its subject's CN. */
	label = fake_object_get(cert, CKA_LABEL, &len);
	TAP_CHECK(label != NULL && len == 7 && memcmp(label, "Joe Doe", 7) == 0);
	X509_free(x);
}

static void
test_an_expired_certificate_is_refused_before_the_token_is_touched(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = fake_certificate(key, "Joe Doe", -30, -1);

	fake_reset();
	fake_key_pair(key, "\x01", 1);
	pin_stub_reset("1234", NULL, NULL);
	TAP_CHECK(install(x) == CB_ERR_INVALID_PARAMS);
	TAP_CHECK(strncmp(req->message, "params.certificate: expired on ", 31) == 0);
	TAP_CHECK(pin_stub.dialogs == 0 && fake.created == 0);
	X509_free(x);
}

int
main(void)
{
	helper_config.log_level = CB_LOG_ERROR;
	tap_plan(6);
	tap_run("install writes the certificate next to its key",
	    test_install_writes_the_certificate_next_to_its_key);
	tap_run("a certificate already there needs no pin",
	    test_a_certificate_already_there_needs_no_pin);
	tap_run("install rejects a certificate without a matching key",
	    test_install_rejects_a_certificate_without_a_matching_key);
	tap_run("an unreadable key id is reported as such not as no matching key",
	    test_an_unreadable_key_id_is_reported_as_such_not_as_no_matching_key);
	tap_run("an unreadable key label does not stop the install",
	    test_an_unreadable_key_label_does_not_stop_the_install);
	tap_run("an expired certificate is refused before the token is touched",
	    test_an_expired_certificate_is_refused_before_the_token_is_touched);
	json_object_put(result);
	request_free(req);
	fake_reset();
	return tap_done();
}
