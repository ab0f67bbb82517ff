/*
 * test-conf.c - unit tests of daemon/conf.c, cardbridged's configuration
 * (TAP).
 *
 * Every value is checked once, at start-up: an unknown key, a wrong type,
 * a value out of range or an address that is not loopback stops the start.
 * Sources are read in order (system file, user file, --config): a later
 * scalar wins, lists of origins and modules add up, and a file's "listen"
 * replaces the addresses before it.  Everything happens in a temporary
 * directory; HOME and XDG_CONFIG_HOME point there, never at the user's.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/conf.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "tests/daemon-unit.h"
#include "tests/tap.h"

static const char *dir; /* the test's temporary directory */

/* Write text to dir/name; the path stays valid until the next call but one. */
static const char *
write_file(const char *name, const char *text)
{
	static char path[2][256];
	static int which;
	char *p = path[which++ % 2];
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL)
		return p;
	fputs(text, f);
	fclose(f);
	return p;
}

/* Load one file's text into a fresh configuration: the result code. */
static int
load_text(struct cb_config *cfg, const char *text)
{
	config_init(cfg);
	return config_load_file(cfg, write_file("one.json", text), true);
}

static bool
refused(const char *text)
{
	struct cb_config cfg;
	int r = load_text(&cfg, text);

	config_free(&cfg);
	return r == CB_ERR_CONFIG;
}

static void
test_defaults_are_safe(void)
{
	struct cb_config cfg;

	config_init(&cfg);
	TAP_CHECK(cfg.norigins == 0 && cfg.nlisten == 0 && cfg.nmodules == 0);
	TAP_CHECK(cfg.ask_unknown_origins && cfg.card_watch);
	TAP_CHECK(cfg.max_message == 256 * 1024 && cfg.max_depth == 16);
	TAP_CHECK(cfg.max_connections == 256 && cfg.max_in_flight == 8);
	TAP_CHECK(cfg.idle_exit == 300 && cfg.control_socket == NULL);
	TAP_CHECK(config_finish(&cfg) == 0);
	TAP_CHECK(cfg.nlisten == 2);
	TAP_CHECK(strcmp(cfg.listen[0].addr, "127.0.0.1") == 0 && cfg.listen[0].port == 48801);
	TAP_CHECK(strcmp(cfg.listen[1].addr, "::1") == 0 && cfg.listen[1].optional);
	TAP_CHECK(cfg.pinentry && strcmp(cfg.pinentry, "pinentry") == 0);
	TAP_CHECK(cfg.helper && strstr(cfg.helper, "cardbridge-pkcs11-helper"));
	config_free(&cfg);
}

static void
test_every_key_is_read(void)
{
	struct cb_config cfg;

	TAP_CHECK(load_text(&cfg,
		      "{\"listen\": [\"127.0.0.1:4000\", \"[::1]:4001\"],"
		      " \"allowedOrigins\": [\"https://portal.example\"],"
		      " \"logLevel\": \"debug\", \"pinentry\": \"/usr/bin/pinentry-gnome3\","
		      " \"unknownOrigins\": \"refuse\", \"cardEvents\": false,"
		      " \"controlSocket\": \"\", \"idleExitSeconds\": 0,"
		      " \"promptTimeoutSeconds\": 30, \"operationTimeoutSeconds\": 900,"
		      " \"modules\": [{\"path\": \"/nonexistent/m.so\", \"atr\": [\"3b8f80\", "
		      "\"3b00/ff00\"]}],"
		      " \"limits\": {\"maxMessageBytes\": 2048, \"maxDepth\": 8,"
		      " \"maxConnections\": 3, \"maxInFlight\": 2, \"idleTimeoutSeconds\": 5,"
		      " \"handshakeTimeoutSeconds\": 4}}") == 0);
	TAP_CHECK(cfg.nlisten == 2 && cfg.listen[0].port == 4000);
	TAP_CHECK(strcmp(cfg.listen[1].addr, "::1") == 0 && cfg.listen[1].port == 4001);
	TAP_CHECK(cfg.norigins == 1 && strcmp(cfg.origins[0], "https://portal.example") == 0);
	TAP_CHECK(cfg.log_level == LOG_LVL_DEBUG);
	TAP_CHECK(strcmp(cfg.pinentry, "/usr/bin/pinentry-gnome3") == 0);
	TAP_CHECK(!cfg.ask_unknown_origins && !cfg.card_watch);
	TAP_CHECK(cfg.control_socket && cfg.control_socket[0] == '\0');
	TAP_CHECK(cfg.idle_exit == 0 && cfg.prompt_timeout == 30 && cfg.operation_timeout == 900);
	TAP_CHECK(cfg.nmodules == 1 && cfg.modules[0].natrs == 2);
	TAP_CHECK(strcmp(cfg.modules[0].atrs[1], "3b00/ff00") == 0);
	TAP_CHECK(cfg.max_message == 2048 && cfg.max_depth == 8);
	TAP_CHECK(cfg.max_connections == 3 && cfg.max_in_flight == 2);
	TAP_CHECK(cfg.idle_timeout == 5 && cfg.handshake_timeout == 4);
	config_free(&cfg);
}

static void
test_unknown_keys_stop_the_start(void)
{
	TAP_CHECK(refused("{\"allowedOrigin\": []}"));
	TAP_CHECK(refused("{\"limits\": {\"maxMessages\": 5}}"));
	TAP_CHECK(refused("{\"modules\": [{\"path\": \"/m.so\", \"atrs\": []}]}"));
	TAP_CHECK(!refused("{}"));
}

static void
test_wrong_types_stop_the_start(void)
{
	TAP_CHECK(refused("{\"listen\": \"127.0.0.1:1\"}"));
	TAP_CHECK(refused("{\"listen\": [1]}"));
	TAP_CHECK(refused("{\"allowedOrigins\": \"https://portal.example\"}"));
	TAP_CHECK(refused("{\"logLevel\": 7}"));
	TAP_CHECK(refused("{\"logLevel\": \"verbose\"}"));
	TAP_CHECK(refused("{\"limits\": []}"));
	TAP_CHECK(refused("{\"limits\": {\"maxDepth\": \"8\"}}"));
	TAP_CHECK(refused("{\"limits\": {\"maxDepth\": 8.5}}"));
	TAP_CHECK(refused("{\"modules\": {}}"));
	TAP_CHECK(refused("{\"modules\": [\"/m.so\"]}"));
	TAP_CHECK(refused("{\"modules\": [{\"atr\": []}]}"));
	TAP_CHECK(refused("{\"modules\": [{\"path\": \"/m.so\", \"atr\": \"3b\"}]}"));
	TAP_CHECK(refused("{\"pinentry\": false}"));
	TAP_CHECK(refused("{\"unknownOrigins\": true}"));
	TAP_CHECK(refused("{\"cardEvents\": \"no\"}"));
	TAP_CHECK(refused("{\"controlSocket\": null}"));
	TAP_CHECK(refused("{\"idleExitSeconds\": \"300\"}"));
}

static void
test_values_out_of_range_stop_the_start(void)
{
	TAP_CHECK(refused("{\"limits\": {\"maxMessageBytes\": 1023}}"));
	TAP_CHECK(refused("{\"limits\": {\"maxDepth\": 65}}"));
	TAP_CHECK(refused("{\"limits\": {\"maxConnections\": 0}}"));
	TAP_CHECK(refused("{\"idleExitSeconds\": -1}"));
	TAP_CHECK(refused("{\"promptTimeoutSeconds\": 0}"));
	TAP_CHECK(refused("{\"operationTimeoutSeconds\": 0}"));
	TAP_CHECK(refused("{\"operationTimeoutSeconds\": \"600\"}"));
	TAP_CHECK(refused("{\"unknownOrigins\": \"allow\"}"));
	TAP_CHECK(refused("{\"modules\": [{\"path\": \"/m.so\", \"atr\": [\"3g\"]}]}"));
	TAP_CHECK(refused("{\"controlSocket\": \"relative/control\"}"));
}

static void
test_origins_must_be_canonical(void)
{
	TAP_CHECK(refused("{\"allowedOrigins\": [\"https://Portal.example\"]}"));
	TAP_CHECK(refused("{\"allowedOrigins\": [\"https://portal.example/\"]}"));
	TAP_CHECK(refused("{\"allowedOrigins\": [\"https://portal.example:443\"]}"));
	TAP_CHECK(refused("{\"allowedOrigins\": [\"http://portal.example\"]}"));
	TAP_CHECK(refused("{\"allowedOrigins\": [\"*\"]}"));
	TAP_CHECK(!refused("{\"allowedOrigins\": [\"http://localhost:8080\"]}"));
}

static void
test_listen_addresses_must_be_loopback(void)
{
	struct cb_config cfg;

	TAP_CHECK(refused("{\"listen\": [\"0.0.0.0:48801\"]}"));
	TAP_CHECK(refused("{\"listen\": [\"192.168.1.2:48801\"]}"));
	TAP_CHECK(refused("{\"listen\": [\"[::]:48801\"]}"));
	TAP_CHECK(refused("{\"listen\": [\"127.0.0.1\"]}"));
	TAP_CHECK(refused("{\"listen\": [\"127.0.0.1:0\"]}"));
	TAP_CHECK(refused("{\"listen\": [\"127.0.0.1:65536\"]}"));
	TAP_CHECK(refused("{\"listen\": [\"[::1:48801\"]}"));
	TAP_CHECK(load_text(&cfg, "{\"listen\": [\"localhost:9\", \"127.1.2.3:10\"]}") == 0);
	TAP_CHECK(cfg.nlisten == 2 && strcmp(cfg.listen[0].addr, "127.0.0.1") == 0);
	TAP_CHECK(strcmp(cfg.listen[1].addr, "127.1.2.3") == 0 && cfg.listen[1].port == 10);
	config_free(&cfg);
}

static void
test_damaged_files_stop_the_start(void)
{
	struct cb_config cfg;
	char sub[128];

	TAP_CHECK(refused("{\"listen\": ["));
	TAP_CHECK(refused("[]"));
	TAP_CHECK(refused("\"text\""));
	snprintf(sub, sizeof(sub), "%s/a-directory", dir);
	mkdir(sub, 0700);
	config_init(&cfg);
	TAP_CHECK(config_load_file(&cfg, sub, false) == CB_ERR_CONFIG);
	config_free(&cfg);
}

static void
test_a_missing_file_is_fine_unless_named(void)
{
	struct cb_config cfg;
	char path[128];

	snprintf(path, sizeof(path), "%s/nowhere.json", dir);
	config_init(&cfg);
	TAP_CHECK(config_load_file(&cfg, path, false) == 0);
	TAP_CHECK(config_load_file(&cfg, path, true) == CB_ERR_CONFIG);
	config_free(&cfg);
}

static void
test_later_sources_win_and_lists_add_up(void)
{
	struct cb_config cfg;
	const char *system, *user;

	system = write_file("system.json",
	    "{\"logLevel\": \"warn\", \"allowedOrigins\": [\"https://a.example\"],"
	    " \"listen\": [\"127.0.0.1:1000\", \"127.0.0.1:1001\"],"
	    " \"modules\": [{\"path\": \"/a.so\"}], \"limits\": {\"maxDepth\": 10}}");
	user = write_file("user.json",
	    "{\"logLevel\": \"debug\", \"allowedOrigins\": [\"https://b.example\","
	    " \"https://a.example\"], \"listen\": [\"127.0.0.1:2000\"],"
	    " \"modules\": [{\"path\": \"/b.so\"}]}");
	config_init(&cfg);
	TAP_CHECK(config_load_file(&cfg, system, true) == 0);
	TAP_CHECK(config_load_file(&cfg, user, true) == 0);
	TAP_CHECK(cfg.log_level == LOG_LVL_DEBUG);
	TAP_CHECK(cfg.max_depth == 10); /* not mentioned later: kept */
	TAP_CHECK(cfg.norigins == 2 && strcmp(cfg.origins[0], "https://a.example") == 0 &&
		  strcmp(cfg.origins[1], "https://b.example") == 0);
	TAP_CHECK(cfg.nmodules == 2);
	/* A file's listen list replaces the earlier one. */
	TAP_CHECK(cfg.nlisten == 1 && cfg.listen[0].port == 2000);
	config_free(&cfg);
}

static void
test_defaults_read_the_system_then_the_xdg_user_file(void)
{
	struct cb_config cfg;
	char xdg[128], sub[160];

	snprintf(xdg, sizeof(xdg), "%s/xdg", dir);
	snprintf(sub, sizeof(sub), "%s/cardbridge", xdg);
	mkdir(xdg, 0700);
	mkdir(sub, 0700);
	write_file("xdg/cardbridge/config.json",
	    "{\"promptTimeoutSeconds\": 77, \"allowedOrigins\": [\"https://u.example\"]}");
	write_file("sys.json", "{\"promptTimeoutSeconds\": 11, \"idleExitSeconds\": 12,"
			       " \"allowedOrigins\": [\"https://s.example\"]}");
	setenv("XDG_CONFIG_HOME", xdg, 1);
	config_init(&cfg);
	snprintf(sub, sizeof(sub), "%s/sys.json", dir);
	TAP_CHECK(config_load_defaults_from(&cfg, sub) == 0);
	TAP_CHECK(cfg.prompt_timeout == 77 && cfg.idle_exit == 12);
	TAP_CHECK(cfg.norigins == 2 && strcmp(cfg.origins[0], "https://s.example") == 0);
	config_free(&cfg);
}

static void
test_the_user_file_falls_back_to_home_and_needs_absolute_paths(void)
{
	struct cb_config cfg;
	char home[128], sub[192];

	snprintf(home, sizeof(home), "%s/home", dir);
	mkdir(home, 0700);
	snprintf(sub, sizeof(sub), "%s/.config", home);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/.config/cardbridge", home);
	mkdir(sub, 0700);
	write_file("home/.config/cardbridge/config.json", "{\"idleExitSeconds\": 33}");
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", "relative/xdg", 1); /* not absolute: ignored */
	config_init(&cfg);
	snprintf(sub, sizeof(sub), "%s/no-system.json", dir);
	TAP_CHECK(config_load_defaults_from(&cfg, sub) == 0);
	TAP_CHECK(cfg.idle_exit == 33);
	config_free(&cfg);
	setenv("HOME", "relative/home", 1);
	config_init(&cfg);
	TAP_CHECK(config_load_defaults_from(&cfg, sub) == 0);
	TAP_CHECK(cfg.idle_exit == 300); /* no user file at all */
	config_free(&cfg);
}

static void
test_flags_helpers_check_their_values(void)
{
	struct cb_config cfg;

	config_init(&cfg);
	TAP_CHECK(config_add_origin(&cfg, "https://portal.example") == 0);
	TAP_CHECK(config_add_origin(&cfg, "https://portal.example") == 0);
	TAP_CHECK(cfg.norigins == 1);
	TAP_CHECK(config_add_origin(&cfg, "portal.example") == CB_ERR_CONFIG);
	TAP_CHECK(config_set_control_socket(&cfg, "control") == CB_ERR_CONFIG);
	TAP_CHECK(config_set_control_socket(&cfg, "/run/x/control") == 0);
	TAP_CHECK(strcmp(cfg.control_socket, "/run/x/control") == 0);
	TAP_CHECK(config_add_listen(&cfg, "[::1]:7") == 0 && cfg.nlisten == 1);
	config_clear_listen(&cfg);
	TAP_CHECK(cfg.nlisten == 0);
	config_free(&cfg);
}

static void
test_budgets_follow_the_methods_table(void)
{
	struct cb_config cfg;
	const struct proto_method *m;
	int seen = 0;

	config_init(&cfg);
	/* The default: at least 10 minutes for a card operation (doc/PROTOCOL.md). */
	TAP_CHECK(cfg.operation_timeout == PROTO_DEFAULT_OPERATION_TIMEOUT_S &&
		  cfg.operation_timeout >= 600);
	cfg.prompt_timeout = 45;
	cfg.operation_timeout = 33;
	for (m = proto_methods; m->name; m++) {
		if (m->budget == PROTO_BUDGET_NONE)
			TAP_CHECK(config_budget_s(&cfg, m) == 0);
		else if (m->budget == PROTO_BUDGET_FIXED)
			TAP_CHECK(config_budget_s(&cfg, m) == m->timeout_s);
		else if (m->budget == PROTO_BUDGET_OPERATION)
			TAP_CHECK(config_budget_s(&cfg, m) == 33 &&
				  m->timeout_s == PROTO_DEFAULT_OPERATION_TIMEOUT_S);
		else
			TAP_CHECK(config_budget_s(&cfg, m) == 45 + m->timeout_s);
		seen |= 1 << m->budget;
	}
	TAP_CHECK(seen == 15); /* the table has all four kinds */
	TAP_CHECK(config_budget_s(&cfg, proto_method_find("keys.generate", PROTO_M_PAGE)) == 33);
	config_free(&cfg);
}

int
main(void)
{
	static const struct unit_test tests[] = {
	    UNIT_TEST(test_defaults_are_safe),
	    UNIT_TEST(test_every_key_is_read),
	    UNIT_TEST(test_unknown_keys_stop_the_start),
	    UNIT_TEST(test_wrong_types_stop_the_start),
	    UNIT_TEST(test_values_out_of_range_stop_the_start),
	    UNIT_TEST(test_origins_must_be_canonical),
	    UNIT_TEST(test_listen_addresses_must_be_loopback),
	    UNIT_TEST(test_damaged_files_stop_the_start),
	    UNIT_TEST(test_a_missing_file_is_fine_unless_named),
	    UNIT_TEST(test_later_sources_win_and_lists_add_up),
	    UNIT_TEST(test_defaults_read_the_system_then_the_xdg_user_file),
	    UNIT_TEST(test_the_user_file_falls_back_to_home_and_needs_absolute_paths),
	    UNIT_TEST(test_flags_helpers_check_their_values),
	    UNIT_TEST(test_budgets_follow_the_methods_table),
	};
	int r;

	dir = unit_dir;
	r = unit_run("test-conf", tests, sizeof(tests) / sizeof(tests[0]));
	return r;
}
