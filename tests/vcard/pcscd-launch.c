/*
 * pcscd-launch.c - start a private pcscd for tests: cardbridge-pcscd-launch
 * SOCKET COMMAND [ARGS...] listens on the Unix socket SOCKET and executes
 * COMMAND (pcscd -f ...) with that socket passed the way systemd passes it
 * (fd 3, LISTEN_FDS=1, LISTEN_PID).
 *
 * Why: pcsc-lite 1.9.9's client library honours PCSCLITE_CSOCK_NAME but
 * pcscd itself always binds /run/pcscd/pcscd.comm, unless it was socket
 * activated. Passing it a socket is the only way to run a second pcscd
 * next to the system one, without needing systemd-socket-activate (which a
 * minimal CI image may lack).
 *
 * pcscd still writes and, on exit, removes /run/pcscd/pcscd.pid. When run
 * as root we first move into a private mount namespace with a tmpfs on
 * /run/pcscd so the system pcscd's pid file is left alone; if that is not
 * allowed we say so and go on. This program must only ever run pcscd for
 * tests; it never touches the system socket.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* unshare(), CLONE_NEWNS */
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_FD 3 /* SD_LISTEN_FDS_START */

static void
launch_private_run_dir(void)
{
	const char *dir = "/run/pcscd";

	if (geteuid() != 0)
		return;
	(void)mkdir(dir, 0755);
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
		fprintf(stderr,
		    "cardbridge-pcscd-launch: no private %s (%s); pcscd will "
		    "overwrite the system pcscd's pid file\n",
		    dir, strerror(errno));
}

static int
launch_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "cardbridge-pcscd-launch: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		goto fail;
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0666) != 0 ||
	    listen(fd, 64) != 0)
		goto fail;
	return fd;
fail:
	fprintf(
	    stderr, "cardbridge-pcscd-launch: cannot listen on %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int
main(int argc, char **argv)
{
	char pid[32];
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: cardbridge-pcscd-launch SOCKET pcscd -f [ARGS...]\n");
		return 1;
	}
	launch_private_run_dir();
	if ((fd = launch_listen(argv[1])) < 0)
		return 1;
	if (fd != LISTEN_FD) {
		if (dup2(fd, LISTEN_FD) < 0) {
			perror("cardbridge-pcscd-launch: dup2");
			return 1;
		}
		close(fd);
	}
	(void)fcntl(LISTEN_FD, F_SETFD, 0); /* must survive exec */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (setenv("LISTEN_FDS", "1", 1) != 0 || setenv("LISTEN_PID", pid, 1) != 0) {
		perror("cardbridge-pcscd-launch: setenv");
		return 1;
	}
	unsetenv("LISTEN_FDNAMES");
	execvp(argv[2], argv + 2);
	fprintf(stderr, "cardbridge-pcscd-launch: cannot run %s: %s\n", argv[2], strerror(errno));
	return 127;
}
