/*
 * test-cleanup.c - unit tests of pkcs11/cleanup.c and cleanup_journal.c
 * (TAP): the half-made key pair of a failed keys.generate, removed and
 * checked gone, or remembered when the card kept it, and removed after the
 * next login on the same token; never anything else.  Against the
 * in-memory token of tests/p11-fake.c, with the journal in a temporary
 * XDG_STATE_HOME.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "protocol/cberr.h"
#include "pkcs11/cleanup.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "pkcs11/token.h"
#include "pkcs11/token_session.h"
#include "tests/p11-fake.h"
#include "tests/pcsc-stub.h"
#include "tests/tap.h"

static const unsigned char ID[] = {0x45, 0x01};
static char journal_path[512];
static struct request *req;
static struct token token;
static struct token_session session;

/* A fresh token holding one key pair with CKA_ID ID; a session on it. */
static EVP_PKEY *
start(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	token_session_close(&session);
	token_clear(&token);
	fake_reset();
	pcsc_stub_reset();
	unlink(journal_path);
	request_free(req);
	req = request_new();
	fake_key_pair(key, ID, sizeof(ID));
	EVP_PKEY_up_ref(key); /* fake_key_pair took one */
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &token) == 0);
	TAP_CHECK(token_session_open(req, &token, true, &session) == 0);
	return key;
}

static CK_OBJECT_HANDLE
handle(CK_OBJECT_CLASS cls)
{
	struct fake_object *o = fake_object_find(cls);

	return o != NULL ? o->handle : CK_INVALID_HANDLE;
}

static char *
journal(void)
{
	static char text[4096];
	FILE *f = fopen(journal_path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	return f != NULL ? text : NULL;
}

static void
test_a_pair_that_goes_is_removed_and_not_remembered(void)
{
	EVP_PKEY *key = start();

	cleanup_key_pair(
	    &session, handle(CKO_PRIVATE_KEY), handle(CKO_PUBLIC_KEY), ID, sizeof(ID), key);
	TAP_CHECK(fake.destroyed == 2);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) == NULL);
	TAP_CHECK(journal() == NULL);
	EVP_PKEY_free(key);
}

/* The card left: the pair stays, is remembered, and the request's error is untouched. */
static void
test_a_pair_the_card_kept_is_remembered_by_token_id_and_key(void)
{
	EVP_PKEY *key = start();

	snprintf(req->message, sizeof(req->message), "the first failure");
	fake.destroy = CKR_DEVICE_REMOVED;
	/* Neither the ID nor the key given: read from the objects while they are there. */
	cleanup_key_pair(&session, handle(CKO_PRIVATE_KEY), handle(CKO_PUBLIC_KEY), NULL, 0, NULL);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) != NULL);
	TAP_CHECK(journal() != NULL);
	TAP_CHECK(strstr(journal(), "\"id\":\"4501\"") != NULL);
	TAP_CHECK(strstr(journal(), "\"token\":\"pkcs11:") != NULL);
	TAP_CHECK(strstr(journal(), "\"publicKey\":\"3059") != NULL); /* a P-256 SPKI */
	TAP_CHECK(strcmp(req->message, "the first failure") == 0);
	TAP_CHECK(!req->module_failed);
	EVP_PKEY_free(key);
}

/* The next login removes the remembered pair, and an object that only shares its ID stays. */
static void
test_the_next_login_removes_the_pair_and_nothing_else(void)
{
	EVP_PKEY *key = start(), *other = EVP_EC_gen("P-256");
	size_t i;

	fake.destroy = CKR_DEVICE_REMOVED;
	cleanup_key_pair(
	    &session, handle(CKO_PRIVATE_KEY), handle(CKO_PUBLIC_KEY), ID, sizeof(ID), key);
	fake.destroy = CKR_OK;
	/* Another key's public object under the same ID (its private half gone). */
	fake_key_pair(other, ID, sizeof(ID));
	for (i = 0; i < FAKE_OBJECTS_MAX; i++)
		if (fake.objects[i].handle != 0 && fake.objects[i].key == other)
			session.funcs->C_DestroyObject(session.handle, fake.objects[i].handle);
	fake.destroyed = 0;
	cleanup_pending(&session);
	TAP_CHECK(fake.destroyed == 2);
	TAP_CHECK(journal() == NULL);
	/* What is left is the other key's public object. */
	TAP_CHECK(fake_object_find(CKO_PUBLIC_KEY) != NULL);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) == NULL);
	EVP_PKEY_free(key);
}

static void
test_a_clean_up_waits_for_its_own_token(void)
{
	EVP_PKEY *key = start();

	fake.destroy = CKR_DEVICE_REMOVED;
	cleanup_key_pair(
	    &session, handle(CKO_PRIVATE_KEY), handle(CKO_PUBLIC_KEY), ID, sizeof(ID), key);
	fake.destroy = CKR_OK;
	free(token.uri);
	token.uri = strdup("pkcs11:token=another%20card");
	cleanup_pending(&session);
	TAP_CHECK(fake_object_find(CKO_PRIVATE_KEY) != NULL);
	TAP_CHECK(journal() != NULL);
	/* Still failing at the next login: kept for the one after. */
	free(token.uri);
	token.uri = strdup(FAKE_TOKEN_URI);
	TAP_CHECK(token_refresh(req, &token) == 0);
	token_clear(&token);
	TAP_CHECK(token_find(req, FAKE_TOKEN_URI, &token) == 0);
	fake.destroy = CKR_DEVICE_REMOVED;
	cleanup_pending(&session);
	TAP_CHECK(journal() != NULL);
	fake.destroy = CKR_OK;
	cleanup_pending(&session);
	TAP_CHECK(journal() == NULL && fake_object_find(CKO_PRIVATE_KEY) == NULL);
	EVP_PKEY_free(key);
}

int
main(void)
{
	static const struct tap_test tests[] = {
	    TAP_TEST(test_a_pair_that_goes_is_removed_and_not_remembered),
	    TAP_TEST(test_a_pair_the_card_kept_is_remembered_by_token_id_and_key),
	    TAP_TEST(test_the_next_login_removes_the_pair_and_nothing_else),
	    TAP_TEST(test_a_clean_up_waits_for_its_own_token),
	};
	char dir[] = "/tmp/cb-test-cleanup-XXXXXX";
	int r;

	helper_config.log_level = CB_LOG_ERROR;
	if (mkdtemp(dir) == NULL)
		return 1;
	setenv("XDG_STATE_HOME", dir, 1);
	snprintf(journal_path, sizeof(journal_path), "%s/cardbridge/cleanup.json", dir);
	r = tap_main(tests, sizeof(tests) / sizeof(tests[0]));
	token_session_close(&session);
	token_clear(&token);
	request_free(req);
	fake_reset();
	unlink(journal_path);
	snprintf(journal_path, sizeof(journal_path), "%s/cardbridge", dir);
	rmdir(journal_path);
	rmdir(dir);
	return r;
}
