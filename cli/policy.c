/*
 * policy.c - "cardbridge browser-policy": a Chromium/Chrome managed policy,
 * or with --firefox a Firefox policies.json (doc/BROWSERS.md), for the
 * portal origins given on the command line.
 *
 * The Chromium policy holds the loopback permission under both of its
 * names, and the cardbridge:// launch without the "Open link?" question;
 * the Firefox one the same launch, and the portals' host names under
 * LocalNetworkAccess.SkipDomains (Firefox takes host names there).  Origins are
 * checked exactly as the daemon checks them (protocol/origin.c), so a
 * policy never names what cardbridged would refuse.
 * Must never: print a policy when any origin was refused, or talk to the
 * daemon (the policy is for the browser, which the administrator installs).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/i18n.h"
#include "protocol/origin.h"

/*
 * Check origin as the daemon would and add it to origins, and its host name
 * to hosts unless there already; the exit status.
 */
static int
policy_add(struct json_object *origins, struct json_object *hosts, const char *origin)
{
	struct origin parsed;
	const char *why;
	size_t i;

	if (origin_parse(origin, &parsed, &why) != 0 || !origin_is_acceptable(&parsed, &why)) {
		cli_error("browser-policy: %s: %s", origin, why);
		return CLI_USAGE;
	}
	for (i = 0; i < json_object_array_length(hosts); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(hosts, i)),
			parsed.host) == 0)
			break;
	if (json_object_array_add(origins, json_object_new_string(origin)) != 0 ||
	    (i == json_object_array_length(hosts) &&
		json_object_array_add(hosts, json_object_new_string(parsed.host)) != 0)) {
		cli_error("%s", _("out of memory"));
		return CLI_FAILED;
	}
	return CLI_OK;
}

/* [{"protocol": "cardbridge", "allowed_origins": origins}]; NULL when out of memory. */
static struct json_object *
auto_launch_new(struct json_object *origins)
{
	struct json_object *list = json_object_new_array(), *pair = json_object_new_object();

	if (list == NULL || pair == NULL || json_object_array_add(list, pair) != 0) {
		json_object_put(list);
		json_object_put(pair);
		return NULL;
	}
	json_object_object_add(pair, "protocol", json_object_new_string("cardbridge"));
	json_object_object_add(pair, "allowed_origins", json_object_get(origins));
	return list;
}

/* The Chromium policy for origins; NULL when out of memory. */
static struct json_object *
chromium_policy(struct json_object *origins)
{
	struct json_object *policy = json_object_new_object(), *launch = auto_launch_new(origins);

	if (policy == NULL || launch == NULL) {
		json_object_put(policy);
		json_object_put(launch);
		return NULL;
	}
	json_object_object_add(policy, "LoopbackNetworkAllowedForUrls", json_object_get(origins));
	json_object_object_add(
	    policy, "LocalNetworkAccessAllowedForUrls", json_object_get(origins));
	json_object_object_add(policy, "AutoLaunchProtocolsFromOrigins", launch);
	return policy;
}

/* The Firefox policies.json for origins and their hosts; NULL when out of memory. */
static struct json_object *
firefox_policy(struct json_object *origins, struct json_object *hosts)
{
	struct json_object *file = json_object_new_object(), *policies = json_object_new_object();
	struct json_object *lna = json_object_new_object(), *launch = auto_launch_new(origins);

	if (file == NULL || policies == NULL || lna == NULL || launch == NULL) {
		json_object_put(file);
		json_object_put(policies);
		json_object_put(lna);
		json_object_put(launch);
		return NULL;
	}
	json_object_object_add(lna, "SkipDomains", json_object_get(hosts));
	json_object_object_add(policies, "AutoLaunchProtocolsFromOrigins", launch);
	json_object_object_add(policies, "LocalNetworkAccess", lna);
	json_object_object_add(file, "policies", policies);
	return file;
}

int
cli_browser_policy(FILE *out, int argc, char **argv)
{
	struct json_object *policy = NULL, *origins = NULL, *hosts = NULL;
	bool firefox = false;
	int i, r = CLI_USAGE;

	if ((origins = json_object_new_array()) == NULL ||
	    (hosts = json_object_new_array()) == NULL) {
		cli_error("%s", _("out of memory"));
		r = CLI_FAILED;
		goto out;
	}
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--firefox") == 0 && !firefox)
			firefox = true;
		else if (strcmp(argv[i], "--origin") == 0 && i + 1 < argc) {
			if ((r = policy_add(origins, hosts, argv[++i])) != CLI_OK)
				goto out;
		} else {
			r = CLI_USAGE;
			break;
		}
	}
	if (i < argc || json_object_array_length(origins) == 0) {
		/* TRANSLATORS: translate "usage" and any words in parentheses only. */
		cli_error("%s", _("usage: cardbridge browser-policy [--firefox] --origin ORIGIN "
				  "[--origin ORIGIN]..."));
		r = CLI_USAGE;
		goto out;
	}
	policy = firefox ? firefox_policy(origins, hosts) : chromium_policy(origins);
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
	json_object_put(origins);
	json_object_put(hosts);
	return r;
}
