/*
 * test-cli-policy.c - unit tests of cli/policy.c (TAP): the browser policies
 * (Chromium, Firefox) the cardbridge tool prints, and the origins it
 * refuses to put in one.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "tests/tap.h"

static char *text;

/* cardbridge browser-policy args...: the exit status; text holds what it printed. */
static int
policy(int argc, const char **argv)
{
	size_t len;
	FILE *out;
	int r;

	free(text);
	text = NULL;
	if ((out = open_memstream(&text, &len)) == NULL)
		abort();
	r = cli_browser_policy(out, argc, (char **)argv);
	fclose(out);
	return r;
}

/* The strings of the array at path a.b in the printed policy, comma-separated. */
static char *
listed(struct json_object *policy, const char *key, const char *member)
{
	struct json_object *a = json_object_object_get(policy, key);
	static char buf[256];
	size_t i;

	if (member != NULL)
		a = json_object_object_get(json_object_array_get_idx(a, 0), member);
	buf[0] = '\0';
	for (i = 0; i < json_object_array_length(a); i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "," : "",
		    json_object_get_string(json_object_array_get_idx(a, i)));
	return buf;
}

static void
test_the_policy_names_each_portal_for_loopback_and_the_launch(void)
{
	const char *argv[] = {
	    "--origin", "https://portal.example", "--origin", "http://localhost:8080"};
	struct json_object *p;

	TAP_CHECK(policy(4, argv) == CLI_OK);
	TAP_CHECK((p = json_tokener_parse(text)) != NULL);
	TAP_CHECK(strcmp(listed(p, "LoopbackNetworkAllowedForUrls", NULL),
		      "https://portal.example,http://localhost:8080") == 0);
	TAP_CHECK(strcmp(listed(p, "LocalNetworkAccessAllowedForUrls", NULL),
		      "https://portal.example,http://localhost:8080") == 0);
	TAP_CHECK(strcmp(listed(p, "AutoLaunchProtocolsFromOrigins", "allowed_origins"),
		      "https://portal.example,http://localhost:8080") == 0);
	TAP_CHECK(strcmp(json_object_get_string(json_object_object_get(
			     json_object_array_get_idx(
				 json_object_object_get(p, "AutoLaunchProtocolsFromOrigins"), 0),
			     "protocol")),
		      "cardbridge") == 0);
	json_object_put(p);
}

static void
test_the_firefox_policy_names_each_portal_for_the_launch_and_its_host_once(void)
{
	const char *argv[] = {"--origin", "https://portal.example", "--firefox", "--origin",
	    "https://portal.example:8443", "--origin", "https://b.example"};
	struct json_object *file, *p;

	TAP_CHECK(policy(7, argv) == CLI_OK);
	TAP_CHECK((file = json_tokener_parse(text)) != NULL);
	TAP_CHECK(json_object_object_length(file) == 1);
	p = json_object_object_get(file, "policies");
	TAP_CHECK(json_object_object_length(p) == 2);
	TAP_CHECK(strcmp(listed(p, "AutoLaunchProtocolsFromOrigins", "allowed_origins"),
		      "https://portal.example,https://portal.example:8443,https://b.example") == 0);
	TAP_CHECK(
	    strcmp(listed(json_object_object_get(p, "LocalNetworkAccess"), "SkipDomains", NULL),
		"portal.example,b.example") == 0);
	json_object_put(file);
}

static void
test_an_origin_the_daemon_would_refuse_gives_no_policy(void)
{
	static const char *const refused[] = {"http://portal.example", "https://portal.example/",
	    "https://Portal.example", "file:///etc", "https://portal.example:443"};
	const char *argv[] = {"--origin", "https://ok.example", "--origin", NULL};
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		argv[3] = refused[i];
		TAP_CHECK(policy(4, argv) == CLI_USAGE);
		TAP_CHECK(text != NULL && text[0] == '\0');
	}
}

static void
test_a_wrong_command_line_gives_no_policy(void)
{
	const char *odd[] = {"--origin"}, *other[] = {"--url", "https://portal.example"};
	const char *only[] = {"--firefox"},
		   *twice[] = {"--firefox", "--firefox", "--origin", "https://portal.example"};

	TAP_CHECK(policy(0, odd) == CLI_USAGE && text[0] == '\0');
	TAP_CHECK(policy(1, odd) == CLI_USAGE && text[0] == '\0');
	TAP_CHECK(policy(2, other) == CLI_USAGE && text[0] == '\0');
	TAP_CHECK(policy(1, only) == CLI_USAGE && text[0] == '\0');
	TAP_CHECK(policy(4, twice) == CLI_USAGE && text[0] == '\0');
}

int
main(void)
{
	tap_plan(4);
	tap_run("the policy names each portal for loopback and the launch",
	    test_the_policy_names_each_portal_for_loopback_and_the_launch);
	tap_run("the firefox policy names each portal for the launch and its host once",
	    test_the_firefox_policy_names_each_portal_for_the_launch_and_its_host_once);
	tap_run("an origin the daemon would refuse gives no policy",
	    test_an_origin_the_daemon_would_refuse_gives_no_policy);
	tap_run("a wrong command line gives no policy", test_a_wrong_command_line_gives_no_policy);
	free(text);
	return tap_done();
}
