/*
 * p11client_private.h - what the files of cardbridged's link to the PKCS#11
 * helper share.  Nothing outside daemon/p11client*.c includes this file.
 *
 *   p11client.c          the client thread: its loop, start and stop
 *   p11client_process.c  spawning, stopping and respawning the helper
 *   p11client_calls.c    the call queue, cancellations, deadlines, answers
 *   p11client_link.c     frame I/O on the socketpair
 *
 * Each file calls only the ones below it in this list.
 */
#ifndef CB_P11CLIENT_PRIVATE_H
#define CB_P11CLIENT_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon/p11client.h"
#include "protocol/ipc.h"
#include "protocol/jsonrpc.h"

struct cb_config;

/* One request for the helper, from submission to its answer. */
struct call {
	struct call *next;
	uint32_t helper_id;
	uint64_t session;
	struct proto_id rpc_id;
	char *method;
	char *frame_json; /* until written */
	int timeout_s;
	struct timespec deadline;
	int64_t received_ms; /* when the daemon received the page's request (p11_now_ms) */
	bool orphaned;	     /* the session left: drop the answer */
	bool running;	     /* the helper works on it (its "state"); else queued or waiting */
	bool expired;	     /* answered TIMEOUT while it waited; cancelled, no deadline */
	bool cancel_due;     /* a cancel for it is still to be sent */
};

struct p11client {
	pthread_t thread;
	pthread_mutex_t lock;
	int wake_fd; /* eventfd: new work or stop */
	void (*wake)(void *);
	void *wake_arg;
	char **argv;
	int hello_budget_s; /* what protocol/methods.c gives "hello" */

	/* {lock} */
	struct call *queued; /* submitted, not yet sent */
	struct call *sent;   /* written to the helper, awaiting an answer */
	struct p11_reply *replies, **replies_tail;
	uint64_t *cancelled; /* sessions whose calls must be cancelled */
	size_t ncancelled;
	bool stopping;
	uint32_t next_id;
	int pid;

	/* helper link: client thread only */
	int fd;
	struct ipc_reader reader;
	uint8_t *out;
	size_t outlen;
	struct timespec spawned_at;
	int backoff_ms;
};

/* p11client_process.c, client thread (argv: at start). */
char **p11proc_argv(const struct cb_config *cfg);
void p11proc_argv_free(char **argv);
int p11proc_spawn(struct p11client *c);
void p11proc_drop(
    struct p11client *c, int err, const char *message, uint32_t timed_out, bool gentle);

/* p11client_calls.c */
void p11_clock(struct timespec *ts);
long p11_ms_until(const struct timespec *t);
int64_t p11_now_ms(void);
int p11calls_submit_hello(struct p11client *c); /* first in the queue */
void p11calls_flush(struct p11client *c);	/* queued calls and cancels to the link */
int p11calls_answer(struct p11client *c, const char *text, size_t len);
void p11calls_fail_sent(struct p11client *c, int err, const char *message, uint32_t timed_out);
int p11calls_next_deadline(struct p11client *c, uint32_t *which);
bool p11calls_expire_waiting(struct p11client *c, uint32_t which);
bool p11calls_have_work(struct p11client *c);
void p11calls_free(struct p11client *c); /* after the thread ended */

/* p11client_link.c, client thread only */
int p11link_append(struct p11client *c, const char *json);
int p11link_read(struct p11client *c);
int p11link_next(struct p11client *c, char **msg, size_t *len);
int p11link_write(struct p11client *c);
void p11link_close(struct p11client *c);

#endif /* CB_P11CLIENT_PRIVATE_H */
