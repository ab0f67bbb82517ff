/*
 * p11client_process.c - the PKCS#11 helper as a process: its command line,
 * spawning it with the socketpair as its stdin and stdout, and stopping
 * it, gently when cardbridged stops, by SIGKILL when it hangs or breaks
 * the framing, with a growing pause before a helper that keeps dying is
 * started again.
 *
 * Client thread only (p11proc_argv: at start, before the thread).  The
 * helper is the only process that loads a PKCS#11 module; this file must
 * never pass it anything a page chose, only configured paths and values.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/p11client_private.h"
#include "protocol/cberr.h"
#include "protocol/ipc.h"

/* How long a stopping daemon waits for the helper to finish on its own. */
#define HELPER_STOP_MS 3000

extern char **environ;

char **
p11proc_argv(const struct cb_config *cfg)
{
	char **argv, num[32];
	size_t n = 0, i, j, max = 10;

	for (i = 0; i < cfg->nmodules; i++)
		max += 2 + 2 * cfg->modules[i].natrs;
	if ((argv = calloc(max, sizeof(char *))) == NULL)
		return NULL;
	argv[n++] = strdup(cfg->helper);
	/* Each module's ATR list follows it: the helper applies module by ATR. */
	for (i = 0; i < cfg->nmodules; i++) {
		argv[n++] = strdup("--module");
		argv[n++] = strdup(cfg->modules[i].path);
		for (j = 0; j < cfg->modules[i].natrs; j++) {
			argv[n++] = strdup("--atr");
			argv[n++] = strdup(cfg->modules[i].atrs[j]);
		}
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

void
p11proc_argv_free(char **argv)
{
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int
p11proc_spawn(struct p11client *c)
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
	p11_clock(&c->spawned_at);
	pthread_mutex_lock(&c->lock);
	c->pid = pid;
	pthread_mutex_unlock(&c->lock);
	log_info("started PKCS#11 helper (pid %d)", pid);
	/* Every helper starts with a hello: the daemon learns the module status. */
	return p11calls_submit_hello(c);
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
void
p11proc_drop(struct p11client *c, int err, const char *message, uint32_t timed_out, bool gentle)
{
	int pid, status;

	pthread_mutex_lock(&c->lock);
	pid = c->pid;
	c->pid = 0;
	pthread_mutex_unlock(&c->lock);
	p11calls_fail_sent(c, err, message, timed_out);
	if (gentle)
		p11link_close(c); /* the helper's cue to finish */
	if (pid > 0 && gentle && reap_within(pid, HELPER_STOP_MS)) {
		log_info("PKCS#11 helper (pid %d) finished: %s", pid, message);
	} else if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		log_warn("PKCS#11 helper (pid %d) stopped: %s", pid, message);
	}
	p11link_close(c);
	/* A helper that dies right after start is not respawned in a tight loop. */
	c->backoff_ms =
	    p11_ms_until(&c->spawned_at) > -2000 ? (c->backoff_ms ? c->backoff_ms * 2 : 250) : 0;
	if (c->backoff_ms > 30000)
		c->backoff_ms = 30000;
	c->wake(c->wake_arg);
}
