/*
 * pin.c - PIN dialogs through pinentry, spoken to over Assuan (libassuan).
 *
 * Each dialog starts its own pinentry (assuan_pipe_connect), sets the texts
 * (title "cardbridge", a description naming the page's origin, the
 * operation, the token and which PIN), reads the PIN with GETPIN straight
 * into a struct secret (or asks a yes/no question with CONFIRM) and ends
 * the pinentry.  The pid is registered with
 * the request so that `cancel` and the watchdog (request.c) can kill it.
 * Errors are logged as gpg-error codes: gpg_strerror() would need
 * libgpg-error on the link line, which libassuan's pkg-config omits.
 * Must never: log, cache or copy the PIN; let libassuan log our lines
 * (no log callback, ASSUAN_NO_LOGGING, confidential mode around GETPIN) or
 * keep them in ordinary memory (its allocations go to the secure heap).
 */
#include "config.h"

#include <assuan.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "protocol/cberr.h"
#include "pkcs11/helper.h"
#include "pkcs11/pin.h"
#include "pkcs11/secret.h"

/* Room for an Assuan line: 1000 bytes, less the command word. */
#define LINE_MAX_BYTES (ASSUAN_LINELENGTH - 2)
/* Longest origin we show; a longer one is cut (on a UTF-8 boundary). */
#define ORIGIN_SHOWN_MAX 200

struct dialog {
	struct request *req;
	assuan_context_t ctx;
	pid_t pid;
	struct secret *pin;
	bool pin_too_long;
};

static struct assuan_malloc_hooks secure_hooks = {
    .malloc = secret_heap_malloc,
    .realloc = secret_heap_realloc,
    .free = secret_heap_free,
};

/* Find the program on $PATH when it has no slash, as execvp() would. */
static char *
program_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[PATH_MAX];
	int n;

	if (strchr(name, '/') != NULL)
		return strdup(name);
	for (p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p != '\0';
	     p = end + (*end != '\0')) {
		end = strchrnul(p, ':');
		n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p, name);
		if (end > p && n > 0 && (size_t)n < sizeof(buf) && access(buf, X_OK) == 0)
			return strdup(buf);
	}
	return NULL;
}

/* "CMD text" with text percent-escaped for Assuan, cut to fit one line. */
static void
assuan_line(char *line, size_t size, const char *cmd, const char *text)
{
	size_t len = (size_t)snprintf(line, size, "%s ", cmd), limit;
	const unsigned char *p;

	limit = size < LINE_MAX_BYTES ? size : LINE_MAX_BYTES;
	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '%' || *p < 0x20) {
			if (len + 3 >= limit)
				break;
			len += (size_t)snprintf(line + len, size - len, "%%%02X", *p);
		} else {
			if (len + 1 >= limit)
				break;
			line[len++] = (char)*p;
		}
	}
	line[len] = '\0';
}

static int
dialog_command(struct dialog *d, const char *cmd, const char *text, bool must_succeed)
{
	char line[ASSUAN_LINELENGTH];
	gpg_error_t err;

	assuan_line(line, sizeof(line), cmd, text);
	err = assuan_transact(d->ctx, line, NULL, NULL, NULL, NULL, NULL, NULL);
	if (err != 0 && must_succeed) {
		helper_log(
		    CB_LOG_WARN, "pinentry refused %s: gpg-error %u", cmd, gpg_err_code(err));
		return request_fail(d->req, CB_ERR_INTERNAL, "the PIN dialog failed");
	}
	return 0;
}

/*
 * Runs in the pinentry's process between fork and exec (async-signal-safe
 * calls only): if the helper dies (the daemon kills a hung helper), the
 * dialog must go with it rather than stay on the screen.
 */
static void
dialog_atfork(void *arg, int reserved)
{
	pid_t helper = *(const pid_t *)arg;

	(void)reserved;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != helper)
		_exit(1); /* the helper died before the line above */
}

static int
dialog_start(struct dialog *d)
{
	pid_t self = getpid();
	const char *argv[2];
	char *program;
	gpg_error_t err;

	if ((program = program_path(helper_config.pinentry)) == NULL)
		return request_fail(d->req, CB_ERR_INTERNAL, "no PIN dialog program is installed");
	/* libassuan's line buffers hold the PIN's data line: keep them in locked memory. */
	if ((err = assuan_new_ext(&d->ctx, GPG_ERR_SOURCE_DEFAULT, &secure_hooks, NULL, NULL)) !=
	    0) {
		free(program);
		return CB_ERR_ALLOC;
	}
	assuan_set_flag(d->ctx, ASSUAN_NO_LOGGING, 1);
	argv[0] = program;
	argv[1] = NULL;
	err = assuan_pipe_connect(d->ctx, program, argv, NULL, dialog_atfork, &self, 0);
	free(program);
	if (err != 0) {
		helper_log(CB_LOG_ERROR, "cannot start pinentry %s: gpg-error %u",
		    helper_config.pinentry, gpg_err_code(err));
		return request_fail(d->req, CB_ERR_INTERNAL, "the PIN dialog could not be shown");
	}
	d->pid = assuan_get_pid(d->ctx);
	if (d->pid == ASSUAN_INVALID_PID)
		d->pid = 0;
	return request_dialog_begin(d->req, d->pid);
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static void
utf8_cut(char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = '\0';
}

/* "<origin> asks to <operation> on the token ...", then the closing sentence. */
static void
describe(char *buf, size_t size, const struct request *req, const struct pin_prompt *p,
    const char *closing)
{
	char origin[ORIGIN_SHOWN_MAX + 1];

	snprintf(origin, sizeof(origin), "%s", req->origin[0] ? req->origin : "A web page");
	utf8_cut(origin, ORIGIN_SHOWN_MAX);
	snprintf(buf, size, "%s asks to %s on the token \"%s\" (serial number %s).\n\n%s", origin,
	    p->operation, p->token_label, p->token_serial[0] ? p->token_serial : "unknown",
	    closing);
}

/* Title, description, and either a PIN prompt or an OK button label. */
static int
dialog_texts(
    struct dialog *d, const char *desc, const char *prompt, const char *ok, const char *error)
{
	char timeout[16];
	int r;

	snprintf(timeout, sizeof(timeout), "%u", helper_config.prompt_timeout);
	/* Older pinentries do not know every option: those may fail. */
	dialog_command(d, "OPTION", "default-ok=OK", false);
	dialog_command(d, "OPTION", "default-cancel=Cancel", false);
	if ((r = dialog_command(d, "SETTITLE", "cardbridge", true)) != 0 ||
	    (r = dialog_command(d, "SETDESC", desc, true)) != 0 ||
	    (prompt != NULL && (r = dialog_command(d, "SETPROMPT", prompt, true)) != 0) ||
	    (ok != NULL && (r = dialog_command(d, "SETOK", ok, true)) != 0) ||
	    (error != NULL && (r = dialog_command(d, "SETERROR", error, true)) != 0))
		return r;
	dialog_command(d, "SETTIMEOUT", timeout, false);
	return 0;
}

/* What a failed GETPIN or CONFIRM means for the request. */
static int
dialog_failed(struct dialog *d, const char *command, gpg_error_t err)
{
	switch (gpg_err_code(err)) {
	case GPG_ERR_CANCELED:
	case GPG_ERR_FULLY_CANCELED:
	case GPG_ERR_ASS_CANCELED:
		return request_fail(d->req, CB_ERR_USER_CANCELLED, "the user cancelled the dialog");
	case GPG_ERR_TIMEOUT:
		return request_fail(d->req, CB_ERR_TIMEOUT, "the dialog timed out");
	default:
		helper_log(CB_LOG_WARN, "pinentry %s: gpg-error %u", command, gpg_err_code(err));
		return request_fail(d->req, CB_ERR_INTERNAL, "the dialog failed");
	}
}

/* Data lines of GETPIN: already unescaped by libassuan. */
static gpg_error_t
dialog_data(void *arg, const void *data, size_t len)
{
	struct dialog *d = arg;

	if (secret_append(d->pin, data, len) != 0) {
		d->pin_too_long = true;
		return gpg_error(GPG_ERR_TOO_LARGE);
	}
	return 0;
}

static int
dialog_getpin(struct dialog *d)
{
	gpg_error_t err;

	assuan_begin_confidential(d->ctx);
	err = assuan_transact(d->ctx, "GETPIN", dialog_data, d, NULL, NULL, NULL, NULL);
	assuan_end_confidential(d->ctx);
	if (err == 0)
		return 0;
	if (d->pin_too_long)
		return request_fail(d->req, CB_ERR_PIN_INVALID, "the PIN is too long");
	return dialog_failed(d, "GETPIN", err);
}

static int
dialog_confirm(struct dialog *d)
{
	gpg_error_t err;

	err = assuan_transact(d->ctx, "CONFIRM", NULL, NULL, NULL, NULL, NULL, NULL);
	return err == 0 ? 0 : dialog_failed(d, "CONFIRM", err);
}

/* End the dialog; r is the outcome so far, the result may say why it ended. */
static int
dialog_end(struct dialog *d, int r)
{
	int killed;

	if (d->pid > 0) {
		killed = request_dialog_end(d->req);
		if (r != 0 && killed == CB_ERR_USER_CANCELLED)
			r = request_fail(d->req, killed, "the request was cancelled");
		else if (r != 0 && killed == CB_ERR_TIMEOUT)
			r = request_fail(d->req, killed, "the PIN dialog timed out");
		/* Still our unreaped child: a pinentry in an unknown state goes now. */
		if (r != 0)
			kill(d->pid, SIGKILL);
	}
	if (d->ctx != NULL && r == 0)
		assuan_transact(d->ctx, "BYE", NULL, NULL, NULL, NULL, NULL, NULL);
	assuan_release(d->ctx); /* waits for the pinentry */
	d->ctx = NULL;
	return r;
}

int
pin_ask(struct request *req, const struct pin_prompt *prompt, struct secret **pin)
{
	struct dialog d = {.req = req};
	char desc[ASSUAN_LINELENGTH], closing[64], label[64];
	int r;

	*pin = NULL;
	if (request_is_cancelled(req))
		return request_fail(req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	if ((d.pin = secret_new(prompt->max_len)) == NULL)
		return CB_ERR_ALLOC;
	snprintf(
	    closing, sizeof(closing), "Enter the %s of this token to allow it.", prompt->pin_name);
	describe(desc, sizeof(desc), req, prompt, closing);
	snprintf(label, sizeof(label), "%s:", prompt->pin_name);
	label[0] = (char)toupper((unsigned char)label[0]);
	if ((r = dialog_start(&d)) == 0 &&
	    (r = dialog_texts(&d, desc, label, NULL, prompt->error)) == 0)
		r = dialog_getpin(&d);
	r = dialog_end(&d, r);
	if (r == 0) {
		*pin = d.pin;
		d.pin = NULL; /* transferred */
	}
	secret_free(d.pin);
	return r;
}

int
pin_confirm(
    struct request *req, const struct pin_prompt *prompt, const char *question, const char *ok)
{
	struct dialog d = {.req = req};
	char desc[ASSUAN_LINELENGTH];
	int r;

	if (request_is_cancelled(req))
		return request_fail(req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	describe(desc, sizeof(desc), req, prompt, question);
	if ((r = dialog_start(&d)) == 0 && (r = dialog_texts(&d, desc, NULL, ok, NULL)) == 0)
		r = dialog_confirm(&d);
	return dialog_end(&d, r);
}
