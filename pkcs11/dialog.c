/*
 * dialog.c - dialogs through pinentry, spoken to over Assuan (libassuan):
 * the screen that only one dialog holds at a time, starting and ending the
 * pinentry, its texts, GETPIN, MESSAGE and questions (CONFIRM).
 *
 * Each dialog starts its own pinentry (assuan_pipe_connect), passes on the
 * terminal (GPG_TTY, TERM) and locale for text-mode pinentries, sets the
 * texts (a title naming the page's site, dialog_words.c, and a description
 * the callers write: pin.c, origin_confirm.c, objects_delete.c), reads the PIN with GETPIN
 * straight into a struct secret (or asks with CONFIRM, or shows MESSAGE)
 * and ends the pinentry.  The pid is registered with the request so that
 * `cancel` and the watchdog (request.c) can kill it, and a guard process
 * (dialog_guard.c) ends it if the helper dies.  One dialog at a time: the
 * screen lock below is held from before the pinentry starts until it has
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
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "protocol/cberr.h"
#include "common/i18n.h"
#include "pkcs11/dialog.h"
#include "pkcs11/dialog_guard.h"
#include "pkcs11/dialog_words.h"
#include "pkcs11/log.h"
#include "pkcs11/progress.h"
#include "pkcs11/request.h"
#include "pkcs11/secret.h"
#include "pkcs11/token_session.h"
#include "pkcs11/worker.h"

/* Room for an Assuan line: 1000 bytes, less the command word. */
#define LINE_MAX_BYTES (ASSUAN_LINELENGTH - 2)
/* How often a waiting request looks whether it was cancelled, ms. */
#define DIALOG_WAIT_SLICE_MS 200
/* GPG_ERR_NOT_CONFIRMED: pinentry's answer for the SETNOTOK button. */
#define ERR_NOT_CONFIRMED 114

/* The screen: one dialog at a time, whichever request it is for. */
static pthread_mutex_t screen_lock = PTHREAD_MUTEX_INITIALIZER;
static bool screen_taken; /* {screen_lock} a dialog is on screen */
/* Signalled when a dialog closes: dialogs waiting for the screen look again. */
static pthread_cond_t screen_free; /* {screen_lock}, CLOCK_MONOTONIC, set up once */
static pthread_once_t screen_once = PTHREAD_ONCE_INIT;

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

int
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

static void
screen_free_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&screen_free, &attr);
	pthread_condattr_destroy(&attr);
}

/* Why a dialog was taken down, or not shown, for the page. */
static const char *
dialog_interruption(int why)
{
	switch (why) {
	case CB_ERR_CARD_REMOVED:
		return "the card was removed while the PIN dialog was open";
	case CB_ERR_SERVICE_STOPPED:
		return "the smart-card service (pcscd) stopped while the PIN dialog was open";
	case CB_ERR_TIMEOUT:
		return "the dialog timed out";
	default:
		return "the request was cancelled";
	}
}

/*
 * Wait until no other dialog is open, then own the screen.  The wait is
 * sliced so that a cancelled request, or one whose card left, stops waiting
 * within 200 ms; the registry lock (request_interrupted) is never taken
 * under screen_lock.
 */
static int
dialog_acquire(struct dialog *d)
{
	uint64_t deadline = cb_now_ms() + helper_wait_limit_ms(), until;
	struct timespec ts;
	bool got = false, waited = false;
	int r;

	pthread_once(&screen_once, screen_free_init);
	if ((r = request_interrupted(d->req)) != 0)
		return request_fail(d->req, r, "%s", dialog_interruption(r));
	for (;;) {
		pthread_mutex_lock(&screen_lock);
		if (!screen_taken) {
			screen_taken = got = true;
		} else {
			until = cb_now_ms() + DIALOG_WAIT_SLICE_MS;
			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000L;
			pthread_cond_timedwait(&screen_free, &screen_lock, &ts);
			if (!screen_taken)
				screen_taken = got = true;
		}
		pthread_mutex_unlock(&screen_lock);
		if (got)
			break;
		if (!waited) {
			helper_log(CB_LOG_DEBUG, "request %llu: waiting for another dialog",
			    (unsigned long long)d->req->id);
			progress_report(d->req, PROGRESS_WAITING_FOR_DIALOG, PROGRESS_PIN_NONE);
			worker_waiting(d->req, true);
		}
		waited = true;
		if (request_interrupted(d->req) != 0 || cb_now_ms() >= deadline)
			break;
	}
	if (waited)
		worker_waiting(d->req, false);
	if (!got && (r = request_interrupted(d->req)) != 0)
		return request_fail(d->req, r, "%s", dialog_interruption(r));
	if (!got)
		return request_fail(d->req, CB_ERR_BUSY,
		    "another cardbridge dialog is open; try again when it is closed");
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
	pthread_mutex_lock(&screen_lock);
	screen_taken = false;
	pthread_cond_signal(&screen_free);
	pthread_mutex_unlock(&screen_lock);
	d->locked = false;
}

int
dialog_start(struct dialog *d)
{
	struct dialog_fork f = {.helper = getpid(), .guard = {-1, -1}};
	const char *argv[2];
	char *program;
	gpg_error_t err;
	int r;

	/* Others may use our token while the user reads: listings, not logins. */
	token_session_yield(d->req);
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
int
dialog_texts(struct dialog *d, const char *desc, const char *prompt, const char *error)
{
	char timeout[16], head[DIALOG_NAME_SIZE + 32], button[64];
	int r;

	snprintf(timeout, sizeof(timeout), "%u", helper_config.prompt_timeout);
	dialog_title(head, sizeof(head), d->req);
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

/* Status lines of GETPIN: pinentry confirms a repeated PIN with PIN_REPEATED. */
static gpg_error_t
dialog_status(void *arg, const char *line)
{
	struct dialog *d = arg;

	if (strncmp(line, "PIN_REPEATED", 12) == 0 && (line[12] == '\0' || line[12] == ' '))
		d->repeated = true;
	return 0;
}

int
dialog_getpin(struct dialog *d)
{
	gpg_error_t err;

	d->repeated = false;
	assuan_begin_confidential(d->ctx);
	err = assuan_transact(d->ctx, "GETPIN", dialog_data, d, NULL, NULL, dialog_status, d);
	assuan_end_confidential(d->ctx);
	if (err == 0)
		return 0;
	if (d->pin_too_long)
		return request_fail(d->req, CB_ERR_PIN_INVALID, "the PIN is too long");
	return dialog_failed(d, "GETPIN", err);
}

int
dialog_end(struct dialog *d, int r)
{
	int killed, back;

	if (d->pid > 0) {
		killed = request_dialog_end(d->req);
		if (r != 0 && killed != 0)
			r = request_fail(d->req, killed, "%s", dialog_interruption(killed));
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
	/* Back to the token: a PIN typed must not wait unbounded for C_Login. */
	if ((back = token_session_resume(d->req)) != 0 && r == 0)
		r = back;
	return r;
}

int
dialog_show(struct dialog *d)
{
	/*
	 * MESSAGE shows the text with one button and waits for it: we do not
	 * read the answer, the dialog stays up until dialog_dismiss().
	 */
	return assuan_write_line(d->ctx, "MESSAGE") == 0 ? 0 : CB_ERR_INTERNAL;
}

void
dialog_dismiss(struct dialog *d)
{
	/* MESSAGE is still waiting for its button: close it ourselves. */
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		/* Why it ended does not matter here: the caller goes by C_Login's answer. */
		(void)request_dialog_end(d->req);
		d->pid = 0;
	}
	assuan_release(d->ctx); /* waits for the pinentry */
	d->ctx = NULL;
	dialog_release(d);
}

int
dialog_question(struct request *req, const char *description, const char *ok, const char *not_ok,
    const char *cancel, enum dialog_answer *answer)
{
	struct dialog d = {.req = req};
	gpg_error_t err;
	int r;

	*answer = DIALOG_ANSWER_CANCEL;
	if (request_is_cancelled(req))
		return request_fail(req, CB_ERR_USER_CANCELLED, "the request was cancelled");
	if ((r = dialog_start(&d)) == 0 && (r = dialog_texts(&d, description, NULL, NULL)) == 0 &&
	    (r = dialog_command(&d, "SETOK", ok, true)) == 0 &&
	    (not_ok == NULL || (r = dialog_command(&d, "SETNOTOK", not_ok, true)) == 0) &&
	    (r = dialog_command(&d, "SETCANCEL", cancel, true)) == 0) {
		err = assuan_transact(d.ctx, "CONFIRM", NULL, NULL, NULL, NULL, NULL, NULL);
		if (err == 0)
			*answer = DIALOG_ANSWER_OK;
		else if (gpg_err_code(err) == ERR_NOT_CONFIRMED && not_ok != NULL)
			*answer = DIALOG_ANSWER_NOT_OK;
		else if ((r = dialog_failed(&d, "CONFIRM", err)) == CB_ERR_USER_CANCELLED) {
			/*
			 * Cancel is an answer here, not an error: its text must
			 * not stay behind for a later failure.  A cancelled
			 * request shows below.
			 */
			r = 0;
			req->message[0] = '\0';
		}
	}
	/* A pinentry killed by cancel or the watchdog looks like Cancel: ask the request. */
	if (r == 0 && *answer == DIALOG_ANSWER_CANCEL && d.pid > 0 &&
	    (r = request_dialog_end(d.req)) != 0) {
		d.pid = 0;
		r = request_fail(req, r,
		    r == CB_ERR_TIMEOUT ? "the dialog timed out" : "the request was cancelled");
	}
	return dialog_end(&d, r);
}
