/*
 * card_output.c - what "cardbridge card" prints for a person: a token's
 * PINs and what can be managed on it (tokens.list's "pins" and "manage"),
 * its keys and certificates, and a failed operation in the user's
 * language.
 *
 * The reasons why a token cannot do something come from the helper in
 * English; those it words itself are in the catalog (pkcs11/token_manage.c
 * marks them), so they are looked up there and shown translated.  Text
 * from a card goes through cli_print_safe().
 * Must never: talk to the daemon, or print a card's bytes unfiltered.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/i18n.h"

static const char *
text_of(struct json_object *o, const char *key)
{
	struct json_object *v = cli_member(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A PIN's state from tokens.list, in words. */
static const char *
state_words(const char *state)
{
	static const struct {
		const char *state, *words;
	} states[] = {
	    /* TRANSLATORS: the state of a PIN in "cardbridge card status". */
	    {"ok", N_("ok")},
	    {"countLow", N_("few tries left")},
	    {"finalTry", N_("one try left")},
	    {"locked", N_("locked")},
	    {"unknown", N_("not known (the token does not tell)")},
	};
	size_t i;

	for (i = 0; state != NULL && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(states[i].state, state) == 0)
			return _(states[i].words);
	return _("not known (the token does not tell)");
}

static void
print_pin(FILE *out, const char *label, struct json_object *pin, struct json_object *pins)
{
	struct json_object *lo = cli_member(pins, "minLength"), *hi = cli_member(pins, "maxLength");

	fprintf(out, "  %s ", label);
	if (pin == NULL) {
		fprintf(out, "%s\n", _("not reported by the token"));
		return;
	}
	if (!json_object_get_boolean(cli_member(pin, "initialized"))) {
		fprintf(out, "%s\n", _("not set"));
		return;
	}
	fprintf(out, "%s", state_words(text_of(pin, "state")));
	if (json_object_get_boolean(cli_member(pin, "toBeChanged")))
		fprintf(out, ", %s", _("to be changed"));
	if (lo != NULL && hi != NULL && pins != NULL)
		/* TRANSLATORS: the length limits of the user PIN. */
		fprintf(out,
		    P_(" (%d to %d character)", " (%d to %d characters)",
			(unsigned long)json_object_get_int(hi)),
		    json_object_get_int(lo), json_object_get_int(hi));
	fputc('\n', out);
}

/* One capability: "yes", or "no" and why (translated where the catalog has it). */
static void
print_can(FILE *out, struct json_object *manage, const char *label, const char *key)
{
	const char *why = text_of(cli_member(manage, "why"), key), *with;

	fprintf(out, "  %s ", label);
	if (!json_object_get_boolean(cli_member(manage, key))) {
		fprintf(out, "%s", _("no"));
		if (why != NULL) {
			fputs(": ", out);
			/* Our catalog's words as they are; the helper's otherwise, filtered. */
			if (_(why) != why)
				fputs(_(why), out);
			else
				cli_print_safe(out, why);
		}
	} else if (strcmp(key, "canUnblockPin") == 0 && (with = text_of(manage, "unblockWith"))) {
		fputs(strcmp(with, "puk") == 0 ? _("yes, with the PUK")
					       : _("yes, with the admin (SO) PIN"),
		    out);
	} else
		fputs(_("yes"), out);
	fputc('\n', out);
}

void
cli_print_card_status(FILE *out, struct json_object *t)
{
	struct json_object *pins = cli_member(t, "pins"), *manage = cli_member(t, "manage");

	cli_print_safe(out, text_of(t, "label"));
	fputs(" (", out);
	cli_print_safe(out, text_of(t, "manufacturer"));
	fputc(' ', out);
	cli_print_safe(out, text_of(t, "model"));
	fprintf(out, ", %s ", _("serial"));
	cli_print_safe(out, text_of(t, "serial"));
	fputs(")\n", out);
	/* TRANSLATORS: the lines of "cardbridge card status" (colons included). */
	print_pin(out, _("user PIN:"), cli_member(pins, "user"), pins);
	print_pin(out, _("admin (SO) PIN:"), cli_member(pins, "so"), NULL);
	print_can(out, manage, _("change the user PIN:"), "canChangePin");
	print_can(out, manage, _("change the admin PIN:"), "canChangeSoPin");
	print_can(out, manage, _("unblock the user PIN:"), "canUnblockPin");
	print_can(out, manage, _("set a first user PIN:"), "canInitializePin");
	print_can(out, manage, _("delete keys and certificates:"), "canDeleteObjects");
}

static size_t
items_in(struct json_object *a)
{
	return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static void
print_key(FILE *out, struct json_object *k)
{
	int certs = json_object_get_int(cli_member(k, "certificates"));

	fputs("  ", out);
	cli_print_safe(out, text_of(k, "keyId") ? text_of(k, "keyId") : "-");
	fputs("  ", out);
	cli_print_safe(out, text_of(k, "algorithm") ? text_of(k, "algorithm") : _("unknown"));
	if (text_of(k, "label") != NULL) {
		fputs("  \"", out);
		cli_print_safe(out, text_of(k, "label"));
		fputc('"', out);
	}
	/* TRANSLATORS: after a key in "cardbridge card list". */
	fprintf(out, P_("  (%d certificate)", "  (%d certificates)", (unsigned long)certs), certs);
	fputc('\n', out);
}

static void
print_certificate(FILE *out, struct json_object *c)
{
	fputs("  ", out);
	cli_print_safe(out, text_of(c, "subject"));
	fprintf(out, "\n    %s ", _("issued by"));
	cli_print_safe(out, text_of(c, "issuer"));
	fprintf(out, "\n    %s ", _("serial number"));
	cli_print_safe(out, text_of(c, "serial"));
	fprintf(out, ", %s ", _("key ID"));
	cli_print_safe(out, text_of(c, "keyId") ? text_of(c, "keyId") : "-");
	fprintf(out, ", %s ", _("valid until"));
	cli_print_safe(out, text_of(c, "notAfter"));
	fputc('\n', out);
}

void
cli_print_card_objects(FILE *out, struct json_object *keys, struct json_object *certs)
{
	size_t i;

	/* TRANSLATORS: the headings of "cardbridge card list". */
	fprintf(out, "%s\n", _("Keys (ID, type, label):"));
	if (items_in(keys) == 0)
		fprintf(out, "  %s\n", _("none"));
	for (i = 0; i < items_in(keys); i++)
		print_key(out, json_object_array_get_idx(keys, i));
	fprintf(out, "%s\n", _("Certificates:"));
	if (items_in(certs) == 0)
		fprintf(out, "  %s\n", _("none"));
	for (i = 0; i < items_in(certs); i++)
		print_certificate(out, json_object_array_get_idx(certs, i));
}

void
cli_card_error(const char *reason, const char *message)
{
	static const struct {
		const char *reason, *words;
	} reasons[] = {
	    /* TRANSLATORS: why "cardbridge card" failed; the daemon's detail follows. */
	    {"USER_CANCELLED", N_("cancelled")},
	    {"PIN_INCORRECT", N_("wrong PIN")},
	    {"PIN_LOCKED", N_("the PIN is locked")},
	    {"PIN_INVALID", N_("the token does not accept this PIN")},
	    {"NOT_SUPPORTED", N_("this token cannot do that")},
	    {"KEY_NOT_FOUND", N_("the token holds no such key or certificate")},
	    {"TOKEN_NOT_PRESENT", N_("the token is not there")},
	    {"CARD_REMOVED", N_("the card was removed")},
	    {"TIMEOUT", N_("no answer in time")},
	    {"BUSY", N_("another cardbridge dialog is open")},
	};
	size_t i;

	for (i = 0; reason != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].reason, reason) == 0) {
			cli_error("%s (%s)", _(reasons[i].words), message ? _(message) : "");
			return;
		}
	cli_error("%s", message ? _(message) : _("out of memory"));
}
