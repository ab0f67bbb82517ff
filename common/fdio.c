/*
 * fdio.c - all of a buffer onto a file descriptor.
 * Must never: report success for a short write, or spin on a write that
 * makes no progress.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "common/fdio.h"

int
cb_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) { /* no progress and no error: say so rather than spin */
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
