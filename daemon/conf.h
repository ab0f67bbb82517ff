/*
 * conf.h - cardbridged's configuration: defaults, JSON files, flags.
 *
 * Order: built-in defaults, SYSCONFDIR/cardbridge/config.json,
 * $XDG_CONFIG_HOME/cardbridge/config.json, --config FILE, then flags.
 * Scalars: the later source wins.  Lists (allowed origins, modules) are
 * unions, so an administrator's allow-list cannot be shrunk by a user file.
 * Unknown keys and wrong types are start-up errors naming the key.
 */
#ifndef CB_CONFIG_H
#define CB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/log.h"
#include "protocol/methods.h"

#define CONFIG_MAX_LISTEN 8
#define CONFIG_DEFAULT_PORT PROTO_DEFAULT_PORT

struct listen_addr {
	char addr[64]; /* numeric, no brackets */
	int port;
	bool optional; /* a default that may be missing (IPv6 off) */
};

struct module_conf {
	char *path;  /* realpath()ed by config_finish() */
	char **atrs; /* hex ATR patterns, optional "/mask" suffix */
	size_t natrs;
};

struct cb_config {
	struct listen_addr listen[CONFIG_MAX_LISTEN];
	size_t nlisten;
	char **origins;
	size_t norigins;
	enum log_level log_level;
	size_t max_message;
	int max_depth;
	int max_connections;
	int max_in_flight;
	int idle_timeout;      /* seconds */
	int handshake_timeout; /* seconds */
	struct module_conf *modules;
	size_t nmodules;
	char *pinentry;
	int prompt_timeout;
	/*
	 * Seconds a card operation (PROTO_BUDGET_OPERATION: keys.generate) may
	 * take, dialogs included, before the daemon answers TIMEOUT and
	 * restarts the helper it hung in.
	 */
	int operation_timeout;
	char *helper;
	bool foreground;
	bool card_watch;	  /* watch PC/SC for reader and card events */
	bool ask_unknown_origins; /* "unknownOrigins": "ask" (default) or "refuse" */
	char *control_socket;	  /* NULL: $XDG_RUNTIME_DIR/cardbridge/control; "": none */
	int idle_exit;		  /* seconds idle before exiting when socket-activated; 0: never */
	/*
	 * The user's state (origins.json, denied.json): in state_dir when set
	 * (--state-dir), else in the XDG directories when user_state, else
	 * nowhere: kept in memory only (--no-default-config).
	 */
	char *state_dir;
	bool user_state;
};

void config_init(struct cb_config *cfg);
void config_free(struct cb_config *cfg);

/* Load one JSON file; a missing file is fine unless must_exist. */
int config_load_file(struct cb_config *cfg, const char *path, bool must_exist);
/* Load the system and the user file (XDG). */
int config_load_defaults(struct cb_config *cfg);
/* The same with another system file (tests: SYSCONFDIR is fixed at build time). */
int config_load_defaults_from(struct cb_config *cfg, const char *system_file);

int config_add_origin(struct cb_config *cfg, const char *origin);
int config_add_listen(struct cb_config *cfg, const char *spec);
int config_add_module(struct cb_config *cfg, const char *path);
int config_set_control_socket(struct cb_config *cfg, const char *path);
void config_clear_listen(struct cb_config *cfg);

struct proto_method;

/* Seconds the daemon gives a method of protocol/methods.c before TIMEOUT. */
int config_budget_s(const struct cb_config *cfg, const struct proto_method *m);

/* Fill in the default listen addresses and resolve module paths. */
int config_finish(struct cb_config *cfg);

#endif /* CB_CONFIG_H */
