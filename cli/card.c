/*
 * card.c - "cardbridge card ...": card management from the desktop.
 *
 *   card status [--token T]             the tokens' PINs and what can be done
 *   card list [--token T]               keys and certificates on a token
 *   card change-pin [--so] [--token T]  change the user (or admin/SO) PIN
 *   card unblock [--token T]            unblock the user PIN (PUK or SO PIN)
 *   card init-pin [--token T]           set the first user PIN
 *   card delete-key KEYID [--with-certificates] [--token T]
 *   card delete-cert (KEYID | --serial HEX --issuer NAME) [--token T]
 *
 * Each is a request on the control socket that the daemon forwards to the
 * PKCS#11 helper, the very handlers a portal reaches (no second PKCS#11
 * path): the PINs are typed into the helper's dialogs, never here.  T is a
 * token's pkcs11: URI, label or serial number; without --token the one
 * token present.  This file must never read a PIN or talk to the browser
 * port.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/i18n.h"
#include "protocol/methods.h"

struct card_args {
	const char *token; /* --token */
	bool so;	   /* --so */
	bool with_certs;   /* --with-certificates */
	const char *serial, *issuer;
	const char *key_id; /* the positional KEYID */
	bool json;	    /* --json after the subcommand, as before it */
};

struct card_call {
	struct cli_options o;
	char *path;
	struct json_object *tokens; /* control.tokens' "tokens" */
	struct json_object *token;  /* the one chosen, borrowed from tokens */
};

/* One request; on failure the error is printed, in the user's language. */
static int
card_request(struct card_call *cc, const char *method, struct json_object *params,
    struct json_object **result)
{
	const struct proto_method *m = proto_method_find(method, PROTO_M_CONTROL);
	char *message = NULL, *reason = NULL;
	int r;

	r = cli_call_reason(cc->path, method, params,
	    m != NULL ? (int)proto_method_client_timeout_ms(m) : 5000, result, &message, &reason);
	if (r != CLI_OK)
		cli_card_error(reason, message);
	free(message);
	free(reason);
	return r;
}

static bool
token_is(struct json_object *t, const char *name)
{
	static const char *const keys[] = {"uri", "label", "serial"};
	struct json_object *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(t, keys[i], &v) &&
		    strcmp(json_object_get_string(v), name) == 0)
			return true;
	return false;
}

/* The tokens, and the one --token names (or the only one); all: none needed. */
static int
card_tokens(struct card_call *cc, const char *name, bool all)
{
	struct json_object *result = NULL, *t;
	size_t i, n, found = 0;
	int r;

	if ((r = card_request(cc, "control.tokens", NULL, &result)) != CLI_OK)
		return r;
	cc->tokens = json_object_get(json_object_object_get(result, "tokens"));
	json_object_put(result);
	n = json_object_is_type(cc->tokens, json_type_array) ? json_object_array_length(cc->tokens)
							     : 0;
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(cc->tokens, i);
		if (name == NULL || token_is(t, name)) {
			cc->token = t;
			found++;
		}
	}
	if (found == 1 || (all && name == NULL))
		return CLI_OK;
	if (found == 0 && name != NULL)
		cli_error("%s", _("no such token; see cardbridge card status"));
	else if (found == 0)
		cli_error("%s", _("no token is present"));
	else
		cli_error(
		    "%s", _("several tokens match: name one with --token (its label or URI; see "
			    "cardbridge card status)"));
	return CLI_FAILED;
}

/* {"token": the chosen token's URI} */
static struct json_object *
token_params(struct card_call *cc)
{
	struct json_object *p = json_object_new_object();

	if (p != NULL)
		json_object_object_add(
		    p, "token", json_object_get(json_object_object_get(cc->token, "uri")));
	return p;
}

static void
print_json(struct json_object *v)
{
	printf("%s\n", json_object_to_json_string_ext(
			   v, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int
card_status(struct card_call *cc, const struct card_args *a)
{
	size_t i, n;
	int r;

	if ((r = card_tokens(cc, a->token, true)) != CLI_OK)
		return r;
	if (a->token != NULL) {
		if (cc->o.json)
			print_json(cc->token);
		else
			cli_print_card_status(stdout, cc->token);
		return CLI_OK;
	}
	if (cc->o.json) {
		print_json(cc->tokens);
		return CLI_OK;
	}
	n = json_object_array_length(cc->tokens);
	if (n == 0)
		printf("%s\n", _("no token"));
	for (i = 0; i < n; i++)
		cli_print_card_status(stdout, json_object_array_get_idx(cc->tokens, i));
	return CLI_OK;
}

static int
card_list(struct card_call *cc, const struct card_args *a)
{
	struct json_object *params = NULL, *keys = NULL, *certs = NULL, *both;
	int r;

	if ((r = card_tokens(cc, a->token, false)) != CLI_OK)
		return r;
	params = token_params(cc);
	if ((r = card_request(cc, "keys.list", params, &keys)) == CLI_OK &&
	    (r = card_request(cc, "certificates.list", params, &certs)) == CLI_OK) {
		if (cc->o.json) {
			both = json_object_new_object();
			json_object_object_add(
			    both, "keys", json_object_get(json_object_object_get(keys, "keys")));
			json_object_object_add(both, "certificates",
			    json_object_get(json_object_object_get(certs, "certificates")));
			print_json(both);
			json_object_put(both);
		} else
			cli_print_card_objects(stdout, json_object_object_get(keys, "keys"),
			    json_object_object_get(certs, "certificates"));
	}
	json_object_put(params);
	json_object_put(keys);
	json_object_put(certs);
	return r;
}

/* "The user PIN of "LABEL" was changed." and the like. */
static void
print_done(struct card_call *cc, const char *done)
{
	fputs(done, stdout);
	fputs(" \"", stdout);
	cli_print_safe(stdout, json_object_get_string(json_object_object_get(cc->token, "label")));
	fputs("\"\n", stdout);
}

static int
card_pin(struct card_call *cc, const struct card_args *a, const char *method, const char *done)
{
	struct json_object *params = NULL, *result = NULL;
	int r;

	if ((r = card_tokens(cc, a->token, false)) != CLI_OK)
		return r;
	params = token_params(cc);
	if (a->so)
		json_object_object_add(params, "which", json_object_new_string("so"));
	if ((r = card_request(cc, method, params, &result)) == CLI_OK) {
		if (cc->o.json)
			print_json(result);
		else
			print_done(cc, done);
	}
	json_object_put(params);
	json_object_put(result);
	return r;
}

static int
card_delete(struct card_call *cc, const struct card_args *a, const char *method)
{
	struct json_object *params = NULL, *result = NULL, *deleted;
	char done[200];
	size_t i, n;
	int r;

	if ((r = card_tokens(cc, a->token, false)) != CLI_OK)
		return r;
	params = token_params(cc);
	if (a->key_id != NULL)
		json_object_object_add(params, "keyId", json_object_new_string(a->key_id));
	if (a->with_certs)
		json_object_object_add(params, "withCertificates", json_object_new_boolean(true));
	if (a->serial != NULL)
		json_object_object_add(params, "serial", json_object_new_string(a->serial));
	if (a->issuer != NULL)
		json_object_object_add(params, "issuer", json_object_new_string(a->issuer));
	if ((r = card_request(cc, method, params, &result)) == CLI_OK && cc->o.json)
		print_json(result);
	else if (r == CLI_OK) {
		deleted = json_object_object_get(result, "deleted");
		n = json_object_array_length(deleted);
		/* TRANSLATORS: followed by the token's label in quotes. */
		snprintf(done, sizeof(done),
		    P_("Deleted %lu object from the token", "Deleted %lu objects from the token",
			n),
		    (unsigned long)n);
		print_done(cc, done);
		for (i = 0; i < n; i++) {
			fputs("  ", stdout);
			cli_print_safe(stdout, json_object_get_string(json_object_object_get(
						   json_object_array_get_idx(deleted, i), "kind")));
			fputs(" ", stdout);
			cli_print_safe(
			    stdout, json_object_get_string(json_object_object_get(
					json_object_array_get_idx(deleted, i), "keyId")));
			fputc('\n', stdout);
		}
	}
	json_object_put(params);
	json_object_put(result);
	return r;
}

enum { OPT_TOKEN = 300, OPT_SO, OPT_WITH_CERTS, OPT_SERIAL, OPT_ISSUER, OPT_JSON };

static const struct option card_options[] = {
    {"token", required_argument, NULL, OPT_TOKEN},
    {"so", no_argument, NULL, OPT_SO},
    {"with-certificates", no_argument, NULL, OPT_WITH_CERTS},
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"issuer", required_argument, NULL, OPT_ISSUER},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

/* The subcommand's options and its one KEYID (argv[0] is the subcommand). */
static int
card_parse(int argc, char **argv, struct card_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0; /* glibc: start again, at argv[1] */
	while ((c = getopt_long(argc, argv, "", card_options, NULL)) != -1) {
		switch (c) {
		case OPT_TOKEN:
			a->token = optarg;
			break;
		case OPT_SO:
			a->so = true;
			break;
		case OPT_WITH_CERTS:
			a->with_certs = true;
			break;
		case OPT_SERIAL:
			a->serial = optarg;
			break;
		case OPT_ISSUER:
			a->issuer = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (optind < argc)
		a->key_id = argv[optind++];
	return optind == argc ? CLI_OK : CLI_USAGE;
}

/* Which options each subcommand takes; anything else is a usage error. */
static bool
card_args_fit(const char *cmd, const struct card_args *a)
{
	bool keyed = strcmp(cmd, "delete-key") == 0 || strcmp(cmd, "delete-cert") == 0;

	if (a->so && strcmp(cmd, "change-pin") != 0)
		return false;
	if (a->with_certs && strcmp(cmd, "delete-key") != 0)
		return false;
	if ((a->serial != NULL || a->issuer != NULL) && strcmp(cmd, "delete-cert") != 0)
		return false;
	if (strcmp(cmd, "delete-key") == 0)
		return a->key_id != NULL;
	if (strcmp(cmd, "delete-cert") == 0)
		return (a->key_id != NULL) != (a->serial != NULL && a->issuer != NULL) &&
		       (a->serial != NULL) == (a->issuer != NULL);
	return !keyed && a->key_id == NULL;
}

static int
card_run(struct card_call *cc, const char *cmd, const struct card_args *a)
{
	if (strcmp(cmd, "status") == 0)
		return card_status(cc, a);
	if (strcmp(cmd, "list") == 0)
		return card_list(cc, a);
	if (strcmp(cmd, "change-pin") == 0)
		return card_pin(cc, a, "pins.change",
		    a->so ? _("The admin PIN was changed on the token")
			  : _("The user PIN was changed on the token"));
	if (strcmp(cmd, "unblock") == 0)
		return card_pin(
		    cc, a, "pins.unblock", _("The user PIN was unblocked on the token"));
	if (strcmp(cmd, "init-pin") == 0)
		return card_pin(cc, a, "pins.initialize", _("The user PIN was set on the token"));
	if (strcmp(cmd, "delete-key") == 0)
		return card_delete(cc, a, "keys.delete");
	return card_delete(cc, a, "certificates.delete");
}

int
cli_card(const struct cli_options *o, int argc, char **argv)
{
	static const char *const commands[] = {
	    "status", "list", "change-pin", "unblock", "init-pin", "delete-key", "delete-cert"};
	struct card_call cc = {.o = *o};
	struct card_args a;
	size_t i;
	int r;

	for (i = 0; argc > 0 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i]) == 0)
			break;
	if (argc == 0 || i == sizeof(commands) / sizeof(commands[0]) ||
	    card_parse(argc, argv, &a) != CLI_OK || !card_args_fit(argv[0], &a)) {
		/* TRANSLATORS: keep the commands and options. */
		cli_error(
		    "%s", _("usage: cardbridge card status | list | change-pin [--so] | unblock | "
			    "init-pin | delete-key KEYID [--with-certificates] | delete-cert "
			    "(KEYID | --serial HEX --issuer NAME), each with [--token TOKEN]"));
		return CLI_USAGE;
	}
	cc.o.json = o->json || a.json;
	if ((cc.path = cli_control_path(o)) == NULL)
		return CLI_FAILED;
	r = card_run(&cc, argv[0], &a);
	json_object_put(cc.tokens);
	free(cc.path);
	return r;
}
