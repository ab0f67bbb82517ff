/*
 * control.c - the control socket: a UNIX socket for the cardbridge tool,
 * served as an lws raw-skt vhost on the service thread.
 *
 * Only our own uid may talk here: the socket is created 0600 in a 0700
 * directory, and every connection's SO_PEERCRED uid is checked when lws
 * adopts it (any other uid is closed before a byte is read).  Each line is
 * one JSON-RPC 2.0 request parsed with protocol/jsonrpc.h; each answer is
 * one line.  The methods (control_methods.c) report on the daemon and
 * edit the user's origin allow-list (admission.c), or go to the PKCS#11
 * helper for card management (control_forward.c), which alone asks for a
 * PIN; the browser port never serves the control.* methods.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libwebsockets.h>

#include "daemon/control.h"
#include "daemon/control_private.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "protocol/cberr.h"

#define CONTROL_MAX_CLIENTS 16

static int
client_writeable(struct control_client *c)
{
	int r = msgqueue_write(&c->out, c->wsi, MSGQUEUE_RAW_LINE);

	if (r != 0)
		return r < 0 ? -1 : 0;
	return c->closing ? -1 : 0;
}

/* Only our own uid: checked before the connection is used at all. */
static int
client_admit(struct daemon *d, struct lws *wsi, struct control_client *c)
{
	struct control *ctl = d->control;
	struct ucred cred;
	socklen_t n = sizeof(cred);

	memset(c, 0, sizeof(*c));
	if (getsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_PEERCRED, &cred, &n) != 0) {
		log_warn("control: refused a connection: SO_PEERCRED: %s", strerror(errno));
		return -1;
	}
	if (cred.uid != geteuid()) {
		log_warn("control: refused a connection from uid %u (pid %d); only uid %u may "
			 "use the control socket",
		    (unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
		return -1;
	}
	if (ctl == NULL || d->control_clients >= CONTROL_MAX_CLIENTS) {
		log_warn("control: refused a connection: %d already open", CONTROL_MAX_CLIENTS);
		return -1;
	}
	c->wsi = wsi;
	c->admitted = true;
	c->next = ctl->clients;
	ctl->clients = c;
	d->control_clients++;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, CONTROL_IDLE_TIMEOUT);
	log_debug("control: connection from pid %d", (int)cred.pid);
	return 0;
}

static void
client_gone(struct daemon *d, struct control_client *c)
{
	struct control_client **pc;

	if (c == NULL || !c->admitted)
		return;
	for (pc = &d->control->clients; *pc; pc = &(*pc)->next)
		if (*pc == c) {
			*pc = c->next;
			d->control_clients--;
			break;
		}
	control_tokens_abandon(d, c);
	control_forward_abandon(d, c);
	msgqueue_clear(&c->out);
	proto_id_clear(&c->tokens_id);
	rxbuf_free(&c->rx);
	memset(c, 0, sizeof(*c));
}

static int
client_receive(struct daemon *d, struct control_client *c, const char *in, size_t len)
{
	struct proto_id null_id = {.kind = PROTO_ID_NULL};
	size_t used;
	char *nl;

	if (!c->admitted || c->closing)
		return 0;
	if (rxbuf_append(&c->rx, in, len) != 0)
		return -1;
	while (!c->closing && (nl = memchr(c->rx.data, '\n', c->rx.len)) != NULL) {
		used = (size_t)(nl - c->rx.data) + 1;
		control_handle_line(d, c, c->rx.data, used - 1);
		rxbuf_consume(&c->rx, used);
	}
	if (!c->closing && c->rx.len > CONTROL_MAX_LINE) {
		control_send(c, proto_emit_error(&null_id, CB_ERR_TOO_LARGE,
				    "a request line is longer than 64 KiB", -1));
		c->closing = true;
	}
	if (!c->waiting_tokens && c->forwarded == 0)
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CONTROL_IDLE_TIMEOUT);
	return 0;
}

static int
callback_control(
    struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct daemon *d = lws_context_user(lws_get_context(wsi));
	struct control_client *c = user;

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
		return client_admit(d, wsi, c);
	case LWS_CALLBACK_RAW_RX:
		return client_receive(d, c, in, len);
	case LWS_CALLBACK_RAW_WRITEABLE:
		return c && c->admitted ? client_writeable(c) : -1;
	case LWS_CALLBACK_RAW_CLOSE:
		client_gone(d, c);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols control_protocols[] = {
    {CONTROL_PROTOCOL, callback_control, sizeof(struct control_client), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* Does a server answer on path?  Then it is another cardbridged's socket. */
static bool
socket_answers(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	bool answers;
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	answers = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
	close(fd);
	return answers;
}

/* The socket's directory: ours, and 0700 when it is the default one. */
static int
prepare_dir(const char *path, bool is_default)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return CB_ERR_CONFIG;
	*slash = '\0';
	if (is_default && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_warn("control: cannot create %s: %s", dir, strerror(errno));
		return CB_ERR_SYSTEM;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_warn("control: %s is not a directory", dir);
		return CB_ERR_SYSTEM;
	}
	if (is_default && st.st_uid != geteuid()) {
		log_error("control: %s belongs to uid %u, not to us: refusing to start", dir,
		    (unsigned)st.st_uid);
		return CB_ERR_CONFIG;
	}
	if (is_default && (st.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return CB_ERR_SYSTEM;
	return 0;
}

/* Open the socket; 0 also when it is skipped (logged). */
static int
open_socket(struct daemon *d, struct control *ctl, bool is_default)
{
	struct lws_context_creation_info info;
	struct sockaddr_un sa;
	mode_t old;
	int r;

	if (strlen(ctl->path) >= sizeof(sa.sun_path)) {
		log_warn("control: %s is too long for a UNIX socket; no control socket", ctl->path);
		return 0;
	}
	if ((r = prepare_dir(ctl->path, is_default)) != 0)
		return r == CB_ERR_CONFIG ? r : 0;
	if (socket_answers(ctl->path)) {
		log_warn("control: another cardbridged answers on %s; this one runs without "
			 "a control socket",
		    ctl->path);
		return 0;
	}
	memset(&info, 0, sizeof(info));
	info.vhost_name = CONTROL_PROTOCOL;
	info.iface = ctl->path;
	info.protocols = control_protocols;
	info.options =
	    LWS_SERVER_OPTION_UNIX_SOCK | LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
	info.listen_accept_role = "raw-skt";
	info.listen_accept_protocol = CONTROL_PROTOCOL;
	/* No other thread runs yet, so the process umask may change briefly. */
	old = umask(0177);
	if (lws_create_vhost(d->context, &info) == NULL) {
		umask(old);
		log_warn("control: cannot listen on %s; no control socket", ctl->path);
		return 0;
	}
	umask(old);
	chmod(ctl->path, 0600);
	log_info("control socket %s", ctl->path);
	return 0;
}

static char *
default_path(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *p;

	if (rt == NULL || rt[0] != '/' || asprintf(&p, "%s/cardbridge/control", rt) < 0)
		return NULL;
	return p;
}

int
control_start(struct daemon *d)
{
	const char *conf = d->cfg->control_socket;
	struct control *ctl;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL)
		return CB_ERR_ALLOC;
	d->control = ctl;
	if (conf != NULL && conf[0] == '\0')
		return 0; /* "controlSocket": "" turns it off */
	ctl->path = conf ? strdup(conf) : default_path();
	if (ctl->path == NULL) {
		if (conf != NULL)
			return CB_ERR_ALLOC;
		log_info("control: XDG_RUNTIME_DIR is not set; no control socket");
		return 0;
	}
	return open_socket(d, ctl, conf == NULL);
}

void
control_stop(struct daemon *d)
{
	struct control *ctl = d->control;

	if (ctl == NULL)
		return;
	/* lws closed every client (RAW_CLOSE) and unlinked the socket already. */
	free(ctl->path);
	free(ctl);
	d->control = NULL;
}
