/*
 * worker.c - the worker threads that serve requests: a queue filled by the
 * main thread, up to 16 threads started as requests come, each serving one
 * request at a time and answering it (request_finish()).
 *
 * Locks: queue_lock guards the queue and the thread counts; it is never
 * held across a handler.  A worker holds the modules' read lock (module.c)
 * for the whole request, so that a module is never reloaded under a
 * request using it.
 * Must never: let a request go unanswered, or end before every queued and
 * running request was answered (worker_stop()).
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "protocol/cberr.h"
#include "pkcs11/module.h"
#include "pkcs11/request.h"
#include "pkcs11/worker.h"

#define WORKERS_MAX 16

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
struct work {
	struct request *req;
	request_handler handler;
	struct work *next;
};
static struct work *queue_head, *queue_tail;	/* {queue_lock} */
static int workers, workers_idle, jobs_running; /* {queue_lock} */
static pthread_t worker_threads[WORKERS_MAX];	/* {queue_lock} the first `workers` */
static bool stopping;				/* {queue_lock} */

static struct work *
queue_pop_locked(void)
{
	struct work *w = queue_head;

	if (w != NULL) {
		queue_head = w->next;
		if (queue_head == NULL)
			queue_tail = NULL;
	}
	return w;
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
		module_use_begin();
		r = w->handler(w->req, &result);
		module_use_end();
		request_finish(w->req, r, result);
		free(w);
		pthread_mutex_lock(&queue_lock);
		jobs_running--;
		pthread_cond_broadcast(&idle_cond);
	}
	return NULL;
}

/* Queue req for a worker, starting one if none is idle and fewer than 16 run. */
int
worker_submit(struct request *req, request_handler handler)
{
	pthread_t thread;
	struct work *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CB_ERR_ALLOC;
	w->req = req;
	w->handler = handler;
	pthread_mutex_lock(&queue_lock);
	/* No new thread (or none allowed): with one running at least, req waits its turn. */
	if (workers_idle == 0 && workers < WORKERS_MAX) {
		if (pthread_create(&thread, NULL, worker_main, NULL) == 0) {
			worker_threads[workers++] = thread;
		} else if (workers == 0) {
			pthread_mutex_unlock(&queue_lock);
			free(w);
			return CB_ERR_SYSTEM;
		}
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
	/* No new workers now: only the main thread submits, and it is here. */
	for (i = 0; i < n; i++)
		pthread_join(worker_threads[i], NULL);
}
