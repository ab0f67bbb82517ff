/*
 * cb-load.c - the measuring side of `make bench` (bench/bench.py drives it).
 *
 *   cb-load client --port P [--clients N] [--method M] [--origin O]
 *                  [--rate R --paced-ms D] [--closed-ms D] [--warmup-ms W]
 *       N WebSocket clients on one epoll loop (one thread, non-blocking
 *       sockets).  Phase "paced": Poisson arrivals at R requests/s in total,
 *       each sent on a random idle connection.  Phase "closed": every client
 *       keeps exactly one request in flight.  Round trip = write() of the
 *       request frame to the read() that completes the reply frame
 *       (CLOCK_MONOTONIC).  One JSON line per phase on stdout.
 *   cb-load serve --port P --reply-bytes B
 *       The baseline server: the least a WebSocket JSON-RPC server can do
 *       (epoll, one thread; accept the upgrade, unmask each frame, find the
 *       id, answer a canned reply of B bytes).  Runs until SIGTERM.
 *   cb-load coldstart --port P [--origin O] [--t0 spawn|connect] [--first-only]
 *                     -- PROGRAM ARG...
 *       Spawn PROGRAM, connect as soon as something listens, time the first
 *       system.hello reply and the first one that lists a loaded module
 *       (not with --first-only), then SIGTERM PROGRAM.  Times count from
 *       the spawn, or with --t0 connect from the accepted connection (socket
 *       activation: the connection is what starts the daemon).  One JSON
 *       line on stdout.
 *   cb-load spawn [--repeat K] -- PROGRAM ARG...
 *       Time posix_spawn() to waitpid() of PROGRAM, K times, output to
 *       /dev/null.  One JSON line on stdout.
 *
 * Everything is bounded: connections and phases have deadlines and the
 * program exits by itself.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define RBUF_MAX (1 << 20)   /* largest frame accepted */
#define CONN_BUF (64 * 1024) /* per-connection read buffer */
#define INFLIGHT_MAX 8
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "cb-load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* --- samples ------------------------------------------------------------ */

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void
samples_add(struct samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 65536;
		if ((s->v = realloc(s->v, s->cap * sizeof(*s->v))) == NULL)
			die("realloc");
	}
	s->v[s->n++] = x;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in microseconds. */
static double
pct_us(const struct samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return -1;
	i = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > s->n)
		i = s->n;
	return (double)s->v[i - 1] / 1000.0;
}

/* --- WebSocket framing -------------------------------------------------- */

/* A masked client text frame; returns its length. */
static size_t
ws_client_frame(uint8_t *out, const char *payload, size_t n, uint32_t mask)
{
	uint8_t m[4] = {
	    (uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8), (uint8_t)mask};
	size_t h = 0, i;

	out[h++] = 0x81;
	if (n < 126) {
		out[h++] = (uint8_t)(0x80 | n);
	} else {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(n >> 8);
		out[h++] = (uint8_t)n;
	}
	memcpy(out + h, m, 4);
	h += 4;
	for (i = 0; i < n; i++)
		out[h + i] = (uint8_t)payload[i] ^ m[i & 3];
	return h + n;
}

/*
 * Parse one frame at buf[0..len).  Returns its total length, 0 if more
 * bytes are needed, -1 if malformed.  payload, plen and opcode describe it;
 * a masked payload is unmasked in place.
 */
static long
ws_parse(uint8_t *buf, size_t len, uint8_t **payload, size_t *plen, int *opcode)
{
	size_t h = 2, n, i;
	uint8_t *mask = NULL;

	if (len < 2)
		return 0;
	*opcode = buf[0] & 0x0f;
	n = buf[1] & 0x7f;
	if (n == 126) {
		if (len < 4)
			return 0;
		n = ((size_t)buf[2] << 8) | buf[3];
		h = 4;
	} else if (n == 127) {
		if (len < 10)
			return 0;
		for (n = 0, i = 2; i < 10; i++)
			n = (n << 8) | buf[i];
		h = 10;
	}
	if (buf[1] & 0x80) {
		if (len < h + 4)
			return 0;
		mask = buf + h;
		h += 4;
	}
	if (n > RBUF_MAX)
		return -1;
	if (len < h + n)
		return 0;
	*payload = buf + h;
	*plen = n;
	if (mask)
		for (i = 0; i < n; i++)
			buf[h + i] ^= mask[i & 3];
	return (long)(h + n);
}

/* The value of the first "id" member, or -1. */
static long long
json_id(const uint8_t *p, size_t n)
{
	const char *s = memmem(p, n, "\"id\"", 4), *end = (const char *)p + n;

	if (s == NULL)
		return -1;
	for (s += 4; s < end && (*s == ' ' || *s == ':'); s++)
		;
	if (s >= end || *s < '0' || *s > '9')
		return -1;
	return strtoll(s, NULL, 10);
}

static int
tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static size_t
handshake_request(char *buf, size_t size, int port, const char *origin)
{
	int n = snprintf(buf, size,
	    "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: " WS_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\n"
	    "Sec-WebSocket-Protocol: cardbridge.v1\r\n\r\n",
	    port, origin);

	return (size_t)n;
}

/* --- client ------------------------------------------------------------- */

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DEAD };

struct conn {
	int fd;
	enum cstate state;
	uint8_t *rbuf;
	size_t rlen;
	uint64_t sent_at[INFLIGHT_MAX];
	long long sent_id[INFLIGHT_MAX];
	int inflight;
	int idle_pos; /* index in the idle list, or -1 */
};

struct client {
	int port, nclients, ep;
	const char *origin, *method;
	struct conn *c;
	int *idle; /* connections with nothing in flight */
	int nidle;
	long long next_id;
	bool recording;
	bool closed_loop;
	struct samples lat;
	uint64_t sent, answered, errors, dropped, failed;
};

static void
idle_add(struct client *cl, int i)
{
	if (cl->c[i].idle_pos >= 0)
		return;
	cl->c[i].idle_pos = cl->nidle;
	cl->idle[cl->nidle++] = i;
}

static void
idle_del(struct client *cl, int i)
{
	int pos = cl->c[i].idle_pos, last;

	if (pos < 0)
		return;
	last = cl->idle[--cl->nidle];
	cl->idle[pos] = last;
	cl->c[last].idle_pos = pos;
	cl->c[i].idle_pos = -1;
}

static void
conn_kill(struct client *cl, int i)
{
	struct conn *c = &cl->c[i];

	if (c->state == C_DEAD)
		return;
	idle_del(cl, i);
	epoll_ctl(cl->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->state = C_DEAD;
	cl->failed++;
}

static bool
send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	/* Small frames on loopback: a short write means a stuck peer; wait briefly. */
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			sleep_us(50);
			continue;
		}
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void
send_request(struct client *cl, int i)
{
	struct conn *c = &cl->c[i];
	char payload[160];
	uint8_t frame[200];
	size_t n, flen;
	long long id = cl->next_id++;

	n = (size_t)snprintf(payload, sizeof(payload),
	    "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"%s\"}", id, cl->method);
	flen = ws_client_frame(frame, payload, n, (uint32_t)(id * 2654435761u));
	c->sent_id[c->inflight] = id;
	c->sent_at[c->inflight] = now_ns();
	c->inflight++;
	idle_del(cl, i);
	if (!send_all(c->fd, frame, flen)) {
		conn_kill(cl, i);
		return;
	}
	cl->sent++;
}

static void
start_connect(struct client *cl, int i)
{
	struct conn *c = &cl->c[i];
	struct sockaddr_in a = loopback(cl->port);
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)i};

	c->fd = tcp_socket();
	c->state = C_CONNECTING;
	c->rlen = 0;
	c->inflight = 0;
	c->idle_pos = -1;
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->state = C_DEAD;
		cl->failed++;
		return;
	}
	if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl");
}

/* A reply frame on connection i arrived at time t. */
static void
on_message(struct client *cl, int i, const uint8_t *p, size_t n, uint64_t t)
{
	struct conn *c = &cl->c[i];
	long long id = json_id(p, n);
	int k;

	if (id < 0)
		return; /* an event, not an answer */
	for (k = 0; k < c->inflight && c->sent_id[k] != id; k++)
		;
	if (k == c->inflight)
		return;
	if (cl->recording)
		samples_add(&cl->lat, t - c->sent_at[k]);
	if (memmem(p, n, "\"error\":{", 9) != NULL)
		cl->errors++;
	cl->answered++;
	c->inflight--;
	memmove(
	    &c->sent_id[k], &c->sent_id[k + 1], (size_t)(c->inflight - k) * sizeof(c->sent_id[0]));
	memmove(
	    &c->sent_at[k], &c->sent_at[k + 1], (size_t)(c->inflight - k) * sizeof(c->sent_at[0]));
	if (c->inflight == 0)
		idle_add(cl, i);
}

static void
on_readable(struct client *cl, int i)
{
	struct conn *c = &cl->c[i];
	uint8_t *payload, *end;
	size_t plen;
	ssize_t n;
	long used;
	int op;
	uint64_t t;

	for (;;) {
		n = read(c->fd, c->rbuf + c->rlen, CONN_BUF - c->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_kill(cl, i);
			return;
		}
		t = now_ns();
		c->rlen += (size_t)n;
		if (c->state == C_HANDSHAKE) {
			end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
			if (end == NULL)
				continue;
			if (c->rlen < 13 || memcmp(c->rbuf, "HTTP/1.1 101", 12) != 0) {
				conn_kill(cl, i);
				return;
			}
			end += 4;
			c->rlen -= (size_t)(end - c->rbuf);
			memmove(c->rbuf, end, c->rlen);
			c->state = C_OPEN;
			idle_add(cl, i);
		}
		while ((used = ws_parse(c->rbuf, c->rlen, &payload, &plen, &op)) > 0) {
			if (op == 8) {
				conn_kill(cl, i);
				return;
			}
			if (op == 1)
				on_message(cl, i, payload, plen, t);
			c->rlen -= (size_t)used;
			memmove(c->rbuf, c->rbuf + used, c->rlen);
		}
		if (used < 0) {
			conn_kill(cl, i);
			return;
		}
		if (cl->closed_loop && c->state == C_OPEN && c->inflight == 0)
			send_request(cl, i);
	}
}

static void
on_event(struct client *cl, struct epoll_event *ev)
{
	int i = (int)ev->data.u32, err = 0;
	struct conn *c = &cl->c[i];
	socklen_t len = sizeof(err);
	char req[512];
	struct epoll_event mod = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

	if (c->state == C_DEAD)
		return;
	if (c->state == C_CONNECTING) {
		if (!(ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			conn_kill(cl, i);
			return;
		}
		c->state = C_HANDSHAKE;
		epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &mod);
		if (!send_all(
			c->fd, req, handshake_request(req, sizeof(req), cl->port, cl->origin)))
			conn_kill(cl, i);
		return;
	}
	if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		on_readable(cl, i);
}

static void
client_poll(struct client *cl, int timeout_ms)
{
	struct epoll_event evs[256];
	int n, k;

	n = epoll_wait(cl->ep, evs, 256, timeout_ms);
	for (k = 0; k < n; k++)
		on_event(cl, &evs[k]);
}

/* Open every connection, at most 64 handshakes at a time; returns elapsed ms. */
static double
client_connect_all(struct client *cl, int deadline_ms)
{
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)deadline_ms * 1000000u;
	int started = 0, i, pending;

	for (;;) {
		pending = 0;
		for (i = 0; i < started; i++)
			if (cl->c[i].state == C_CONNECTING || cl->c[i].state == C_HANDSHAKE)
				pending++;
		while (started < cl->nclients && pending < 64) {
			start_connect(cl, started++);
			pending++;
		}
		if (started == cl->nclients && pending == 0)
			break;
		if (now_ns() > end)
			break;
		client_poll(cl, 10);
	}
	for (i = 0; i < cl->nclients; i++)
		if (cl->c[i].state != C_OPEN && cl->c[i].state != C_DEAD)
			conn_kill(cl, i);
	return (double)(now_ns() - t0) / 1e6;
}

static void
report(struct client *cl, const char *phase, double rate, double secs, double connect_ms)
{
	int open = 0, i;

	for (i = 0; i < cl->nclients; i++)
		open += cl->c[i].state == C_OPEN;
	qsort(cl->lat.v, cl->lat.n, sizeof(uint64_t), cmp_u64);
	printf("{\"phase\":\"%s\",\"clients\":%d,\"open\":%d,\"method\":\"%s\",\"rate\":%.0f,"
	       "\"seconds\":%.3f,\"samples\":%zu,\"throughput\":%.1f,\"p50_us\":%.1f,"
	       "\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"errors\":%" PRIu64 ","
	       "\"dropped\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"connect_ms\":%.1f}\n",
	    phase, cl->nclients, open, cl->method, rate, secs, cl->lat.n,
	    secs > 0 ? (double)cl->lat.n / secs : 0.0, pct_us(&cl->lat, 50), pct_us(&cl->lat, 90),
	    pct_us(&cl->lat, 99), pct_us(&cl->lat, 100), cl->errors, cl->dropped, cl->failed,
	    connect_ms);
	fflush(stdout);
}

/* Wait for every answer still in flight (bounded). */
static void
client_drain(struct client *cl, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	int i, busy;

	cl->closed_loop = false;
	do {
		for (busy = 0, i = 0; i < cl->nclients; i++)
			busy += cl->c[i].state == C_OPEN && cl->c[i].inflight > 0;
		if (busy)
			client_poll(cl, 5);
	} while (busy && now_ns() < end);
}

static double
rand_exp(double mean)
{
	double u = ((double)random() + 1.0) / ((double)RAND_MAX + 2.0);

	return -mean * log(u);
}

static void
phase_paced(struct client *cl, double rate, int warmup_ms, int ms, double connect_ms)
{
	uint64_t t0 = now_ns(), rec_start = t0 + (uint64_t)warmup_ms * 1000000u,
		 end = rec_start + (uint64_t)ms * 1000000u, next = t0, t;
	double mean_ns = 1e9 / rate;
	struct itimerspec its;
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), i;
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
	struct epoll_event evs[256];
	uint64_t expirations;
	int n, k;

	if (tfd < 0 || epoll_ctl(cl->ep, EPOLL_CTL_ADD, tfd, &ev) != 0)
		die("timerfd");
	cl->closed_loop = false;
	memset(&its, 0, sizeof(its));
	while ((t = now_ns()) < end) {
		cl->recording = t >= rec_start;
		while (next <= t) {
			if (cl->nidle > 0) {
				send_request(cl, cl->idle[random() % cl->nidle]);
			} else {
				/* Every connection busy: pipeline on one that has room. */
				for (k = 0, i = (int)(random() % cl->nclients); k < cl->nclients;
				     k++, i = (i + 1) % cl->nclients)
					if (cl->c[i].state == C_OPEN &&
					    cl->c[i].inflight < INFLIGHT_MAX)
						break;
				if (k < cl->nclients)
					send_request(cl, i);
				else if (cl->recording)
					cl->dropped++;
			}
			next += (uint64_t)rand_exp(mean_ns) + 1;
		}
		its.it_value.tv_sec = (time_t)(next / 1000000000u);
		its.it_value.tv_nsec = (long)(next % 1000000000u);
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		n = epoll_wait(cl->ep, evs, 256, 100);
		for (k = 0; k < n; k++) {
			if (evs[k].data.u32 == UINT32_MAX) {
				if (read(tfd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					die("timerfd read");
				continue;
			}
			on_event(cl, &evs[k]);
		}
	}
	client_drain(cl, 2000);
	cl->recording = false;
	epoll_ctl(cl->ep, EPOLL_CTL_DEL, tfd, NULL);
	close(tfd);
	report(cl, "paced", rate, (double)ms / 1000.0, connect_ms);
}

static void
phase_closed(struct client *cl, int warmup_ms, int ms, double connect_ms)
{
	uint64_t t0 = now_ns(), rec_start = t0 + (uint64_t)warmup_ms * 1000000u,
		 end = rec_start + (uint64_t)ms * 1000000u, t;
	int i;

	cl->closed_loop = true;
	cl->recording = false;
	for (i = 0; i < cl->nclients; i++)
		if (cl->c[i].state == C_OPEN && cl->c[i].inflight == 0)
			send_request(cl, i);
	while ((t = now_ns()) < end) {
		cl->recording = t >= rec_start;
		client_poll(cl, 50);
	}
	cl->recording = false;
	client_drain(cl, 2000);
	report(cl, "closed", 0, (double)ms / 1000.0, connect_ms);
}

static void
client_reset_stats(struct client *cl)
{
	cl->lat.n = 0;
	cl->sent = cl->answered = cl->errors = cl->dropped = 0;
}

static int
run_client(int port, int nclients, const char *method, const char *origin, double rate,
    int paced_ms, int closed_ms, int warmup_ms)
{
	struct client cl;
	double connect_ms;
	int i;

	memset(&cl, 0, sizeof(cl));
	cl.port = port;
	cl.nclients = nclients;
	cl.method = method;
	cl.origin = origin;
	cl.next_id = 1;
	if ((cl.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	if ((cl.c = calloc((size_t)nclients, sizeof(*cl.c))) == NULL ||
	    (cl.idle = calloc((size_t)nclients, sizeof(int))) == NULL)
		die("calloc");
	for (i = 0; i < nclients; i++) {
		if ((cl.c[i].rbuf = malloc(CONN_BUF)) == NULL)
			die("malloc");
		cl.c[i].idle_pos = -1;
		cl.c[i].state = C_IDLE;
	}
	connect_ms = client_connect_all(&cl, 20000);
	if (rate > 0 && paced_ms > 0) {
		phase_paced(&cl, rate, warmup_ms, paced_ms, connect_ms);
		client_reset_stats(&cl);
	}
	if (closed_ms > 0)
		phase_closed(&cl, warmup_ms, closed_ms, connect_ms);
	for (i = 0; i < nclients; i++)
		if (cl.c[i].state != C_DEAD)
			close(cl.c[i].fd);
	return 0;
}

/* --- baseline server ---------------------------------------------------- */

struct sconn {
	int fd;
	bool open;
	uint8_t *rbuf;
	size_t rlen;
};

static volatile sig_atomic_t serve_stop;

static void
on_term(int sig)
{
	(void)sig;
	serve_stop = 1;
}

static int
run_serve(int port, int reply_bytes)
{
	static const char upgrade[] =
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "Sec-WebSocket-Protocol: cardbridge.v1\r\n\r\n";
	struct sockaddr_in a = loopback(port);
	struct epoll_event ev, evs[256];
	struct sconn **conns = NULL;
	size_t nconns = 0;
	char *pad;
	int lfd, ep, n, k, one = 1;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	if ((pad = malloc((size_t)reply_bytes + 1)) == NULL)
		die("malloc");
	memset(pad, 'x', (size_t)reply_bytes);
	pad[reply_bytes] = '\0';
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 4096) != 0)
		die("listen");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("ready\n");
	fflush(stdout);
	while (!serve_stop) {
		n = epoll_wait(ep, evs, 256, 200);
		for (k = 0; k < n; k++) {
			struct sconn *c = evs[k].data.ptr;
			uint8_t *payload;
			size_t plen;
			long used;
			ssize_t r;
			int op, fd;

			if (c == NULL) {
				while ((fd = accept4(
					    lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					if ((c = calloc(1, sizeof(*c))) == NULL ||
					    (c->rbuf = malloc(CONN_BUF)) == NULL)
						die("calloc");
					c->fd = fd;
					if ((conns = realloc(
						 conns, (nconns + 1) * sizeof(*conns))) == NULL)
						die("realloc");
					conns[nconns++] = c;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			r = read(c->fd, c->rbuf + c->rlen, CONN_BUF - c->rlen);
			if (r <= 0) {
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->rlen += (size_t)r;
			if (!c->open) {
				uint8_t *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);

				if (end == NULL)
					continue;
				end += 4;
				c->rlen -= (size_t)(end - c->rbuf);
				memmove(c->rbuf, end, c->rlen);
				c->open = true;
				send_all(c->fd, upgrade, sizeof(upgrade) - 1);
			}
			while ((used = ws_parse(c->rbuf, c->rlen, &payload, &plen, &op)) > 0) {
				if (op == 1) {
					char body[8192];
					uint8_t out[8200];
					int len = snprintf(body, sizeof(body),
					    "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"pad\":"
					    "\"",
					    json_id(payload, plen));
					size_t h = 0, blen;

					/* pad to reply_bytes in total */
					blen = (size_t)len;
					while (blen + 3 < (size_t)reply_bytes &&
					       blen < sizeof(body) - 4)
						body[blen++] = 'x';
					memcpy(body + blen, "\"}}", 3);
					blen += 3;
					out[h++] = 0x81;
					if (blen < 126) {
						out[h++] = (uint8_t)blen;
					} else {
						out[h++] = 126;
						out[h++] = (uint8_t)(blen >> 8);
						out[h++] = (uint8_t)blen;
					}
					memcpy(out + h, body, blen);
					send_all(c->fd, out, h + blen);
				}
				c->rlen -= (size_t)used;
				memmove(c->rbuf, c->rbuf + used, c->rlen);
			}
		}
	}
	(void)pad;
	return 0;
}

/* --- process timings ---------------------------------------------------- */

static pid_t
spawn(char **argv, bool quiet)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	if (quiet) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	}
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		errno = r;
		die(argv[0]);
	}
	return pid;
}

static int
run_spawn(int repeat, char **argv)
{
	int i, status, failed = 0;
	uint64_t t0;

	printf("{\"us\":[");
	for (i = 0; i < repeat; i++) {
		t0 = now_ns();
		if (waitpid(spawn(argv, true), &status, 0) < 0)
			die("waitpid");
		printf("%s%.1f", i ? "," : "", (double)(now_ns() - t0) / 1000.0);
		failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	printf("],\"failed\":%d}\n", failed);
	return 0;
}

/* Blocking read until a whole frame is in buf; returns the payload. */
static bool
read_frame(int fd, uint8_t *buf, size_t *len, uint8_t **payload, size_t *plen, uint64_t end)
{
	long used;
	ssize_t n;
	int op;

	for (;;) {
		while ((used = ws_parse(buf, *len, payload, plen, &op)) > 0) {
			if (op == 1) {
				/* leave the frame in place; the caller consumes it */
				memmove(buf, *payload, *plen);
				*payload = buf;
				*len = 0;
				return true;
			}
			*len -= (size_t)used;
			memmove(buf, buf + used, *len);
		}
		if (used < 0 || now_ns() > end)
			return false;
		n = read(fd, buf + *len, RBUF_MAX - *len);
		if (n < 0 && errno == EAGAIN) {
			sleep_us(20);
			continue;
		}
		if (n <= 0)
			return false;
		*len += (size_t)n;
	}
}

static int
run_coldstart(int port, const char *origin, bool t0_at_connect, bool first_only, char **argv)
{
	struct sockaddr_in a = loopback(port);
	uint64_t t0, t_listen = 0, t_first = 0, t_modules = 0, end;
	uint8_t *buf = malloc(RBUF_MAX), frame[200], *payload, *hend;
	char req[512], body[100];
	size_t len = 0, plen, flen, attempts = 0;
	int fd = -1, status, id = 1;
	pid_t pid;
	bool ok = false;

	if (buf == NULL)
		die("malloc");
	t0 = now_ns();
	pid = spawn(argv, false);
	end = t0 + 10000000000u;
	/* 1. connect as soon as it listens */
	while (now_ns() < end) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		attempts++;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		close(fd);
		fd = -1;
		if (waitpid(pid, &status, WNOHANG) == pid)
			goto out;
		sleep_us(100);
	}
	if (fd < 0)
		goto out;
	t_listen = now_ns();
	if (t0_at_connect) /* socket activation: the connection is what starts it */
		t0 = t_listen;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* 2. handshake and the first system.hello */
	if (!send_all(fd, req, handshake_request(req, sizeof(req), port, origin)))
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf + len, RBUF_MAX - len);

		if (n < 0 && errno == EAGAIN && now_ns() < end) {
			sleep_us(20);
			continue;
		}
		if (n <= 0)
			goto out;
		len += (size_t)n;
		if ((hend = memmem(buf, len, "\r\n\r\n", 4)) != NULL)
			break;
	}
	if (memcmp(buf, "HTTP/1.1 101", 12) != 0)
		goto out;
	hend += 4;
	len -= (size_t)(hend - buf);
	memmove(buf, hend, len);
	/* 3. hello until the module list shows a loaded module */
	while (now_ns() < end && t_modules == 0) {
		flen = ws_client_frame(frame, body,
		    (size_t)snprintf(body, sizeof(body),
			"{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"system.hello\"}", id++),
		    0x12345678u);
		if (!send_all(fd, frame, flen) || !read_frame(fd, buf, &len, &payload, &plen, end))
			goto out;
		if (t_first == 0)
			t_first = now_ns();
		if (first_only)
			break;
		if (memmem(payload, plen, "\"ok\":true", 9) != NULL)
			t_modules = now_ns();
		else
			sleep_us(500);
	}
	ok = first_only ? t_first != 0 : t_modules != 0;
out:
	if (fd >= 0)
		close(fd);
	kill(pid, SIGTERM);
	{
		uint64_t kill_end = now_ns() + 5000000000u;

		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (now_ns() > kill_end) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			sleep_us(1000);
		}
	}
	printf("{\"ok\":%s,\"listen_us\":%.1f,\"first_reply_us\":%.1f,\"modules_ready_us\":%.1f,"
	       "\"attempts\":%zu}\n",
	    ok ? "true" : "false", t_listen ? (double)(t_listen - t0) / 1000.0 : -1.0,
	    t_first ? (double)(t_first - t0) / 1000.0 : -1.0,
	    t_modules ? (double)(t_modules - t0) / 1000.0 : -1.0, attempts);
	free(buf);
	return ok ? 0 : 1;
}

/* --- command line ------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: cb-load client --port P [--clients N] [--method M] [--origin O]\n"
	    "                      [--rate R --paced-ms MS] [--closed-ms MS] [--warmup-ms MS]\n"
	    "       cb-load serve --port P [--reply-bytes B]\n"
	    "       cb-load coldstart --port P [--origin O] [--t0 spawn|connect] [--first-only]\n"
	    "                         -- PROGRAM ARG...\n"
	    "       cb-load spawn [--repeat K] -- PROGRAM ARG...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *mode, *method = "system.hello", *origin = "https://portal.example";
	int port = 0, clients = 1, paced_ms = 0, closed_ms = 2000, warmup_ms = 300,
	    reply_bytes = 400, repeat = 10, i;
	double rate = 0;
	bool t0_connect = false, first_only = false;
	char **rest = NULL;

	if (argc < 2)
		usage();
	mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--") == 0) {
			rest = argv + i + 1;
			break;
		}
		if (strcmp(a, "--first-only") == 0) {
			first_only = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--clients") == 0)
			clients = atoi(v);
		else if (strcmp(a, "--method") == 0)
			method = v;
		else if (strcmp(a, "--origin") == 0)
			origin = v;
		else if (strcmp(a, "--rate") == 0)
			rate = atof(v);
		else if (strcmp(a, "--paced-ms") == 0)
			paced_ms = atoi(v);
		else if (strcmp(a, "--closed-ms") == 0)
			closed_ms = atoi(v);
		else if (strcmp(a, "--warmup-ms") == 0)
			warmup_ms = atoi(v);
		else if (strcmp(a, "--reply-bytes") == 0)
			reply_bytes = atoi(v);
		else if (strcmp(a, "--repeat") == 0)
			repeat = atoi(v);
		else if (strcmp(a, "--t0") == 0 && strcmp(v, "connect") == 0)
			t0_connect = true;
		else if (strcmp(a, "--t0") == 0 && strcmp(v, "spawn") == 0)
			t0_connect = false;
		else
			usage();
	}
	/* Timer precision for the paced phase; the default slack is 50 us. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	srandom((unsigned)now_ns());
	if (strcmp(mode, "client") == 0 && port > 0 && clients > 0 && clients <= 100000 &&
	    strlen(method) < 64)
		return run_client(
		    port, clients, method, origin, rate, paced_ms, closed_ms, warmup_ms);
	if (strcmp(mode, "serve") == 0 && port > 0 && reply_bytes > 40 && reply_bytes < 8000)
		return run_serve(port, reply_bytes);
	if (strcmp(mode, "coldstart") == 0 && port > 0 && rest && rest[0])
		return run_coldstart(port, origin, t0_connect, first_only, rest);
	if (strcmp(mode, "spawn") == 0 && rest && rest[0] && repeat > 0)
		return run_spawn(repeat, rest);
	usage();
	return 2;
}
