/*
 * helper.c - main() of cardbridge-pkcs11-helper: command line, process
 * hardening, reading frames from the daemon on fd 0 and dispatching them.
 *
 * This is the only program of cardbridge that loads a PKCS#11 module or
 * holds a PIN (see doc/HELPER-IPC.md).  The main thread only reads and
 * dispatches; requests that touch a token run on worker threads, so that
 * `cancel` is read and acted on while a dialog is open.
 * This file calls into every other part of the helper and none calls back
 * into it: what they all share (the log, the configuration main() fills
 * in) is in log.c, the request and its answer in request.c.
 * Must never: trust a frame (a malformed one ends the process, the daemon
 * respawns us), or log a PIN or a message body.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "protocol/atr.h"
#include "protocol/cberr.h"
#include "protocol/ipc.h"
#include "protocol/jsonrpc.h"
#include "protocol/methods.h"
#include "protocol/origin.h"
#include "common/i18n.h"
#include "pkcs11/abandon.h"
#include "pkcs11/card.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/module.h"
#include "pkcs11/opensc_conf.h"
#include "pkcs11/progress.h"
#include "pkcs11/request.h"
#include "pkcs11/secret.h"
#include "pkcs11/token_lock.h"
#include "pkcs11/worker.h"

#ifndef DEFAULT_MODULE
#define DEFAULT_MODULE "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
#endif

#define MODULES_MAX 32
#define ATRS_MAX 256 /* patterns of all modules together */
#define PROMPT_TIMEOUT_MAX 3600

static int
handle_cancel(struct request *req, struct json_object **result)
{
	struct json_object *obj, *id = NULL;

	/*
	 * methods.c makes id a required integer of at least 0; without one,
	 * json_object_get_int64(NULL) would cancel request 0 instead.
	 */
	if (!json_object_object_get_ex(req->params, "id", &id) ||
	    !json_object_is_type(id, json_type_int) || json_object_get_int64(id) < 0)
		return request_fail(req, CB_ERR_INVALID_PARAMS, "params.id: not a request id");
	if ((obj = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	if (json_object_object_add(obj, "cancelled",
		json_object_new_boolean(request_cancel((uint64_t)json_object_get_int64(id)))) !=
	    0) {
		json_object_put(obj);
		return CB_ERR_ALLOC;
	}
	*result = obj;
	return 0;
}

/* The helper's handlers, bound to the rows of protocol/methods.c. */
static const struct binding {
	const char *method;
	request_handler handler;
} bindings[] = {
    {"hello", handle_hello},
    {"cancel", handle_cancel},
    {"tokens.list", handle_tokens_list},
    {"keys.generate", handle_keys_generate},
    {"certificates.install", handle_certificates_install},
    {"certificates.list", handle_certificates_list},
    {"origin.confirm", handle_origin_confirm},
    {"keys.list", handle_keys_list},
    {"pins.change", handle_pins_change},
    {"pins.unblock", handle_pins_unblock},
    {"pins.initialize", handle_pins_initialize},
    {"keys.delete", handle_keys_delete},
    {"certificates.delete", handle_certificates_delete},
    {"keys.abandon", handle_keys_abandon},
    {"card.removed", handle_card_removed},
};

static request_handler
binding_of(const struct proto_method *m)
{
	return bindings[PROTO_BINDING_INDEX(bindings, m->name)].handler;
}

/* Fill in the envelope fields of req from its parsed root. */
static int
request_envelope(struct request *req)
{
	struct json_object *params = NULL;
	int r;

	if ((r = field_string(req, req->root, "method", true, PROTO_MAX_METHOD, &req->method)) !=
		0 ||
	    (r = field_string(req, req->root, "origin", false, ORIGIN_MAX - 1, &req->origin)) !=
		0 ||
	    (r = field_string(req, req->root, "site", false, ORIGIN_MAX - 1, &req->site)) != 0 ||
	    (r = field_object(req, req->root, "params", false, &params)) != 0 ||
	    (r = field_bool(req, req->root, "local", &req->local)) != 0)
		return r;
	if (req->origin == NULL)
		req->origin = "";
	if (req->site == NULL)
		req->site = "";
	if (params == NULL) {
		if ((params = json_object_new_object()) == NULL)
			return CB_ERR_ALLOC;
		json_object_object_add(req->root, "params", params);
	}
	req->params = params;
	return 0;
}

/* Read the id; false (and a log line) when there is none we could answer. */
static bool
request_id(struct request *req)
{
	struct json_object *id;

	if (!json_object_is_type(req->root, json_type_object) ||
	    !json_object_object_get_ex(req->root, "id", &id) ||
	    !json_object_is_type(id, json_type_int) || json_object_get_int64(id) < 0) {
		helper_log(CB_LOG_ERROR, "dropping a message without a usable id");
		return false;
	}
	req->id = (uint64_t)json_object_get_int64(id);
	return true;
}

static void
dispatch(struct request *req)
{
	const struct proto_method *m;
	struct json_object *result = NULL;
	int r;

	if ((r = request_envelope(req)) != 0) {
		if (req->method == NULL)
			req->method = "?";
		request_finish(req, r, NULL);
		return;
	}
	if ((m = proto_method_find(req->method, PROTO_M_HELPER)) == NULL) {
		request_finish(req, CB_ERR_METHOD_NOT_FOUND, NULL);
		return;
	}
	/* The daemon checked these params with the same table; we trust no one. */
	if ((r = proto_method_check(m, req->params, req->message, sizeof(req->message))) != 0) {
		request_finish(req, r, NULL);
		return;
	}
	helper_log(CB_LOG_DEBUG, "request %llu %s", (unsigned long long)req->id, req->method);
	if (m->flags & PROTO_M_INLINE) {
		r = binding_of(m)(req, &result);
		request_finish(req, r, result);
		return;
	}
	if (request_register(req) != 0) {
		/* Answering would give the daemon two answers for one id. */
		helper_log(CB_LOG_ERROR, "dropping request %llu: id already in flight",
		    (unsigned long long)req->id);
		request_free(req);
		return;
	}
	if ((r = worker_submit(req, binding_of(m), m)) != 0)
		request_finish(req, r, NULL);
}

static void
handle_frame(const char *text, size_t len)
{
	struct proto_failure fail;
	struct request *req;

	if ((req = request_new()) == NULL) {
		helper_log(CB_LOG_ERROR, "out of memory");
		return;
	}
	if ((req->root = proto_parse_object(text, len, PROTO_DEFAULT_MAX_DEPTH, &fail)) == NULL) {
		helper_log(
		    CB_LOG_ERROR, "dropping a message that is not a JSON object: %s", fail.detail);
		request_free(req);
		return;
	}
	if (!request_id(req)) {
		request_free(req);
		return;
	}
	dispatch(req);
}

/* Read frames until the daemon closes the link; _exit(1) on a malformed one. */
static void
read_loop(void)
{
	struct ipc_reader reader;
	uint8_t buf[16384];
	char *msg;
	size_t len;
	ssize_t n;
	int r;

	ipc_reader_init(&reader, CB_IPC_MAX_FRAME);
	for (;;) {
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((r = ipc_reader_feed(&reader, buf, (size_t)n)) != 0)
			goto bad;
		while ((r = ipc_reader_next(&reader, &msg, &len)) == 0) {
			handle_frame(msg, len);
			free(msg);
		}
		if (r != CB_ERR_AGAIN)
			goto bad;
	}
	if (n < 0)
		helper_log(CB_LOG_ERROR, "reading from the daemon: %s", strerror(errno));
	ipc_reader_clear(&reader);
	return;
bad:
	helper_log(CB_LOG_ERROR, "malformed frame from the daemon (%s); exiting", cb_err_str(r));
	/*
	 * _exit: atexit handlers (OpenSSL's, the modules') must not run under
	 * workers that may be inside a module; the daemon kills us anyway.
	 */
	_exit(1);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cardbridge-pkcs11-helper [--module PATH [--atr PATTERN]...]...\n"
	    "                                [--pinentry PROGRAM] [--prompt-timeout SECONDS]\n"
	    "                                [--log-level LEVEL]\n"
	    "Serves doc/HELPER-IPC.md on fd 0/1; started by cardbridged.\n");
}

/* --atr PATTERN: one more card the module named just before claims. */
static bool
add_atr(struct module_spec *modules, size_t nmodules, const char *pattern)
{
	static const char *atrs[ATRS_MAX];
	static size_t used;
	struct module_spec *m;

	if (nmodules == 0 || used == ATRS_MAX || !atr_pattern_valid(pattern))
		return false;
	m = &modules[nmodules - 1];
	/* Each module's patterns are consecutive: --atr follows its --module. */
	if (m->natrs == 0)
		m->atrs = &atrs[used];
	atrs[used++] = pattern;
	m->natrs++;
	return true;
}

static void
parse_args(int argc, char **argv, struct module_spec *modules, size_t *nmodules)
{
	static const struct option options[] = {
	    {"module", required_argument, NULL, 'm'},
	    {"atr", required_argument, NULL, 'a'},
	    {"pinentry", required_argument, NULL, 'p'},
	    {"prompt-timeout", required_argument, NULL, 't'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	long v;
	int c;

	*nmodules = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (*nmodules == MODULES_MAX)
				goto bad;
			modules[(*nmodules)++] = (struct module_spec){.path = optarg};
			break;
		case 'a':
			if (!add_atr(modules, *nmodules, optarg))
				goto bad;
			break;
		case 'p':
			helper_config.pinentry = optarg;
			break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > PROMPT_TIMEOUT_MAX)
				goto bad;
			helper_config.prompt_timeout = (unsigned int)v;
			break;
		case 'l':
			if ((helper_config.log_level = helper_log_level(optarg)) < 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind == argc)
		return;
bad:
	usage(stderr);
	exit(2);
}

/* No core dumps and no ptrace by the user's other processes: we hold PINs. */
static void
harden(void)
{
	struct rlimit nocore = {0, 0};

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &nocore) != 0) {
		helper_log(CB_LOG_ERROR, "cannot disable core dumps: %s", strerror(errno));
		exit(1);
	}
	/* A dead pinentry or daemon must give EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("CB_HELPER_TESTING") != NULL && strcmp(getenv("CB_HELPER_TESTING"), "1") == 0) {
		helper_config.fault = getenv("CB_HELPER_FAULT");
		if (getenv("CB_HELPER_CARD_BACK_MS") != NULL)
			helper_config.card_back_ms = atoi(getenv("CB_HELPER_CARD_BACK_MS"));
	}
}

int
main(int argc, char **argv)
{
	struct module_spec modules[MODULES_MAX];
	const char *bad;
	size_t nmodules;

	parse_args(argc, argv, modules, &nmodules);
	if ((bad = PROTO_BINDINGS_CHECK(bindings, PROTO_M_HELPER)) != NULL) {
		helper_log(
		    CB_LOG_ERROR, "method %s has no handler, or a handler has no method", bad);
		return 1;
	}
	harden();
	if (!i18n_init())
		helper_log(CB_LOG_DEBUG, "the user's locale is not installed: dialogs in English");
	/* Without the secure heap PINs live in ordinary memory; secret_init() logs that. */
	(void)secret_init();
	if (nmodules == 0)
		modules[nmodules++] = (struct module_spec){.path = DEFAULT_MODULE};
	/* Before any module: OpenSC reads its configuration in C_Initialize. */
	opensc_conf_setup();
	module_load_all(modules, nmodules);
	progress_sink = helper_send;
	token_lock_interrupted = request_interrupted;
	token_lock_waiting = worker_waiting;
	if (request_watchdog_start() != 0) {
		helper_log(CB_LOG_ERROR, "cannot start threads");
		return 1;
	}
	helper_log(CB_LOG_INFO, "ready, %zu module(s)", nmodules);
	read_loop();
	/* The daemon is gone: close dialogs, let running work clean up, then go. */
	request_cancel_all();
	worker_stop();
	abandon_forget_all();
	module_unload_all();
	return 0;
}
