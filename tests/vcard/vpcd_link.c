/*
 * vpcd_link.c - the vsmartcard vpcd wire protocol, card side.
 *
 * vpcd (the reader driver inside pcscd) listens on TCP; the virtual card
 * connects to it. Every message in both directions is a 2-byte big-endian
 * length followed by that many bytes. A 1-byte message from vpcd is a
 * control code (power off/on, reset, get ATR); anything longer is an APDU.
 * This file only moves frames: it knows nothing about APDUs.
 *
 * Debian's vpcd writes each frame as two small send()s with Nagle on, so
 * without TCP_QUICKACK before every recv() each APDU waits for the delayed
 * ACK timer (~40-50 ms). Linux clears QUICKACK again by itself, which is
 * why it is set before each recv() rather than once.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vcard.h"

static long
link_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
link_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !vcard_stop)
		;
}

static int
link_try_connect(const struct addrinfo *ai, int *fd_out)
{
	int fd, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return VCARD_ERR_SYSTEM;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return VCARD_ERR_SYSTEM;
	}
	/* Our answers are single frames; never hold them back. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fd_out = fd;
	return VCARD_OK;
}

/*
 * Connect to vpcd, retrying while it is not listening yet (pcscd still
 * starting, or restarting) until timeout_ms has passed.
 */
int
vpcd_link_connect(const char *host, unsigned int port, long timeout_ms, int *fd_out)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL, *ai;
	char service[16];
	long deadline = link_now_ms() + timeout_ms;
	int r, gai, last_errno = 0;

	snprintf(service, sizeof(service), "%u", port);
	gai = getaddrinfo(host, service, &hints, &res);
	if (gai != 0) {
		vcard_logf("cannot resolve %s: %s", host, gai_strerror(gai));
		r = VCARD_ERR_CONNECT;
		goto out;
	}
	for (;;) {
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (link_try_connect(ai, fd_out) == VCARD_OK) {
				r = VCARD_OK;
				goto out;
			}
			last_errno = errno;
		}
		if (vcard_stop) {
			r = VCARD_ERR_INTERRUPTED;
			goto out;
		}
		if (link_now_ms() >= deadline)
			break;
		link_sleep_ms(100);
	}
	vcard_logf("vpcd is not listening on %s:%u after %ld ms (%s): is pcscd running "
		   "with the vpcd driver configured for this port?",
	    host, port, timeout_ms, strerror(last_errno));
	r = VCARD_ERR_CONNECT;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}

static int
link_recv_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int one = 1;
	ssize_t n;

	while (got < len) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		n = recv(fd, buf + got, len - got, 0);
		if (n == 0)
			return VCARD_ERR_PEER_CLOSED;
		if (n < 0) {
			if (errno == EINTR) {
				if (vcard_stop)
					return VCARD_ERR_INTERRUPTED;
				continue;
			}
			if (errno == ECONNRESET)
				return VCARD_ERR_PEER_CLOSED;
			return VCARD_ERR_SYSTEM;
		}
		got += (size_t)n;
	}
	return VCARD_OK;
}

/* Receive one frame into buf. A frame larger than cap is a protocol error. */
int
vpcd_link_recv(int fd, uint8_t *buf, size_t cap, size_t *len_out)
{
	uint8_t header[2];
	size_t len;
	int r;

	if ((r = link_recv_all(fd, header, sizeof(header))) != VCARD_OK)
		return r;
	len = (size_t)header[0] << 8 | header[1];
	if (len == 0 || len > cap) {
		vcard_logf("vpcd sent a frame of %zu bytes (limit %zu)", len, cap);
		return VCARD_ERR_PROTOCOL;
	}
	if ((r = link_recv_all(fd, buf, len)) != VCARD_OK)
		return r;
	*len_out = len;
	return VCARD_OK;
}

/* Send one frame; header and body go out in a single write. */
int
vpcd_link_send(int fd, const uint8_t *data, size_t len)
{
	uint8_t frame[2 + 65536];
	size_t sent = 0;
	ssize_t n;

	if (len > 0xffff)
		return VCARD_ERR_PROTOCOL;
	frame[0] = (uint8_t)(len >> 8);
	frame[1] = (uint8_t)len;
	memcpy(frame + 2, data, len);
	while (sent < len + 2) {
		n = send(fd, frame + sent, len + 2 - sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR && !vcard_stop)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return VCARD_ERR_PEER_CLOSED;
			return VCARD_ERR_SYSTEM;
		}
		sent += (size_t)n;
	}
	return VCARD_OK;
}
