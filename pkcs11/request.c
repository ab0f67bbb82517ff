/*
 * request.c - the life of one request: registry of requests in flight,
 * cancellation, the PIN-dialog watchdog and the answers.  The request
 * object itself is in request_object.c, the worker threads that serve
 * requests in worker.c.
 *
 * Locks (never two at once, none held across PKCS#11 or pinentry calls):
 *   registry_lock  the list of requests in flight and their dialog fields;
 *   write_lock     fd 1, so that frames from many workers never interleave.
 * Must never: write anything to fd 1 that is not one whole frame.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "protocol/cberr.h"
#include "protocol/claim.h"
#include "protocol/ipc.h"
#include "pkcs11/field.h"
#include "pkcs11/log.h"
#include "pkcs11/request.h"

/* Grace after the pinentry's own timeout before we kill it ourselves. */
#define DIALOG_GRACE_MS 5000

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct request *registry; /* {registry_lock} */
/* Signalled when a dialog starts: the watchdog sleeps on it while none runs. */
static pthread_cond_t watchdog_cond; /* {registry_lock}, CLOCK_MONOTONIC */

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static bool write_failed; /* {write_lock} */

int
request_register(struct request *req)
{
	struct request *r;
	int ret = 0;

	pthread_mutex_lock(&registry_lock);
	for (r = registry; r != NULL; r = r->next)
		if (r->id == req->id)
			ret = CB_ERR_IPC;
	if (ret == 0) {
		req->next = registry;
		registry = req;
	}
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

static void
request_unregister(struct request *req)
{
	struct request **p;

	pthread_mutex_lock(&registry_lock);
	for (p = &registry; *p != NULL; p = &(*p)->next)
		if (*p == req) {
			*p = req->next;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
}

/* Called with registry_lock held. */
static void
request_cancel_locked(struct request *req)
{
	req->cancelled = true;
	/* The pid stays ours until request_dialog_end(): libassuan reaps it later. */
	if (req->dialog_pid > 0)
		kill(req->dialog_pid, SIGTERM);
}

bool
request_cancel(uint64_t id)
{
	struct request *r;
	bool found = false;

	pthread_mutex_lock(&registry_lock);
	for (r = registry; r != NULL; r = r->next)
		if (r->id == id) {
			request_cancel_locked(r);
			found = true;
		}
	pthread_mutex_unlock(&registry_lock);
	return found;
}

void
request_cancel_all(void)
{
	struct request *r;

	pthread_mutex_lock(&registry_lock);
	for (r = registry; r != NULL; r = r->next)
		request_cancel_locked(r);
	pthread_mutex_unlock(&registry_lock);
}

bool
request_is_cancelled(struct request *req)
{
	bool cancelled;

	pthread_mutex_lock(&registry_lock);
	cancelled = req->cancelled;
	pthread_mutex_unlock(&registry_lock);
	return cancelled;
}

/* Called with registry_lock held. */
static int
interrupted_locked(const struct request *req)
{
	return req->cancelled ? CB_ERR_USER_CANCELLED : req->card_gone;
}

int
request_interrupted(struct request *req)
{
	int r;

	pthread_mutex_lock(&registry_lock);
	r = interrupted_locked(req);
	pthread_mutex_unlock(&registry_lock);
	return r;
}

void
request_bind_reader(struct request *req, const char *reader, unsigned events)
{
	pthread_mutex_lock(&registry_lock);
	snprintf(req->reader, sizeof(req->reader), "%s", reader);
	req->reader_events = events;
	pthread_mutex_unlock(&registry_lock);
}

int
request_card_removed(const char *reader, unsigned events, bool service_stopped)
{
	struct request *r;
	int told = 0;

	pthread_mutex_lock(&registry_lock);
	for (r = registry; r != NULL; r = r->next) {
		if (!claim_slot_in_reader(reader, r->reader))
			continue;
		/* A request that began with a card put in after this removal keeps it. */
		if (events != 0 && r->reader_events >= events)
			continue;
		if (r->card_gone == 0)
			r->card_gone =
			    service_stopped ? CB_ERR_SERVICE_STOPPED : CB_ERR_CARD_REMOVED;
		if (r->dialog_pid > 0)
			kill(r->dialog_pid, SIGTERM);
		told++;
	}
	pthread_mutex_unlock(&registry_lock);
	return told;
}

/*
 * A pinentry now runs for req; CB_ERR_USER_CANCELLED if it was cancelled
 * already, CARD_REMOVED or SERVICE_STOPPED if its card has gone.
 */
int
request_dialog_begin(struct request *req, pid_t pid)
{
	int r;

	pthread_mutex_lock(&registry_lock);
	req->dialog_pid = pid;
	req->dialog_deadline =
	    cb_now_ms() + helper_config.prompt_timeout * 1000ULL + DIALOG_GRACE_MS;
	pthread_cond_signal(&watchdog_cond);
	if ((r = interrupted_locked(req)) != 0)
		kill(pid, SIGTERM);
	pthread_mutex_unlock(&registry_lock);
	return r;
}

/*
 * The pinentry is about to be reaped.  Returns why it was killed, if it was:
 * CB_ERR_USER_CANCELLED, CB_ERR_CARD_REMOVED, CB_ERR_SERVICE_STOPPED or
 * CB_ERR_TIMEOUT, else 0.
 */
int
request_dialog_end(struct request *req)
{
	int r;

	pthread_mutex_lock(&registry_lock);
	req->dialog_pid = 0;
	if ((r = interrupted_locked(req)) == 0 && req->timed_out)
		r = CB_ERR_TIMEOUT;
	pthread_mutex_unlock(&registry_lock);
	return r;
}

/*
 * Kills dialogs whose pinentry outlived its own timeout (e.g. a hung one).
 * Sleeps without a timeout while no dialog runs: no idle wake-ups.
 */
static void *
watchdog_main(void *arg)
{
	struct request *r;
	struct timespec ts;
	uint64_t now, next;

	(void)arg;
	pthread_mutex_lock(&registry_lock);
	for (;;) {
		now = cb_now_ms();
		next = 0;
		for (r = registry; r != NULL; r = r->next) {
			if (r->dialog_pid <= 0 || r->timed_out)
				continue;
			if (now > r->dialog_deadline) {
				r->timed_out = true;
				kill(r->dialog_pid, SIGKILL);
			} else if (next == 0 || r->dialog_deadline < next)
				next = r->dialog_deadline;
		}
		if (next == 0) {
			pthread_cond_wait(&watchdog_cond, &registry_lock);
			continue;
		}
		next += 1;
		ts.tv_sec = (time_t)(next / 1000);
		ts.tv_nsec = (long)(next % 1000) * 1000000L;
		pthread_cond_timedwait(&watchdog_cond, &registry_lock, &ts);
	}
	return NULL;
}

static void
write_all(const uint8_t *buf, size_t len)
{
	if (write_failed || cb_write_all(STDOUT_FILENO, buf, len) == 0)
		return;
	helper_log(CB_LOG_ERROR, "cannot write to the daemon: %s", strerror(errno));
	write_failed = true;
}

void
helper_send(struct json_object *msg)
{
	const char *text;
	size_t len;
	uint8_t *frame = NULL;
	size_t frame_len;

	text = json_object_to_json_string_length(
	    msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL || ipc_frame_encode(text, len, &frame, &frame_len) != 0) {
		helper_log(CB_LOG_ERROR, "cannot encode an answer");
		return;
	}
	pthread_mutex_lock(&write_lock);
	write_all(frame, frame_len);
	pthread_mutex_unlock(&write_lock);
	free(frame);
}

void
helper_send_event(const char *event)
{
	struct json_object *msg;

	if ((msg = json_object_new_object()) == NULL)
		return;
	if (field_add_string(msg, "event", event) == 0)
		helper_send(msg);
	json_object_put(msg);
}

static struct json_object *
error_object(struct request *req, int err)
{
	struct json_object *error;

	if ((error = json_object_new_object()) == NULL)
		return NULL;
	if (field_add_string(error, "reason", cb_err_reason(err)) != 0 ||
	    field_add_string(
		error, "message", req->message[0] != '\0' ? req->message : cb_err_str(err)) != 0 ||
	    (req->retries_left >= 0 && json_object_object_add(error, "retriesLeft",
					   json_object_new_int(req->retries_left)) != 0) ||
	    (req->maybe_stored &&
		json_object_object_add(error, "maybeStored", json_object_new_boolean(1)) != 0)) {
		json_object_put(error);
		return NULL;
	}
	return error;
}

/* Sends the one answer to req; takes ownership of result. */
void
request_reply(struct request *req, int err, struct json_object *result)
{
	struct json_object *msg, *body;

	if (err == 0 && result == NULL)
		err = CB_ERR_INTERNAL;
	body = err == 0 ? result : error_object(req, err);
	if (err != 0)
		json_object_put(result);
	/* An answer without its body would be no answer: the daemon's timeout is then. */
	if ((msg = json_object_new_object()) == NULL || body == NULL ||
	    json_object_object_add(msg, "id", json_object_new_int64((int64_t)req->id)) != 0 ||
	    json_object_object_add(msg, err == 0 ? "result" : "error", body) != 0) {
		helper_log(CB_LOG_ERROR, "out of memory answering request %llu",
		    (unsigned long long)req->id);
		json_object_put(body);
		json_object_put(msg);
		return;
	}
	helper_send(msg);
	json_object_put(msg);
	helper_log(CB_LOG_INFO, "request %llu %s: %s", (unsigned long long)req->id, req->method,
	    err == 0 ? "ok" : cb_err_reason(err));
}

/* Answer, forget and free req; takes ownership of both. */
void
request_finish(struct request *req, int err, struct json_object *result)
{
	request_reply(req, err, result);
	request_unregister(req);
	request_free(req);
}

/* Start the dialog watchdog's thread; before any request is served. */
int
request_watchdog_start(void)
{
	pthread_condattr_t cattr;
	pthread_t thread;

	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&watchdog_cond, &cattr);
	pthread_condattr_destroy(&cattr);
	if (pthread_create(&thread, NULL, watchdog_main, NULL) != 0)
		return CB_ERR_SYSTEM;
	pthread_detach(thread);
	return 0;
}
