/*
 * main.c - cardbridged: command line, configuration, process hygiene.
 *
 * cardbridged parses everything a web page sends, so it must never load a
 * PKCS#11 module or see a PIN: that is cardbridge-pkcs11-helper's job.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "common/runtime_dir.h"
#include "daemon/activation.h"
#include "daemon/conf.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/heap.h"
#include "daemon/log.h"
#include "protocol/cberr.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: cardbridged [OPTION]...\n"
	    "Local smart-card helper for web portals (JSON-RPC over a loopback WebSocket).\n"
	    "\n"
	    "  --listen ADDR:PORT     listen here (repeatable; loopback only;\n"
	    "                         default 127.0.0.1:48801 and [::1]:48801)\n"
	    "  --allow-origin ORIGIN  allow this exact origin, e.g. https://portal.example\n"
	    "                         (repeatable)\n"
	    "  --config FILE          read this JSON configuration after the system and\n"
	    "                         user files\n"
	    "  --no-default-config    do not read %s/cardbridge/config.json nor the user's,\n"
	    "                         and keep no user state (allowed origins, denied\n"
	    "                         sites) unless --state-dir says where\n"
	    "  --state-dir DIR        keep the user's allowed origins (origins.json) and\n"
	    "                         denied sites (denied.json) in DIR\n"
	    "  --module PATH          load this PKCS#11 module (repeatable)\n"
	    "  --pinentry PROGRAM     pinentry program for PIN dialogs (default: pinentry)\n"
	    "  --helper PATH          PKCS#11 helper program (default: %s)\n"
	    "  --log-level LEVEL      error, warn, info or debug (default: info)\n"
	    "  --control-socket PATH  control socket for the cardbridge tool (default:\n"
	    "                         $XDG_RUNTIME_DIR/cardbridge/control; \"\" for none)\n"
	    "  --idle-exit SECONDS    when socket-activated, exit after this long without\n"
	    "                         a connection (default 300; 0: never)\n"
	    "  --foreground           stay in the foreground (the only mode; for systemd)\n"
	    "  --version              print the version and exit\n"
	    "  --help                 print this help and exit\n",
	    SYSCONFDIR, LIBEXECDIR "/cardbridge-pkcs11-helper");
}

enum {
	OPT_LISTEN = 256,
	OPT_ALLOW_ORIGIN,
	OPT_CONFIG,
	OPT_NO_DEFAULT_CONFIG,
	OPT_MODULE,
	OPT_PINENTRY,
	OPT_HELPER,
	OPT_LOG_LEVEL,
	OPT_FOREGROUND,
	OPT_VERSION,
	OPT_HELP,
	OPT_CONTROL_SOCKET,
	OPT_IDLE_EXIT,
	OPT_STATE_DIR,
};

static const struct option long_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"allow-origin", required_argument, NULL, OPT_ALLOW_ORIGIN},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"no-default-config", no_argument, NULL, OPT_NO_DEFAULT_CONFIG},
    {"module", required_argument, NULL, OPT_MODULE},
    {"pinentry", required_argument, NULL, OPT_PINENTRY},
    {"helper", required_argument, NULL, OPT_HELPER},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {"control-socket", required_argument, NULL, OPT_CONTROL_SOCKET},
    {"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {NULL, 0, NULL, 0},
};

/* Flags win over files, so they are applied after all files are read. */
static int
apply_flags(struct cb_config *cfg, int argc, char **argv)
{
	bool listen_seen = false;
	enum log_level lvl;
	int c, r = 0;

	optind = 1;
	while (r == 0 && (c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			if (!listen_seen)
				config_clear_listen(cfg);
			listen_seen = true;
			r = config_add_listen(cfg, optarg);
			break;
		case OPT_ALLOW_ORIGIN:
			r = config_add_origin(cfg, optarg);
			break;
		case OPT_MODULE:
			r = config_add_module(cfg, optarg);
			break;
		case OPT_PINENTRY:
			free(cfg->pinentry);
			r = (cfg->pinentry = strdup(optarg)) ? 0 : CB_ERR_ALLOC;
			break;
		case OPT_HELPER:
			free(cfg->helper);
			r = (cfg->helper = strdup(optarg)) ? 0 : CB_ERR_ALLOC;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg, &lvl) != 0) {
				log_error("--log-level: expected error, warn, info or debug");
				r = CB_ERR_CONFIG;
			} else
				cfg->log_level = lvl;
			break;
		case OPT_FOREGROUND:
			cfg->foreground = true;
			break;
		case OPT_CONTROL_SOCKET:
			r = config_set_control_socket(cfg, optarg);
			break;
		case OPT_STATE_DIR:
			if (optarg[0] != '/') {
				log_error("--state-dir: expected an absolute path");
				r = CB_ERR_CONFIG;
				break;
			}
			free(cfg->state_dir);
			r = (cfg->state_dir = strdup(optarg)) ? 0 : CB_ERR_ALLOC;
			break;
		case OPT_IDLE_EXIT:
			if (optarg[0] == '\0' || strlen(optarg) > 5 ||
			    strspn(optarg, "0123456789") != strlen(optarg) ||
			    atoi(optarg) > 86400) {
				log_error("--idle-exit: expected 0 to 86400 seconds");
				r = CB_ERR_CONFIG;
			} else
				cfg->idle_exit = atoi(optarg);
			break;
		default:
			break;
		}
	}
	return r;
}

/* First pass: options that end the program or choose the files. */
static int
scan_flags(int argc, char **argv, const char **config_file, bool *no_defaults)
{
	int c;

	opterr = 1;
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_VERSION:
			printf("cardbridged %s\n", PACKAGE_VERSION);
			exit(0);
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_CONFIG:
			*config_file = optarg;
			break;
		case OPT_NO_DEFAULT_CONFIG:
			*no_defaults = true;
			break;
		case OPT_LOG_LEVEL: {
			enum log_level lvl;

			if (log_level_parse(optarg, &lvl) == 0)
				log_set_level(lvl);
			break;
		}
		case '?':
			usage(stderr);
			exit(2);
		default:
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cardbridged: unexpected argument \"%s\"\n", argv[optind]);
		exit(2);
	}
	return 0;
}

static void
harden_process(void)
{
	struct rlimit no_core = {0, 0};

	/* No core dumps, no ptrace by other same-uid processes. */
	prctl(PR_SET_DUMPABLE, 0);
	setrlimit(RLIMIT_CORE, &no_core);
}

int
main(int argc, char **argv)
{
	const char *config_file = NULL;
	bool no_defaults = false;
	struct cb_config cfg;
	struct daemon d;
	const char *bad;
	int r;

	log_init("cardbridged");
	heap_tune();
	/* Started by a browser's link handler, we may lack XDG_RUNTIME_DIR. */
	runtime_dir_export();
	activation_take_start_lock();
	scan_flags(argc, argv, &config_file, &no_defaults);
	harden_process();
	config_init(&cfg);
	/* Tests and trials: nothing of the user's is read or written. */
	cfg.user_state = !no_defaults;
	if ((!no_defaults && (r = config_load_defaults(&cfg)) != 0) ||
	    (config_file && (r = config_load_file(&cfg, config_file, true)) != 0) ||
	    (r = apply_flags(&cfg, argc, argv)) != 0 || (r = config_finish(&cfg)) != 0) {
		log_error("not started: configuration error");
		config_free(&cfg);
		return 1;
	}
	log_set_level(cfg.log_level);
	/* The user's own allow-list is read later (admission.c) and logs its count. */
	if (cfg.norigins == 0 && cfg.ask_unknown_origins)
		log_info("no origin is allowed by the administrator: the user is asked about each "
			 "site (unknownOrigins \"ask\")");
	else if (cfg.norigins == 0)
		log_warn("no origin is allowed by the administrator, and unknownOrigins is "
			 "\"refuse\": only the user's allow-list admits pages");
	if ((bad = dispatch_check_bindings()) != NULL || (bad = control_check_bindings()) != NULL) {
		log_error("not started: method %s has no handler, or a handler has no method", bad);
		config_free(&cfg);
		return 1;
	}
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	log_info("cardbridged %s starting", PACKAGE_VERSION);
	r = server_run(&d);
	config_free(&cfg);
	log_info("stopped");
	return r == 0 ? 0 : 1;
}
