/*
 * test-cli-client.c - unit tests of cli/client.c (TAP): reading the
 * control socket's answer line, and finding the socket's path.
 *
 * An answer line comes from whatever listens on the control socket: only
 * one JSON object with our id is an answer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "tests/tap.h"

static struct json_object *result;
static char *message;

static int
parse(const char *line)
{
	json_object_put(result);
	free(message);
	return cli_parse_answer(line, &result, &message);
}

static void
test_a_result_is_taken_with_our_id(void)
{
	TAP_CHECK(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pid\":42}}\n") == CLI_OK);
	TAP_CHECK(message == NULL);
	TAP_CHECK(json_object_get_int(json_object_object_get(result, "pid")) == 42);
	TAP_CHECK(parse("{\"id\":1,\"result\":{}}  \r\n") == CLI_OK);
}

static void
test_an_error_gives_the_daemons_message(void)
{
	TAP_CHECK(parse("{\"id\":1,\"error\":{\"code\":-32602,\"message\":\"bad origin\"}}\n") ==
		  CLI_FAILED);
	TAP_CHECK(result == NULL && message != NULL && strcmp(message, "bad origin") == 0);
}

static void
test_an_answer_with_another_id_is_not_ours(void)
{
	TAP_CHECK(parse("{\"id\":2,\"result\":{}}\n") == CLI_FAILED);
	TAP_CHECK(strcmp(message, "the daemon sent an answer that is not ours") == 0);
	/* "1" and 1.0 are not the integer id we sent. */
	TAP_CHECK(parse("{\"id\":\"1\",\"result\":{}}\n") == CLI_FAILED);
	TAP_CHECK(strcmp(message, "the daemon sent an answer that is not ours") == 0);
	TAP_CHECK(parse("{\"id\":1.0,\"result\":{}}\n") == CLI_FAILED);
	TAP_CHECK(parse("{\"result\":{}}\n") == CLI_FAILED);
	TAP_CHECK(result == NULL);
}

static void
test_a_line_that_is_not_one_json_object_is_malformed(void)
{
	static const char *const lines[] = {
	    "\n",
	    "not json\n",
	    "[1,2]\n",
	    "{\"id\":1,\"result\":{}} trailing\n",
	    "{\"id\":1,\"result\":{}}{\"id\":1}\n",
	    "{\"id\":1,\"result\":\n",
	    "{\"id\":1,\"error\":{\"message\":{\"nested\":true}}}\n",
	    "{\"id\":1}\n",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		TAP_CHECK(parse(lines[i]) == CLI_FAILED);
		TAP_CHECK(result == NULL);
		TAP_CHECK(
		    message != NULL && strcmp(message, "the daemon sent a malformed answer") == 0);
	}
}

static void
test_the_control_socket_is_in_xdg_runtime_dir_unless_given(void)
{
	struct cli_options given = {"/run/custom/control", false}, dflt = {NULL, false};
	char *path;

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	TAP_CHECK((path = cli_control_path(&dflt)) != NULL &&
		  strcmp(path, "/run/user/1000/cardbridge/control") == 0);
	free(path);
	TAP_CHECK(
	    (path = cli_control_path(&given)) != NULL && strcmp(path, "/run/custom/control") == 0);
	free(path);
	/* A relative runtime directory is not one. */
	setenv("XDG_RUNTIME_DIR", "run/user/1000", 1);
	TAP_CHECK(cli_control_path(&dflt) == NULL);
	unsetenv("XDG_RUNTIME_DIR");
	TAP_CHECK(cli_control_path(&dflt) == NULL);
}

int
main(void)
{
	tap_plan(5);
	tap_run("a result is taken with our id", test_a_result_is_taken_with_our_id);
	tap_run("an error gives the daemons message", test_an_error_gives_the_daemons_message);
	tap_run(
	    "an answer with another id is not ours", test_an_answer_with_another_id_is_not_ours);
	tap_run("a line that is not one json object is malformed",
	    test_a_line_that_is_not_one_json_object_is_malformed);
	tap_run("the control socket is in xdg runtime dir unless given",
	    test_the_control_socket_is_in_xdg_runtime_dir_unless_given);
	json_object_put(result);
	free(message);
	return tap_done();
}
