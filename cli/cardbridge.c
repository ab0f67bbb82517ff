/*
 * cardbridge.c - main() of the cardbridge command-line tool: the command
 * line, and which part of the tool serves each command.
 *
 *   cardbridge open URL                  the cardbridge:// scheme handler (launch.c)
 *   cardbridge status                    is cardbridged running, and with what
 *   cardbridge tokens                    the tokens cardbridged sees
 *   cardbridge origins list|allow|revoke the user's origin allow-list
 *   cardbridge browser-policy            a browser policy for portals (policy.c)
 *   cardbridge card ...                  PINs, keys and certificates on a card (card.c)
 *
 * Everything but "open" and "browser-policy" is one request on the control
 * socket (client.c), printed by output.c.  This file calls the others and
 * none calls back into it.  JSON output (--json) and the exit statuses do
 * not follow the user's language.  This file must never talk to the
 * browser port.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/i18n.h"
#include "common/runtime_dir.h"
#include "protocol/methods.h"

static void
usage(FILE *f)
{
	/* TRANSLATORS: keep the command, option and argument names (ORIGIN, URL). */
	fputs(_("Usage: cardbridge [OPTION]... COMMAND [ARG]...\n"
		"Control cardbridged, the local smart-card helper for web portals.\n"),
	    f);
	fputs("\n", f);
	/*
	 * TRANSLATORS: keep the commands, "cardbridge://start" and the example
	 * origin, and start each description in the 26th column.
	 */
	fputs(_("Commands:\n"
		"  open URL               handle a cardbridge:// link: start cardbridged if it\n"
		"                         is not running (only cardbridge://start is known)\n"
		"  status                 is cardbridged running; listeners, modules, tokens\n"
		"  tokens                 list the tokens cardbridged sees\n"
		"  origins list           list the allowed origins (administrator's and yours)\n"
		"  origins allow ORIGIN   allow a portal, e.g. https://portal.example\n"
		"  origins revoke ORIGIN  take back an origin you allowed\n"
		"  browser-policy [--firefox] --origin ORIGIN [--origin ORIGIN]...\n"
		"                         print a Chromium/Chrome managed policy (--firefox:\n"
		"                         a Firefox policies.json) that lets these portals\n"
		"                         reach cardbridge without prompts\n"),
	    f);
	/*
	 * TRANSLATORS: keep the commands, options and KEYID, HEX, NAME and
	 * TOKEN, and start each description in the 26th column.
	 */
	fputs(_("Card commands (the PINs are asked for in cardbridge's PIN dialog):\n"
		"  card status            each token's PINs and what can be done on it\n"
		"  card list              the keys and certificates on a token\n"
		"  card change-pin [--so] change the user PIN (--so: the admin/SO PIN)\n"
		"  card unblock           unblock a locked user PIN with the PUK or SO PIN\n"
		"  card init-pin          set the first user PIN of a token without one\n"
		"  card delete-key KEYID [--with-certificates]\n"
		"                         delete a key pair (and its certificates)\n"
		"  card delete-cert KEYID | --serial HEX --issuer NAME\n"
		"                         delete certificates\n"
		"  --token TOKEN          which token (its URI, label or serial number);\n"
		"                         the only one present if not given\n"),
	    f);
	fputs("\n", f);
	/* TRANSLATORS: keep the options and $XDG_RUNTIME_DIR/cardbridge/control. */
	fputs(_("Options:\n"
		"  --control-socket PATH  cardbridged's control socket\n"
		"                         (default: $XDG_RUNTIME_DIR/cardbridge/control)\n"
		"  --json                 print the daemon's answer as JSON\n"
		"  --version              print the version and exit\n"
		"  --help                 print this help and exit\n"),
	    f);
}

/* One control request, printed; returns the exit status. */
static int
run(const struct cli_options *o, const char *command, const char *method, const char *origin)
{
	struct json_object *params = NULL, *result = NULL;
	char *path, *message = NULL;
	int r;

	if ((path = cli_control_path(o)) == NULL)
		return CLI_FAILED;
	if (origin != NULL &&
	    ((params = json_object_new_object()) == NULL ||
		json_object_object_add(params, "origin", json_object_new_string(origin)) != 0)) {
		cli_error("%s", _("out of memory"));
		json_object_put(params);
		free(path);
		return CLI_FAILED;
	}
	/* As long as the daemon gives the method (protocol/methods.c), and a little more. */
	r = cli_call(path, method, params,
	    (int)proto_method_client_timeout_ms(proto_method_find(method, PROTO_M_CONTROL)),
	    &result, &message);
	if (r != CLI_OK) {
		if (r == CLI_NOT_RUNNING && strcmp(command, "status") == 0)
			cli_error("%s", _("cardbridged is not running"));
		else
			cli_error("%s", message ? message : _("out of memory"));
	} else if (o->json)
		printf("%s\n", json_object_to_json_string_ext(result,
				   JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (strcmp(command, "status") == 0)
		cli_print_status(stdout, result);
	else if (strcmp(command, "tokens") == 0) {
		cli_print_tokens(stdout, json_object_object_get(result, "tokens"), "");
		cli_print_waiting(stdout, json_object_object_get(result, "waitingCards"), "");
	} else if (strcmp(command, "list") == 0)
		cli_print_origins(stdout, result);
	else
		cli_print_change(stdout, command, result);
	json_object_put(params);
	json_object_put(result);
	free(message);
	free(path);
	return r;
}

/*
 * An origin as a person may type it ("HTTPS://Portal.Example"): browsers
 * send scheme and host in lower case, and the allow-list matches exactly.
 */
static char *
origin_lower(char *origin)
{
	char *p;

	for (p = origin; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return origin;
}

static int
run_origins(const struct cli_options *o, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return run(o, "list", "control.origins.list", NULL);
	if (argc == 2 && strcmp(argv[0], "allow") == 0)
		return run(o, "allow", "control.origins.allow", origin_lower(argv[1]));
	if (argc == 2 && strcmp(argv[0], "revoke") == 0)
		return run(o, "revoke", "control.origins.revoke", origin_lower(argv[1]));
	cli_error("%s", _("usage: cardbridge origins list | allow ORIGIN | revoke ORIGIN"));
	return CLI_USAGE;
}

enum { OPT_CONTROL_SOCKET = 256, OPT_JSON, OPT_VERSION, OPT_HELP };

static const struct option long_options[] = {
    {"control-socket", required_argument, NULL, OPT_CONTROL_SOCKET},
    {"json", no_argument, NULL, OPT_JSON},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

int
main(int argc, char **argv)
{
	struct cli_options o = {NULL, false};
	const char *cmd;
	int c;

	cli_output_init();
	/* A browser may start us without XDG_RUNTIME_DIR: find the user's own. */
	runtime_dir_export();
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
		cli_error("%s", _("usage: cardbridge open URL (exactly one URL)"));
		return CLI_USAGE;
	}
	if ((strcmp(cmd, "status") == 0 || strcmp(cmd, "tokens") == 0) && argc == 0)
		return run(&o, cmd,
		    strcmp(cmd, "status") == 0 ? "control.status" : "control.tokens", NULL);
	if (strcmp(cmd, "origins") == 0)
		return run_origins(&o, argc, argv);
	if (strcmp(cmd, "browser-policy") == 0)
		return cli_browser_policy(stdout, argc, argv);
	if (strcmp(cmd, "card") == 0)
		return cli_card(&o, argc, argv);
	cli_error("%s", _("unknown command, or wrong arguments for it (see cardbridge --help)"));
	return CLI_USAGE;
}
