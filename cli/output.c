/*
 * output.c - what the cardbridge tool prints for a person: its messages on
 * stderr, and the daemon's answers as text (status, tokens, origins).
 *
 * Text that came from a card or a configuration (labels, readers, paths)
 * is printed with control and non-ASCII bytes replaced, so a token label
 * cannot drive the terminal.  What is printed for a person follows the
 * user's language (common/i18n.h) in the terminal's codeset; values a
 * program reads (the origin list's "administrator" and "user") do not.
 * Every printer takes its stream, so that tests can read what it wrote.
 * Must never: talk to the daemon, or print a card's bytes unfiltered.
 */
#include "config.h"

#include <langinfo.h>
#include <libintl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/i18n.h"

#define STATUS_LABEL_WIDTH 18 /* status values start here after "  ", or later */

/* Written once by cli_output_init(): a UTF-8 character may take several bytes. */
static bool terminal_utf8 = true;

/*
 * The user's language, in the terminal's codeset: i18n.c converts for
 * pinentry, which reads UTF-8 whatever the locale, but a terminal reads
 * what LC_CTYPE says (a Latin-2 one, or ASCII with transliteration).
 */
void
cli_output_init(void)
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
print_safe(FILE *out, const char *s)
{
	for (; s && *s; s++)
		fputc((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?', out);
}

void
cli_print_safe(FILE *out, const char *s)
{
	print_safe(out, s);
}

static const char *
str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

struct json_object *
cli_member(struct json_object *o, const char *key)
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
print_label(FILE *out, const char *label, size_t width)
{
	size_t n;

	fputs(label, out);
	for (n = text_length(label); n < width; n++)
		fputc(' ', out);
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
print_status_label(FILE *out, enum status_label label, size_t width)
{
	fputs("  ", out);
	print_label(out, _(status_labels[label]), width);
}

static void
print_list(FILE *out, enum status_label label, size_t width, struct json_object *a)
{
	size_t i, n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	print_status_label(out, label, width);
	if (n == 0)
		fputs(_("none"), out);
	for (i = 0; i < n; i++) {
		fprintf(out, "%s", i ? ", " : "");
		print_safe(out, json_object_get_string(json_object_array_get_idx(a, i)));
	}
	fputc('\n', out);
}

void
cli_print_tokens(FILE *out, struct json_object *tokens, const char *indent)
{
	size_t i,
	    n = json_object_is_type(tokens, json_type_array) ? json_object_array_length(tokens) : 0;
	/* TRANSLATORS: a token's reader and PKCS#11 URI, on lines of their own. */
	const char *labels[] = {_("reader:"), _("uri:")};
	size_t width = label_width(labels, 2);
	struct json_object *t;

	if (n == 0)
		fprintf(out, "%s%s\n", indent, _("no token"));
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(tokens, i);
		fprintf(out, "%s", indent);
		print_safe(out, str_of(t, "label"));
		fprintf(out, " (");
		print_safe(out, str_of(t, "manufacturer"));
		fprintf(out, " ");
		print_safe(out, str_of(t, "model"));
		/* TRANSLATORS: "label (manufacturer model, serial 3f0e2c1a)". */
		fprintf(out, ", %s ", _("serial"));
		print_safe(out, str_of(t, "serial"));
		fprintf(out, ")\n%s  ", indent);
		print_label(out, labels[0], width);
		print_safe(out, str_of(t, "reader"));
		fprintf(out, "\n%s  ", indent);
		print_label(out, labels[1], width);
		print_safe(out, str_of(t, "uri"));
		fputc('\n', out);
	}
}

void
cli_print_waiting(FILE *out, struct json_object *waiting, const char *indent)
{
	size_t i, n = json_object_is_type(waiting, json_type_array)
			  ? json_object_array_length(waiting)
			  : 0;
	struct json_object *w;

	if (n == 0)
		return;
	/* TRANSLATORS: cards whose PKCS#11 module (by the card's ATR) cannot serve them. */
	fprintf(out, "%s%s\n", indent, _("cards waiting for their module:"));
	for (i = 0; i < n; i++) {
		w = json_object_array_get_idx(waiting, i);
		fprintf(out, "%s  ", indent);
		print_safe(out, str_of(w, "reader"));
		fprintf(out, " (ATR ");
		print_safe(out, str_of(w, "atr"));
		fprintf(out, "): ");
		print_safe(out, str_of(w, "module"));
		fprintf(out, ": ");
		print_safe(out, str_of(w, "error"));
		fputc('\n', out);
	}
}

void
cli_print_status(FILE *out, struct json_object *r)
{
	struct json_object *mods = cli_member(r, "modules"), *m, *tokens = cli_member(r, "tokens");
	size_t i, n, width = status_width();

	fprintf(out,
	    json_object_get_boolean(cli_member(r, "socketActivated"))
		? _("cardbridged %s is running (pid %d), socket-activated")
		: _("cardbridged %s is running (pid %d)"),
	    str_of(r, "version"), json_object_get_int(cli_member(r, "pid")));
	fputc('\n', out);
	print_list(out, LABEL_LISTENING, width, cli_member(r, "listen"));
	print_status_label(out, LABEL_CONTROL_SOCKET, width);
	print_safe(out, str_of(r, "controlSocket"));
	fputc('\n', out);
	print_status_label(out, LABEL_CONNECTIONS, width);
	fprintf(out, "%d\n", json_object_get_int(cli_member(r, "sessions")));
	n = json_object_is_type(mods, json_type_array) ? json_object_array_length(mods) : 0;
	if (n == 0) {
		print_status_label(out, LABEL_MODULES, width);
		fprintf(out, "%s\n", _("none reported yet"));
	} else
		fprintf(out, "  %s\n", _(status_labels[LABEL_MODULES]));
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(mods, i);
		fprintf(out, "    ");
		print_safe(out, str_of(m, "path"));
		if (json_object_get_boolean(cli_member(m, "ok")))
			/* TRANSLATORS: after a PKCS#11 module's path: it is loaded. */
			fprintf(out, " (%s)\n", _("ok"));
		else {
			/* TRANSLATORS: after a module's path, before why it is not loaded. */
			fprintf(out, " (%s: ", _("failed"));
			print_safe(out, str_of(m, "error"));
			fprintf(out, ")\n");
		}
	}
	print_list(out, LABEL_READERS, width, cli_member(r, "readers"));
	if (tokens == NULL) {
		print_status_label(out, LABEL_TOKENS, width);
		fprintf(
		    out, "%s\n", _("not read since the last card event (run: cardbridge tokens)"));
	} else {
		fprintf(out, "  %s\n", _(status_labels[LABEL_TOKENS]));
		cli_print_tokens(out, tokens, "    ");
	}
	cli_print_waiting(out, cli_member(r, "waitingCards"), "  ");
	print_list(
	    out, LABEL_ORIGINS_ADMIN, width, cli_member(cli_member(r, "origins"), "administrator"));
	print_list(out, LABEL_ORIGINS_USER, width, cli_member(cli_member(r, "origins"), "user"));
}

void
cli_print_origins(FILE *out, struct json_object *r)
{
	static const char *const kinds[] = {"administrator", "user"};
	struct json_object *a;
	size_t k, i;

	for (k = 0; k < 2; k++) {
		a = cli_member(r, kinds[k]);
		for (i = 0; a && i < json_object_array_length(a); i++) {
			print_safe(out, json_object_get_string(json_object_array_get_idx(a, i)));
			fprintf(out, "\t%s\n", kinds[k]);
		}
	}
}

void
cli_print_change(FILE *out, const char *verb, struct json_object *r)
{
	const char *source = str_of(r, "source");
	int closed = json_object_get_int(cli_member(r, "closedConnections"));

	print_safe(out, str_of(r, "origin"));
	fputs(": ", out);
	if (json_object_get_boolean(cli_member(r, "changed")) && strcmp(verb, "allow") == 0)
		/* TRANSLATORS: after an origin, "https://portal.example: allowed". */
		fputs(_("allowed"), out);
	else if (json_object_get_boolean(cli_member(r, "changed")))
		/* TRANSLATORS: after an origin; the English text is the same for every count. */
		fprintf(out,
		    P_("revoked (%d open connection(s) closed)",
			"revoked (%d open connection(s) closed)", (unsigned long)closed),
		    closed);
	/* The daemon's sources: "administrator" or "user" (daemon/control_methods.c). */
	else if (strcmp(source, "administrator") == 0)
		fputs(_("already allowed (by the administrator)"), out);
	else
		fputs(_("already allowed (by the user)"), out);
	fputc('\n', out);
}
