/*
 * cardbridge.c - the cardbridge command-line tool: command line and output.
 *
 *   cardbridge open URL                  the cardbridge:// scheme handler (launch.c)
 *   cardbridge status                    is cardbridged running, and with what
 *   cardbridge tokens                    the tokens cardbridged sees
 *   cardbridge origins list|allow|revoke the user's origin allow-list
 *
 * Everything but "open" is one request on the control socket (client.c).
 * Text that came from a card or a configuration (labels, readers, paths)
 * is printed with control characters replaced, so a token label cannot
 * drive the terminal.  This file must never talk to the browser port.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "protocol/origin.h"

#define CALL_TIMEOUT_MS 5000
#define TOKENS_TIMEOUT_MS 135000	/* the daemon gives the helper 130 s */

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: cardbridge [OPTION]... COMMAND [ARG]...\n"
	    "Control cardbridged, the local smart-card helper for web portals.\n"
	    "\n"
	    "Commands:\n"
	    "  open URL               handle a cardbridge:// link: start cardbridged if it\n"
	    "                         is not running (only cardbridge://start is known)\n"
	    "  status                 is cardbridged running; listeners, modules, tokens\n"
	    "  tokens                 list the tokens cardbridged sees\n"
	    "  origins list           list the allowed origins (administrator's and yours)\n"
	    "  origins allow ORIGIN   allow a portal, e.g. https://portal.example\n"
	    "  origins revoke ORIGIN  take back an origin you allowed\n"
	    "  browser-policy --origin ORIGIN [--origin ORIGIN]...\n"
	    "                         print a Chromium/Chrome managed policy that lets\n"
	    "                         these portals reach cardbridge without prompts\n"
	    "\n"
	    "Options:\n"
	    "  --control-socket PATH  cardbridged's control socket\n"
	    "                         (default: $XDG_RUNTIME_DIR/cardbridge/control)\n"
	    "  --json                 print the daemon's answer as JSON\n"
	    "  --version              print the version and exit\n"
	    "  --help                 print this help and exit\n");
}

/* Print s with control and non-ASCII bytes as '?': card data is not trusted. */
static void
print_safe(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?');
}

static const char *
str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static void
print_list(const char *title, struct json_object *a)
{
	size_t i, n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	printf("  %-18s", title);
	if (n == 0)
		printf("none");
	for (i = 0; i < n; i++) {
		printf("%s", i ? ", " : "");
		print_safe(json_object_get_string(json_object_array_get_idx(a, i)));
	}
	putchar('\n');
}

static void
print_tokens(struct json_object *tokens, const char *indent)
{
	size_t i, n = json_object_is_type(tokens, json_type_array) ?
	    json_object_array_length(tokens) : 0;
	struct json_object *t;

	if (n == 0)
		printf("%sno token\n", indent);
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(tokens, i);
		printf("%s", indent);
		print_safe(str_of(t, "label"));
		printf(" (");
		print_safe(str_of(t, "manufacturer"));
		printf(" ");
		print_safe(str_of(t, "model"));
		printf(", serial ");
		print_safe(str_of(t, "serial"));
		printf(")\n%s  reader: ", indent);
		print_safe(str_of(t, "reader"));
		printf("\n%s  uri:    ", indent);
		print_safe(str_of(t, "uri"));
		putchar('\n');
	}
}

static void
print_status(struct json_object *r)
{
	struct json_object *mods = member(r, "modules"), *m, *tokens = member(r, "tokens");
	size_t i, n;

	printf("cardbridged %s is running (pid %d)%s\n", str_of(r, "version"),
	    json_object_get_int(member(r, "pid")),
	    json_object_get_boolean(member(r, "socketActivated")) ? ", socket-activated" : "");
	print_list("listening:", member(r, "listen"));
	printf("  %-18s", "control socket:");
	print_safe(str_of(r, "controlSocket"));
	printf("\n  %-18s%d\n", "connections:", json_object_get_int(member(r, "sessions")));
	n = json_object_is_type(mods, json_type_array) ? json_object_array_length(mods) : 0;
	if (n == 0)
		printf("  %-18snone reported yet\n", "modules:");
	else
		printf("  modules:\n");
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(mods, i);
		printf("    ");
		print_safe(str_of(m, "path"));
		printf(json_object_get_boolean(member(m, "ok")) ? " (ok)\n" : " (failed: ");
		if (!json_object_get_boolean(member(m, "ok"))) {
			print_safe(str_of(m, "error"));
			printf(")\n");
		}
	}
	print_list("readers:", member(r, "readers"));
	if (tokens == NULL)
		printf("  %-18snot read since the last card event (run: cardbridge tokens)\n",
		    "tokens:");
	else {
		printf("  tokens:\n");
		print_tokens(tokens, "    ");
	}
	print_list("origins (admin):", member(member(r, "origins"), "administrator"));
	print_list("origins (user):", member(member(r, "origins"), "user"));
}

static void
print_origins(struct json_object *r)
{
	static const char *const kinds[] = { "administrator", "user" };
	struct json_object *a;
	size_t k, i;

	for (k = 0; k < 2; k++) {
		a = member(r, kinds[k]);
		for (i = 0; a && i < json_object_array_length(a); i++) {
			print_safe(json_object_get_string(json_object_array_get_idx(a, i)));
			printf("\t%s\n", kinds[k]);
		}
	}
}

static void
print_change(const char *verb, struct json_object *r)
{
	print_safe(str_of(r, "origin"));
	if (!json_object_get_boolean(member(r, "changed")))
		printf(": already allowed (by the %s)\n", str_of(r, "source"));
	else if (strcmp(verb, "allow") == 0)
		printf(": allowed\n");
	else
		printf(": revoked (%d open connection(s) closed)\n",
		    json_object_get_int(member(r, "closedConnections")));
}

/* One control request, printed; returns the exit status. */
static int
run(const struct cli_options *o, const char *command, const char *method,
    const char *origin)
{
	struct json_object *params = NULL, *result = NULL;
	char *path, *message = NULL;
	int r;

	if ((path = cli_control_path(o)) == NULL)
		return CLI_FAILED;
	if (origin != NULL) {
		params = json_object_new_object();
		json_object_object_add(params, "origin", json_object_new_string(origin));
	}
	r = cli_call(path, method, params, strcmp(command, "tokens") == 0 ? TOKENS_TIMEOUT_MS :
	    CALL_TIMEOUT_MS, &result, &message);
	if (r != CLI_OK) {
		fprintf(stderr, "cardbridge: ");
		if (r == CLI_NOT_RUNNING && strcmp(command, "status") == 0)
			fprintf(stderr, "cardbridged is not running\n");
		else
			fprintf(stderr, "%s\n", message ? message : "out of memory");
	} else if (o->json)
		printf("%s\n", json_object_to_json_string_ext(result, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (strcmp(command, "status") == 0)
		print_status(result);
	else if (strcmp(command, "tokens") == 0)
		print_tokens(member(result, "tokens"), "");
	else if (strcmp(command, "list") == 0)
		print_origins(result);
	else
		print_change(command, result);
	json_object_put(params);
	json_object_put(result);
	free(message);
	free(path);
	return r;
}

/*
 * A managed policy for the portal origins given (doc/BROWSERS.md): the
 * loopback permission under both of its names, and the cardbridge://
 * launch without the "Open link?" question.  Origins are checked exactly as
 * the daemon checks them, so a policy never names what it would refuse.
 */
static int
browser_policy(int argc, char **argv)
{
	struct json_object *policy, *lna, *auto_launch, *pair, *allowed;
	struct origin parsed;
	const char *why;
	int i;

	if (argc < 2 || argc % 2 != 0) {
		fprintf(stderr, "cardbridge: usage: cardbridge browser-policy --origin ORIGIN "
		    "[--origin ORIGIN]...\n");
		return CLI_USAGE;
	}
	policy = json_object_new_object();
	lna = json_object_new_array();
	allowed = json_object_new_array();
	for (i = 0; i < argc; i += 2) {
		if (strcmp(argv[i], "--origin") != 0) {
			fprintf(stderr, "cardbridge: browser-policy: expected --origin ORIGIN\n");
			json_object_put(policy);
			json_object_put(lna);
			json_object_put(allowed);
			return CLI_USAGE;
		}
		if (origin_parse(argv[i + 1], &parsed, &why) != 0 ||
		    !origin_is_acceptable(&parsed, &why)) {
			fprintf(stderr, "cardbridge: browser-policy: %s: %s\n", argv[i + 1], why);
			json_object_put(policy);
			json_object_put(lna);
			json_object_put(allowed);
			return CLI_USAGE;
		}
		json_object_array_add(lna, json_object_new_string(argv[i + 1]));
		json_object_array_add(allowed, json_object_new_string(argv[i + 1]));
	}
	json_object_object_add(policy, "LoopbackNetworkAllowedForUrls", json_object_get(lna));
	json_object_object_add(policy, "LocalNetworkAccessAllowedForUrls", lna);
	pair = json_object_new_object();
	json_object_object_add(pair, "protocol", json_object_new_string("cardbridge"));
	json_object_object_add(pair, "allowed_origins", allowed);
	auto_launch = json_object_new_array();
	json_object_array_add(auto_launch, pair);
	json_object_object_add(policy, "AutoLaunchProtocolsFromOrigins", auto_launch);
	printf("%s\n", json_object_to_json_string_ext(policy, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(policy);
	return 0;
}

static int
run_origins(const struct cli_options *o, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return run(o, "list", "control.origins.list", NULL);
	if (argc == 2 && strcmp(argv[0], "allow") == 0)
		return run(o, "allow", "control.origins.allow", argv[1]);
	if (argc == 2 && strcmp(argv[0], "revoke") == 0)
		return run(o, "revoke", "control.origins.revoke", argv[1]);
	fprintf(stderr, "cardbridge: usage: cardbridge origins list | allow ORIGIN | "
	    "revoke ORIGIN\n");
	return CLI_USAGE;
}

enum { OPT_CONTROL_SOCKET = 256, OPT_JSON, OPT_VERSION, OPT_HELP };

static const struct option long_options[] = {
	{ "control-socket", required_argument, NULL, OPT_CONTROL_SOCKET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct cli_options o = { NULL, false };
	const char *cmd;
	int c;

	/* "+": stop at the command, so a URL or origin is never taken for an option. */
	while ((c = getopt_long(argc, argv, "+", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_CONTROL_SOCKET:
			o.control_socket = optarg;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_VERSION:
			printf("cardbridge %s\n", PACKAGE_VERSION);
			return CLI_OK;
		case OPT_HELP:
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "open") == 0 && argc == 1)
		return cli_open(&o, argv[0]);
	if (strcmp(cmd, "open") == 0) {
		fprintf(stderr, "cardbridge: usage: cardbridge open URL (exactly one URL)\n");
		return CLI_USAGE;
	}
	if ((strcmp(cmd, "status") == 0 || strcmp(cmd, "tokens") == 0) && argc == 0)
		return run(&o, cmd, strcmp(cmd, "status") == 0 ? "control.status" :
		    "control.tokens", NULL);
	if (strcmp(cmd, "origins") == 0)
		return run_origins(&o, argc, argv);
	if (strcmp(cmd, "browser-policy") == 0)
		return browser_policy(argc, argv);
	fprintf(stderr, "cardbridge: unknown command, or wrong arguments for it (see "
	    "cardbridge --help)\n");
	return CLI_USAGE;
}
