/*
 * p11client.c - the daemon's link to cardbridge-pkcs11-helper.
 *
 * Threads: p11client_submit/take/cancel_session run on the lws service
 * thread; everything else runs on the client's own thread, which is the
 * only one that touches the helper's pid and socket.  Shared state is in
 * struct p11client under `lock`.
 *
 * This file must never parse a page's message or see a PIN: it moves
 * already-validated params to the helper and typed answers back.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "protocol/cberr.h"
#include "protocol/ipc.h"
#include "protocol/jsonrpc.h"
#include "protocol/methods.h"

/* Nesting of the helper's answers: results are a few levels deep. */
#define HELPER_JSON_DEPTH 32
/* How long a stopping daemon waits for the helper to finish on its own. */
#define HELPER_STOP_MS 3000

extern char **environ;

struct call {
	struct call *next;
	uint32_t helper_id;
	uint64_t session;
	struct proto_id rpc_id;
	char *method;
	char *frame_json; /* until written */
	int timeout_s;
	struct timespec deadline;
	bool orphaned; /* the session left: drop the answer */
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

static void
now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long
ms_until(const struct timespec *t)
{
	struct timespec n;

	now(&n);
	return (t->tv_sec - n.tv_sec) * 1000 + (t->tv_nsec - n.tv_nsec) / 1000000;
}

static void
call_free(struct call *c)
{
	if (c == NULL)
		return;
	proto_id_clear(&c->rpc_id);
	free(c->method);
	free(c->frame_json);
	free(c);
}

void
p11_reply_free(struct p11_reply *r)
{
	struct p11_reply *next;

	for (; r != NULL; r = next) {
		next = r->next;
		proto_id_clear(&r->rpc_id);
		free(r->method);
		free(r->message);
		json_object_put(r->result);
		free(r);
	}
}

/* {lock} held.  Queue an answer for the service thread. */
static void
push_reply(struct p11client *c, struct p11_reply *r)
{
	r->next = NULL;
	*c->replies_tail = r;
	c->replies_tail = &r->next;
}

/* {lock} held.  Answer a call with an error (no-op for orphaned calls). */
static void
fail_call(struct p11client *c, struct call *call, int err, const char *message)
{
	struct p11_reply *r;

	if (call->orphaned || (r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->session = call->session;
	r->rpc_id = call->rpc_id;
	call->rpc_id.str = NULL;
	r->method = call->method;
	call->method = NULL;
	r->err = err;
	r->retries_left = -1;
	r->message = message ? strdup(message) : NULL;
	push_reply(c, r);
}

static char *
build_request(uint32_t id, const char *method, const char *origin, struct json_object *params)
{
	struct json_object *msg;
	char *text;

	if ((msg = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(msg, "id", json_object_new_int64(id));
	json_object_object_add(msg, "method", json_object_new_string(method));
	json_object_object_add(msg, "origin", json_object_new_string(origin ? origin : ""));
	json_object_object_add(
	    msg, "params", params ? json_object_get(params) : json_object_new_object());
	text = strdup(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
	json_object_put(msg);
	return text;
}

int
p11client_submit(struct p11client *c, uint64_t session, const struct proto_id *id,
    const char *method, const char *origin, struct json_object *params, int timeout_s)
{
	struct call *call, **tail;
	uint64_t one = 1;

	if ((call = calloc(1, sizeof(*call))) == NULL)
		return CB_ERR_ALLOC;
	call->session = session;
	call->timeout_s = timeout_s;
	pthread_mutex_lock(&c->lock);
	call->helper_id = ++c->next_id;
	pthread_mutex_unlock(&c->lock);
	if ((id && proto_id_copy(&call->rpc_id, id) != 0) ||
	    (call->method = strdup(method)) == NULL ||
	    (call->frame_json = build_request(call->helper_id, method, origin, params)) == NULL) {
		call_free(call);
		return CB_ERR_ALLOC;
	}
	pthread_mutex_lock(&c->lock);
	for (tail = &c->queued; *tail; tail = &(*tail)->next)
		;
	*tail = call; /* transferred */
	pthread_mutex_unlock(&c->lock);
	if (write(c->wake_fd, &one, sizeof(one)) < 0)
		log_warn("p11client: wake-up failed: %s", strerror(errno));
	return 0;
}

struct p11_reply *
p11client_take(struct p11client *c)
{
	struct p11_reply *r;

	pthread_mutex_lock(&c->lock);
	r = c->replies;
	c->replies = NULL;
	c->replies_tail = &c->replies;
	pthread_mutex_unlock(&c->lock);
	return r;
}

void
p11client_cancel_session(struct p11client *c, uint64_t session)
{
	struct call *call;
	uint64_t one = 1, *n;
	bool any = false;

	pthread_mutex_lock(&c->lock);
	for (call = c->queued; call; call = call->next)
		if (call->session == session)
			call->orphaned = any = true;
	for (call = c->sent; call; call = call->next)
		if (call->session == session)
			call->orphaned = any = true;
	if (any && (n = realloc(c->cancelled, (c->ncancelled + 1) * sizeof(*n))) != NULL) {
		c->cancelled = n;
		c->cancelled[c->ncancelled++] = session;
	}
	pthread_mutex_unlock(&c->lock);
	if (any && write(c->wake_fd, &one, sizeof(one)) < 0)
		log_warn("p11client: wake-up failed: %s", strerror(errno));
}

int
p11client_helper_pid(struct p11client *c)
{
	int pid;

	pthread_mutex_lock(&c->lock);
	pid = c->pid;
	pthread_mutex_unlock(&c->lock);
	return pid;
}

/* ---- client thread from here on ---- */

static int
spawn_helper(struct p11client *c)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int sv[2], r, pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return CB_ERR_SYSTEM;
	posix_spawn_file_actions_init(&fa);
	/* dup2 clears close-on-exec: the helper gets the link as fd 0 and 1. */
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	/* A clean signal state: nothing blocked, nothing ignored (we ignore SIGPIPE). */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&pid, c->argv[0], &fa, &attr, c->argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (r != 0) {
		log_error("cannot start %s: %s", c->argv[0], strerror(r));
		close(sv[0]);
		return CB_ERR_SYSTEM;
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	c->fd = sv[0];
	ipc_reader_clear(&c->reader);
	now(&c->spawned_at);
	pthread_mutex_lock(&c->lock);
	c->pid = pid;
	pthread_mutex_unlock(&c->lock);
	log_info("started PKCS#11 helper (pid %d)", pid);
	/* Every helper starts with a hello: the daemon learns the module status. */
	return p11client_submit(c, P11_SESSION_DAEMON, NULL, "hello", "", NULL, c->hello_budget_s);
}

/* Reap pid if it ends within ms; false if it is still running. */
static bool
reap_within(int pid, int ms)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	int status, r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return true;
		if (ms <= 0)
			return false;
		nanosleep(&tick, NULL);
		ms -= 10;
	}
}

/*
 * Stop the helper and answer everything it had with err.  A helper that is
 * merely no longer needed (cardbridged is stopping) gets its link closed
 * and HELPER_STOP_MS to close its dialogs and C_Finalize its modules, which
 * some tokens need to leave a clean state; a hung or misbehaving one, or
 * one that overstays, is killed.
 */
static void
drop_helper(struct p11client *c, int err, const char *message, uint32_t timed_out, bool gentle)
{
	struct call *call, *next;
	int pid, status;

	pthread_mutex_lock(&c->lock);
	pid = c->pid;
	c->pid = 0;
	for (call = c->sent; call; call = next) {
		next = call->next;
		if (call->helper_id == timed_out)
			fail_call(c, call, CB_ERR_TIMEOUT, "the token did not answer in time");
		else
			fail_call(c, call, err, message);
		call_free(call);
	}
	c->sent = NULL;
	pthread_mutex_unlock(&c->lock);
	if (gentle && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (pid > 0 && gentle && reap_within(pid, HELPER_STOP_MS)) {
		log_info("PKCS#11 helper (pid %d) finished: %s", pid, message);
	} else if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		log_warn("PKCS#11 helper (pid %d) stopped: %s", pid, message);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->outlen = 0;
	/* A helper that dies right after start is not respawned in a tight loop. */
	c->backoff_ms =
	    ms_until(&c->spawned_at) > -2000 ? (c->backoff_ms ? c->backoff_ms * 2 : 250) : 0;
	if (c->backoff_ms > 30000)
		c->backoff_ms = 30000;
	c->wake(c->wake_arg);
}

static int
append_frame(struct p11client *c, const char *json)
{
	uint8_t *frame, *n;
	size_t flen;
	int r;

	if ((r = ipc_frame_encode(json, strlen(json), &frame, &flen)) != 0)
		return r;
	if ((n = realloc(c->out, c->outlen + flen)) == NULL) {
		free(frame);
		return CB_ERR_ALLOC;
	}
	memcpy(n + c->outlen, frame, flen);
	c->out = n;
	c->outlen += flen;
	free(frame);
	return 0;
}

/* {lock} held.  Ask the helper to abandon the dialogs of cancelled sessions. */
static void
queue_cancels(struct p11client *c)
{
	struct json_object *p;
	struct call *call;
	char *json;
	size_t i;

	for (i = 0; i < c->ncancelled; i++)
		for (call = c->sent; call; call = call->next) {
			if (call->session != c->cancelled[i] || strcmp(call->method, "cancel") == 0)
				continue;
			p = json_object_new_object();
			json_object_object_add(p, "id", json_object_new_int64(call->helper_id));
			/* The helper answers the cancel itself too; nobody waits for it. */
			if ((json = build_request(0, "cancel", "", p)) != NULL &&
			    append_frame(c, json) != 0)
				log_warn("p11client: cannot queue a cancel");
			free(json);
			json_object_put(p);
		}
	c->ncancelled = 0;
}

/* Move queued calls to the helper's output buffer. */
static void
flush_queue(struct p11client *c)
{
	struct call *call, **tail;

	pthread_mutex_lock(&c->lock);
	queue_cancels(c);
	while ((call = c->queued) != NULL) {
		c->queued = call->next;
		call->next = NULL;
		if (call->orphaned || append_frame(c, call->frame_json) != 0) {
			fail_call(c, call, CB_ERR_INTERNAL, NULL);
			call_free(call);
			continue;
		}
		free(call->frame_json);
		call->frame_json = NULL;
		now(&call->deadline);
		call->deadline.tv_sec += call->timeout_s;
		for (tail = &c->sent; *tail; tail = &(*tail)->next)
			;
		*tail = call;
	}
	pthread_mutex_unlock(&c->lock);
}

static int
reply_from_json(struct p11_reply *r, struct json_object *msg)
{
	struct json_object *v, *e;

	r->retries_left = -1;
	if (json_object_object_get_ex(msg, "result", &v) &&
	    json_object_is_type(v, json_type_object)) {
		r->result = json_object_get(v);
		return 0;
	}
	if (!json_object_object_get_ex(msg, "error", &e) ||
	    !json_object_is_type(e, json_type_object))
		return CB_ERR_IPC;
	r->err = CB_ERR_INTERNAL;
	if (json_object_object_get_ex(e, "reason", &v) && json_object_is_type(v, json_type_string))
		r->err = cb_err_from_reason(json_object_get_string(v));
	if (json_object_object_get_ex(e, "message", &v) && json_object_is_type(v, json_type_string))
		r->message = strndup(json_object_get_string(v), 300);
	if (json_object_object_get_ex(e, "retriesLeft", &v) &&
	    json_object_is_type(v, json_type_int))
		r->retries_left = json_object_get_int(v);
	return 0;
}

/* One frame from the helper: an answer to a call, or a notification. */
static int
handle_frame(struct p11client *c, const char *text, size_t len)
{
	struct proto_failure fail;
	struct json_object *msg, *v;
	struct p11_reply *r = NULL;
	struct call **pp, *call = NULL;
	int64_t id;
	int ret = CB_ERR_IPC;

	if ((msg = proto_parse_object(text, len, HELPER_JSON_DEPTH, &fail)) == NULL) {
		log_error("PKCS#11 helper: %s", fail.detail);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		ret = CB_ERR_ALLOC;
		goto out;
	}
	if (json_object_object_get_ex(msg, "event", &v) &&
	    json_object_is_type(v, json_type_string)) {
		r->session = P11_SESSION_DAEMON;
		r->method = strdup(json_object_get_string(v));
		pthread_mutex_lock(&c->lock);
		push_reply(c, r);
		pthread_mutex_unlock(&c->lock);
		r = NULL;
		ret = 0;
		goto out;
	}
	if (!json_object_object_get_ex(msg, "id", &v) || !json_object_is_type(v, json_type_int))
		goto out;
	id = json_object_get_int64(v);
	pthread_mutex_lock(&c->lock);
	for (pp = &c->sent; *pp; pp = &(*pp)->next)
		if ((*pp)->helper_id == id) {
			call = *pp;
			*pp = call->next;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (call == NULL) {
		/* Answers to cancels (id 0) are expected and dropped. */
		ret = id == 0 ? 0 : CB_ERR_IPC;
		goto out;
	}
	if ((ret = reply_from_json(r, msg)) != 0)
		goto out;
	r->session = call->session;
	r->rpc_id = call->rpc_id;
	call->rpc_id.str = NULL;
	r->method = call->method;
	call->method = NULL;
	pthread_mutex_lock(&c->lock);
	if (!call->orphaned) {
		push_reply(c, r);
		r = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	c->backoff_ms = 0;
	ret = 0;
out:
	call_free(call);
	p11_reply_free(r);
	json_object_put(msg);
	return ret;
}

static int
read_helper(struct p11client *c)
{
	uint8_t buf[16384];
	ssize_t n;
	size_t len;
	char *msg;
	int r;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n == 0)
			return CB_ERR_SYSTEM;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : CB_ERR_SYSTEM;
		if ((r = ipc_reader_feed(&c->reader, buf, (size_t)n)) != 0)
			return r;
		while ((r = ipc_reader_next(&c->reader, &msg, &len)) == 0) {
			r = handle_frame(c, msg, len);
			free(msg);
			if (r != 0)
				return r;
		}
		if (r != CB_ERR_AGAIN)
			return r;
		c->wake(c->wake_arg);
	}
}

static int
write_helper(struct p11client *c)
{
	ssize_t n;

	while (c->outlen > 0) {
		n = write(c->fd, c->out, c->outlen);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : CB_ERR_SYSTEM;
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	return 0;
}

/* The earliest deadline among sent calls: ms to wait and which call. */
static int
next_deadline(struct p11client *c, uint32_t *which)
{
	struct call *call;
	long best = -1, ms;

	*which = 0;
	pthread_mutex_lock(&c->lock);
	for (call = c->sent; call; call = call->next) {
		ms = ms_until(&call->deadline);
		if (best < 0 || ms < best) {
			best = ms < 0 ? 0 : ms;
			*which = call->helper_id;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return best > 86400000 ? 86400000 : (int)best;
}

static bool
have_work(struct p11client *c)
{
	bool work;

	pthread_mutex_lock(&c->lock);
	work = c->queued != NULL;
	pthread_mutex_unlock(&c->lock);
	return work;
}

static void *
client_thread(void *arg)
{
	struct p11client *c = arg;
	struct pollfd pfd[2];
	uint32_t expiring;
	uint64_t v;
	int timeout, r;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		r = c->stopping;
		pthread_mutex_unlock(&c->lock);
		if (r)
			break;
		if (c->fd < 0 && c->backoff_ms == 0 && spawn_helper(c) != 0)
			c->backoff_ms = 1000;
		if (c->fd >= 0)
			flush_queue(c);
		timeout = next_deadline(c, &expiring);
		if (c->fd < 0 && (timeout < 0 || timeout > c->backoff_ms))
			timeout = c->backoff_ms > 0 ? c->backoff_ms : timeout;
		pfd[0] = (struct pollfd){.fd = c->wake_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = c->fd, .events = POLLIN | (c->outlen ? POLLOUT : 0)};
		r = poll(pfd, c->fd >= 0 ? 2 : 1, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN && read(c->wake_fd, &v, sizeof(v)) < 0)
			log_debug("p11client: wake-up read: %s", strerror(errno));
		if (c->fd < 0) {
			if (r == 0)
				c->backoff_ms = 0; /* backoff over: spawn again */
			continue;
		}
		if (r == 0 && expiring != 0 && next_deadline(c, &expiring) == 0) {
			drop_helper(c, CB_ERR_MODULE_ERROR,
			    "the token helper was restarted "
			    "because another request hung",
			    expiring, false);
			continue;
		}
		r = 0;
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			r = read_helper(c);
		if (r == 0 && pfd[1].revents & POLLOUT)
			r = write_helper(c);
		if (r != 0)
			drop_helper(c, CB_ERR_MODULE_ERROR,
			    r == CB_ERR_IPC ? "the token helper sent a malformed message"
					    : "the token helper stopped unexpectedly",
			    0, false);
		else if (have_work(c))
			continue;
	}
	if (c->fd >= 0)
		drop_helper(c, CB_ERR_MODULE_ERROR, "cardbridged is stopping", 0, true);
	return NULL;
}

static char **
build_argv(const struct cb_config *cfg)
{
	char **argv, num[32];
	size_t n = 0, i;

	if ((argv = calloc(2 * cfg->nmodules + 10, sizeof(char *))) == NULL)
		return NULL;
	argv[n++] = strdup(cfg->helper);
	for (i = 0; i < cfg->nmodules; i++) {
		argv[n++] = strdup("--module");
		argv[n++] = strdup(cfg->modules[i].path);
	}
	argv[n++] = strdup("--pinentry");
	argv[n++] = strdup(cfg->pinentry);
	snprintf(num, sizeof(num), "%d", cfg->prompt_timeout);
	argv[n++] = strdup("--prompt-timeout");
	argv[n++] = strdup(num);
	argv[n++] = strdup("--log-level");
	argv[n++] = strdup(cfg->log_level >= LOG_LVL_DEBUG  ? "debug"
			   : cfg->log_level >= LOG_LVL_INFO ? "info"
							    : "warn");
	for (i = 0; i < n; i++)
		if (argv[i] == NULL)
			return NULL; /* tiny leak on OOM at start-up; we exit */
	return argv;
}

int
p11client_start(
    struct p11client **out, const struct cb_config *cfg, void (*wake)(void *), void *wake_arg)
{
	struct p11client *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CB_ERR_ALLOC;
	pthread_mutex_init(&c->lock, NULL);
	c->fd = -1;
	c->wake = wake;
	c->wake_arg = wake_arg;
	c->replies_tail = &c->replies;
	c->hello_budget_s = config_budget_s(cfg, proto_method_find("hello", PROTO_M_HELPER));
	ipc_reader_init(&c->reader, 0);
	if ((c->argv = build_argv(cfg)) == NULL ||
	    (c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    pthread_create(&c->thread, NULL, client_thread, c) != 0) {
		log_error("cannot start the PKCS#11 client: %s", strerror(errno));
		return CB_ERR_SYSTEM;
	}
	*out = c;
	return 0;
}

void
p11client_stop(struct p11client *c)
{
	struct call *call, *next;
	uint64_t one = 1;
	size_t i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_mutex_unlock(&c->lock);
	if (write(c->wake_fd, &one, sizeof(one)) < 0)
		log_warn("p11client: wake-up failed: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	for (call = c->queued; call; call = next) {
		next = call->next;
		call_free(call);
	}
	p11_reply_free(c->replies);
	ipc_reader_clear(&c->reader);
	free(c->reader.buf);
	for (i = 0; c->argv && c->argv[i]; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->cancelled);
	free(c->out);
	close(c->wake_fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
