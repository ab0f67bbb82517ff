/*
 * evloop.h - the event loop under libwebsockets: libuv (epoll) when lws can
 * load its libuv plugin, else lws's own poll() loop.  Service thread only.
 */
#ifndef CB_EVLOOP_H
#define CB_EVLOOP_H

#include <stdbool.h>

struct lws_context;
struct lws_context_creation_info;
struct evloop;

/*
 * Create the lws context on a libuv loop of ours, or, when lws cannot load
 * its libuv plugin, on its own poll() loop.  The loop used is logged.
 */
int evloop_context_new(
    struct lws_context_creation_info *info, struct evloop **loop, struct lws_context **context);
/* Block until something happened: a descriptor, a timer, lws_cancel_service(). */
int evloop_run_once(struct evloop *loop, struct lws_context *context);
/* The same, but return after at most ms milliseconds. */
void evloop_run_at_most(struct evloop *loop, struct lws_context *context, int ms);
/* Destroy the lws context, let libuv finish closing its handles, free the loop. */
void evloop_context_free(struct evloop *loop, struct lws_context *context);
/* "libuv" or "poll" */
const char *evloop_name(const struct evloop *loop);

#endif /* CB_EVLOOP_H */
