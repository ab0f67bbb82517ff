/*
 * evloop.c - the event loop under libwebsockets: libuv when lws can load
 * its libuv plugin (Debian: libwebsockets-evlib-uv), else lws's own loop.
 *
 * lws 4.1.6's own loop calls poll() over every descriptor it holds at each
 * wake-up, so with N pages connected every message costs O(N) in the
 * kernel (bench/RESULTS.md: 75 % of the daemon's CPU in poll() at 1,000
 * connections).  On libuv (epoll) lws is told which descriptor is ready,
 * and a message costs the same with 1 or 1,000 connections.  libuv and not
 * libev: lws 4.1.6's libev glue re-arms its timer with ev_timer_set() on an
 * active watcher, which libev ignores, so a timeout set while a later one
 * is armed (lws's own 30 s housekeeping is always armed) fires late.
 *
 * The loop is ours (a "foreign loop" to lws), so that we decide when
 * lws_service's equivalent returns and so that lws installs no signal
 * handlers of its own: SIGTERM and SIGINT stay signals.c's.  Debian's lws
 * is built with _DEBUG, which on libuv closes a connection twice when a
 * callback returns -1: session.c closes with a code from a timer instead.
 * CB_EVENT_LOOP=poll in the environment keeps lws's own loop (bench/
 * compares the two; tests/test-daemon.py runs it).
 *
 * Service thread only.  This file must never call lws or libuv from
 * another thread (they wake this one with lws_cancel_service()).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <uv.h>

#include "daemon/evloop.h"
#include "daemon/log.h"
#include "protocol/cberr.h"

/* Runs left for libuv to call the close callbacks of lws's handles. */
#define CLOSE_RUNS 16

struct evloop {
	bool uv;			  /* false: lws's own poll() loop */
	uv_loop_t loop;			  /* valid when uv */
	uv_timer_t bound;		  /* evloop_run_at_most() on libuv */
	lws_sorted_usec_list_t bound_sul; /* ... and on lws's loop */
	struct lws_context *live;	  /* lws sets it NULL once the context is freed */
};

/* The timers only have to end the wait; nothing to do. */
static void
bound_expired(uv_timer_t *t)
{
	(void)t;
}

static void
bound_sul_expired(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

static bool
poll_wanted(void)
{
	const char *v = getenv("CB_EVENT_LOOP");

	return v != NULL && strcmp(v, "poll") == 0;
}

static int
context_on_uv(
    struct evloop *l, struct lws_context_creation_info *info, struct lws_context **context)
{
	void *loops[1];

	if (uv_loop_init(&l->loop) != 0)
		return CB_ERR_SYSTEM;
	loops[0] = &l->loop;
	info->foreign_loops = loops;
	info->options |= LWS_SERVER_OPTION_LIBUV;
	info->pcontext = &l->live;
	*context = l->live = lws_create_context(info);
	info->foreign_loops = NULL;
	info->pcontext = NULL;
	info->options &= ~(uint64_t)LWS_SERVER_OPTION_LIBUV;
	if (*context == NULL) {
		uv_loop_close(&l->loop);
		return CB_ERR_SYSTEM;
	}
	uv_timer_init(&l->loop, &l->bound);
	l->bound.data = l;
	l->uv = true;
	return 0;
}

int
evloop_context_new(
    struct lws_context_creation_info *info, struct evloop **loop, struct lws_context **context)
{
	struct evloop *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return CB_ERR_ALLOC;
	if (poll_wanted() || context_on_uv(l, info, context) != 0) {
		if (!poll_wanted())
			log_warn("libwebsockets cannot run on libuv (is libwebsockets-evlib-uv "
				 "installed?): using its poll() loop, slower with many "
				 "connections");
		if ((*context = lws_create_context(info)) == NULL) {
			free(l);
			return CB_ERR_SYSTEM;
		}
	}
	log_debug("event loop: %s", evloop_name(l));
	*loop = l;
	return 0;
}

int
evloop_run_once(struct evloop *l, struct lws_context *context)
{
	if (!l->uv)
		return lws_service(context, 0) < 0 ? CB_ERR_SYSTEM : 0;
	uv_run(&l->loop, UV_RUN_ONCE);
	return 0;
}

/*
 * lws 4.1.6's own loop sleeps until its next timer whatever timeout it is
 * given (any timeout >= 0 becomes 23 days), so there a timer of lws's bounds
 * the wait.
 */
void
evloop_run_at_most(struct evloop *l, struct lws_context *context, int ms)
{
	if (!l->uv) {
		lws_sul_schedule(
		    context, 0, &l->bound_sul, bound_sul_expired, (lws_usec_t)ms * LWS_US_PER_MS);
		lws_service(context, 0);
		lws_sul_cancel(&l->bound_sul);
		return;
	}
	uv_timer_start(&l->bound, bound_expired, (uint64_t)ms, 0);
	uv_run(&l->loop, UV_RUN_ONCE);
	uv_timer_stop(&l->bound);
}

/*
 * On a loop of ours lws closes its libuv handles asynchronously: the first
 * lws_context_destroy() starts the closes, libuv runs their callbacks, and
 * a second call frees the context (lws 4.1.6, context.c).
 */
void
evloop_context_free(struct evloop *l, struct lws_context *context)
{
	int i;

	if (l == NULL || !l->uv) {
		lws_context_destroy(context);
		free(l);
		return;
	}
	if (context)
		lws_context_destroy(context);
	uv_close((uv_handle_t *)&l->bound, NULL);
	for (i = 0; i < CLOSE_RUNS && uv_run(&l->loop, UV_RUN_NOWAIT); i++)
		;
	if (l->live)
		lws_context_destroy(l->live);
	if (l->live || uv_loop_close(&l->loop) != 0)
		log_debug("event loop: libuv handles still open at exit");
	free(l);
}

const char *
evloop_name(const struct evloop *l)
{
	return l->uv ? "libuv" : "poll";
}
