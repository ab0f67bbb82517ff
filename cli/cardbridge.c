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
 * drive the terminal.  What is printed for a person follows the user's
 * language (common/i18n.h); JSON, the origin list's "administrator" and
 * "user" and the exit statuses do not.  This file must never talk to the
 * browser port.
 */
#include "config.h"

#include <getopt.h>
#include <langinfo.h>
#include <libintl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/i18n.h"
#include "protocol/origin.h"

#define CALL_TIMEOUT_MS 5000
#define TOKENS_TIMEOUT_MS 135000 /* the daemon gives the helper 130 s */
#define STATUS_LABEL_WIDTH 18	 /* status values start here after "  ", or later */

/* Written once by init_language(): a UTF-8 character may take several bytes. */
static bool terminal_utf8 = true;

/*
 * The user's language, in the terminal's codeset: i18n.c converts for
 * pinentry, which reads UTF-8 whatever the locale, but a terminal reads
 * what LC_CTYPE says (a Latin-2 one, or ASCII with transliteration).
 */
static void
init_language(void)
{
	locale_t user;

	if (!i18n_init())
		return;
	if ((user = newlocale(LC_CTYPE_MASK, "", (locale_t)0)) == (locale_t)0)
		return;
	bind_textdomain_codeset(CB_TEXTDOMAIN, nl_langinfo_l(CODESET, user));
	terminal_utf8 = strcmp(nl_langinfo_l(CODESET, user), "UTF-8") == 0;
	freelocale(user);
}

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
		"  browser-policy --origin ORIGIN [--origin ORIGIN]...\n"
		"                         print a Chromium/Chrome managed policy that lets\n"
		"                         these portals reach cardbridge without prompts\n"),
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

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cardbridge: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

/* The characters of a text, for lining up columns. */
static size_t
text_length(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += !terminal_utf8 || ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The longest of labels, plus one for the space before a value. */
static size_t
label_width(const char *const *labels, size_t count)
{
	size_t i, width = 0;

	for (i = 0; i < count; i++)
		if (text_length(labels[i]) + 1 > width)
			width = text_length(labels[i]) + 1;
	return width;
}

/* A label and the spaces up to width (from label_width()). */
static void
print_label(const char *label, size_t width)
{
	size_t n;

	fputs(label, stdout);
	for (n = text_length(label); n < width; n++)
		putchar(' ');
}

/* The status labels: their values line up in one column after the longest. */
enum status_label {
	LABEL_LISTENING,
	LABEL_CONTROL_SOCKET,
	LABEL_CONNECTIONS,
	LABEL_MODULES,
	LABEL_READERS,
	LABEL_TOKENS,
	LABEL_ORIGINS_ADMIN,
	LABEL_ORIGINS_USER,
	LABEL_COUNT
};

static const char *const status_labels[LABEL_COUNT] = {
    /* TRANSLATORS: the labels of cardbridge status (colons included). */
    [LABEL_LISTENING] = N_("listening:"),
    [LABEL_CONTROL_SOCKET] = N_("control socket:"),
    [LABEL_CONNECTIONS] = N_("connections:"),
    [LABEL_MODULES] = N_("modules:"),
    [LABEL_READERS] = N_("readers:"),
    [LABEL_TOKENS] = N_("tokens:"),
    [LABEL_ORIGINS_ADMIN] = N_("origins (admin):"),
    [LABEL_ORIGINS_USER] = N_("origins (user):"),
};

/* The column of the status values, after "  ": 18, or more for a long translation. */
static size_t
status_width(void)
{
	const char *translated[LABEL_COUNT];
	size_t i, width;

	for (i = 0; i < LABEL_COUNT; i++)
		translated[i] = _(status_labels[i]);
	width = label_width(translated, LABEL_COUNT);
	return width > STATUS_LABEL_WIDTH ? width : STATUS_LABEL_WIDTH;
}

/* "  label:" and the spaces up to its value's column. */
static void
print_status_label(enum status_label label, size_t width)
{
	fputs("  ", stdout);
	print_label(_(status_labels[label]), width);
}

static void
print_list(enum status_label label, size_t width, struct json_object *a)
{
	size_t i, n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	print_status_label(label, width);
	if (n == 0)
		fputs(_("none"), stdout);
	for (i = 0; i < n; i++) {
		printf("%s", i ? ", " : "");
		print_safe(json_object_get_string(json_object_array_get_idx(a, i)));
	}
	putchar('\n');
}

static void
print_tokens(struct json_object *tokens, const char *indent)
{
	size_t i,
	    n = json_object_is_type(tokens, json_type_array) ? json_object_array_length(tokens) : 0;
	/* TRANSLATORS: a token's reader and PKCS#11 URI, on lines of their own. */
	const char *labels[] = {_("reader:"), _("uri:")};
	size_t width = label_width(labels, 2);
	struct json_object *t;

	if (n == 0)
		printf("%s%s\n", indent, _("no token"));
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(tokens, i);
		printf("%s", indent);
		print_safe(str_of(t, "label"));
		printf(" (");
		print_safe(str_of(t, "manufacturer"));
		printf(" ");
		print_safe(str_of(t, "model"));
		/* TRANSLATORS: "label (manufacturer model, serial 3f0e2c1a)". */
		printf(", %s ", _("serial"));
		print_safe(str_of(t, "serial"));
		printf(")\n%s  ", indent);
		print_label(labels[0], width);
		print_safe(str_of(t, "reader"));
		printf("\n%s  ", indent);
		print_label(labels[1], width);
		print_safe(str_of(t, "uri"));
		putchar('\n');
	}
}

static void
print_status(struct json_object *r)
{
	struct json_object *mods = member(r, "modules"), *m, *tokens = member(r, "tokens");
	size_t i, n, width = status_width();

	printf(json_object_get_boolean(member(r, "socketActivated"))
		   ? _("cardbridged %s is running (pid %d), socket-activated")
		   : _("cardbridged %s is running (pid %d)"),
	    str_of(r, "version"), json_object_get_int(member(r, "pid")));
	putchar('\n');
	print_list(LABEL_LISTENING, width, member(r, "listen"));
	print_status_label(LABEL_CONTROL_SOCKET, width);
	print_safe(str_of(r, "controlSocket"));
	putchar('\n');
	print_status_label(LABEL_CONNECTIONS, width);
	printf("%d\n", json_object_get_int(member(r, "sessions")));
	n = json_object_is_type(mods, json_type_array) ? json_object_array_length(mods) : 0;
	if (n == 0) {
		print_status_label(LABEL_MODULES, width);
		printf("%s\n", _("none reported yet"));
	} else
		printf("  %s\n", _(status_labels[LABEL_MODULES]));
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(mods, i);
		printf("    ");
		print_safe(str_of(m, "path"));
		if (json_object_get_boolean(member(m, "ok")))
			/* TRANSLATORS: after a PKCS#11 module's path: it is loaded. */
			printf(" (%s)\n", _("ok"));
		else {
			/* TRANSLATORS: after a module's path, before why it is not loaded. */
			printf(" (%s: ", _("failed"));
			print_safe(str_of(m, "error"));
			printf(")\n");
		}
	}
	print_list(LABEL_READERS, width, member(r, "readers"));
	if (tokens == NULL) {
		print_status_label(LABEL_TOKENS, width);
		printf("%s\n", _("not read since the last card event (run: cardbridge tokens)"));
	} else {
		printf("  %s\n", _(status_labels[LABEL_TOKENS]));
		print_tokens(tokens, "    ");
	}
	print_list(LABEL_ORIGINS_ADMIN, width, member(member(r, "origins"), "administrator"));
	print_list(LABEL_ORIGINS_USER, width, member(member(r, "origins"), "user"));
}

static void
print_origins(struct json_object *r)
{
	static const char *const kinds[] = {"administrator", "user"};
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
	const char *source = str_of(r, "source");
	int closed = json_object_get_int(member(r, "closedConnections"));

	print_safe(str_of(r, "origin"));
	fputs(": ", stdout);
	if (json_object_get_boolean(member(r, "changed")) && strcmp(verb, "allow") == 0)
		/* TRANSLATORS: after an origin, "https://portal.example: allowed". */
		fputs(_("allowed"), stdout);
	else if (json_object_get_boolean(member(r, "changed")))
		/* TRANSLATORS: after an origin; the English text is the same for every count. */
		printf(P_("revoked (%d open connection(s) closed)",
			   "revoked (%d open connection(s) closed)", (unsigned long)closed),
		    closed);
	/* The daemon's sources: "administrator" or "user" (daemon/control_methods.c). */
	else if (strcmp(source, "administrator") == 0)
		fputs(_("already allowed (by the administrator)"), stdout);
	else
		fputs(_("already allowed (by the user)"), stdout);
	putchar('\n');
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
	if (origin != NULL) {
		params = json_object_new_object();
		json_object_object_add(params, "origin", json_object_new_string(origin));
	}
	r = cli_call(path, method, params,
	    strcmp(command, "tokens") == 0 ? TOKENS_TIMEOUT_MS : CALL_TIMEOUT_MS, &result,
	    &message);
	if (r != CLI_OK) {
		if (r == CLI_NOT_RUNNING && strcmp(command, "status") == 0)
			cli_error("%s", _("cardbridged is not running"));
		else
			cli_error("%s", message ? message : _("out of memory"));
	} else if (o->json)
		printf("%s\n", json_object_to_json_string_ext(result,
				   JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
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
		/* TRANSLATORS: translate "usage" and any words in parentheses only. */
		cli_error("%s", _("usage: cardbridge browser-policy --origin ORIGIN "
				  "[--origin ORIGIN]..."));
		return CLI_USAGE;
	}
	policy = json_object_new_object();
	lna = json_object_new_array();
	allowed = json_object_new_array();
	for (i = 0; i < argc; i += 2) {
		if (strcmp(argv[i], "--origin") != 0) {
			cli_error("browser-policy: %s", _("expected --origin ORIGIN"));
			json_object_put(policy);
			json_object_put(lna);
			json_object_put(allowed);
			return CLI_USAGE;
		}
		if (origin_parse(argv[i + 1], &parsed, &why) != 0 ||
		    !origin_is_acceptable(&parsed, &why)) {
			cli_error("browser-policy: %s: %s", argv[i + 1], why);
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
	printf("%s\n", json_object_to_json_string_ext(
			   policy, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
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

	init_language();
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
		return browser_policy(argc, argv);
	cli_error("%s", _("unknown command, or wrong arguments for it (see cardbridge --help)"));
	return CLI_USAGE;
}
