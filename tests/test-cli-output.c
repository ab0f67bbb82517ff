/*
 * test-cli-output.c - unit tests of cli/output.c (TAP): what the
 * cardbridge tool prints for the daemon's answers, in English (the
 * catalogs are not bound here), read back from a memory stream.
 *
 * Token labels, readers and module paths come from cards and
 * configuration: they must reach the terminal without control bytes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "tests/tap.h"

static char *text;

/* What printer printed for the answer json. */
static const char *
printed(void (*printer)(FILE *out, struct json_object *answer), const char *json)
{
	struct json_object *answer = json_tokener_parse(json);
	size_t len;
	FILE *out;

	free(text);
	text = NULL;
	if ((out = open_memstream(&text, &len)) == NULL)
		abort();
	printer(out, answer);
	fclose(out);
	json_object_put(answer);
	return text;
}

static void
print_tokens(FILE *out, struct json_object *tokens)
{
	cli_print_tokens(out, tokens, "");
}

static void
print_allow(FILE *out, struct json_object *change)
{
	cli_print_change(out, "allow", change);
}

static void
print_revoke(FILE *out, struct json_object *change)
{
	cli_print_change(out, "revoke", change);
}

static void
test_a_token_is_printed_with_its_reader_and_uri_in_columns(void)
{
	TAP_CHECK(
	    strcmp(printed(print_tokens,
		       "[{\"label\":\"Work card\",\"manufacturer\":\"ACME\",\"model\":\"PIV\","
		       "\"serial\":\"3f0e\",\"reader\":\"Reader 0\",\"uri\":\"pkcs11:token=W\"}]"),
		"Work card (ACME PIV, serial 3f0e)\n"
		"  reader: Reader 0\n"
		"  uri:    pkcs11:token=W\n") == 0);
	TAP_CHECK(strcmp(printed(print_tokens, "[]"), "no token\n") == 0);
}

static void
test_card_text_reaches_the_terminal_without_control_bytes(void)
{
	const char *out = printed(print_tokens,
	    "[{\"label\":\"evil\\u001b[2J\\u0007\",\"manufacturer\":\"\\u00c5CME\",\"model\":\"m\","
	    "\"serial\":\"1\\r2\",\"reader\":\"r\\u009b1\",\"uri\":\"u\"}]");
	size_t i;

	for (i = 0; out[i] != '\0'; i++)
		TAP_CHECK(out[i] == '\n' || ((unsigned char)out[i] >= 0x20 && out[i] < 0x7f));
	TAP_CHECK(strstr(out, "evil?[2J?") != NULL);
	/* Non-ASCII is replaced byte by byte. */
	TAP_CHECK(strstr(out, "??CME") != NULL && strstr(out, "1?2") != NULL);
}

static void
test_status_lines_its_values_up_in_one_column(void)
{
	TAP_CHECK(
	    strcmp(printed(cli_print_status,
		       "{\"version\":\"1.0\",\"pid\":42,\"socketActivated\":false,"
		       "\"listen\":[\"127.0.0.1:48801\"],\"controlSocket\":\"/run/c\","
		       "\"sessions\":2,\"modules\":[{\"path\":\"/m.so\",\"ok\":true},"
		       "{\"path\":\"/x.so\",\"ok\":false,\"error\":\"cannot load\"}],"
		       "\"readers\":[],\"origins\":{\"administrator\":[\"https://a.example\"],"
		       "\"user\":[]}}"),
		"cardbridged 1.0 is running (pid 42)\n"
		"  listening:        127.0.0.1:48801\n"
		"  control socket:   /run/c\n"
		"  connections:      2\n"
		"  modules:\n"
		"    /m.so (ok)\n"
		"    /x.so (failed: cannot load)\n"
		"  readers:          none\n"
		"  tokens:           not read since the last card event (run: cardbridge "
		"tokens)\n"
		"  origins (admin):  https://a.example\n"
		"  origins (user):   none\n") == 0);
}

static void
test_origins_are_listed_with_who_allowed_them(void)
{
	TAP_CHECK(strcmp(printed(cli_print_origins,
			     "{\"administrator\":[\"https://a.example\"],"
			     "\"user\":[\"https://b.example\",\"https://c.example\"]}"),
		      "https://a.example\tadministrator\n"
		      "https://b.example\tuser\n"
		      "https://c.example\tuser\n") == 0);
}

static void
test_an_origin_change_says_what_happened(void)
{
	TAP_CHECK(
	    strcmp(printed(print_allow, "{\"origin\":\"https://a.example\",\"changed\":true}"),
		"https://a.example: allowed\n") == 0);
	TAP_CHECK(strcmp(printed(print_allow, "{\"origin\":\"https://a.example\",\"changed\":false,"
					      "\"source\":\"administrator\"}"),
		      "https://a.example: already allowed (by the administrator)\n") == 0);
	TAP_CHECK(strcmp(printed(print_revoke, "{\"origin\":\"https://a.example\",\"changed\":true,"
					       "\"closedConnections\":2}"),
		      "https://a.example: revoked (2 open connection(s) closed)\n") == 0);
}

int
main(void)
{
	tap_plan(5);
	tap_run("a token is printed with its reader and uri in columns",
	    test_a_token_is_printed_with_its_reader_and_uri_in_columns);
	tap_run("card text reaches the terminal without control bytes",
	    test_card_text_reaches_the_terminal_without_control_bytes);
	tap_run("status lines its values up in one column",
	    test_status_lines_its_values_up_in_one_column);
	tap_run("origins are listed with who allowed them",
	    test_origins_are_listed_with_who_allowed_them);
	tap_run("an origin change says what happened", test_an_origin_change_says_what_happened);
	free(text);
	return tap_done();
}
