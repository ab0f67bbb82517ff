/*
 * worker.h - the worker threads that serve requests (worker.c).  Only the
 * main thread calls these.
 */
#ifndef CB_PKCS11_WORKER_H
#define CB_PKCS11_WORKER_H

#include "pkcs11/request.h"

/* Queue req for handler on a worker, starting one if none is idle and fewer than 16 run. */
int worker_submit(struct request *req, request_handler handler);

/*
 * Wait until every queued and running request was answered, then end the
 * worker threads and wait for them.
 */
void worker_stop(void);

#endif /* CB_PKCS11_WORKER_H */
