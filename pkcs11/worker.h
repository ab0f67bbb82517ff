/*
 * worker.h - the worker threads that serve requests (worker.c).  Only the
 * main thread submits and stops; workers say when they wait.
 */
#ifndef CB_PKCS11_WORKER_H
#define CB_PKCS11_WORKER_H

#include <stdbool.h>

#include "pkcs11/request.h"

struct proto_method;

/*
 * Queue req (of method m) for handler on a worker, starting one if none is
 * idle and fewer than 16 are at work.  BUSY at once, with a message, when
 * req's page or token has as many requests in the helper as it may.
 */
int worker_submit(struct request *req, request_handler handler, const struct proto_method *m);

/*
 * On the worker serving req: it starts (waiting) or stops waiting for a
 * token or the screen.  A waiting worker leaves its place to another, and
 * the daemon is told.
 */
void worker_waiting(struct request *req, bool waiting);

/*
 * Wait until every queued and running request was answered, then end the
 * worker threads and wait for them.
 */
void worker_stop(void);

#endif /* CB_PKCS11_WORKER_H */
