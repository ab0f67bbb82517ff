/*
 * dialog_guard.c - a dialog must not outlive the helper that opened it.
 *
 * The guard: a small process that the pinentry forks before exec and that
 * only waits for the helper's end of a pipe to close.  If that happens
 * while the pinentry is still its parent, the helper died with the dialog
 * open: SIGTERM, and SIGKILL if the dialog ignores that.  It does what the
 * death signal does without relying on it (some environments clear or
 * block it); getppid() and a pidfd keep it from signalling any other
 * process (guard_signal()).
 *
 * Everything here runs in a child of a multi-threaded process, between
 * fork and exec.  Must never: call anything that is not async-signal-safe
 * (no malloc, no stdio, no locks, no log), or signal a process that is not
 * the very pinentry it guards.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "pkcs11/dialog_guard.h"

/*
 * sig to the dialog if it is still our parent.  The pidfd, checked against
 * getppid() after it is opened, names that very process even if it exits
 * in between and its pid is taken again.
 */
static void
guard_signal(pid_t dialog, int sig)
{
	int pfd = pidfd_open(dialog, 0);

	if (getppid() == dialog) {
		if (pfd >= 0)
			pidfd_send_signal(pfd, sig, NULL, 0);
		else
			kill(dialog, sig); /* a kernel without pidfds (before 5.3) */
	}
	if (pfd >= 0)
		close(pfd);
}

static void __attribute__((noreturn)) guard_main(int fd, pid_t dialog)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	char c;
	int i;

	/* Hold nothing of the helper's: its link to the daemon must close when it dies. */
	if (dup2(fd, 0) < 0)
		_exit(1);
	closefrom(1);
	while (read(0, &c, 1) < 0 && errno == EINTR)
		;
	if (getppid() == dialog) {
		guard_signal(dialog, SIGTERM);
		for (i = 0; i < 60 && getppid() == dialog; i++)
			nanosleep(&tick, NULL);
		guard_signal(dialog, SIGKILL);
	}
	_exit(0);
}

/*
 * Runs in the pinentry's process between fork and exec (async-signal-safe
 * calls only): if the helper dies (the daemon kills a hung helper), the
 * dialog must go with it rather than stay on the screen.
 *
 * The dialog starts with a clean signal state: the helper ignores SIGPIPE
 * and whoever started us may have blocked or ignored SIGTERM, and both
 * would be inherited across exec, leaving a dialog that the death signal
 * below cannot end.  no_new_privs keeps the exec from raising privileges,
 * which would also make the kernel drop the death signal.  The guard
 * covers what the death signal still might not.
 */
void
dialog_atfork(void *arg, int reserved)
{
	static const int reset[] = {
	    SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM, SIGCHLD, SIGUSR1, SIGUSR2};
	const struct dialog_fork *f = arg;
	struct sigaction dfl;
	sigset_t none;
	pid_t self;
	size_t i;

	(void)reserved;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		sigaction(reset[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != f->helper)
		_exit(1); /* the helper died before the line above */
	/*
	 * Our pid, taken here: the guard's getppid() would already name the
	 * reaper if we died first, and the guard would signal that.
	 */
	self = getpid();
	if (f->guard[0] >= 0 && fork() == 0)
		guard_main(f->guard[0], self);
	/* The pinentry keeps neither end (libassuan closes the rest). */
	if (f->guard[0] >= 0) {
		close(f->guard[0]);
		close(f->guard[1]);
	}
}
