/*
 * p11client.c - the daemon's link to cardbridge-pkcs11-helper: the client
 * thread that owns the helper and its socketpair, and its start and stop.
 *
 * Threads: p11client_start/stop and p11client_helper_pid run on the lws
 * service thread; client_thread is the client's own thread, the only one
 * that touches the helper's pid and socket.  It writes the queued calls,
 * reads answers, kills a helper that passes a call's deadline, dies or
 * breaks the framing, and respawns it; the service thread is woken
 * through the wake callback (lws_cancel_service) when answers are queued.
 * The other files of this link are listed in p11client_private.h.
 * This file must never parse a page's message or see a PIN.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/p11client_private.h"
#include "protocol/cberr.h"
#include "protocol/methods.h"

int
p11client_helper_pid(struct p11client *c)
{
	int pid;

	pthread_mutex_lock(&c->lock);
	pid = c->pid;
	pthread_mutex_unlock(&c->lock);
	return pid;
}

/* Read what the helper sent and hand each frame to p11client_calls.c. */
static int
read_helper(struct p11client *c)
{
	size_t len;
	char *msg;
	int r;

	while ((r = p11link_read(c)) > 0) {
		while ((r = p11link_next(c, &msg, &len)) == 0) {
			r = p11calls_answer(c, msg, len);
			free(msg);
			if (r != 0)
				return r;
		}
		if (r != CB_ERR_AGAIN)
			return r;
		c->wake(c->wake_arg);
	}
	return r;
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
		if (c->fd < 0 && c->backoff_ms == 0 && p11proc_spawn(c) != 0)
			c->backoff_ms = 1000;
		if (c->fd >= 0)
			p11calls_flush(c);
		timeout = p11calls_next_deadline(c, &expiring);
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
		if (r == 0 && expiring != 0 && p11calls_next_deadline(c, &expiring) == 0) {
			/* Waiting is not hanging: only a call the helper runs restarts it. */
			if (p11calls_expire_waiting(c, expiring))
				continue;
			p11proc_drop(c, CB_ERR_MODULE_ERROR,
			    "the token helper was restarted "
			    "because another request hung",
			    expiring, false);
			continue;
		}
		r = 0;
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			r = read_helper(c);
		if (r == 0 && pfd[1].revents & POLLOUT)
			r = p11link_write(c);
		if (r != 0)
			p11proc_drop(c, CB_ERR_MODULE_ERROR,
			    r == CB_ERR_IPC ? "the token helper sent a malformed message"
					    : "the token helper stopped unexpectedly",
			    0, false);
		else if (p11calls_have_work(c))
			continue;
	}
	if (c->fd >= 0)
		p11proc_drop(c, CB_ERR_MODULE_ERROR, "cardbridged is stopping", 0, true);
	return NULL;
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
	if ((c->argv = p11proc_argv(cfg)) == NULL ||
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
	uint64_t one = 1;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_mutex_unlock(&c->lock);
	if (write(c->wake_fd, &one, sizeof(one)) < 0)
		log_warn("p11client: wake-up failed: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	p11calls_free(c);
	ipc_reader_clear(&c->reader);
	free(c->reader.buf);
	p11proc_argv_free(c->argv);
	free(c->out);
	close(c->wake_fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
