/*
 * signals.c - SIGTERM and SIGINT: a flag and a wake-up of the event loop.
 *
 * A signal handler may run on any thread, between any two instructions,
 * so it must only do async-signal-safe things: here it sets a
 * sig_atomic_t and writes to an eventfd.  The eventfd is adopted into the
 * lws event loop as a RAW_FILE descriptor (the way activation.c watches
 * inherited sockets), on a vhost of its own that listens nowhere, so the
 * service thread learns of the signal in its own poll() and sets
 * d->stopping there.  Other threads wake the service thread with
 * lws_cancel_service(), which is not safe in a handler (it logs).
 * This file must never touch struct daemon or call lws from the handler.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/signals.h"
#include "protocol/cberr.h"

#define SIGNALS_PROTOCOL "cardbridge-signals"

/* Written by the handler, read by the service thread. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t wake_fd = -1;

static void
on_stop_signal(int sig)
{
	int saved = errno, fd = wake_fd;
	uint64_t one = 1;

	stop_requested = 1;
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* Nothing to do: the eventfd counter is already nonzero, or we are stopping. */
	}
	errno = saved;
	(void)sig;
}

/* From here on no handler writes to the eventfd (one that had read wake_fd has finished). */
static void
forget_wake_fd(void)
{
	sigset_t stop_signals, old;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
	wake_fd = -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int
callback_signals(
    struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct daemon *d = lws_context_user(lws_get_context(wsi));
	uint64_t count;

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (read(lws_get_socket_fd(wsi), &count, sizeof(count)) < 0 && errno != EAGAIN)
			log_warn("signals: reading the eventfd: %s", strerror(errno));
		if (stop_requested)
			d->stopping = true;
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		/* lws closes the eventfd after this; no handler may write to it then. */
		forget_wake_fd();
		break;
	default:
		break;
	}
	(void)user, (void)in, (void)len;
	return 0;
}

static const struct lws_protocols signals_protocols[] = {
    {SIGNALS_PROTOCOL, callback_signals, 0, 0, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

int
signals_start(struct daemon *d)
{
	struct lws_context_creation_info info;
	struct sigaction sa, ignore;
	lws_sock_file_fd_type desc;
	struct lws_vhost *vh;
	sigset_t stop_signals;
	int fd;

	if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return CB_ERR_SYSTEM;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = signals_protocols;
	info.vhost_name = SIGNALS_PROTOCOL;
	desc.filefd = fd;
	if ((vh = lws_create_vhost(d->context, &info)) == NULL ||
	    lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, desc, SIGNALS_PROTOCOL, NULL) ==
		NULL) {
		log_error("cannot watch for SIGTERM in the event loop");
		close(fd);
		return CB_ERR_SYSTEM;
	}
	wake_fd = fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGPIPE, &ignore, NULL);
	/* A mask inherited from whoever started us must not make us unstoppable. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
	return 0;
}

void
signals_stop(void)
{
	/* Only this thread is left; a signal now only sets the flag. */
	forget_wake_fd();
}
