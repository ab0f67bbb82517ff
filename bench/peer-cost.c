/*
 * peer-cost.c - what the peer-uid check costs a handshake (issue 14, item
 * 1): cardbridged asks the kernel (sock_diag, daemon/peer.c) which uid owns
 * the client end of every TCP connection before it answers the upgrade.
 *
 *   peer-cost lookup [--n N]           peer_diag_owner() alone, on N open
 *                                      loopback connections, 20 rounds
 *   peer-cost ab [--n N]               one handshake server (accept, read
 *                                      the request, answer 101, close) run
 *                                      twice, with and without the lookup,
 *                                      N handshakes each, interleaved
 *   peer-cost handshake --port P [--n N] [--origin O]
 *                                      N handshakes with cardbridged, one
 *                                      after the other (each a new
 *                                      connection, closed after the 101)
 *
 * Each prints one JSON line of medians and 99th percentiles in
 * microseconds.  Nothing here is built by make or make check (bench/local.mk).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/peer.h"

#define REQUEST_MAX 2048

static const char response_101[] = "HTTP/1.1 101 Switching Protocols\r\n"
				   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
				   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
				   "Sec-WebSocket-Protocol: cardbridge.v1\r\n\r\n";

static void
die(const char *what)
{
	fprintf(stderr, "peer-cost: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile of v[0..n) (sorts v). */
static double
pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n ? v[(size_t)((double)(n - 1) * p / 100.0 + 0.5)] : -1;
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	return a;
}

/* A listener on 127.0.0.1 and a free port; *port says which. */
static int
listener(int *port)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 512) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		die("listen");
	*port = ntohs(a.sin_port);
	return fd;
}

static int
connect_to(int port)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* --- lookup ---------------------------------------------------------------- */

static int
run_lookup(int n)
{
	int port, l = listener(&port), *clients, *served, i, round;
	double *us = malloc(sizeof(*us) * (size_t)n * 20);
	struct peer_diag *diag;
	size_t k = 0;
	uid_t uid;

	clients = calloc((size_t)n, sizeof(int));
	served = calloc((size_t)n, sizeof(int));
	if (us == NULL || clients == NULL || served == NULL || peer_diag_open(&diag) != 0)
		die("setup");
	for (i = 0; i < n; i++) {
		clients[i] = connect_to(port);
		if ((served[i] = accept(l, NULL, NULL)) < 0)
			die("accept");
	}
	for (round = 0; round < 20; round++)
		for (i = 0; i < n; i++) {
			uint64_t t0 = now_ns();

			if (peer_diag_owner(diag, served[i], &uid) != 0 || uid != geteuid())
				die("peer_diag_owner");
			us[k++] = (double)(now_ns() - t0) / 1000.0;
		}
	printf("{\"samples\":%zu,\"lookup_p50_us\":%.2f,\"lookup_p99_us\":%.2f}\n", k,
	    pct(us, k, 50), pct(us, k, 99));
	return 0;
}

/* --- a handshake, from the client's side ------------------------------------- */

/* Connect, send the upgrade, read up to the end of the 101's header; microseconds. */
static double
handshake(int port, const char *origin)
{
	char req[REQUEST_MAX], buf[4096];
	size_t len = 0;
	uint64_t t0 = now_ns();
	int fd = connect_to(port), n;
	ssize_t r;

	n = snprintf(req, sizeof(req),
	    "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\nSec-WebSocket-Protocol: "
	    "cardbridge.v1\r\n\r\n",
	    port, origin);
	if (write(fd, req, (size_t)n) != n)
		die("write");
	while (memmem(buf, len, "\r\n\r\n", 4) == NULL) {
		if ((r = read(fd, buf + len, sizeof(buf) - len)) <= 0)
			die("read");
		len += (size_t)r;
	}
	if (len < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) {
		errno = EPROTO;
		die("not upgraded");
	}
	t0 = now_ns() - t0;
	close(fd);
	return (double)t0 / 1000.0;
}

static int
run_handshake(int port, int n, const char *origin)
{
	double *us = malloc(sizeof(*us) * (size_t)n);
	int i;

	if (us == NULL)
		die("malloc");
	for (i = 0; i < 20; i++) /* warm-up */
		handshake(port, origin);
	for (i = 0; i < n; i++)
		us[i] = handshake(port, origin);
	printf("{\"samples\":%d,\"handshake_p50_us\":%.2f,\"handshake_p99_us\":%.2f}\n", n,
	    pct(us, (size_t)n, 50), pct(us, (size_t)n, 99));
	return 0;
}

/* --- the same handshake server, with and without the lookup ------------------- */

struct server {
	int fd;
	bool check;
	struct peer_diag *diag;
};

static void *
serve(void *arg)
{
	struct server *s = arg;
	char buf[REQUEST_MAX];
	size_t len;
	ssize_t r;
	uid_t uid;
	int c;

	for (;;) {
		if ((c = accept(s->fd, NULL, NULL)) < 0)
			continue;
		for (len = 0; memmem(buf, len, "\r\n\r\n", 4) == NULL && len < sizeof(buf);
		     len += (size_t)r)
			if ((r = read(c, buf + len, sizeof(buf) - len)) <= 0)
				break;
		if (!s->check || (peer_diag_owner(s->diag, c, &uid) == 0 && uid == geteuid()))
			if (write(c, response_101, sizeof(response_101) - 1) < 0)
				perror("write");
		close(c);
	}
	return NULL;
}

static int
run_ab(int n)
{
	struct server srv[2] = {{.check = false}, {.check = true}};
	double *us[2];
	pthread_t t;
	int port[2], i, j;

	for (j = 0; j < 2; j++) {
		srv[j].fd = listener(&port[j]);
		if (peer_diag_open(&srv[j].diag) != 0 ||
		    (us[j] = malloc(sizeof(double) * (size_t)n)) == NULL ||
		    pthread_create(&t, NULL, serve, &srv[j]) != 0)
			die("setup");
	}
	for (i = 0; i < 20; i++)
		handshake(port[i & 1], "https://portal.example");
	for (i = 0; i < n; i++)
		for (j = 0; j < 2; j++)
			us[(i + j) & 1][i] = handshake(port[(i + j) & 1], "https://portal.example");
	printf("{\"samples\":%d,\"without_p50_us\":%.2f,\"without_p99_us\":%.2f,"
	       "\"with_p50_us\":%.2f,\"with_p99_us\":%.2f}\n",
	    n, pct(us[0], (size_t)n, 50), pct(us[0], (size_t)n, 99), pct(us[1], (size_t)n, 50),
	    pct(us[1], (size_t)n, 99));
	return 0;
}

int
main(int argc, char **argv)
{
	const char *origin = "https://portal.example";
	int i, n = 2000, port = 0;

	signal(SIGPIPE, SIG_IGN);
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--n") == 0)
			n = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--origin") == 0)
			origin = argv[i + 1];
	}
	if (argc >= 2 && n > 0 && n <= 1000000) {
		if (strcmp(argv[1], "lookup") == 0)
			return run_lookup(n < 500 ? n : 500);
		if (strcmp(argv[1], "ab") == 0)
			return run_ab(n);
		if (strcmp(argv[1], "handshake") == 0 && port > 0)
			return run_handshake(port, n, origin);
	}
	fprintf(stderr, "usage: peer-cost lookup|ab [--n N] | handshake --port P [--n N] "
			"[--origin O]\n");
	return 2;
}
