/*
 * launch.c - "cardbridge open URL": the cardbridge:// x-scheme-handler.
 *
 * A web page chooses the URL, so it is checked by url_parse_launch() and
 * only the verb it names is used: no byte of the URL is ever passed on,
 * executed or written anywhere.  Then cardbridged is made to run, once:
 * if the control socket answers we are done; otherwise, holding an flock
 * on $XDG_RUNTIME_DIR/cardbridge/start.lock (or /run/user/UID's, when a
 * browser started us without that variable), we ask the systemd user
 * manager (systemctl --user start cardbridge.service) or, without one,
 * spawn cardbridged --foreground ourselves in a new session.  Everything
 * returns within LAUNCH_BUDGET_MS, because a browser waits for us.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "cli/cli.h"
#include "common/i18n.h"
#include "protocol/methods.h"
#include "protocol/url.h"

#define LAUNCH_BUDGET_MS 900
#define LAUNCH_POLL_MS 20
#define LOG_MAX_BYTES (1024 * 1024)

struct launch {
	struct timespec deadline;
	char exe[PATH_MAX];  /* the cardbridged we spawn */
	const char *control; /* the control socket path */
	char dir[PATH_MAX];  /* its directory, where the lock lives */
};

static void
nap(void)
{
	struct timespec t = {0, LAUNCH_POLL_MS * 1000000L};

	nanosleep(&t, NULL);
}

/* mkdir -p with mode 0700 for the parts we create. */
static int
make_dirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Take the start lock, waiting until the deadline: the fd, -1 on error, -2 when busy. */
static int
take_lock(struct launch *l)
{
	char path[PATH_MAX + 16];
	bool busy;
	int fd;

	snprintf(path, sizeof(path), "%s/start.lock", l->dir);
	if (make_dirs(l->dir) != 0 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		cli_error(_("cannot open %s: %s"), path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		busy = errno == EWOULDBLOCK || errno == EINTR;
		if (!busy || cb_ms_until(&l->deadline) <= 0) {
			close(fd);
			return busy ? -2 : -1;
		}
		nap();
	}
	return fd;
}

/* Is a systemd user manager running for us? */
static bool
have_user_manager(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char path[PATH_MAX];
	struct stat st;

	if (rt == NULL || rt[0] != '/' ||
	    snprintf(path, sizeof(path), "%s/systemd/private", rt) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

enum systemd_start { SYSTEMD_STARTED, SYSTEMD_REFUSED, SYSTEMD_SLOW };

/*
 * systemctl --user --no-block start cardbridge.service.  SLOW: it did not
 * finish within our budget, so the job may well be queued; spawning a
 * second daemon then would only fight it for the port.
 */
static enum systemd_start
start_with_systemd(struct launch *l)
{
	int status = 0, devnull;
	pid_t pid, w;

	if ((pid = fork()) < 0)
		return SYSTEMD_REFUSED;
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		execlp("systemctl", "systemctl", "--user", "--no-block", "start",
		    "cardbridge.service", (char *)NULL);
		_exit(127);
	}
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && cb_ms_until(&l->deadline) > 0)
		nap();
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return SYSTEMD_SLOW;
	}
	return w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? SYSTEMD_STARTED
									 : SYSTEMD_REFUSED;
}

/* cardbridged next to our own executable (a relocated install), else BINDIR's. */
static void
find_daemon(char *out, size_t outlen)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(out, outlen, "%s/cardbridged", self) < (int)outlen &&
			    access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, outlen, "%s/cardbridged", BINDIR);
}

/* $XDG_STATE_HOME/cardbridge/cardbridged.log (or ~/.local/state/...), opened for appending. */
static int
open_log(char *path, size_t pathlen)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX];
	struct stat st;
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, n;

	/* A path cut short would be another directory: then no log rather than that. */
	if (state != NULL && state[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/cardbridge", state);
	else if (home != NULL && home[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/.local/state/cardbridge", home);
	else
		return -1;
	if (n < 0 || n >= (int)sizeof(dir) || make_dirs(dir) != 0 ||
	    snprintf(path, pathlen, "%s/cardbridged.log", dir) >= (int)pathlen)
		return -1;
	if (stat(path, &st) == 0 && st.st_size > LOG_MAX_BYTES)
		flags |= O_TRUNC;
	return open(path, flags, 0600);
}

/*
 * In the child: a daemon of its own, detached from the browser.  It gets
 * our start lock as fd 3 and closes it once it listens, so that the lock
 * means "a daemon is starting" for as long as that is true, not only for
 * our 900 ms (CARDBRIDGE_START_LOCK_FD; daemon/main.c).
 */
static void
exec_daemon(const char *exe, const char *control, int logfd, int lock)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int devnull, sig;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	umask(077);
	if (chdir("/") != 0)
		_exit(127);
	if ((devnull = open("/dev/null", O_RDWR)) < 0)
		_exit(127);
	if (logfd < 0)
		logfd = devnull;
	dup2(devnull, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	if (lock >= 0 && dup2(lock, 3) == 3)
		setenv("CARDBRIDGE_START_LOCK_FD", "3", 1);
	/* As cardbridge.service: no per-thread malloc cache (daemon/heap.c). */
	setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 0);
	closefrom(lock >= 0 ? 4 : 3);
	if (control != NULL)
		execl(
		    exe, "cardbridged", "--foreground", "--control-socket", control, (char *)NULL);
	else
		execl(exe, "cardbridged", "--foreground", (char *)NULL);
	_exit(127);
}

static pid_t
spawn_daemon(struct launch *l, const char *control, int lock, char *log, size_t loglen)
{
	pid_t pid;
	int logfd;

	find_daemon(l->exe, sizeof(l->exe));
	log[0] = '\0';
	logfd = open_log(log, loglen);
	if ((pid = fork()) == 0)
		exec_daemon(l->exe, control, logfd, lock);
	if (logfd >= 0)
		close(logfd);
	if (pid < 0)
		cli_error(_("cannot start %s: %s"), l->exe, strerror(errno));
	return pid;
}

/* A spawned daemon that stopped: why, and where its output went. */
static void
report_stopped(const struct launch *l, int status, const char *log)
{
	char see[PATH_MAX + 64] = "";

	if (log[0] != '\0')
		/* TRANSLATORS: where the daemon's output went; ends the next two messages. */
		snprintf(see, sizeof(see), _("; see %s"), log);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		cli_error(_("cannot run %s"), l->exe);
	else if (WIFEXITED(status))
		/* TRANSLATORS: the daemon's path, its exit status, and "; see LOG" or nothing. */
		cli_error(
		    _("%s stopped at once (exit status %d)%s"), l->exe, WEXITSTATUS(status), see);
	else
		/* TRANSLATORS: the daemon's path, the signal, and "; see LOG" or nothing. */
		cli_error(_("%s stopped at once (signal %d)%s"), l->exe, WTERMSIG(status), see);
}

/* Wait for the control socket; a spawned daemon that dies is reported. */
static int
wait_ready(struct launch *l, pid_t pid, const char *how, const char *log)
{
	int status;

	for (;;) {
		if (cli_control_answers(l->control)) {
			/* TRANSLATORS: how: a systemctl command line, or "spawned". */
			printf(_("cardbridged started (%s)"), how);
			putchar('\n');
			return CLI_OK;
		}
		if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
			report_stopped(l, status, log);
			return CLI_FAILED;
		}
		if (cb_ms_until(&l->deadline) <= 0)
			break;
		nap();
	}
	/* Still starting: the page retries its connection, so this is no failure. */
	printf(_("cardbridged is starting (%s)"), how);
	putchar('\n');
	return CLI_OK;
}

/* With the start lock held: nobody else is starting a daemon now. */
static int
start_locked(struct launch *l, const struct cli_options *o, int lock)
{
	char log[PATH_MAX] = "";
	enum systemd_start how = SYSTEMD_REFUSED;
	pid_t pid;

	if (cli_control_answers(l->control)) {
		printf("%s\n", _("cardbridged is already running"));
		return CLI_OK;
	}
	/* A custom control socket is not the unit's: start that daemon ourselves. */
	if (o->control_socket == NULL && have_user_manager())
		how = start_with_systemd(l);
	if (how == SYSTEMD_STARTED)
		return wait_ready(l, 0, "systemctl --user start cardbridge.service", log);
	if (how == SYSTEMD_SLOW) {
		printf(
		    _("cardbridged is starting (%s)"), "systemctl --user start cardbridge.service");
		putchar('\n');
		return CLI_OK;
	}
	if ((pid = spawn_daemon(l, o->control_socket, lock, log, sizeof(log))) < 0)
		return CLI_FAILED;
	/* TRANSLATORS: how cardbridged was started: by us, as a process of its own. */
	return wait_ready(l, pid, _("spawned"), log);
}

static int
start_daemon(struct launch *l, const struct cli_options *o)
{
	int lock, r;

	if ((lock = take_lock(l)) == -2) {
		/* Another "cardbridge open" holds it: that one is starting the daemon. */
		printf("%s\n", _("cardbridged is being started by another cardbridge open"));
		return CLI_OK;
	}
	if (lock < 0)
		return CLI_FAILED;
	r = start_locked(l, o, lock);
	close(lock);
	return r;
}

/* Does something accept connections on cardbridged's default port? */
static bool
port_answers(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PROTO_DEFAULT_PORT)};
	int fd, r;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return r == 0;
}

/*
 * No runtime directory at all (no XDG_RUNTIME_DIR, no /run/user/UID): no
 * control socket and no lock to share, so start the daemon directly; a
 * second one started meanwhile loses the port and stops.
 */
static int
start_without_runtime_dir(struct launch *l)
{
	char log[PATH_MAX] = "";
	int status;
	pid_t pid;

	if (port_answers()) {
		printf("%s\n", _("cardbridged is already running"));
		return CLI_OK;
	}
	if ((pid = spawn_daemon(l, NULL, -1, log, sizeof(log))) < 0)
		return CLI_FAILED;
	while (!port_answers() && cb_ms_until(&l->deadline) > 0) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			report_stopped(l, status, log);
			return CLI_FAILED;
		}
		nap();
	}
	/* TRANSLATORS: how cardbridged was started: by us, without a runtime directory. */
	printf(_("cardbridged started (%s)"), _("spawned, no runtime directory"));
	putchar('\n');
	return CLI_OK;
}

static void
set_deadline(struct launch *l)
{
	clock_gettime(CLOCK_MONOTONIC, &l->deadline);
	l->deadline.tv_nsec += LAUNCH_BUDGET_MS * 1000000L;
	l->deadline.tv_sec += l->deadline.tv_nsec / 1000000000;
	l->deadline.tv_nsec %= 1000000000;
}

int
cli_open(const struct cli_options *o, const char *url)
{
	struct launch l;
	enum url_verb verb;
	const char *why;
	char *control;
	char *slash;
	int r;

	/* strnlen: a 10 MB argument is refused without being scanned. */
	if (url_parse_launch(url, strnlen(url, URL_MAX + 1), &verb, &why) != 0) {
		/* TRANSLATORS: why is in English (protocol/url.c). */
		cli_error(_("refusing the URL: %s"), why);
		return CLI_USAGE;
	}
	memset(&l, 0, sizeof(l));
	set_deadline(&l);
	/* cardbridge.c exported XDG_RUNTIME_DIR if the user has one at all. */
	if (o->control_socket == NULL && getenv("XDG_RUNTIME_DIR") == NULL)
		return verb == URL_VERB_START ? start_without_runtime_dir(&l) : CLI_USAGE;
	if ((control = cli_control_path(o)) == NULL)
		return CLI_FAILED;
	/* Cut short, the lock's directory would be another one, which we would create. */
	if (strlen(control) >= sizeof(l.dir)) {
		cli_error(_("cannot open %s: %s"), control, strerror(ENAMETOOLONG));
		free(control);
		return CLI_FAILED;
	}
	l.control = control;
	snprintf(l.dir, sizeof(l.dir), "%s", control);
	if ((slash = strrchr(l.dir, '/')) != NULL && slash != l.dir)
		*slash = '\0';
	switch (verb) {
	case URL_VERB_START:
		if (cli_control_answers(control)) {
			printf("%s\n", _("cardbridged is already running"));
			r = CLI_OK;
		} else
			r = start_daemon(&l, o);
		break;
	default:
		r = CLI_USAGE;
		break;
	}
	free(control);
	return r;
}
