/*
 * conf.c - read and validate cardbridged's JSON configuration.
 *
 * Every value is checked here, once, at start-up: the rest of the daemon
 * trusts struct cb_config.  A listen address that is not loopback, an
 * origin that is not canonical, or a key we do not know stops the start
 * with a message naming it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "daemon/conf.h"
#include "protocol/methods.h"
#include "daemon/log.h"
#include "protocol/atr.h"
#include "protocol/cberr.h"
#include "protocol/origin.h"

void
config_init(struct cb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_LVL_INFO;
	cfg->max_message = 256 * 1024;
	cfg->max_depth = 16;
	cfg->max_connections = 256;
	cfg->max_in_flight = 8;
	cfg->idle_timeout = 600;
	cfg->handshake_timeout = 10;
	cfg->prompt_timeout = PROTO_DEFAULT_PROMPT_TIMEOUT;
	cfg->operation_timeout = PROTO_DEFAULT_OPERATION_TIMEOUT_S;
	cfg->card_watch = true;
	cfg->ask_unknown_origins = true;
	cfg->idle_exit = 300;
	cfg->user_state = true;
}

static void
module_conf_clear(struct module_conf *m)
{
	size_t i;

	for (i = 0; i < m->natrs; i++)
		free(m->atrs[i]);
	free(m->atrs);
	free(m->path);
}

void
config_free(struct cb_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->norigins; i++)
		free(cfg->origins[i]);
	free(cfg->origins);
	for (i = 0; i < cfg->nmodules; i++)
		module_conf_clear(&cfg->modules[i]);
	free(cfg->modules);
	free(cfg->pinentry);
	free(cfg->helper);
	free(cfg->control_socket);
	free(cfg->state_dir);
	memset(cfg, 0, sizeof(*cfg));
}

int
config_add_origin(struct cb_config *cfg, const char *text)
{
	struct origin o;
	const char *why;
	char **n;
	size_t i;

	if (origin_parse(text, &o, &why) != 0 || !origin_is_acceptable(&o, &why)) {
		log_error("allowed origin \"%s\": %s", text, why);
		return CB_ERR_CONFIG;
	}
	for (i = 0; i < cfg->norigins; i++)
		if (strcmp(cfg->origins[i], text) == 0)
			return 0;
	if ((n = realloc(cfg->origins, (cfg->norigins + 1) * sizeof(*n))) == NULL)
		return CB_ERR_ALLOC;
	cfg->origins = n;
	if ((cfg->origins[cfg->norigins] = strdup(text)) == NULL)
		return CB_ERR_ALLOC;
	cfg->norigins++;
	return 0;
}

void
config_clear_listen(struct cb_config *cfg)
{
	cfg->nlisten = 0;
}

/* "127.0.0.1:48801", "[::1]:48801", "localhost:48801" */
int
config_add_listen(struct cb_config *cfg, const char *spec)
{
	struct listen_addr *l;
	const char *colon, *as, *ae;
	char *end;
	long port;

	if (cfg->nlisten >= CONFIG_MAX_LISTEN) {
		log_error("listen \"%s\": at most %d listen addresses", spec, CONFIG_MAX_LISTEN);
		return CB_ERR_CONFIG;
	}
	l = &cfg->listen[cfg->nlisten];
	if (spec[0] == '[') {
		as = spec + 1;
		if ((ae = strchr(spec, ']')) == NULL || ae[1] != ':')
			goto bad;
		colon = ae + 1;
	} else {
		as = spec;
		if ((colon = strrchr(spec, ':')) == NULL)
			goto bad;
		ae = colon;
	}
	if (ae <= as || (size_t)(ae - as) >= sizeof(l->addr))
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		goto bad;
	memcpy(l->addr, as, (size_t)(ae - as));
	l->addr[ae - as] = '\0';
	if (strcmp(l->addr, "localhost") == 0)
		strcpy(l->addr, "127.0.0.1");
	if (!origin_addr_is_loopback(l->addr)) {
		log_error("listen \"%s\": refusing a non-loopback address; cardbridged only "
			  "listens on 127.0.0.0/8 or [::1]",
		    spec);
		return CB_ERR_CONFIG;
	}
	l->port = (int)port;
	cfg->nlisten++;
	return 0;
bad:
	log_error("listen \"%s\": expected ADDR:PORT, e.g. 127.0.0.1:48801 or [::1]:48801", spec);
	return CB_ERR_CONFIG;
}

/* An absolute path, or "" for no control socket at all. */
int
config_set_control_socket(struct cb_config *cfg, const char *path)
{
	if (path[0] != '\0' && path[0] != '/') {
		log_error(
		    "control socket \"%s\": must be an absolute path (or \"\" for none)", path);
		return CB_ERR_CONFIG;
	}
	free(cfg->control_socket);
	return (cfg->control_socket = strdup(path)) ? 0 : CB_ERR_ALLOC;
}

int
config_add_module(struct cb_config *cfg, const char *path)
{
	struct module_conf *n;

	if ((n = realloc(cfg->modules, (cfg->nmodules + 1) * sizeof(*n))) == NULL)
		return CB_ERR_ALLOC;
	cfg->modules = n;
	memset(&n[cfg->nmodules], 0, sizeof(*n));
	if ((n[cfg->nmodules].path = strdup(path)) == NULL)
		return CB_ERR_ALLOC;
	cfg->nmodules++;
	return 0;
}

static int
set_string(char **dst, struct json_object *v, const char *key)
{
	char *s;

	if (!json_object_is_type(v, json_type_string)) {
		log_error("config: \"%s\" must be a string", key);
		return CB_ERR_CONFIG;
	}
	if ((s = strdup(json_object_get_string(v))) == NULL)
		return CB_ERR_ALLOC;
	free(*dst);
	*dst = s;
	return 0;
}

static int
get_int(struct json_object *v, const char *key, long min, long max, long *out)
{
	long n;

	if (!json_object_is_type(v, json_type_int)) {
		log_error("config: \"%s\" must be an integer", key);
		return CB_ERR_CONFIG;
	}
	n = (long)json_object_get_int64(v);
	if (n < min || n > max) {
		log_error("config: \"%s\" must be between %ld and %ld", key, min, max);
		return CB_ERR_CONFIG;
	}
	*out = n;
	return 0;
}

static int
load_limits(struct cb_config *cfg, struct json_object *limits)
{
	long n;
	int r = 0;

	if (!json_object_is_type(limits, json_type_object)) {
		log_error("config: \"limits\" must be an object");
		return CB_ERR_CONFIG;
	}
	json_object_object_foreach(limits, key, v)
	{
		if (strcmp(key, "maxMessageBytes") == 0 &&
		    (r = get_int(v, "limits.maxMessageBytes", 1024, 16 << 20, &n)) == 0)
			cfg->max_message = (size_t)n;
		else if (strcmp(key, "maxDepth") == 0 &&
			 (r = get_int(v, "limits.maxDepth", 2, 64, &n)) == 0)
			cfg->max_depth = (int)n;
		else if (strcmp(key, "maxConnections") == 0 &&
			 (r = get_int(v, "limits.maxConnections", 1, 10000, &n)) == 0)
			cfg->max_connections = (int)n;
		else if (strcmp(key, "maxInFlight") == 0 &&
			 (r = get_int(v, "limits.maxInFlight", 1, 64, &n)) == 0)
			cfg->max_in_flight = (int)n;
		else if (strcmp(key, "idleTimeoutSeconds") == 0 &&
			 (r = get_int(v, "limits.idleTimeoutSeconds", 1, 86400, &n)) == 0)
			cfg->idle_timeout = (int)n;
		else if (strcmp(key, "handshakeTimeoutSeconds") == 0 &&
			 (r = get_int(v, "limits.handshakeTimeoutSeconds", 1, 300, &n)) == 0)
			cfg->handshake_timeout = (int)n;
		else if (r == 0 && strcmp(key, "maxMessageBytes") && strcmp(key, "maxDepth") &&
			 strcmp(key, "maxConnections") && strcmp(key, "maxInFlight") &&
			 strcmp(key, "idleTimeoutSeconds") &&
			 strcmp(key, "handshakeTimeoutSeconds")) {
			log_error("config: unknown key \"limits.%s\"", key);
			r = CB_ERR_CONFIG;
		}
		if (r != 0)
			return r;
	}
	return 0;
}

static int
load_string_list(struct json_object *v, const char *key,
    int (*add)(struct cb_config *, const char *), struct cb_config *cfg)
{
	size_t i;
	int r;

	if (!json_object_is_type(v, json_type_array)) {
		log_error("config: \"%s\" must be an array of strings", key);
		return CB_ERR_CONFIG;
	}
	for (i = 0; i < json_object_array_length(v); i++) {
		struct json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string)) {
			log_error("config: \"%s[%zu]\" must be a string", key, i);
			return CB_ERR_CONFIG;
		}
		if ((r = add(cfg, json_object_get_string(e))) != 0)
			return r;
	}
	return 0;
}

static int
load_module(struct cb_config *cfg, struct json_object *m, size_t idx)
{
	struct json_object *path = NULL, *atr = NULL;
	struct module_conf *mc;
	size_t i;
	int r;

	if (!json_object_is_type(m, json_type_object)) {
		log_error("config: \"modules[%zu]\" must be an object", idx);
		return CB_ERR_CONFIG;
	}
	json_object_object_foreach(m, key, v)
	{
		if (strcmp(key, "path") == 0)
			path = v;
		else if (strcmp(key, "atr") == 0)
			atr = v;
		else {
			log_error("config: unknown key \"modules[%zu].%s\"", idx, key);
			return CB_ERR_CONFIG;
		}
	}
	if (path == NULL || !json_object_is_type(path, json_type_string)) {
		log_error("config: \"modules[%zu].path\" must be a string", idx);
		return CB_ERR_CONFIG;
	}
	if ((r = config_add_module(cfg, json_object_get_string(path))) != 0 || atr == NULL)
		return r;
	if (!json_object_is_type(atr, json_type_array)) {
		log_error("config: \"modules[%zu].atr\" must be an array of strings", idx);
		return CB_ERR_CONFIG;
	}
	mc = &cfg->modules[cfg->nmodules - 1];
	if ((mc->atrs = calloc(json_object_array_length(atr) + 1, sizeof(char *))) == NULL)
		return CB_ERR_ALLOC;
	for (i = 0; i < json_object_array_length(atr); i++) {
		struct json_object *e = json_object_array_get_idx(atr, i);
		const char *s = json_object_get_string(e);

		if (!json_object_is_type(e, json_type_string) || !atr_pattern_valid(s)) {
			log_error("config: \"modules[%zu].atr[%zu]\" must be a hex ATR "
				  "(optionally \"/\" and a hex mask)",
			    idx, i);
			return CB_ERR_CONFIG;
		}
		if ((mc->atrs[mc->natrs++] = strdup(s)) == NULL)
			return CB_ERR_ALLOC;
	}
	return 0;
}

static int
load_key(struct cb_config *cfg, const char *key, struct json_object *v, bool *listen_seen)
{
	enum log_level lvl;
	long n;
	size_t i;
	int r;

	if (strcmp(key, "listen") == 0) {
		if (!*listen_seen)
			config_clear_listen(cfg);
		*listen_seen = true;
		return load_string_list(v, key, config_add_listen, cfg);
	}
	if (strcmp(key, "allowedOrigins") == 0)
		return load_string_list(v, key, config_add_origin, cfg);
	if (strcmp(key, "logLevel") == 0) {
		if (!json_object_is_type(v, json_type_string) ||
		    log_level_parse(json_object_get_string(v), &lvl) != 0) {
			log_error("config: \"logLevel\" must be one of error, warn, info, debug");
			return CB_ERR_CONFIG;
		}
		cfg->log_level = lvl;
		return 0;
	}
	if (strcmp(key, "limits") == 0)
		return load_limits(cfg, v);
	if (strcmp(key, "modules") == 0) {
		if (!json_object_is_type(v, json_type_array)) {
			log_error("config: \"modules\" must be an array");
			return CB_ERR_CONFIG;
		}
		for (i = 0; i < json_object_array_length(v); i++)
			if ((r = load_module(cfg, json_object_array_get_idx(v, i), i)) != 0)
				return r;
		return 0;
	}
	if (strcmp(key, "pinentry") == 0)
		return set_string(&cfg->pinentry, v, key);
	if (strcmp(key, "unknownOrigins") == 0) {
		if (!json_object_is_type(v, json_type_string) ||
		    (strcmp(json_object_get_string(v), "ask") != 0 &&
			strcmp(json_object_get_string(v), "refuse") != 0)) {
			log_error("config: \"unknownOrigins\" must be \"ask\" or \"refuse\"");
			return CB_ERR_CONFIG;
		}
		cfg->ask_unknown_origins = strcmp(json_object_get_string(v), "ask") == 0;
		return 0;
	}
	if (strcmp(key, "cardEvents") == 0) {
		if (!json_object_is_type(v, json_type_boolean)) {
			log_error("config: \"cardEvents\" must be true or false");
			return CB_ERR_CONFIG;
		}
		cfg->card_watch = json_object_get_boolean(v);
		return 0;
	}
	if (strcmp(key, "controlSocket") == 0) {
		if (!json_object_is_type(v, json_type_string)) {
			log_error("config: \"controlSocket\" must be a string");
			return CB_ERR_CONFIG;
		}
		return config_set_control_socket(cfg, json_object_get_string(v));
	}
	if (strcmp(key, "idleExitSeconds") == 0) {
		if ((r = get_int(v, key, 0, 86400, &n)) == 0)
			cfg->idle_exit = (int)n;
		return r;
	}
	if (strcmp(key, "promptTimeoutSeconds") == 0) {
		if ((r = get_int(v, key, 1, 3600, &n)) == 0)
			cfg->prompt_timeout = (int)n;
		return r;
	}
	if (strcmp(key, "operationTimeoutSeconds") == 0) {
		if ((r = get_int(v, key, 1, 86400, &n)) == 0)
			cfg->operation_timeout = (int)n;
		return r;
	}
	log_error("config: unknown key \"%s\"", key);
	return CB_ERR_CONFIG;
}

int
config_load_file(struct cb_config *cfg, const char *path, bool must_exist)
{
	struct json_object *root;
	bool listen_seen = false;
	struct stat st;
	int r = 0;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		log_error("config %s: %s", path, strerror(errno));
		return CB_ERR_CONFIG;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > 1024 * 1024) {
		log_error("config %s: not a regular file of at most 1 MiB", path);
		return CB_ERR_CONFIG;
	}
	if ((root = json_object_from_file(path)) == NULL) {
		log_error("config %s: not valid JSON: %s", path, json_util_get_last_err());
		return CB_ERR_CONFIG;
	}
	if (!json_object_is_type(root, json_type_object)) {
		log_error("config %s: the top level must be an object", path);
		r = CB_ERR_CONFIG;
		goto out;
	}
	json_object_object_foreach(root, key, v)
	{
		if ((r = load_key(cfg, key, v, &listen_seen)) != 0) {
			log_error("config %s: not started because of the error above", path);
			goto out;
		}
	}
	log_debug("config %s loaded", path);
out:
	json_object_put(root);
	return r;
}

int
config_load_defaults(struct cb_config *cfg)
{
	return config_load_defaults_from(cfg, SYSCONFDIR "/cardbridge/config.json");
}

int
config_load_defaults_from(struct cb_config *cfg, const char *system_file)
{
	char path[PATH_MAX];
	const char *xdg, *home;
	int r;

	if ((r = config_load_file(cfg, system_file, false)) != 0)
		return r;
	xdg = getenv("XDG_CONFIG_HOME");
	home = getenv("HOME");
	if (xdg != NULL && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/cardbridge/config.json", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(path, sizeof(path), "%s/.config/cardbridge/config.json", home);
	else
		return 0;
	return config_load_file(cfg, path, false);
}

int
config_finish(struct cb_config *cfg)
{
	char real[PATH_MAX];
	size_t i;
	int r;

	if (cfg->nlisten == 0) {
		if ((r = config_add_listen(cfg, "127.0.0.1:48801")) != 0 ||
		    (r = config_add_listen(cfg, "[::1]:48801")) != 0)
			return r;
		cfg->listen[1].optional = true;
	}
	for (i = 0; i < cfg->nmodules; i++) {
		/* Only configured paths are ever loaded, and only after realpath. */
		if (realpath(cfg->modules[i].path, real) == NULL) {
			log_warn("module %s: %s (it will be reported as failed)",
			    cfg->modules[i].path, strerror(errno));
			continue;
		}
		free(cfg->modules[i].path);
		if ((cfg->modules[i].path = strdup(real)) == NULL)
			return CB_ERR_ALLOC;
	}
	if (cfg->pinentry == NULL && (cfg->pinentry = strdup("pinentry")) == NULL)
		return CB_ERR_ALLOC;
	if (cfg->helper == NULL &&
	    (cfg->helper = strdup(LIBEXECDIR "/cardbridge-pkcs11-helper")) == NULL)
		return CB_ERR_ALLOC;
	return 0;
}

int
config_budget_s(const struct cb_config *cfg, const struct proto_method *m)
{
	switch (m->budget) {
	case PROTO_BUDGET_NONE:
		return 0;
	case PROTO_BUDGET_FIXED:
		break;
	case PROTO_BUDGET_PROMPT:
		return cfg->prompt_timeout + m->timeout_s;
	case PROTO_BUDGET_OPERATION:
		return cfg->operation_timeout;
	}
	return m->timeout_s;
}
