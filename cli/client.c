/*
 * client.c - the cardbridge tool's side of the control socket.
 *
 * One connection per request: connect, send one JSON-RPC 2.0 line, read
 * one line back within a deadline.  The answer is parsed with a depth cap
 * and must carry our id.  This file must never connect to the browser port
 * nor follow a path that did not come from the command line or
 * $XDG_RUNTIME_DIR.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "cli/cli.h"
#include "common/i18n.h"

#define CLIENT_MAX_ANSWER (4 * 1024 * 1024)
#define CLIENT_MAX_DEPTH 32
#define CLIENT_REQUEST_ID 1

char *
cli_control_path(const struct cli_options *o)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *p;

	if (o->control_socket != NULL)
		return strdup(o->control_socket);
	if (rt == NULL || rt[0] != '/') {
		cli_error("%s", _("neither XDG_RUNTIME_DIR nor /run/user/UID is there, so the "
				  "control socket cannot be found (use --control-socket PATH)"));
		return NULL;
	}
	if (asprintf(&p, "%s/cardbridge/control", rt) < 0) {
		cli_error("%s", _("out of memory"));
		return NULL;
	}
	return p;
}

/* A connected socket, or -1 with errno. */
static int
connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, saved;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

bool
cli_control_answers(const char *path)
{
	int fd = connect_to(path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int
send_line(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;

	while (off < len) {
		if ((n = send(fd, text + off, len - off, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Read up to the first newline; returns a malloc'd NUL-terminated line or NULL. */
static char *
read_line(int fd, int timeout_ms, const char **why)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct timespec deadline;
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	ssize_t n;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	*why = _("the daemon closed the connection (refused, or it is stopping)");
	for (;;) {
		if ((left = cb_ms_until(&deadline)) <= 0) {
			*why = _("the daemon did not answer in time");
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (len + 4096 + 1 > cap) {
			if (cap >= CLIENT_MAX_ANSWER || (nb = realloc(buf, cap + 65536)) == NULL) {
				*why = _("the answer is too large");
				break;
			}
			buf = nb;
			cap += 65536;
		}
		if ((n = recv(fd, buf + len, cap - len - 1, 0)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len) != NULL)
			return buf;
	}
	free(buf);
	return NULL;
}

/* Add value (taken over) to obj; -1 when out of memory, rather than a member null. */
static int
member_add(struct json_object *obj, const char *key, struct json_object *value)
{
	if (value == NULL || json_object_object_add(obj, key, value) != 0) {
		json_object_put(value);
		return -1;
	}
	return 0;
}

int
cli_parse_answer(const char *line, struct json_object **result, char **message)
{
	return cli_parse_answer_reason(line, result, message, NULL);
}

int
cli_parse_answer_reason(
    const char *line, struct json_object **result, char **message, char **reason)
{
	struct json_tokener *tok = json_tokener_new_ex(CLIENT_MAX_DEPTH);
	struct json_object *root = NULL, *v, *e;
	size_t len = strcspn(line, "\n");
	int r = CLI_FAILED;

	*result = NULL;
	*message = NULL;
	if (reason != NULL)
		*reason = NULL;
	if (tok == NULL)
		goto out;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\r' || line[len - 1] == '\t'))
		len--;
	/* One whole JSON object, and nothing after it on the line. */
	root = json_tokener_parse_ex(tok, line, (int)len);
	if (root == NULL || json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(root, json_type_object)) {
		*message = strdup(_("the daemon sent a malformed answer"));
		goto out;
	}
	if (!json_object_object_get_ex(root, "id", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != CLIENT_REQUEST_ID) {
		*message = strdup(_("the daemon sent an answer that is not ours"));
		goto out;
	}
	if (json_object_object_get_ex(root, "result", &v)) {
		*result = json_object_get(v);
		r = CLI_OK;
	} else if (json_object_object_get_ex(root, "error", &e) &&
		   json_object_object_get_ex(e, "message", &v) &&
		   json_object_is_type(v, json_type_string)) {
		*message = strdup(json_object_get_string(v));
		/* error.data.reason, the stable part (doc/PROTOCOL.md) */
		if (reason != NULL && json_object_object_get_ex(e, "data", &e) &&
		    json_object_object_get_ex(e, "reason", &v) &&
		    json_object_is_type(v, json_type_string))
			*reason = strdup(json_object_get_string(v));
	} else
		*message = strdup(_("the daemon sent a malformed answer"));
out:
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	return r;
}

int
cli_call(const char *path, const char *method, struct json_object *params, int timeout_ms,
    struct json_object **result, char **message)
{
	return cli_call_reason(path, method, params, timeout_ms, result, message, NULL);
}

int
cli_call_reason(const char *path, const char *method, struct json_object *params, int timeout_ms,
    struct json_object **result, char **message, char **reason)
{
	struct json_object *req = NULL;
	const char *why;
	char *text = NULL, *line = NULL;
	int fd = -1, r = CLI_FAILED;

	*result = NULL;
	*message = NULL;
	if (reason != NULL)
		*reason = NULL;
	/* Out of memory: CLI_FAILED without a message, which the caller says. */
	if ((req = json_object_new_object()) == NULL)
		goto out;
	if ((fd = connect_to(path)) < 0) {
		r = CLI_NOT_RUNNING;
		/* TRANSLATORS: the control socket's path, and why (in English). */
		if (asprintf(message, _("cardbridged is not running (no answer on %s: %s)"), path,
			strerror(errno)) < 0)
			*message = NULL;
		goto out;
	}
	if (member_add(req, "jsonrpc", json_object_new_string("2.0")) != 0 ||
	    member_add(req, "id", json_object_new_int(CLIENT_REQUEST_ID)) != 0 ||
	    member_add(req, "method", json_object_new_string(method)) != 0 ||
	    (params != NULL && member_add(req, "params", json_object_get(params)) != 0) ||
	    asprintf(&text, "%s\n", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN)) <
		0) {
		text = NULL;
		goto out;
	}
	if (send_line(fd, text) != 0) {
		if (asprintf(message, _("cannot send to %s: %s"), path, strerror(errno)) < 0)
			*message = NULL;
		goto out;
	}
	if ((line = read_line(fd, timeout_ms, &why)) == NULL) {
		*message = strdup(why);
		goto out;
	}
	r = cli_parse_answer_reason(line, result, message, reason);
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(line);
	json_object_put(req);
	return r;
}
