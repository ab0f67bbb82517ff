/*
 * worker.c - the worker threads that serve requests: a queue filled by the
 * main thread, threads started as requests come, each serving one request
 * at a time and answering it (request_finish()); and the caps that keep one
 * page, or one token, from taking them all.
 *
 * Up to 16 threads work at once.  A thread whose request waits for a token
 * another request holds, or for the screen, does not count: another thread
 * starts for the queue meanwhile (64 threads at most), so that a request
 * for one token never waits behind requests queued for another.  Those
 * waits are bounded (token_lock.c, dialog.c), and what may wait is capped
 * when a request comes: a page (origin) has at most 8 requests in the
 * helper, a token at most 4 requests that may show a dialog on it; more are
 * answered BUSY at once.  The daemon hears when a request starts running
 * and when it waits ({"id", "state"}, doc/HELPER-IPC.md): it restarts the
 * helper only for a request that hung while running.
 *
 * Locks: queue_lock guards the queue, the requests at work and the thread
 * counts; it is never held across a handler or a write to the daemon.  A
 * worker holds the modules' read lock (module.c) for the whole request, so
 * that a module is never reloaded under a request using it.
 * Must never: let a request go unanswered, or end before every queued and
 * running request was answered (worker_stop()).
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/uri.h>

#include "protocol/cberr.h"
#include "protocol/methods.h"
#include "pkcs11/field.h"
#include "pkcs11/log.h"
#include "pkcs11/module.h"
#include "pkcs11/request.h"
#include "pkcs11/worker.h"

#define WORKERS_RUNNING_MAX 16 /* threads at work, not counting those that wait */
#define WORKERS_MAX 64	       /* threads in all */
#define ORIGIN_PENDING_MAX 8   /* requests of one page in the helper */
#define TOKEN_PENDING_MAX 4    /* requests that may show a dialog, per token */

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
struct work {
	struct request *req;
	request_handler handler;
	const char *origin; /* whose page; NULL for the daemon's and the tool's own */
	char *token;	    /* the token it may show a dialog for (canonical URI), or NULL */
	struct work *next;
};
static struct work *queue_head, *queue_tail;	   /* {queue_lock} */
static struct work *active;			   /* {queue_lock} taken by a worker */
static int workers, workers_idle, workers_waiting; /* {queue_lock} */
static int jobs_running;			   /* {queue_lock} */
static pthread_t worker_threads[WORKERS_MAX];	   /* {queue_lock} the first `workers` */
static bool stopping;				   /* {queue_lock} */

static void
work_free(struct work *w)
{
	free(w->token);
	free(w);
}

static struct work *
queue_pop_locked(void)
{
	struct work *w = queue_head;

	if (w != NULL) {
		queue_head = w->next;
		if (queue_head == NULL)
			queue_tail = NULL;
		w->next = active;
		active = w;
	}
	return w;
}

/* {queue_lock} held.  Forget w, which a worker has answered. */
static void
active_remove_locked(struct work *w)
{
	struct work **p;

	for (p = &active; *p != NULL; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* Tell the daemon whether req runs or waits (doc/HELPER-IPC.md). */
static void
worker_state(struct request *req, const char *state)
{
	struct json_object *msg;

	if ((msg = json_object_new_object()) == NULL)
		return;
	if (json_object_object_add(msg, "id", json_object_new_int64((int64_t)req->id)) == 0 &&
	    field_add_string(msg, "state", state) == 0)
		helper_send(msg);
	json_object_put(msg);
}

static void *
worker_main(void *arg)
{
	struct json_object *result;
	struct work *w;
	int r;

	(void)arg;
	pthread_mutex_lock(&queue_lock);
	for (;;) {
		while ((w = queue_pop_locked()) == NULL) {
			if (stopping) {
				pthread_mutex_unlock(&queue_lock);
				return NULL;
			}
			workers_idle++;
			pthread_cond_wait(&queue_cond, &queue_lock);
			workers_idle--;
		}
		jobs_running++;
		pthread_mutex_unlock(&queue_lock);
		result = NULL;
		worker_state(w->req, "running");
		module_use_begin();
		r = w->handler(w->req, &result);
		module_use_end();
		pthread_mutex_lock(&queue_lock);
		active_remove_locked(w);
		pthread_mutex_unlock(&queue_lock);
		request_finish(w->req, r, result);
		work_free(w);
		pthread_mutex_lock(&queue_lock);
		jobs_running--;
		pthread_cond_broadcast(&idle_cond);
	}
	return NULL;
}

/* {queue_lock} held.  One more thread when the queue needs one and the caps allow. */
static int
worker_spawn_locked(void)
{
	pthread_t thread;

	if (workers_idle > 0 || workers - workers_waiting >= WORKERS_RUNNING_MAX ||
	    workers >= WORKERS_MAX)
		return 0;
	if (pthread_create(&thread, NULL, worker_main, NULL) != 0)
		return CB_ERR_SYSTEM;
	worker_threads[workers++] = thread;
	return 0;
}

void
worker_waiting(struct request *req, bool waiting)
{
	pthread_mutex_lock(&queue_lock);
	workers_waiting += waiting ? 1 : -1;
	/* Our thread waits: the queue may have another thread meanwhile. */
	if (waiting && queue_head != NULL)
		(void)worker_spawn_locked();
	pthread_mutex_unlock(&queue_lock);
	worker_state(req, waiting ? "waiting" : "running");
}

/* The token a request names, as one string for one token however it is written. */
static char *
token_key(const char *text)
{
	P11KitUri *uri;
	char *key = NULL;

	if (text == NULL || (uri = p11_kit_uri_new()) == NULL)
		return NULL;
	if (p11_kit_uri_parse(text, P11_KIT_URI_FOR_TOKEN, uri) != P11_KIT_URI_OK ||
	    p11_kit_uri_format(uri, P11_KIT_URI_FOR_TOKEN, &key) != P11_KIT_URI_OK)
		key = strdup(text);
	p11_kit_uri_free(uri);
	return key;
}

/* {queue_lock} held.  How many requests queued or at work have this origin, this token. */
static void
pending_locked(const struct work *w, int *same_origin, int *same_token)
{
	const struct work *lists[] = {queue_head, active}, *o;
	size_t i;

	*same_origin = *same_token = 0;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (o = lists[i]; o != NULL; o = o->next) {
			*same_origin += w->origin && o->origin && strcmp(w->origin, o->origin) == 0;
			*same_token += w->token && o->token && strcmp(w->token, o->token) == 0;
		}
}

/* What a new request is, for the caps. */
static int
work_new(
    struct request *req, request_handler handler, const struct proto_method *m, struct work **out)
{
	struct work *w;
	const char *uri;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CB_ERR_ALLOC;
	w->req = req;
	w->handler = handler;
	w->origin = !req->local && req->origin[0] != '\0' ? req->origin : NULL;
	uri = proto_param_string(req->params, "token");
	if ((m->flags & PROTO_M_DIALOG) && uri != NULL && (w->token = token_key(uri)) == NULL) {
		free(w);
		return CB_ERR_ALLOC;
	}
	*out = w;
	return 0;
}

int
worker_submit(struct request *req, request_handler handler, const struct proto_method *m)
{
	int same_origin, same_token, r;
	struct work *w;

	if ((r = work_new(req, handler, m, &w)) != 0)
		return r;
	pthread_mutex_lock(&queue_lock);
	pending_locked(w, &same_origin, &same_token);
	if (same_origin >= ORIGIN_PENDING_MAX || same_token >= TOKEN_PENDING_MAX) {
		pthread_mutex_unlock(&queue_lock);
		work_free(w);
		return request_fail(req, CB_ERR_BUSY,
		    same_token >= TOKEN_PENDING_MAX
			? "too many requests are waiting for this token; try again later"
			: "this page has too many requests in progress; try again later");
	}
	/* No new thread (or none allowed): with one running at least, req waits its turn. */
	if (worker_spawn_locked() != 0 && workers == 0) {
		pthread_mutex_unlock(&queue_lock);
		work_free(w);
		return CB_ERR_SYSTEM;
	}
	if (queue_tail != NULL)
		queue_tail->next = w;
	else
		queue_head = w;
	queue_tail = w;
	pthread_cond_signal(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
	return 0;
}

/*
 * Answer every queued and running request, then end the worker threads and
 * wait for them: a thread's exit runs OpenSSL's and the modules' per-thread
 * cleanup, which must be over before the modules are unloaded.
 */
void
worker_stop(void)
{
	int i, n;

	pthread_mutex_lock(&queue_lock);
	while (queue_head != NULL || jobs_running > 0)
		pthread_cond_wait(&idle_cond, &queue_lock);
	stopping = true;
	n = workers;
	pthread_cond_broadcast(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
	/* No new workers now: only the main thread and workers start them, and none runs. */
	for (i = 0; i < n; i++)
		pthread_join(worker_threads[i], NULL);
}
