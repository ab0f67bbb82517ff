/*
 * policy.c - "cardbridge browser-policy": a Chromium/Chrome managed policy
 * (doc/BROWSERS.md) for the portal origins given on the command line.
 *
 * The policy holds the loopback permission under both of its names, and
 * the cardbridge:// launch without the "Open link?" question.  Origins are
 * checked exactly as the daemon checks them (protocol/origin.c), so a
 * policy never names what cardbridged would refuse.
 * Must never: print a policy when any origin was refused, or talk to the
 * daemon (the policy is for the browser, which the administrator installs).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/i18n.h"
#include "protocol/origin.h"

/* Check origin as the daemon would and add it to both lists; the exit status. */
static int
policy_add(struct json_object *lna, struct json_object *allowed, const char *origin)
{
	struct origin parsed;
	const char *why;

	if (origin_parse(origin, &parsed, &why) != 0 || !origin_is_acceptable(&parsed, &why)) {
		cli_error("browser-policy: %s: %s", origin, why);
		return CLI_USAGE;
	}
	if (json_object_array_add(lna, json_object_new_string(origin)) != 0 ||
	    json_object_array_add(allowed, json_object_new_string(origin)) != 0) {
		cli_error("%s", _("out of memory"));
		return CLI_FAILED;
	}
	return CLI_OK;
}

/* The policy that holds both lists (taken over); NULL when out of memory. */
static struct json_object *
policy_new(struct json_object *lna, struct json_object *allowed)
{
	struct json_object *policy, *auto_launch = NULL, *pair = NULL;

	if ((policy = json_object_new_object()) == NULL ||
	    (auto_launch = json_object_new_array()) == NULL ||
	    (pair = json_object_new_object()) == NULL) {
		json_object_put(policy);
		json_object_put(auto_launch);
		json_object_put(lna);
		json_object_put(allowed);
		return NULL;
	}
	json_object_object_add(policy, "LoopbackNetworkAllowedForUrls", json_object_get(lna));
	json_object_object_add(policy, "LocalNetworkAccessAllowedForUrls", lna);
	json_object_object_add(pair, "protocol", json_object_new_string("cardbridge"));
	json_object_object_add(pair, "allowed_origins", allowed);
	json_object_array_add(auto_launch, pair);
	json_object_object_add(policy, "AutoLaunchProtocolsFromOrigins", auto_launch);
	return policy;
}

int
cli_browser_policy(FILE *out, int argc, char **argv)
{
	struct json_object *policy = NULL, *lna = NULL, *allowed = NULL;
	int i, r = CLI_FAILED;

	if (argc < 2 || argc % 2 != 0) {
		/* TRANSLATORS: translate "usage" and any words in parentheses only. */
		cli_error("%s", _("usage: cardbridge browser-policy --origin ORIGIN "
				  "[--origin ORIGIN]..."));
		return CLI_USAGE;
	}
	if ((lna = json_object_new_array()) == NULL ||
	    (allowed = json_object_new_array()) == NULL) {
		cli_error("%s", _("out of memory"));
		goto out;
	}
	for (i = 0; i < argc; i += 2) {
		if (strcmp(argv[i], "--origin") != 0) {
			cli_error("browser-policy: %s", _("expected --origin ORIGIN"));
			r = CLI_USAGE;
			goto out;
		}
		if ((r = policy_add(lna, allowed, argv[i + 1])) != CLI_OK)
			goto out;
	}
	policy = policy_new(lna, allowed);
	lna = allowed = NULL; /* transferred */
	if (policy == NULL) {
		cli_error("%s", _("out of memory"));
		r = CLI_FAILED;
		goto out;
	}
	fprintf(out, "%s\n",
	    json_object_to_json_string_ext(
		policy, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	r = CLI_OK;
out:
	json_object_put(policy);
	json_object_put(lna);
	json_object_put(allowed);
	return r;
}
