/*
 * test-tokenlist.c - unit tests of pkcs11/tokenlist.c (TAP): tokens.list
 * of the in-memory token of tests/p11-fake.c, the key types it offers, and
 * the tokensChanged event.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"
#include "tests/p11-fake.h"
#include "tests/tap.h"

static int events;

/* request.c's, which would write a frame to fd 1. */
void
helper_send_event(const char *event)
{
	if (strcmp(event, "tokensChanged") == 0)
		events++;
}

/* tokens.list as JSON text, and its first token. */
static const char *
tokens_list(struct json_object **first)
{
	static char text[4096];
	struct request *req = request_new();
	struct json_object *result = NULL;

	*first = NULL;
	text[0] = '\0';
	TAP_CHECK(handle_tokens_list(req, &result) == 0);
	snprintf(text, sizeof(text), "%s",
	    json_object_to_json_string_ext(
		json_object_object_get(result, "tokens"), JSON_C_TO_STRING_PLAIN));
	*first =
	    json_object_get(json_object_array_get_idx(json_object_object_get(result, "tokens"), 0));
	json_object_put(result);
	request_free(req);
	return text;
}

static const char *
member_text(struct json_object *token, const char *key)
{
	return json_object_to_json_string_ext(
	    json_object_object_get(token, key), JSON_C_TO_STRING_PLAIN);
}

static void
test_the_key_types_are_those_keys_generate_accepts_and_the_token_can_make(void)
{
	struct json_object *t;

	fake_reset();
	fake_mechanism_add(CKM_EC_KEY_PAIR_GEN);
	fake_mechanism_add(CKM_ECDSA);
	tokens_list(&t);
	TAP_CHECK(strcmp(member_text(t, "keyTypes"),
		      "[{\"type\":\"EC\",\"curves\":[\"P-256\",\"P-384\"]}]") == 0);
	json_object_put(t);
	fake.nmechanisms = 0;
	fake_mechanism_add(CKM_RSA_PKCS_KEY_PAIR_GEN);
	fake_mechanism_add(CKM_SHA256_RSA_PKCS);
	tokens_list(&t);
	TAP_CHECK(strcmp(member_text(t, "keyTypes"),
		      "[{\"type\":\"RSA\",\"bits\":[2048,3072,4096]}]") == 0);
	json_object_put(t);
	/* A token that cannot sign gets no key type: its key could not sign a CSR. */
	fake.nmechanisms = 1;
	tokens_list(&t);
	TAP_CHECK(strcmp(member_text(t, "keyTypes"), "[]") == 0);
	json_object_put(t);
	/* EC needs SHA-256: ECDSA-SHA1 alone (OpenSC 0.23 on an IsoApplet card) is not enough. */
	fake.nmechanisms = 0;
	fake_mechanism_add(CKM_EC_KEY_PAIR_GEN);
	fake_mechanism_add(CKM_ECDSA_SHA1);
	tokens_list(&t);
	TAP_CHECK(strcmp(member_text(t, "keyTypes"), "[]") == 0);
	json_object_put(t);
	fake_mechanism_add(CKM_ECDSA_SHA256);
	tokens_list(&t);
	TAP_CHECK(strcmp(member_text(t, "keyTypes"),
		      "[{\"type\":\"EC\",\"curves\":[\"P-256\",\"P-384\"]}]") == 0);
	json_object_put(t);
}

static void
test_a_token_is_described_with_its_flags(void)
{
	struct json_object *t;

	fake_reset();
	fake.info.flags |= CKF_USER_PIN_FINAL_TRY;
	tokens_list(&t);
	TAP_CHECK(
	    strcmp(json_object_get_string(json_object_object_get(t, "label")), "fake token") == 0);
	TAP_CHECK(strcmp(json_object_get_string(json_object_object_get(t, "reader")),
		      "fake reader") == 0);
	TAP_CHECK(strcmp(member_text(t, "flags"),
		      "{\"loginRequired\":true,\"protectedAuthPath\":false,\"pinCountLow\":false,"
		      "\"pinFinalTry\":true,\"pinLocked\":false,\"writeProtected\":false}") == 0);
	/* Module by ATR is decided in the helper (claim.c): nothing internal goes out. */
	TAP_CHECK(json_object_object_get(t, "module") == NULL);
	json_object_put(t);
}

static void
test_tokens_changed_is_sent_when_the_set_of_tokens_changes(void)
{
	struct json_object *t;

	fake_reset();
	events = 0;
	tokens_list(&t);
	json_object_put(t);
	tokens_list(&t);
	json_object_put(t);
	TAP_CHECK(events == 0);
	fake.no_slots = true;
	TAP_CHECK(strcmp(tokens_list(&t), "[]") == 0 && events == 1);
	json_object_put(t);
}

int
main(void)
{
	helper_config.log_level = CB_LOG_ERROR;
	tap_plan(3);
	tap_run("the key types are those keys generate accepts and the token can make",
	    test_the_key_types_are_those_keys_generate_accepts_and_the_token_can_make);
	tap_run("a token is described with its flags", test_a_token_is_described_with_its_flags);
	tap_run("tokens changed is sent when the set of tokens changes",
	    test_tokens_changed_is_sent_when_the_set_of_tokens_changes);
	fake_reset();
	return tap_done();
}
