/*
 * pin.c - dialogs through pinentry, spoken to over Assuan (libassuan): PIN
 * entry, the PIN-pad notice, questions, and the origin.confirm method.
 *
 * Each dialog starts its own pinentry (assuan_pipe_connect), passes on the
 * terminal (GPG_TTY, TERM) and locale for text-mode pinentries, sets the
 * texts (a title and a description naming the page's origin, the
 * operation, the token and which PIN), reads the PIN with GETPIN straight
 * into a struct secret (or asks with CONFIRM, or shows MESSAGE) and ends
 * the pinentry.  The pid is registered with the request so that `cancel`
 * and the watchdog (request.c) can kill it.  One dialog at a time: the
 * dialog lock below is held from before the pinentry starts until it has
 * been reaped.  Errors are logged as gpg-error codes: gpg_strerror() would
 * need libgpg-error on the link line, which libassuan's pkg-config omits.
 * Must never: log, cache or copy the PIN; let libassuan log our lines
 * (no log callback, ASSUAN_NO_LOGGING, confidential mode around GETPIN) or
 * keep them in ordinary memory (its allocations go to the secure heap).
 */
#include "config.h"

#include <assuan.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "protocol/params.h"
#include "protocol/cberr.h"
#include "common/i18n.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/pin.h"
#include "pkcs11/request.h"
#include "pkcs11/secret.h"

/* Room for an Assuan line: 1000 bytes, less the command word. */
#define LINE_MAX_BYTES (ASSUAN_LINELENGTH - 2)
/* Longest origin we show; a longer one is cut (on a UTF-8 boundary). */
#define ORIGIN_SHOWN_MAX 200
/* Longest wait for another dialog to close before BUSY, seconds. */
#define DIALOG_WAIT_MAX 30
/* How often a waiting request looks whether it was cancelled, ms. */
#define DIALOG_WAIT_SLICE_MS 200
/* GPG_ERR_NOT_CONFIRMED: pinentry's answer for the SETNOTOK button. */
#define ERR_NOT_CONFIRMED 114

struct dialog {
	struct request *req;
	assuan_context_t ctx;
	pid_t pid;
	int guard; /* write end of the guard's pipe, while guarded */
	bool guarded;
	bool locked; /* holds the dialog lock */
	struct secret *pin;
	bool pin_too_long;
};

static pthread_mutex_t dialog_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dialog_cond; /* CLOCK_MONOTONIC, set up once */
static pthread_once_t dialog_once = PTHREAD_ONCE_INIT;
static bool dialog_open; /* {dialog_lock} a dialog is on screen */

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

/* What the pinentry's process needs to know between fork and exec. */
struct dialog_fork {
	pid_t helper;
	int guard[2]; /* pipe: the helper holds [1] while the dialog is open */
};

/*
 * The guard: a small process that the pinentry forks before exec and that
 * only waits for the helper's end of a pipe to close.  If that happens
 * while the pinentry is still its parent, the helper died with the dialog
 * open: SIGTERM, and SIGKILL if the dialog ignores that.  It does what the
 * death signal does without relying on it (some environments clear or
 * block it); getppid() and a pidfd keep it from signalling any other
 * process (guard_signal()).  Async-signal-safe
 * calls only: this is a child of a multi-threaded process.
 */
/*
 * sig to the dialog if it is still our parent.  The pidfd, checked against
 * getppid() after it is opened, names that very process even if it exits
 * in between and its pid is taken again.
 */
static void
guard_signal(pid_t dialog, int sig)
{
	int pfd = pidfd_open(dialog, 0);

	if (getppid() == dialog) {
		if (pfd >= 0)
			pidfd_send_signal(pfd, sig, NULL, 0);
		else
			kill(dialog, sig); /* a kernel without pidfds (before 5.3) */
	}
	if (pfd >= 0)
		close(pfd);
}

static void __attribute__((noreturn)) dialog_guard(int fd, pid_t dialog)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	char c;
	int i;

	/* Hold nothing of the helper's: its link to the daemon must close when it dies. */
	if (dup2(fd, 0) < 0)
		_exit(1);
	closefrom(1);
	while (read(0, &c, 1) < 0 && errno == EINTR)
		;
	if (getppid() == dialog) {
		guard_signal(dialog, SIGTERM);
		for (i = 0; i < 60 && getppid() == dialog; i++)
			nanosleep(&tick, NULL);
		guard_signal(dialog, SIGKILL);
	}
	_exit(0);
}

/*
 * Runs in the pinentry's process between fork and exec (async-signal-safe
 * calls only): if the helper dies (the daemon kills a hung helper), the
 * dialog must go with it rather than stay on the screen.
 *
 * The dialog starts with a clean signal state: the helper ignores SIGPIPE
 * and whoever started us may have blocked or ignored SIGTERM, and both
 * would be inherited across exec, leaving a dialog that the death signal
 * below cannot end.  no_new_privs keeps the exec from raising privileges,
 * which would also make the kernel drop the death signal.  The guard
 * covers what the death signal still might not.
 */
static void
dialog_atfork(void *arg, int reserved)
{
	static const int reset[] = {
	    SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM, SIGCHLD, SIGUSR1, SIGUSR2};
	const struct dialog_fork *f = arg;
	struct sigaction dfl;
	sigset_t none;
	pid_t self;
	size_t i;

	(void)reserved;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		sigaction(reset[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != f->helper)
		_exit(1); /* the helper died before the line above */
	/*
	 * Our pid, taken here: the guard's getppid() would already name the
	 * reaper if we died first, and the guard would signal that.
	 */
	self = getpid();
	if (f->guard[0] >= 0 && fork() == 0)
		dialog_guard(f->guard[0], self);
	/* The pinentry keeps neither end (libassuan closes the rest). */
	if (f->guard[0] >= 0) {
		close(f->guard[0]);
		close(f->guard[1]);
	}
}

static void
dialog_cond_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&dialog_cond, &attr);
	pthread_condattr_destroy(&attr);
}

static uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Wait until no other dialog is open, then own the screen.  The wait is
 * sliced so that a cancelled request stops waiting within 200 ms; the
 * registry lock (request_is_cancelled) is never taken under dialog_lock.
 */
static int
dialog_acquire(struct dialog *d)
{
	unsigned int wait_s = helper_config.prompt_timeout < DIALOG_WAIT_MAX
				  ? helper_config.prompt_timeout
				  : DIALOG_WAIT_MAX;
	uint64_t deadline = monotonic_ms() + wait_s * 1000ULL, until;
	struct timespec ts;
	bool got = false, waited = false;

	pthread_once(&dialog_once, dialog_cond_init);
	for (;;) {
		pthread_mutex_lock(&dialog_lock);
		if (!dialog_open) {
			dialog_open = got = true;
		} else {
			until = monotonic_ms() + DIALOG_WAIT_SLICE_MS;
			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000L;
			pthread_cond_timedwait(&dialog_cond, &dialog_lock, &ts);
			if (!dialog_open)
				dialog_open = got = true;
		}
		pthread_mutex_unlock(&dialog_lock);
		if (got)
			break;
		if (!waited)
			helper_log(CB_LOG_DEBUG, "request %llu: waiting for another dialog",
			    (unsigned long long)d->req->id);
		waited = true;
		if (request_is_cancelled(d->req))
			return request_fail(
			    d->req, CB_ERR_USER_CANCELLED, "the request was cancelled");
		if (monotonic_ms() >= deadline)
			return request_fail(d->req, CB_ERR_BUSY,
			    "another cardbridge dialog is open; try again when it is closed");
	}
	d->locked = true;
	return 0;
}

static void
dialog_release(struct dialog *d)
{
	/* The pinentry has been reaped: let its guard go. */
	if (d->guarded) {
		close(d->guard);
		d->guarded = false;
	}
	if (!d->locked)
		return;
	pthread_mutex_lock(&dialog_lock);
	dialog_open = false;
	pthread_cond_signal(&dialog_cond);
	pthread_mutex_unlock(&dialog_lock);
	d->locked = false;
}

static int
dialog_start(struct dialog *d)
{
	struct dialog_fork f = {.helper = getpid(), .guard = {-1, -1}};
	const char *argv[2];
	char *program;
	gpg_error_t err;
	int r;

	if ((r = dialog_acquire(d)) != 0)
		return r;
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
	/* No guard if no pipe: the death signal alone then. */
	if (pipe2(f.guard, O_CLOEXEC) != 0)
		f.guard[0] = f.guard[1] = -1;
	err = assuan_pipe_connect(d->ctx, program, argv, NULL, dialog_atfork, &f, 0);
	free(program);
	if (f.guard[0] >= 0) {
		close(f.guard[0]);
		d->guard = f.guard[1];
		d->guarded = true;
	}
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

static void
shown_origin(char *buf, size_t size, const struct request *req)
{
	snprintf(buf, size, "%s", req->origin[0] ? req->origin : _("A web page"));
	utf8_cut(buf, size - 1 < ORIGIN_SHOWN_MAX ? size - 1 : ORIGIN_SHOWN_MAX);
}

/* "<origin> asks to <operation> on the token ...", then the closing sentence. */
static void
describe(char *buf, size_t size, const struct request *req, const struct pin_prompt *p,
    const char *closing)
{
	char origin[ORIGIN_SHOWN_MAX + 1];

	shown_origin(origin, sizeof(origin), req);
	/*
	 * TRANSLATORS: the origin (https://portal.example), what it asks to do
	 * ("generate an EC P-256 key pair"), the token's label and serial
	 * number, then an empty line and the sentence saying which PIN to enter.
	 */
	snprintf(buf, size, _("%s asks to %s on the token \"%s\" (serial number %s).\n\n%s"),
	    origin, p->operation, p->token_label,
	    p->token_serial[0] ? p->token_serial : _("unknown"), closing);
}

/* "cardbridge: <origin>": the window title names who is asking, too. */
static void
title(char *buf, size_t size, const struct request *req)
{
	char origin[ORIGIN_SHOWN_MAX + 1];

	if (req->origin[0] == '\0') {
		snprintf(buf, size, "cardbridge");
		return;
	}
	shown_origin(origin, sizeof(origin), req);
	snprintf(buf, size, "cardbridge: %s", origin);
}

/*
 * Text-mode pinentries (tty, curses) draw on the terminal named by
 * ttyname, as gpg-agent tells them; graphical ones ignore these options.
 */
static void
dialog_terminal(struct dialog *d)
{
	static const struct {
		const char *env, *option;
	} passed[] = {{"GPG_TTY", "ttyname"}, {"TERM", "ttytype"}, {"LC_ALL", "lc-ctype"},
	    {"LC_CTYPE", "lc-ctype"}, {"LANG", "lc-ctype"}};
	char option[256];
	bool ctype = false;
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		if ((v = getenv(passed[i].env)) == NULL || *v == '\0' ||
		    strlen(v) > sizeof(option) - 32)
			continue;
		if (strcmp(passed[i].option, "lc-ctype") == 0) {
			if (ctype)
				continue;
			ctype = true;
		}
		snprintf(option, sizeof(option), "%s=%s", passed[i].option, v);
		dialog_command(d, "OPTION", option, false);
	}
}

/* Title and description, then the optional texts. */
static int
dialog_texts(struct dialog *d, const char *desc, const char *prompt, const char *error)
{
	char timeout[16], head[ORIGIN_SHOWN_MAX + 32], button[64];
	int r;

	snprintf(timeout, sizeof(timeout), "%u", helper_config.prompt_timeout);
	title(head, sizeof(head), d->req);
	dialog_terminal(d);
	/* Older pinentries do not know every option: those may fail. */
	/* TRANSLATORS: pinentry's default buttons, where a dialog sets no others. */
	snprintf(button, sizeof(button), "default-ok=%s", _("OK"));
	dialog_command(d, "OPTION", button, false);
	snprintf(button, sizeof(button), "default-cancel=%s", _("Cancel"));
	dialog_command(d, "OPTION", button, false);
	if ((r = dialog_command(d, "SETTITLE", head, true)) != 0 ||
	    (r = dialog_command(d, "SETDESC", desc, true)) != 0 ||
	    (prompt != NULL && (r = dialog_command(d, "SETPROMPT", prompt, true)) != 0) ||
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
	case GPG_ERR_EOF:
	case GPG_ERR_ASS_READ_ERROR:
	case GPG_ERR_ASS_WRITE_ERROR:
		/* The dialog went away (closed or killed): nobody typed a PIN. */
		return request_fail(d->req, CB_ERR_USER_CANCELLED, "the dialog was closed");
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

/*
 * End the dialog; r is the outcome so far, the result may say why it ended.
 * Always releases the dialog lock, after the pinentry has been reaped.
 */
static int
dialog_end(struct dialog *d, int r)
{
	int killed;

	if (d->pid > 0) {
		killed = request_dialog_end(d->req);
		if (r != 0 && killed == CB_ERR_USER_CANCELLED)
			r = request_fail(d->req, killed, "the request was cancelled");
		else if (r != 0 && killed == CB_ERR_TIMEOUT)
			r = request_fail(d->req, killed, "the dialog timed out");
		/* Still our unreaped child: a pinentry in an unknown state goes now. */
		if (r != 0)
			kill(d->pid, SIGKILL);
		d->pid = 0;
	}
	if (d->ctx != NULL && r == 0)
		assuan_transact(d->ctx, "BYE", NULL, NULL, NULL, NULL, NULL, NULL);
	assuan_release(d->ctx); /* waits for the pinentry */
	d->ctx = NULL;
	dialog_release(d);
	return r;
}

int
pin_ask(struct request *req, const struct pin_prompt *prompt, struct secret **pin)
{
	struct dialog d = {.req = req};
	char desc[ASSUAN_LINELENGTH];
	int r;

	*pin = NULL;
	if (request_is_cancelled(req))
		return request_fail(req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	if ((d.pin = secret_new(prompt->max_len)) == NULL)
		return CB_ERR_ALLOC;
	describe(desc, sizeof(desc), req, prompt,
	    prompt->admin_pin ? _("Enter the admin PIN of this token to allow it.")
			      : _("Enter the user PIN of this token to allow it."));
	if ((r = dialog_start(&d)) == 0 &&
	    (r = dialog_texts(&d, desc, prompt->admin_pin ? _("Admin PIN:") : _("User PIN:"),
		 prompt->error)) == 0)
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
pin_pad_begin(struct request *req, const struct pin_prompt *prompt, struct dialog **out)
{
	struct dialog *d;
	char desc[ASSUAN_LINELENGTH];
	int r;

	*out = NULL;
	if (request_is_cancelled(req))
		return request_fail(req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return CB_ERR_ALLOC;
	d->req = req;
	describe(desc, sizeof(desc), req, prompt,
	    prompt->admin_pin ? _("Enter the admin PIN on the reader's keypad.")
			      : _("Enter the user PIN on the reader's keypad."));
	if ((r = dialog_start(d)) == 0 && (r = dialog_texts(d, desc, NULL, prompt->error)) == 0)
		/*
		 * MESSAGE shows the text with one button and waits for it: we
		 * do not wait for the answer, the dialog stays up while C_Login
		 * waits for the keypad and pin_pad_end() takes it down.
		 */
		r = assuan_write_line(d->ctx, "MESSAGE") == 0 ? 0 : CB_ERR_INTERNAL;
	if (r == CB_ERR_USER_CANCELLED || r == CB_ERR_BUSY || r == CB_ERR_ALLOC) {
		dialog_end(d, r);
		free(d);
		return r;
	}
	if (r != 0) {
		/* The keypad still works: go on without the notice. */
		helper_log(CB_LOG_WARN, "request %llu: cannot show the PIN-pad notice",
		    (unsigned long long)req->id);
		req->message[0] = '\0';
		dialog_end(d, r);
		free(d);
		return 0;
	}
	*out = d;
	return 0;
}

void
pin_pad_end(struct dialog *d)
{
	if (d == NULL)
		return;
	/* MESSAGE is still waiting for its button: close it ourselves. */
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		request_dialog_end(d->req);
		d->pid = 0;
	}
	assuan_release(d->ctx); /* waits for the pinentry */
	d->ctx = NULL;
	dialog_release(d);
	free(d);
}

int
pin_question(struct request *req, const char *description, const char *ok, const char *not_ok,
    const char *cancel, enum pin_answer *answer)
{
	struct dialog d = {.req = req};
	gpg_error_t err;
	int r;

	*answer = PIN_ANSWER_CANCEL;
	if (request_is_cancelled(req))
		return request_fail(req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	if ((r = dialog_start(&d)) == 0 && (r = dialog_texts(&d, description, NULL, NULL)) == 0 &&
	    (r = dialog_command(&d, "SETOK", ok, true)) == 0 &&
	    (not_ok == NULL || (r = dialog_command(&d, "SETNOTOK", not_ok, true)) == 0) &&
	    (r = dialog_command(&d, "SETCANCEL", cancel, true)) == 0) {
		err = assuan_transact(d.ctx, "CONFIRM", NULL, NULL, NULL, NULL, NULL, NULL);
		if (err == 0)
			*answer = PIN_ANSWER_OK;
		else if (gpg_err_code(err) == ERR_NOT_CONFIRMED && not_ok != NULL)
			*answer = PIN_ANSWER_NOT_OK;
		else if ((r = dialog_failed(&d, "CONFIRM", err)) == CB_ERR_USER_CANCELLED)
			r = 0; /* Cancel is an answer here; a cancelled request shows below */
	}
	/* A pinentry killed by cancel or the watchdog looks like Cancel: ask the request. */
	if (r == 0 && *answer == PIN_ANSWER_CANCEL && d.pid > 0 &&
	    (r = request_dialog_end(d.req)) != 0) {
		d.pid = 0;
		r = request_fail(req, r,
		    r == CB_ERR_TIMEOUT ? "the dialog timed out" : "the request was cancelled");
	}
	return dialog_end(&d, r);
}

/* --- origin.confirm --- */

int
handle_origin_confirm(struct request *req, struct json_object **result)
{
	static const char *const decisions[] = {
	    [PIN_ANSWER_OK] = "always", [PIN_ANSWER_NOT_OK] = "once", [PIN_ANSWER_CANCEL] = "deny"};
	char desc[ASSUAN_LINELENGTH], origin[ORIGIN_SHOWN_MAX + 1];
	enum pin_answer answer;
	struct json_object *obj;
	int r;

	if (json_object_object_length(req->params) != 0)
		return request_fail(
		    req, CB_ERR_INVALID_PARAMS, "params: origin.confirm takes none");
	if (req->origin[0] == '\0' || !proto_text_ok(req->origin, strlen(req->origin)))
		return request_fail(
		    req, CB_ERR_INVALID_PARAMS, "origin: a printable origin is required");
	shown_origin(origin, sizeof(origin), req);
	snprintf(desc, sizeof(desc),
	    /* TRANSLATORS: the consent question; %s is the origin (https://shop.example). */
	    _("Allow %s to use your smart cards?\n\n"
	      "The page will see your cards and tokens and may ask to generate keys and to "
	      "store certificates on them. You are still asked for the PIN each time."),
	    origin);
	/* TRANSLATORS: button labels; "_" marks the access key (Alt+letter). */
	if ((r = pin_question(
		 req, desc, _("_Always allow"), _("Allow _once"), _("_Deny"), &answer)) != 0)
		return r;
	helper_log(CB_LOG_INFO, "request %llu: origin.confirm: %s", (unsigned long long)req->id,
	    decisions[answer]);
	if ((obj = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	if (field_add_string(obj, "decision", decisions[answer]) != 0) {
		json_object_put(obj);
		return CB_ERR_ALLOC;
	}
	*result = obj;
	return 0;
}
