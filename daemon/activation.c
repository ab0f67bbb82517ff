/*
 * activation.c - systemd socket activation for cardbridged, and the
 * loopback check of every listening socket.
 *
 * libwebsockets 4.1.6 cannot take over a listening socket it did not open,
 * so for each socket from sd_listen_fds() we create a vhost that does not
 * listen (CONTEXT_PORT_NO_LISTEN_SERVER), watch the inherited socket as a
 * RAW_FILE descriptor in the lws event loop, accept() on POLLIN, and hand
 * each connection to lws_adopt_socket_vhost(): from there on it is exactly
 * the path a connection on our own listener takes (handshake admission in
 * server.c included).  When socket-activated we exit after cfg->idle_exit
 * seconds without a connection; systemd keeps the socket and starts us
 * again on the next one.
 *
 * This file must never accept a socket that is not a loopback TCP
 * listener, nor call lws from any thread but the service thread.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libwebsockets.h>

#include "daemon/activation.h"
#include "daemon/daemon.h"
#include "daemon/peer.h"
#include "daemon/sdnotify.h"
#include "daemon/log.h"
#include "protocol/cberr.h"
#include "protocol/origin.h"

#define ACTIVATION_PROTOCOL "cardbridge-activation"
#define ACCEPTS_PER_WAKE 32

struct inherited {
	int fd;
	int port;
	char addr[INET6_ADDRSTRLEN];
	char name[INET6_ADDRSTRLEN + 16]; /* vhost name, lives as long as the vhost */
	struct lws_vhost *vhost;	  /* the WebSocket vhost connections go to */
};

/* Service thread only; see the header for why this is file-static. */
static struct {
	struct daemon *d;
	struct inherited fds[CONFIG_MAX_LISTEN];
	int n;
	time_t last_busy, last_accept;
	lws_sorted_usec_list_t idle_sul;
} act;

static time_t
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* Loopback, including IPv4-mapped 127.0.0.0/8; fills addr and port. */
static int
describe(const struct sockaddr_storage *ss, char *addr, size_t addrlen, int *port)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, addr, (socklen_t)addrlen);
		*port = ntohs(s4->sin_port);
		return origin_addr_is_loopback(addr) ? 0 : CB_ERR_CONFIG;
	}
	if (ss->ss_family != AF_INET6)
		return CB_ERR_CONFIG;
	inet_ntop(AF_INET6, &s6->sin6_addr, addr, (socklen_t)addrlen);
	*port = ntohs(s6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return s6->sin6_addr.s6_addr[12] == 127 ? 0 : CB_ERR_CONFIG;
	return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ? 0 : CB_ERR_CONFIG;
}

static void
accept_pending(struct inherited *in)
{
	int i, fd, one = 1;

	for (i = 0; i < ACCEPTS_PER_WAKE; i++) {
		fd = accept4(in->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept on the inherited socket %s:%d: %s", in->addr,
				    in->port, strerror(errno));
			return;
		}
		act.last_accept = now_s();
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* On failure lws has closed fd already. */
		if (lws_adopt_socket_vhost(in->vhost, fd) == NULL)
			log_warn("could not take a connection on %s:%d", in->addr, in->port);
	}
}

static int
callback_activation(
    struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct inherited *fd = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		/*
		 * Stopping: leave the connection queued for the next instance.
		 * Closing our copy of the socket leaves systemd's listening.
		 */
		if (fd == NULL || act.d->stopping)
			return -1;
		accept_pending(fd);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols activation_protocols[] = {
    {ACTIVATION_PROTOCOL, callback_activation, 0, 0, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

/*
 * The idle-exit timer sleeps as long as it can: while busy it looks again
 * only after a whole idle period, and activation_idle_check() re-arms it
 * when the last session leaves.  No wake-ups in between.
 */
static void
idle_tick(lws_sorted_usec_list_t *sul)
{
	struct daemon *d = act.d;
	time_t now = now_s(), wait;

	if (d->nsessions > 0 || d->control_clients > 0)
		act.last_busy = now;
	wait = act.last_busy + d->cfg->idle_exit - now;
	/* A connection accepted but still in its handshake is not a session yet. */
	if (act.last_accept + d->cfg->handshake_timeout - now > wait)
		wait = act.last_accept + d->cfg->handshake_timeout - now;
	if (wait <= 0) {
		log_info("socket-activated and idle for %ld s: exiting (systemd starts "
			 "cardbridged again on the next connection)",
		    (long)(now - act.last_busy));
		d->stopping = true;
		lws_cancel_service(d->context);
		return;
	}
	lws_sul_schedule(
	    d->context, 0, &act.idle_sul, idle_tick, (lws_usec_t)wait * LWS_US_PER_SEC);
	(void)sul;
}

void
activation_idle_check(struct daemon *d)
{
	if (act.n == 0 || d->cfg->idle_exit <= 0 || d->nsessions > 0)
		return;
	act.last_busy = now_s();
	lws_sul_schedule(d->context, 0, &act.idle_sul, idle_tick,
	    (lws_usec_t)d->cfg->idle_exit * LWS_US_PER_SEC);
}

/* Check an inherited descriptor and note where it listens. */
static int
inspect(int fd, struct inherited *in)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(in, 0, sizeof(*in));
	in->fd = fd;
	if (!sdn_is_listening_tcp(fd) || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		log_error("socket activation: descriptor %d is not a listening TCP socket", fd);
		return CB_ERR_CONFIG;
	}
	if (describe(&ss, in->addr, sizeof(in->addr), &in->port) != 0) {
		log_error(
		    "socket activation: %s:%d is not a loopback address; cardbridged only "
		    "listens on 127.0.0.0/8 or [::1] (fix ListenStream= in cardbridge.socket)",
		    in->addr, in->port);
		return CB_ERR_CONFIG;
	}
	snprintf(in->name, sizeof(in->name), "%s", in->addr);
	return 0;
}

/* A non-listening WebSocket vhost for in, and the watcher of its socket. */
static int
adopt_listener(struct daemon *d, struct lws_vhost *watch, const struct lws_protocols *protocols,
    struct inherited *in)
{
	struct lws_context_creation_info info;
	lws_sock_file_fd_type desc;
	struct lws *wsi;

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = protocols;
	info.vhost_name = in->name;
	info.timeout_secs_ah_idle = (unsigned int)d->cfg->handshake_timeout;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	if ((in->vhost = lws_create_vhost(d->context, &info)) == NULL) {
		log_error(
		    "socket activation: cannot create the vhost for %s:%d", in->addr, in->port);
		return CB_ERR_SYSTEM;
	}
	desc.filefd = in->fd;
	if ((wsi = lws_adopt_descriptor_vhost(
		 watch, LWS_ADOPT_RAW_FILE_DESC, desc, ACTIVATION_PROTOCOL, NULL)) == NULL) {
		log_error(
		    "socket activation: cannot watch the socket for %s:%d", in->addr, in->port);
		return CB_ERR_SYSTEM;
	}
	lws_set_opaque_user_data(wsi, in);
	log_info("listening on %s%s%s:%d (socket activation)", strchr(in->addr, ':') ? "[" : "",
	    in->addr, strchr(in->addr, ':') ? "]" : "", in->port);
	return 0;
}

int
activation_start(struct daemon *d, const struct lws_protocols *protocols)
{
	struct lws_context_creation_info info;
	struct lws_vhost *watch;
	int n, i, r;

	/* unset_environment: the helper and pinentry must not see LISTEN_FDS. */
	if ((n = sdn_listen_fds()) <= 0)
		return n < 0 ? CB_ERR_SYSTEM : 0;
	if (n > CONFIG_MAX_LISTEN) {
		log_error("socket activation: %d sockets passed, at most %d", n, CONFIG_MAX_LISTEN);
		return CB_ERR_CONFIG;
	}
	memset(&act, 0, sizeof(act));
	act.d = d;
	for (i = 0; i < n; i++)
		if ((r = inspect(SD_LISTEN_FDS_START + i, &act.fds[i])) != 0)
			return r;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = activation_protocols;
	info.vhost_name = ACTIVATION_PROTOCOL;
	if ((watch = lws_create_vhost(d->context, &info)) == NULL)
		return CB_ERR_SYSTEM;
	for (i = 0; i < n; i++) {
		if ((r = adopt_listener(d, watch, protocols, &act.fds[i])) != 0)
			return r;
		act.n++;
	}
	act.last_busy = act.last_accept = now_s();
	if (d->cfg->idle_exit > 0)
		lws_sul_schedule(d->context, 0, &act.idle_sul, idle_tick, LWS_US_PER_SEC);
	log_info("socket-activated with %d socket(s); idle exit after %d s%s", n, d->cfg->idle_exit,
	    d->cfg->idle_exit > 0 ? "" : " (disabled)");
	return 1;
}

/* Bind a socket like lws will (SO_REUSEADDR, IPv6 only); 0 or errno. */
static int
try_bind(const struct listen_addr *l)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	int fd, one = 1, err = 0;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, l->addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)l->port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, l->addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)l->port);
		len = sizeof(*s6);
	} else
		return EADDRNOTAVAIL;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0)
		err = errno;
	close(fd);
	return err;
}

int
activation_probe_listen(const struct listen_addr *l)
{
	const char *open = strchr(l->addr, ':') ? "[" : "", *close = *open ? "]" : "";
	char holder[160];
	int err = try_bind(l);

	/* Only "this host has no IPv6" lets a default address be skipped. */
	if (err == 0)
		return 0;
	if (l->optional && (err == EAFNOSUPPORT || err == EADDRNOTAVAIL))
		return 1;
	peer_port_holder(l->addr, l->port, holder, sizeof(holder));
	if (holder[0] != '\0')
		log_error("cannot listen on %s%s%s:%d: %s; it is held by %s (whoever listens there "
			  "would answer pages in cardbridged's place)",
		    open, l->addr, close, l->port, strerror(err), holder);
	else
		log_error(
		    "cannot listen on %s%s%s:%d: %s", open, l->addr, close, l->port, strerror(err));
	return CB_ERR_SYSTEM;
}

int
activation_is_active(void)
{
	return act.n > 0;
}

int
activation_vhost_port(struct lws_vhost *vh)
{
	int i;

	for (i = 0; i < act.n; i++)
		if (act.fds[i].vhost == vh)
			return act.fds[i].port;
	return lws_get_vhost_listen_port(vh);
}

static void
add_address(struct json_object *a, const char *addr, int port)
{
	char buf[INET6_ADDRSTRLEN + 16];

	snprintf(buf, sizeof(buf), "%s%s%s:%d", strchr(addr, ':') ? "[" : "", addr,
	    strchr(addr, ':') ? "]" : "", port);
	json_object_array_add(a, json_object_new_string(buf));
}

struct json_object *
activation_listening(struct daemon *d)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	if (act.n > 0) {
		for (i = 0; i < (size_t)act.n; i++)
			add_address(a, act.fds[i].addr, act.fds[i].port);
		return a;
	}
	/* create_vhosts() names each vhost after its address; a missing one is not listening. */
	for (i = 0; i < d->cfg->nlisten; i++)
		if (lws_get_vhost_by_name(d->context, d->cfg->listen[i].addr) != NULL)
			add_address(a, d->cfg->listen[i].addr, d->cfg->listen[i].port);
	return a;
}

int
activation_check_loopback(void)
{
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN] = "?";
	int fd, listening, port, r = 0;
	struct dirent *e;
	socklen_t sl;
	DIR *dir;

	if ((dir = opendir("/proc/self/fd")) == NULL) {
		log_warn("cannot list /proc/self/fd to check the listening sockets: %s",
		    strerror(errno));
		return 0;
	}
	while (r == 0 && (e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
		    (fd = atoi(e->d_name)) == dirfd(dir))
			continue;
		sl = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &sl) != 0 || !listening)
			continue;
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (describe(&ss, addr, sizeof(addr), &port) != 0) {
			log_error("a listening socket is bound to %s:%d, not loopback: refusing to "
				  "run (libwebsockets falls back to the wildcard address when "
				  "getifaddrs() fails, e.g. when AF_NETLINK is blocked)",
			    addr, port);
			r = CB_ERR_SYSTEM;
		}
	}
	closedir(dir);
	return r;
}

static int start_lock_fd = -1;

void
activation_take_start_lock(void)
{
	const char *v = getenv("CARDBRIDGE_START_LOCK_FD");
	struct stat st;

	if (v == NULL || strcmp(v, "3") != 0)
		return;
	unsetenv("CARDBRIDGE_START_LOCK_FD");
	/* Only a regular file is a lock "cardbridge open" handed over. */
	if (fstat(3, &st) != 0 || !S_ISREG(st.st_mode) || fcntl(3, F_SETFD, FD_CLOEXEC) != 0)
		return;
	start_lock_fd = 3;
}

void
activation_release_start_lock(void)
{
	if (start_lock_fd >= 0)
		close(start_lock_fd);
	start_lock_fd = -1;
}
