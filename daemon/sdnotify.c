/*
 * sdnotify.c - sd_notify and sd_listen_fds without libsystemd.
 *
 * Follows the documented wire protocol: a datagram with "KEY=VALUE" lines to
 * the AF_UNIX socket named by $NOTIFY_SOCKET ('@' = abstract namespace), and
 * descriptors from 3 on, counted by $LISTEN_FDS when $LISTEN_PID is us.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/sdnotify.h"

int
sdn_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t n;
	int fd, r = 0;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	n = strlen(path);
	if (n >= sizeof(sun.sun_path))
		return -EINVAL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		r = -errno;
	close(fd);
	return r;
}

int
sdn_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long p, n, i;
	int r = 0;

	if (pid == NULL || fds == NULL)
		goto out;
	errno = 0;
	p = strtol(pid, &end, 10);
	if (errno || *end || p != (long)getpid())
		goto out;
	n = strtol(fds, &end, 10);
	if (errno || *end || n <= 0 || n > 64)
		goto out;
	for (i = 0; i < n; i++)
		fcntl(SD_LISTEN_FDS_START + (int)i, F_SETFD, FD_CLOEXEC);
	r = (int)n;
out:
	/* Children (the helper) must not think the sockets are theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}

bool
sdn_is_listening_tcp(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0, accepting = 0;
	socklen_t il = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &il) != 0 || type != SOCK_STREAM)
		return false;
	il = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &il) != 0 || !accepting)
		return false;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return false;
	return ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
}
