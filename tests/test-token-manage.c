/*
 * test-token-manage.c - unit tests of pkcs11/token_manage.c and
 * pkcs11/opensc_conf.c (TAP): what tokens.list says a token's PINs are and
 * which management operations cardbridge offers on it, for plain PKCS#11
 * tokens and for the cards OpenSC 0.23 shows, and the OpenSC configuration
 * the helper writes.  The module is tests/p11-fake.c posing as each.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pkcs11/log.h"
#include "pkcs11/opensc_conf.h"
#include "pkcs11/token.h"
#include "pkcs11/token_manage.h"
#include "tests/p11-fake.h"
#include "tests/tap.h"

static char conf_dir[] = "/tmp/cb-test-token-manage-XXXXXX";

/* A token of the fake module, posing as manufacturer/model of a module by module_maker. */
static void
token_as(struct token *t, const char *module_maker, const char *maker, const char *model)
{
	fake_token(t);
	snprintf(
	    fake_module()->manufacturer, sizeof(fake_module()->manufacturer), "%s", module_maker);
	snprintf(t->manufacturer, sizeof(t->manufacturer), "%s", maker);
	snprintf(t->model, sizeof(t->model), "%s", model);
}

/* The helper's configuration set up from a base file with this text. */
static void
conf_from(const char *text)
{
	char path[sizeof(conf_dir) + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/opensc.conf", conf_dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	setenv("OPENSC_CONF", path, 1);
	opensc_conf_setup();
}

static const char *
user_state(const struct token *t)
{
	static char state[32];
	struct json_object *pins = token_pins_json(t);

	snprintf(state, sizeof(state), "%s",
	    json_object_get_string(
		json_object_object_get(json_object_object_get(pins, "user"), "state")));
	json_object_put(pins);
	return state;
}

static void
test_a_plain_pkcs11_token_can_do_everything_but_a_second_first_pin(void)
{
	struct token_manage m;
	struct token t;
	struct json_object *pins;

	fake_reset();
	token_as(&t, "SoftHSM", "SoftHSM project", "SoftHSM v2");
	token_manage_facts(&t, &m);
	TAP_CHECK(m.kind == TOKEN_KIND_PKCS11 && m.so_pin_limits && !m.unblock_with_puk);
	TAP_CHECK(m.can[TOKEN_OP_CHANGE_PIN] && m.can[TOKEN_OP_CHANGE_SO_PIN]);
	TAP_CHECK(m.can[TOKEN_OP_UNBLOCK_PIN] && m.can[TOKEN_OP_DELETE_OBJECTS]);
	TAP_CHECK(!m.can[TOKEN_OP_INITIALIZE_PIN]);
	TAP_CHECK(strcmp(m.why[TOKEN_OP_INITIALIZE_PIN], "the user PIN is set already") == 0);
	pins = token_pins_json(&t);
	TAP_CHECK(strcmp(json_object_to_json_string_ext(pins, JSON_C_TO_STRING_PLAIN),
		      "{\"user\":{\"initialized\":true,\"state\":\"ok\",\"toBeChanged\":false},"
		      "\"so\":{\"initialized\":true,\"state\":\"ok\",\"toBeChanged\":false},"
		      "\"minLength\":4,\"maxLength\":8}") == 0);
	json_object_put(pins);
}

static void
test_without_a_user_pin_only_the_first_pin_can_be_set(void)
{
	struct token_manage m;
	struct token t;

	fake_reset();
	fake.info.flags &= ~CKF_USER_PIN_INITIALIZED;
	token_as(&t, "SoftHSM", "SoftHSM project", "SoftHSM v2");
	token_manage_facts(&t, &m);
	TAP_CHECK(m.can[TOKEN_OP_INITIALIZE_PIN]);
	TAP_CHECK(!m.can[TOKEN_OP_CHANGE_PIN] && !m.can[TOKEN_OP_UNBLOCK_PIN]);
	TAP_CHECK(strcmp(m.why[TOKEN_OP_UNBLOCK_PIN], "the token has no user PIN yet") == 0);
}

static void
test_a_write_protected_token_can_do_nothing(void)
{
	struct token_manage m;
	struct token t;
	int op;

	fake_reset();
	fake.info.flags |= CKF_WRITE_PROTECTED;
	token_as(&t, "SoftHSM", "SoftHSM project", "SoftHSM v2");
	token_manage_facts(&t, &m);
	for (op = 0; op < TOKEN_OP_COUNT; op++)
		TAP_CHECK(!m.can[op] && strcmp(m.why[op], "the token is write-protected") == 0);
}

static void
test_openpgp_cards_unblock_with_the_admin_pin_and_delete_nothing(void)
{
	struct token_manage m;
	struct token t;

	fake_reset();
	conf_from("app default {\n\tcard_drivers = openpgp, internal;\n}\n");
	token_as(&t, "OpenSC Project", "OpenPGP project", "PKCS#15 emulated");
	token_manage_facts(&t, &m);
	TAP_CHECK(m.kind == TOKEN_KIND_OPENPGP && !m.unblock_with_puk && !m.so_pin_limits);
	TAP_CHECK(m.can[TOKEN_OP_UNBLOCK_PIN] && m.can[TOKEN_OP_CHANGE_SO_PIN]);
	TAP_CHECK(!m.can[TOKEN_OP_DELETE_OBJECTS] && !m.can[TOKEN_OP_INITIALIZE_PIN]);
	TAP_CHECK(strstr(m.why[TOKEN_OP_DELETE_OBJECTS], "openpgp-tool --erase") != NULL);
}

static void
test_openpgp_flags_of_spec_below_3_1_are_unknown_through_opensc_below_0_27(void)
{
	struct token t;

	fake_reset();
	fake.info.flags |= CKF_USER_PIN_LOCKED;
	fake.library_version = (CK_VERSION){0, 23};
	token_as(&t, "OpenSC Project", "OpenPGP project", "PKCS#15 emulated");
	t.info.firmwareVersion = (CK_VERSION){2, 1};
	TAP_CHECK(strcmp(user_state(&t), "unknown") == 0);
	t.info.firmwareVersion = (CK_VERSION){3, 4};
	TAP_CHECK(strcmp(user_state(&t), "locked") == 0);
	fake.library_version = (CK_VERSION){0, 27};
	t.info.firmwareVersion = (CK_VERSION){2, 1};
	TAP_CHECK(strcmp(user_state(&t), "locked") == 0);
}

static void
test_pkcs15_cards_unblock_with_the_puk_and_tell_only_bad_news(void)
{
	struct token_manage m;
	struct token t;
	struct json_object *pins;

	fake_reset();
	token_as(&t, "OpenSC Project", "unknown", "PKCS#15");
	token_manage_facts(&t, &m);
	TAP_CHECK(m.kind == TOKEN_KIND_PKCS15 && m.unblock_with_puk);
	TAP_CHECK(m.can[TOKEN_OP_UNBLOCK_PIN] && m.can[TOKEN_OP_DELETE_OBJECTS]);
	TAP_CHECK(!m.can[TOKEN_OP_CHANGE_SO_PIN] && !m.can[TOKEN_OP_INITIALIZE_PIN]);
	TAP_CHECK(strcmp(user_state(&t), "unknown") == 0);
	t.info.flags |= CKF_USER_PIN_FINAL_TRY;
	TAP_CHECK(strcmp(user_state(&t), "finalTry") == 0);
	pins = token_pins_json(&t);
	TAP_CHECK(json_object_object_get(pins, "so") == NULL);
	TAP_CHECK(json_object_get_type(json_object_object_get(
		      json_object_object_get(pins, "user"), "toBeChanged")) == json_type_null);
	json_object_put(pins);
}

static void
test_myeid_cannot_unblock_or_set_a_first_pin_through_opensc(void)
{
	struct token_manage m;
	struct token t;

	fake_reset();
	token_as(&t, "OpenSC Project", "Aventra Ltd.", "PKCS#15");
	token_manage_facts(&t, &m);
	TAP_CHECK(m.kind == TOKEN_KIND_MYEID);
	TAP_CHECK(!m.can[TOKEN_OP_UNBLOCK_PIN] &&
		  strstr(m.why[TOKEN_OP_UNBLOCK_PIN], "pkcs15-tool --unblock-pin") != NULL);
	fake.info.flags &= ~CKF_USER_PIN_INITIALIZED;
	token_as(&t, "OpenSC Project", "Aventra Ltd.", "PKCS#15");
	t.info.flags &= ~CKF_USER_PIN_INITIALIZED;
	token_manage_facts(&t, &m);
	TAP_CHECK(!m.can[TOKEN_OP_INITIALIZE_PIN] &&
		  strstr(m.why[TOKEN_OP_INITIALIZE_PIN], "needs a PUK") != NULL);
}

static void
test_a_configuration_with_its_own_pkcs11_block_is_kept_and_blocks_unblocking(void)
{
	struct token_manage m;
	struct token t;
	const char *why;

	fake_reset();
	conf_from("app default {\n\t# pkcs11 { in a comment }\n\tpkcs11 {\n\t\tslots_per_card = "
		  "2;\n\t}\n}\n");
	TAP_CHECK(!opensc_conf_unblock(&why) && strstr(why, "PKCS#11 settings of its own") != NULL);
	TAP_CHECK(strstr(getenv("OPENSC_CONF"), "/proc/self/fd/") == NULL);
	token_as(&t, "OpenSC Project", "unknown", "PKCS#15");
	token_manage_facts(&t, &m);
	TAP_CHECK(!m.can[TOKEN_OP_UNBLOCK_PIN] && m.why[TOKEN_OP_UNBLOCK_PIN] == why);
	/* Unless it unblocks as we would. */
	conf_from("app \"opensc-pkcs11\" { pkcs11 { user_pin_unblock_style = "
		  "init_pin_in_so_session; } }\n");
	TAP_CHECK(opensc_conf_unblock(NULL));
}

static void
test_otherwise_the_configuration_gets_our_block_in_a_memfd(void)
{
	char text[4096] = "";
	size_t n;
	FILE *f;

	conf_from("app default {\n\tcard_drivers = openpgp, internal;\n}\n");
	TAP_CHECK(opensc_conf_unblock(NULL));
	TAP_CHECK(strncmp(getenv("OPENSC_CONF"), "/proc/self/fd/", 14) == 0);
	if ((f = fopen(getenv("OPENSC_CONF"), "r")) != NULL) {
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	TAP_CHECK(strstr(text, "app default {\n\tcard_drivers = openpgp, internal;\n}\n") == text);
	TAP_CHECK(strstr(text, "app opensc-pkcs11 {\n\tpkcs11 {\n\t\tuser_pin_unblock_style = "
			       "init_pin_in_so_session;\n\t}\n}\n") != NULL);
}

static const struct tap_test tests[] = {
    TAP_TEST(test_a_plain_pkcs11_token_can_do_everything_but_a_second_first_pin),
    TAP_TEST(test_without_a_user_pin_only_the_first_pin_can_be_set),
    TAP_TEST(test_a_write_protected_token_can_do_nothing),
    TAP_TEST(test_openpgp_cards_unblock_with_the_admin_pin_and_delete_nothing),
    TAP_TEST(test_openpgp_flags_of_spec_below_3_1_are_unknown_through_opensc_below_0_27),
    TAP_TEST(test_pkcs15_cards_unblock_with_the_puk_and_tell_only_bad_news),
    TAP_TEST(test_myeid_cannot_unblock_or_set_a_first_pin_through_opensc),
    TAP_TEST(test_a_configuration_with_its_own_pkcs11_block_is_kept_and_blocks_unblocking),
    TAP_TEST(test_otherwise_the_configuration_gets_our_block_in_a_memfd),
};

int
main(void)
{
	char path[sizeof(conf_dir) + 32];
	int r;

	helper_config.log_level = CB_LOG_ERROR;
	if (mkdtemp(conf_dir) == NULL)
		return 1;
	r = tap_main(tests, sizeof(tests) / sizeof(tests[0]));
	fake_reset();
	snprintf(path, sizeof(path), "%s/opensc.conf", conf_dir);
	unlink(path);
	rmdir(conf_dir);
	return r;
}
