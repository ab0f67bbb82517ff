/*
 * server.c - the lws service thread: listening, handshake admission,
 * frames in and out, and wake-ups from other threads.
 *
 * Admission happens in LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION, before any
 * other work: admission.c decides on the peer (our own uid only) and on
 * the Host and Origin headers (loopback with our port; an allow-listed
 * origin, or one the user is to be asked about), then the subprotocol is
 * checked here and admission.c's connection budget.  A header is taken
 * whole or not at all: one holding a NUL is refused, never cut at it.
 * A refused handshake gets HTTP 403 (503 over the limit) and a log line;
 * nothing else happens.  Only HTTP/1.1 WebSocket upgrades are served: an
 * h2c upgrade gets 403, and a connection lws adopts as a raw socket (a
 * CONNECT request line) is closed at once.
 * Only this thread calls lws; the p11client and card watcher threads wake
 * it with lws_cancel_service() and we drain their queues in
 * EVENT_WAIT_CANCELLED.  SIGTERM and SIGINT reach the loop through
 * signals.c's eventfd.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include <libwebsockets.h>

#include "daemon/activation.h"
#include "daemon/admission.h"
#include "daemon/cardwatch.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/evloop.h"
#include "daemon/heap.h"
#include "daemon/sdnotify.h"
#include "daemon/signals.h"
#include "daemon/site.h"
#include "daemon/log.h"
#include "daemon/p11client.h"
#include "daemon/token_cache.h"
#include "protocol/cberr.h"

#define SUBPROTOCOL "cardbridge.v1"

void
server_wake(void *arg)
{
	struct daemon *d = arg;

	if (d->context)
		lws_cancel_service(d->context);
}

static int
refuse(struct lws *wsi, int status, const char *what, const char *origin, const char *host)
{
	log_warn("refused connection: %s (origin \"%.100s\", host \"%.100s\")", what, origin, host);
	lws_return_http_status(wsi, (unsigned int)status, NULL);
	return -1;
}

/* Does the Sec-WebSocket-Protocol list ("a, cardbridge.v1") offer ours? */
static bool
offers_subprotocol(const char *list)
{
	size_t n = strlen(SUBPROTOCOL);
	const char *p = list;

	while (p != NULL && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncmp(p, SUBPROTOCOL, n) == 0 && strchr(" \t,", p[n]) != NULL)
			return true;
		p = strchr(p, ',');
	}
	return false;
}

/*
 * Copy a header whole: 0, or -1 when it does not fit or holds a NUL (a
 * copy would stop there: "https://portal.example\0.evil" is not ours).
 */
static int
header(struct lws *wsi, enum lws_token_indexes token, char *buf, size_t size)
{
	int total = lws_hdr_total_length(wsi, token);

	buf[0] = '\0';
	if (total == 0)
		return 0;
	if (total < 0 || (size_t)total >= size || lws_hdr_copy(wsi, buf, (int)size, token) < 0)
		return -1;
	return strlen(buf) == (size_t)total ? 0 : -1;
}

/* Decide on a handshake from its peer and headers alone. */
static int
admit(struct daemon *d, struct lws *wsi, struct session *s)
{
	char origin[ORIGIN_MAX], host[128], subprotocol[128], site[SITE_MAX];
	int port = activation_vhost_port(lws_get_vhost(wsi));
	const char *why;
	bool ask;

	if (admission_check_peer(d, lws_get_socket_fd(wsi), &why) != 0)
		return refuse(wsi, HTTP_STATUS_FORBIDDEN, why, "", "");
	if (header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)) != 0 ||
	    header(wsi, WSI_TOKEN_HOST, host, sizeof(host)) != 0 ||
	    header(wsi, WSI_TOKEN_PROTOCOL, subprotocol, sizeof(subprotocol)) != 0)
		return refuse(
		    wsi, HTTP_STATUS_FORBIDDEN, "oversized header, or a NUL in one", "", "");
	if (admission_check(d, origin, host, port, &ask, &why) != 0)
		return refuse(wsi, HTTP_STATUS_FORBIDDEN, why, origin, host);
	if (!offers_subprotocol(subprotocol))
		return refuse(wsi, HTTP_STATUS_FORBIDDEN, "subprotocol cardbridge.v1 not requested",
		    origin, host);
	site_of(origin, site, sizeof(site));
	if (admission_budget(d, ask, site, &why) != 0)
		return refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, why, origin, host);
	memset(s, 0, sizeof(*s));
	snprintf(s->origin, sizeof(s->origin), "%s", origin);
	snprintf(s->site, sizeof(s->site), "%s", site);
	s->consent_pending = ask;
	return 0;
}

static int
callback_cardbridge(
    struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct daemon *d = lws_context_user(lws_get_context(wsi));
	struct proto_request *req;
	struct session *s = user;
	int r;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return admit(d, wsi, s);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* HTTP/1.1 WebSocket upgrades only (the token is case-insensitive): no h2c. */
		if (in != NULL && strcasecmp(in, "websocket") == 0)
			return 0;
		log_warn("refused connection: upgrade to \"%.20s\" (only websocket)",
		    in ? (const char *)in : "");
		lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
		return 1;
	case LWS_CALLBACK_RAW_ADOPT:
		/* lws adopts a CONNECT request line as a raw socket: nothing we serve. */
		log_warn("refused connection: not an HTTP request (raw socket)");
		return -1;
	case LWS_CALLBACK_TIMER:
		if (s && s->registered)
			session_idle(d, s);
		break;
	case LWS_CALLBACK_ESTABLISHED:
		s->wsi = wsi;
		session_register(d, s);
		session_touch(d, s);
		log_info("session %llu: connected from %s", (unsigned long long)s->id, s->origin);
		break;
	case LWS_CALLBACK_CLOSED:
		if (s && s->registered) {
			log_info("session %llu: closed", (unsigned long long)s->id);
			dispatch_session_gone(d, s);
			session_unregister(d, s);
			if (d->nsessions == 0)
				activation_idle_check(d);
		}
		break;
	case LWS_CALLBACK_RECEIVE:
		if (s->close_code)
			break;
		r = session_receive(d, s, in, len, lws_is_first_fragment(wsi),
		    lws_is_final_fragment(wsi), lws_frame_is_binary(wsi), &req);
		/* session.c only parses: it sits below dispatch.c, which answers through it. */
		if (req != NULL)
			dispatch_request(d, s, req); /* transferred */
		return r;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return session_writeable(d, s);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (d->p11)
			dispatch_replies(d);
		if (d->watch)
			dispatch_card_events(d);
		break;
	case LWS_CALLBACK_HTTP:
		/* Plain HTTP is never served: only the WebSocket upgrade. */
		lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
		return -1;
	default:
		break;
	}
	return 0;
}

static void
lws_log_bridge(int level, const char *line)
{
	char buf[512];
	size_t n;

	/* admit() has already logged why; lws would only repeat it. */
	if (strstr(line, "User code denied connection") != NULL)
		level = LLL_INFO;
	snprintf(buf, sizeof(buf), "lws: %s", line);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	cb_log(level == LLL_ERR	   ? LOG_LVL_ERROR
	       : level == LLL_WARN ? LOG_LVL_WARN
				   : LOG_LVL_DEBUG,
	    "%s", buf);
}

static struct lws_protocols protocols[] = {
    {SUBPROTOCOL, callback_cardbridge, sizeof(struct session), 16384, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

static int
create_vhosts(struct daemon *d)
{
	struct lws_context_creation_info info;
	int created = 0, r;
	size_t i;

	for (i = 0; i < d->cfg->nlisten; i++) {
		const struct listen_addr *l = &d->cfg->listen[i];

		memset(&info, 0, sizeof(info));
		info.port = l->port;
		info.iface = l->addr;
		/* Per vhost in lws 4.1.6: a connection that completes no header is cut. */
		info.timeout_secs_ah_idle = (unsigned int)d->cfg->handshake_timeout;
		info.protocols = protocols;
		info.vhost_name = l->addr;
		info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
		if (strchr(l->addr, ':'))
			info.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY |
					LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
		else /* lws 4.1.6 binds an IPv4 iface on an IPv6 vhost to [::] */
			info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
		/* Any failure but "no IPv6 here" stops the start (activation.c). */
		if ((r = activation_probe_listen(l)) == 1) {
			log_info(
			    "not listening on [%s]:%d (this host has no IPv6)", l->addr, l->port);
			continue;
		}
		if (r != 0)
			return r;
		if (lws_create_vhost(d->context, &info) == NULL) {
			log_error("cannot listen on %s:%d (in use, or not an address here)",
			    l->addr, l->port);
			return CB_ERR_SYSTEM;
		}
		log_info("listening on %s%s%s:%d", strchr(l->addr, ':') ? "[" : "", l->addr,
		    strchr(l->addr, ':') ? "]" : "", l->port);
		created++;
	}
	return created ? 0 : CB_ERR_SYSTEM;
}

static void
close_all_sessions(struct daemon *d)
{
	struct session *s;

	for (s = d->sessions; s; s = s->next)
		session_close(s, LWS_CLOSE_STATUS_GOINGAWAY, "cardbridged is stopping");
}

/*
 * lws sizes its descriptor tables to RLIMIT_NOFILE.  Given a smaller
 * fd_limit_per_thread, lws 4.1.6 finds the connection of each ready
 * descriptor by a linear search (wsi_from_fd()): O(connections) per event.
 * So the process limit itself is made what we serve (connections, and 64
 * for listeners, the control socket, the helper, pcscd, wake-ups), within
 * the hard limit, and lws takes it from there.
 */
static void
fit_descriptor_limit(struct daemon *d)
{
	/* Pages not allowed yet have their own budget (admission.h) beyond maxConnections. */
	rlim_t want = (rlim_t)d->cfg->max_connections + ADMISSION_UNCONSENTED_MAX + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("cannot set the descriptor limit to %llu: %s",
		    (unsigned long long)rl.rlim_cur, strerror(errno));
}

int
server_run(struct daemon *d)
{
	struct lws_context_creation_info info;
	struct evloop *loop = NULL;
	struct timespec until, t;
	int r = 0;

	lws_set_log_level(LLL_ERR | LLL_WARN | (log_get_level() >= LOG_LVL_DEBUG ? LLL_NOTICE : 0),
	    lws_log_bridge);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.user = d;
	info.timeout_secs = (unsigned int)d->cfg->handshake_timeout;
	/* lws cuts a connection that sends no complete header after this long. */
	info.timeout_secs_ah_idle = (unsigned int)d->cfg->handshake_timeout;
	fit_descriptor_limit(d);
	if (evloop_context_new(&info, &loop, &d->context) != 0) {
		log_error("cannot create the WebSocket context");
		return CB_ERR_SYSTEM;
	}
	if ((r = signals_start(d)) != 0)
		goto out;
	site_start();
	r = activation_start(d, protocols); /* > 0: systemd passed the listeners */
	if (r == 0)
		r = create_vhosts(d);
	if (r < 0 || (r = activation_check_loopback()) != 0 || (r = admission_start(d)) != 0 ||
	    (r = control_start(d)) != 0 || (r = token_cache_new(&d->token_cache)) != 0)
		goto out;
	if ((r = p11client_start(&d->p11, d->cfg, server_wake, d)) != 0)
		goto out;
	if (d->cfg->card_watch && (r = cardwatch_start(&d->watch, server_wake, d)) != 0)
		goto out;
	sdn_notify("READY=1");
	activation_release_start_lock();
	heap_trim_soon(d->context); /* what starting up allocated and freed */
	while (!d->stopping)
		if (evloop_run_once(loop, d->context) != 0)
			break;
	log_info("stopping: closing %d connection(s)", d->nsessions);
	sdn_notify("STOPPING=1");
	close_all_sessions(d);
	clock_gettime(CLOCK_MONOTONIC, &until);
	t = until;
	until.tv_sec += 2;
	/* Only while sessions remain, and each turn waits 50 ms at most. */
	while (d->nsessions > 0 && (t.tv_sec < until.tv_sec ||
				       (t.tv_sec == until.tv_sec && t.tv_nsec < until.tv_nsec))) {
		evloop_run_at_most(loop, d->context, 50);
		clock_gettime(CLOCK_MONOTONIC, &t);
	}
out:
	cardwatch_stop(d->watch);
	d->watch = NULL;
	p11client_stop(d->p11);
	d->p11 = NULL;
	signals_stop();
	evloop_context_free(loop, d->context);
	d->context = NULL;
	control_stop(d);
	dispatch_free(d);
	admission_stop(d);
	token_cache_free(d->token_cache);
	d->token_cache = NULL;
	site_stop();
	return r;
}
